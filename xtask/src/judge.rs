//! Judging one QEMU run of a test scenario from its exit status and serial
//! log.
//!
//! A run passes when QEMU exited with status 33 (the kernel wrote 0x10 to
//! isa-debug-exit: every domain ended as the solution expects), or, in a
//! scenario with steps (`[[test.step]]` or `[[test.screen]]` entries) and
//! no `exit_when_done` ([`Ending::HarnessStop`]), when the harness stopped
//! QEMU itself after the steps ([`Outcome::Stopped`]); and every log check
//! of the scenario's `[test]` table holds (each step's own checks are
//! judged in `step.rs`):
//!
//! - `expect`: each regex matches at least one line;
//! - `expect_smp`: the same, checked only when the run has more than one CPU;
//! - `forbid`: no regex matches any line;
//! - `order`: for each pair `[a, b]`, both match, and the first line matching
//!   `a` comes strictly before the first line matching `b`.
//!
//! Patterns may use the placeholders `{smp}` (the run's CPU count) and
//! `{last_cpu}` (`smp - 1`); they are replaced before the regex is compiled,
//! so `cpu{last_cpu}` in a 4-CPU run means `cpu3`. Lines are matched with ANSI
//! escape sequences removed and without the line end, and a regex matches a
//! line if it matches anywhere in it (anchor with `^`/`$` when needed).
//!
//! The kernel's log lines look like `[    1.234567] INFO  cpu2 hello-1: text`:
//! a timestamp, the level, `cpu{N}`, the domain (or kernel module) and the
//! text after `": "`.

use std::fmt;
use std::time::Duration;

use regex::Regex;

/// QEMU's exit status when the kernel reports a pass (0x10 written to
/// isa-debug-exit: `(0x10 << 1) | 1`).
pub const STATUS_PASS: i32 = 33;

/// QEMU's exit status when the kernel reports a failure or panics (0x11).
pub const STATUS_FAIL: i32 = 35;

/// The log checks of a scenario, as written (placeholders unexpanded).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checks {
    /// Each must match some line.
    pub expect: Vec<String>,
    /// Each must match some line, in runs with more than one CPU.
    pub expect_smp: Vec<String>,
    /// None may match any line.
    pub forbid: Vec<String>,
    /// `(a, b)`: the first match of `a` comes before the first match of `b`.
    pub order: Vec<(String, String)>,
}

/// How a QEMU process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this status.
    Exited(i32),
    /// It was killed by this signal (not by us).
    Signaled(i32),
    /// It ran past the scenario's timeout and was killed.
    Timeout(Duration),
    /// The harness stopped it through QMP `quit`, once every step was done
    /// and every log expectation had matched.
    Stopped,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Outcome::Exited(code) => write!(f, "{}", describe_status(code)),
            Outcome::Signaled(sig) => write!(f, "QEMU killed by signal {sig}"),
            Outcome::Timeout(limit) => write!(f, "TIMEOUT after {} s", limit.as_secs()),
            Outcome::Stopped => write!(f, "QEMU stopped by the harness after the steps (QMP quit)"),
        }
    }
}

/// A human description of a QEMU exit status.
pub fn describe_status(code: i32) -> String {
    match code {
        STATUS_PASS => "Tessera exited: pass (status 33)".to_string(),
        STATUS_FAIL => "Tessera exited: failure (status 35)".to_string(),
        0 => "QEMU exited with status 0 (guest reset or powered off, or window closed)".to_string(),
        1 => "QEMU exited with status 1 (QEMU error: see its messages)".to_string(),
        other => format!("QEMU exited with status {other}"),
    }
}

/// Replaces `{smp}` and `{last_cpu}` in a pattern.
pub fn expand(pattern: &str, smp: u32) -> String {
    pattern
        .replace("{smp}", &smp.to_string())
        .replace("{last_cpu}", &smp.saturating_sub(1).to_string())
}

/// Compiles a pattern for a run with `smp` CPUs.
pub fn compile(pattern: &str, smp: u32) -> Result<Regex, regex::Error> {
    Regex::new(&expand(pattern, smp))
}

impl Checks {
    /// Every pattern, for validation.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.expect
            .iter()
            .chain(&self.expect_smp)
            .chain(&self.forbid)
            .chain(self.order.iter().flat_map(|(a, b)| [a, b]))
            .map(String::as_str)
    }

    /// Checks that every pattern compiles (for any CPU count).
    pub fn validate(&self) -> Result<(), String> {
        for p in self.patterns() {
            compile(p, 4).map_err(|e| format!("bad regex {p:?}: {e}"))?;
        }
        Ok(())
    }
}

/// Removes ANSI escape sequences (colour codes) from a line.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // Parameters and intermediates, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out
}

/// Splits a serial log into clean lines.
pub fn log_lines(log: &str) -> Vec<String> {
    log.lines()
        .map(|l| strip_ansi(l.trim_end_matches('\r')))
        .collect()
}

/// Every pattern that must match some line of a run with `smp` CPUs:
/// `expect`, `expect_smp` (when `smp > 1`) and both sides of each `order`
/// pair, placeholders expanded. Patterns that do not compile are left out
/// (they fail in [`judge`]).
pub fn required(checks: &Checks, smp: u32) -> Vec<Regex> {
    let expect_smp: &[String] = if smp > 1 { &checks.expect_smp } else { &[] };
    checks
        .expect
        .iter()
        .chain(expect_smp)
        .chain(checks.order.iter().flat_map(|(a, b)| [a, b]))
        .filter_map(|p| compile(p, smp).ok())
        .collect()
}

/// Index of the first line `re` matches.
fn first_match(lines: &[String], re: &Regex) -> Option<usize> {
    lines.iter().position(|l| re.is_match(l))
}

/// How a passing run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The kernel exits QEMU with the pass status (`exit_when_done`).
    GuestExit,
    /// The pass status, or the harness stopping QEMU ([`Outcome::Stopped`]):
    /// a scenario with steps and no `exit_when_done`.
    HarnessStop,
}

/// Judges one run. Returns the failed checks, each as one readable line;
/// an empty list is a pass.
pub fn judge(
    outcome: Outcome,
    log: &str,
    checks: &Checks,
    smp: u32,
    ending: Ending,
) -> Vec<String> {
    let mut failures = Vec::new();
    match (outcome, ending) {
        (Outcome::Exited(STATUS_PASS), _) | (Outcome::Stopped, Ending::HarnessStop) => {}
        (other, Ending::GuestExit) => {
            failures.push(format!("status: {other}; a pass is status {STATUS_PASS}"))
        }
        (other, Ending::HarnessStop) => failures.push(format!(
            "status: {other}; a pass is status {STATUS_PASS} or the harness stopping QEMU once \
             every step and expectation is done"
        )),
    }
    let lines = log_lines(log);
    let mut regex = |kind: &str, pattern: &str| match compile(pattern, smp) {
        Ok(re) => Some(re),
        Err(e) => {
            failures.push(format!("{kind} {pattern:?}: bad regex: {e}"));
            None
        }
    };
    let mut found = Vec::new();
    let expect_smp: &[String] = if smp > 1 { &checks.expect_smp } else { &[] };
    for (kind, list) in [("expect", &checks.expect[..]), ("expect_smp", expect_smp)] {
        for pattern in list {
            if let Some(re) = regex(kind, pattern)
                && first_match(&lines, &re).is_none()
            {
                found.push(format!("{kind} /{}/ matched no line", re.as_str()));
            }
        }
    }
    for pattern in &checks.forbid {
        if let Some(re) = regex("forbid", pattern)
            && let Some(i) = first_match(&lines, &re)
        {
            found.push(format!(
                "forbid /{}/ matched line {}: {}",
                re.as_str(),
                i + 1,
                lines[i]
            ));
        }
    }
    for (a, b) in &checks.order {
        let (Some(ra), Some(rb)) = (regex("order", a), regex("order", b)) else {
            continue;
        };
        match (first_match(&lines, &ra), first_match(&lines, &rb)) {
            (Some(ia), Some(ib)) if ia < ib => {}
            (Some(ia), Some(ib)) => found.push(format!(
                "order: first /{}/ (line {}) does not come before first /{}/ (line {})",
                ra.as_str(),
                ia + 1,
                rb.as_str(),
                ib + 1
            )),
            (ia, ib) => {
                for (re, i) in [(&ra, ia), (&rb, ib)] {
                    if i.is_none() {
                        found.push(format!("order: /{}/ matched no line", re.as_str()));
                    }
                }
            }
        }
    }
    failures.extend(found);
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
SeaBIOS noise\r
[    0.100000] INFO  cpu0 kernel: Tessera booting, 4 CPUs\r
[    0.200000] INFO  cpu3 smp: cpu3 online\r
[    0.300000] \x1b[32mINFO \x1b[0m cpu1 hello-1: hello from cpu1\r
[    0.400000] INFO  cpu2 hello-2: done\r
[    0.500000] INFO  cpu0 kernel: all domains done: pass\r
";

    fn checks() -> Checks {
        Checks::default()
    }

    #[test]
    fn placeholders() {
        assert_eq!(expand("cpu{last_cpu} of {smp}", 4), "cpu3 of 4");
        assert_eq!(expand("cpu{last_cpu}", 1), "cpu0");
        // Regex repetition braces are left alone.
        assert_eq!(expand("a{2}{smp}", 2), "a{2}2");
    }

    #[test]
    fn status_must_be_pass() {
        assert!(judge(Outcome::Exited(33), LOG, &checks(), 4, Ending::GuestExit).is_empty());
        let f = judge(Outcome::Exited(35), LOG, &checks(), 4, Ending::GuestExit);
        assert_eq!(f.len(), 1);
        assert!(f[0].contains("failure"), "{f:?}");
        let f = judge(
            Outcome::Timeout(Duration::from_secs(60)),
            LOG,
            &checks(),
            4,
            Ending::GuestExit,
        );
        assert!(f[0].contains("TIMEOUT after 60 s"), "{f:?}");
        assert_eq!(
            judge(Outcome::Signaled(9), LOG, &checks(), 4, Ending::GuestExit).len(),
            1
        );
        // Only a scenario the harness stops may end that way.
        let f = judge(Outcome::Stopped, LOG, &checks(), 4, Ending::GuestExit);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(judge(Outcome::Stopped, LOG, &checks(), 4, Ending::HarnessStop).is_empty());
        assert!(judge(Outcome::Exited(33), LOG, &checks(), 4, Ending::HarnessStop).is_empty());
        let f = judge(
            Outcome::Timeout(Duration::from_secs(9)),
            LOG,
            &checks(),
            4,
            Ending::HarnessStop,
        );
        assert!(f[0].contains("or the harness stopping QEMU"), "{f:?}");
    }

    #[test]
    fn expect_and_placeholders() {
        let c = Checks {
            expect: vec!["cpu{last_cpu} online".into(), r"booting, {smp} CPUs".into()],
            ..checks()
        };
        assert!(judge(Outcome::Exited(33), LOG, &c, 4, Ending::GuestExit).is_empty());
        let f = judge(Outcome::Exited(33), LOG, &c, 2, Ending::GuestExit);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].contains("/cpu1 online/ matched no line"), "{f:?}");
    }

    #[test]
    fn ansi_codes_and_line_ends_are_ignored() {
        let c = Checks {
            expect: vec![r"^\[ *[0-9.]+\] INFO  cpu1 hello-1: hello from cpu1$".into()],
            ..checks()
        };
        assert!(judge(Outcome::Exited(33), LOG, &c, 4, Ending::GuestExit).is_empty());
    }

    #[test]
    fn expect_smp_only_with_several_cpus() {
        let c = Checks {
            expect_smp: vec!["cpu7 online".into()],
            ..checks()
        };
        assert_eq!(
            judge(Outcome::Exited(33), LOG, &c, 4, Ending::GuestExit).len(),
            1
        );
        assert!(judge(Outcome::Exited(33), LOG, &c, 1, Ending::GuestExit).is_empty());
    }

    #[test]
    fn forbid_reports_the_line() {
        let c = Checks {
            forbid: vec!["hello-2".into(), "PANIC".into()],
            ..checks()
        };
        let f = judge(Outcome::Exited(33), LOG, &c, 4, Ending::GuestExit);
        assert_eq!(f.len(), 1);
        assert!(f[0].contains("line 5"), "{f:?}");
        assert!(f[0].contains("cpu2 hello-2: done"), "{f:?}");
    }

    #[test]
    fn order_uses_first_matches() {
        let ok = Checks {
            order: vec![("booting".into(), "done".into())],
            ..checks()
        };
        assert!(judge(Outcome::Exited(33), LOG, &ok, 4, Ending::GuestExit).is_empty());

        // "done" first matches line 5, before "all domains" on line 6.
        let wrong = Checks {
            order: vec![("all domains".into(), "done".into())],
            ..checks()
        };
        let f = judge(Outcome::Exited(33), LOG, &wrong, 4, Ending::GuestExit);
        assert_eq!(f.len(), 1);
        assert!(f[0].contains("line 6") && f[0].contains("line 5"), "{f:?}");

        // A line matching both does not come before itself.
        let same = Checks {
            order: vec![("hello".into(), "cpu1".into())],
            ..checks()
        };
        assert_eq!(
            judge(Outcome::Exited(33), LOG, &same, 4, Ending::GuestExit).len(),
            1
        );

        let missing = Checks {
            order: vec![("nope".into(), "done".into())],
            ..checks()
        };
        let f = judge(Outcome::Exited(33), LOG, &missing, 4, Ending::GuestExit);
        assert_eq!(f, ["order: /nope/ matched no line"]);
    }

    #[test]
    fn bad_regex_is_a_failure_not_a_panic() {
        let c = Checks {
            expect: vec!["(".into()],
            ..checks()
        };
        assert!(c.validate().is_err());
        let f = judge(Outcome::Exited(33), LOG, &c, 4, Ending::GuestExit);
        assert_eq!(f.len(), 1);
        assert!(f[0].contains("bad regex"));
    }

    #[test]
    fn required_patterns() {
        let c = Checks {
            expect: vec!["cpu{last_cpu} online".into(), "(".into()],
            expect_smp: vec!["smp only".into()],
            forbid: vec!["never required".into()],
            order: vec![("a".into(), "b".into())],
        };
        let names = |smp| -> Vec<String> {
            required(&c, smp)
                .iter()
                .map(|r| r.as_str().to_string())
                .collect()
        };
        assert_eq!(names(4), ["cpu3 online", "smp only", "a", "b"]);
        assert_eq!(names(1), ["cpu0 online", "a", "b"]);
    }

    #[test]
    fn statuses_are_described() {
        assert!(describe_status(33).contains("pass"));
        assert!(describe_status(35).contains("failure"));
        assert!(describe_status(7).contains('7'));
    }
}
