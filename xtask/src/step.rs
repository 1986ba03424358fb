//! The steps of a QEMU scenario: what the harness does to a running guest
//! (screenshots with pixel checks, pointer clicks and drags, key presses)
//! as the serial log reaches given lines, and which lines that input must
//! and must not cause.
//!
//! A scenario's `[[test.step]]` entries (and its older `[[test.screen]]`
//! entries, each a step with a screenshot) become [`Step`]s; `solution.rs`
//! parses and validates them, the harness (`test.rs`) drives QEMU through
//! them with a [`Sequencer`], and [`judge_forbids`] checks their `forbid`
//! regexes once the run is over.
//!
//! Steps are taken one at a time, in order, along one cursor over the
//! serial lines:
//!
//! 1. A step with `after` waits for the first line matching it that comes
//!    after the line that finished the previous step (any line, for the
//!    first step). A step without `after` is due as soon as the previous
//!    step finished.
//! 2. Once due, the step acts: screenshot and pixel checks, then the click,
//!    then the drag, then the keys ([`KEY_PACE`](crate::qmp::KEY_PACE) apart), in
//!    that order.
//! 3. Then it waits until each of its `expect` regexes has matched a line
//!    read after it acted. The line that matches the last of them finishes
//!    the step (a step without `expect` finishes as it acts).
//!
//! The click and the keys of one step reach the guest through two devices
//! (the tablet and the keyboard), and a guest that polls them may see the
//! keys first; when the keys must follow the click's effect (a focus
//! change), send them in the next step, after an `expect` that shows the
//! effect. A click and a drag both go through the tablet, in order.
//!
//! A step with `within_ms` also bounds its wait: each of its `expect`
//! regexes must match a line read within that many milliseconds after
//! the step acted (by the harness's clock, which reads the log every few
//! milliseconds), or the step fails with the line, how late it came and
//! the bound. A late step still finishes, so the steps after it run and
//! report too. Use it for claims such as "another app still answers input
//! within a bound"; pick a bound a starved guest misses by far but a slow
//! CI machine meets with room to spare.
//!
//! A step's `forbid` regexes must match no line read after it acted, up to
//! the end of the log, whatever steps come later. A line the guest wrote
//! just before the input but that the harness read just after counts as
//! after: `forbid` errs on the strict side, and `expect` should name lines
//! only the step's own input can cause. Since a forbidden line may come
//! late, a scenario ends with a step whose `expect` proves the guest has
//! handled everything sent before it (for instance a click that the
//! windows under test log after any earlier event), so no pass depends on
//! how fast the guest is.

use std::time::{Duration, Instant};

use regex::Regex;

use crate::judge;
use crate::screen::PixelCheck;

/// A pointer click at a point of the screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Click {
    /// Column, from the left edge of the screen.
    pub x: u32,
    /// Row, from the top edge.
    pub y: u32,
    /// The button (a QEMU `InputButton`, see [`crate::qmp::BUTTONS`]).
    pub button: String,
    /// If set, `x` and `y` are inside the content of this label's window,
    /// wherever the display server placed it (its log line says where).
    pub window: Option<String>,
}

/// One step of a scenario (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// How failure lines name the step: "step 3", "step 3 (screen
    /// \`focus\`)", or "screen \`desktop\`" for a `[[test.screen]]` entry.
    pub label: String,
    /// The regex (placeholders as in `judge.rs`) whose match makes the step
    /// due; `None`: due when the previous step finished.
    pub after: Option<String>,
    /// Take a screenshot, saved as `target/qemu-tests/<job>-<name>.png`.
    pub screen: Option<String>,
    /// The pixels that screenshot must show.
    pub pixels: Vec<PixelCheck>,
    /// Domain labels whose windows that screenshot must show, framed and
    /// labelled by the display server (see [`screen::check_windows`]).
    ///
    /// [`screen::check_windows`]: crate::screen::check_windows
    pub windows: Vec<String>,
    /// A click to send after the screenshot.
    pub click: Option<Click>,
    /// A left-button drag through these screen points (column, row) after
    /// the click (see [`Qmp::drag`](crate::qmp::Qmp::drag)); empty: none.
    pub drag: Vec<(u32, u32)>,
    /// Key chords to send after the click (see
    /// [`Qmp::send_key`](crate::qmp::Qmp::send_key)).
    pub keys: Vec<String>,
    /// Each must match a line read after the step acted.
    pub expect: Vec<String>,
    /// None may match a line read after the step acted.
    pub forbid: Vec<String>,
    /// Each `expect` must match within this many milliseconds after the
    /// step acted; `None`: no bound.
    pub within_ms: Option<u64>,
}

/// Where the current step stands.
#[derive(Debug)]
enum Phase {
    /// Waiting for a line that matches `after`.
    Waiting,
    /// Due: the harness must act now.
    Due,
    /// Acted; these `expect` regexes (indices into the step's) have not
    /// matched yet.
    Expecting(Vec<usize>),
    /// Every step finished.
    Done,
    /// Stopped at the current step, which could not act.
    Stopped,
}

/// The steps' progress through the serial lines of one run. Feed it every
/// line with [`line`](Sequencer::line); whenever [`due`](Sequencer::due)
/// names a step, take its actions and call [`acted`](Sequencer::acted) (or
/// [`stop`](Sequencer::stop) if they failed).
#[derive(Debug)]
pub struct Sequencer {
    labels: Vec<String>,
    afters: Vec<Option<Regex>>,
    expects: Vec<Vec<Regex>>,
    current: usize,
    phase: Phase,
    /// Lines fed so far.
    lines: usize,
    /// The line that made each step due (1-based), if a line did.
    triggered: Vec<Option<usize>>,
    /// For each step that acted, the lines read before it acted: its
    /// `expect` and `forbid` apply to the lines after.
    acted_at: Vec<Option<usize>>,
    /// For each finished step, the lines read when it finished.
    finished: Vec<Option<usize>>,
    /// Each step's `within_ms` bound.
    within: Vec<Option<Duration>>,
    /// When the sequencer was made: the zero of the times passed to
    /// [`line_at`](Sequencer::line_at) and [`acted_at_time`](Sequencer::acted_at_time).
    start: Instant,
    /// When the current step acted.
    acted_time: Duration,
    /// Failure lines of `expect` regexes that matched after their bound.
    late: Vec<String>,
}

impl Sequencer {
    /// A sequencer for `steps` in a run with `smp` CPUs. Fails on a bad
    /// regex (which validation has already ruled out).
    pub fn new(steps: &[Step], smp: u32) -> Result<Sequencer, String> {
        let compile = |step: &Step, what: &str, pattern: &str| {
            judge::compile(pattern, smp)
                .map_err(|e| format!("{}: bad regex in `{what}`: {e}", step.label))
        };
        let mut afters = Vec::new();
        let mut expects = Vec::new();
        for step in steps {
            afters.push(
                step.after
                    .as_deref()
                    .map(|p| compile(step, "after", p))
                    .transpose()?,
            );
            expects.push(
                step.expect
                    .iter()
                    .map(|p| compile(step, "expect", p))
                    .collect::<Result<_, _>>()?,
            );
        }
        let mut seq = Sequencer {
            labels: steps.iter().map(|s| s.label.clone()).collect(),
            afters,
            expects,
            current: 0,
            phase: Phase::Done,
            lines: 0,
            triggered: vec![None; steps.len()],
            acted_at: vec![None; steps.len()],
            finished: vec![None; steps.len()],
            within: steps
                .iter()
                .map(|s| s.within_ms.map(Duration::from_millis))
                .collect(),
            start: Instant::now(),
            acted_time: Duration::ZERO,
            late: Vec::new(),
        };
        seq.enter(0);
        Ok(seq)
    }

    /// Step `i` finished: makes the next one current.
    fn finish(&mut self, i: usize) {
        self.finished[i] = Some(self.lines);
        self.enter(i + 1);
    }

    /// Makes step `i` current.
    fn enter(&mut self, i: usize) {
        self.current = i;
        self.phase = match self.afters.get(i) {
            None => Phase::Done,
            Some(None) => Phase::Due,
            Some(Some(_)) => Phase::Waiting,
        };
    }

    /// Feeds the next serial line, read now.
    pub fn line(&mut self, line: &str) {
        self.line_at(line, self.start.elapsed());
    }

    /// Feeds the next serial line, read `now` after the sequencer was made.
    pub fn line_at(&mut self, line: &str, now: Duration) {
        self.lines += 1;
        let i = self.current;
        match &mut self.phase {
            Phase::Waiting => {
                if self.afters[i].as_ref().is_some_and(|re| re.is_match(line)) {
                    self.triggered[i] = Some(self.lines);
                    self.phase = Phase::Due;
                }
            }
            Phase::Expecting(pending) => {
                let (matched, rest): (Vec<usize>, Vec<usize>) = pending
                    .iter()
                    .partition(|&&e| self.expects[i][e].is_match(line));
                *pending = rest;
                let done = pending.is_empty();
                let waited = now.saturating_sub(self.acted_time);
                if let Some(bound) = self.within[i].filter(|&b| waited > b) {
                    for e in matched {
                        self.late.push(format!(
                            "{}: expect /{}/ matched line {} {} ms after its input (sent after \
                             line {}), later than its within_ms = {}",
                            self.labels[i],
                            self.expects[i][e].as_str(),
                            self.lines,
                            waited.as_millis(),
                            self.acted_at[i].unwrap_or(0),
                            bound.as_millis(),
                        ));
                    }
                }
                if done {
                    self.finish(i);
                }
            }
            Phase::Due | Phase::Done | Phase::Stopped => {}
        }
    }

    /// The step to act on now, if any.
    pub fn due(&self) -> Option<usize> {
        matches!(self.phase, Phase::Due).then_some(self.current)
    }

    /// The due step has acted (now), after the lines fed so far.
    pub fn acted(&mut self) {
        self.acted_at_time(self.start.elapsed());
    }

    /// The due step has acted `now` after the sequencer was made, after
    /// the lines fed so far.
    pub fn acted_at_time(&mut self, now: Duration) {
        if !matches!(self.phase, Phase::Due) {
            return;
        }
        let i = self.current;
        self.acted_at[i] = Some(self.lines);
        self.acted_time = now;
        if self.expects[i].is_empty() {
            self.finish(i);
        } else {
            self.phase = Phase::Expecting((0..self.expects[i].len()).collect());
        }
    }

    /// The due step could not act (its failure is reported elsewhere): no
    /// later step runs.
    pub fn stop(&mut self) {
        if matches!(self.phase, Phase::Due) {
            self.phase = Phase::Stopped;
        }
    }

    /// Every step finished.
    pub fn done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// A step could not act, so the rest never will.
    pub fn stopped(&self) -> bool {
        matches!(self.phase, Phase::Stopped)
    }

    /// For each step, the number of lines read before it acted (`None`: it
    /// never acted).
    pub fn acted_at(&self) -> &[Option<usize>] {
        &self.acted_at
    }

    /// Why the steps did not all finish, or not in time, as failure lines
    /// (none when they all did): first each `expect` that matched later
    /// than its step's `within_ms`, then the step that did not finish.
    /// `ended` says how the run ended, for a step that became due only
    /// then.
    pub fn unfinished(&self, ended: &str) -> Vec<String> {
        let mut failures = self.late.clone();
        let i = self.current;
        let Some(label) = self.labels.get(i) else {
            return failures;
        };
        let since = |at: Option<usize>| match at {
            Some(0) | None => String::new(),
            Some(n) => format!(" after line {n}"),
        };
        match &self.phase {
            Phase::Done => return failures,
            Phase::Waiting => {
                let start = i.checked_sub(1).and_then(|p| self.finished[p]);
                failures.push(format!(
                    "{label}: `after` /{}/ matched no line{}",
                    self.afters[i].as_ref().map_or("", |re| re.as_str()),
                    since(start)
                ));
            }
            Phase::Due => failures.push(match self.triggered[i] {
                Some(n) => {
                    format!("{label}: `after` matched line {n} only as {ended}, too late to act")
                }
                None => format!("{label}: due, but {ended} before it could act"),
            }),
            Phase::Expecting(pending) => {
                let sent = match self.acted_at[i] {
                    Some(0) | None => "before any line".to_string(),
                    Some(n) => format!("after line {n}"),
                };
                let bound = self.within[i].map_or(String::new(), |b| {
                    format!(" (within_ms = {})", b.as_millis())
                });
                for &e in pending {
                    failures.push(format!(
                        "{label}: expect /{}/ matched no line after its input (sent {sent}){bound}",
                        self.expects[i][e].as_str(),
                    ));
                }
            }
            Phase::Stopped => {}
        }
        let skipped = &self.labels[i + 1..];
        if !skipped.is_empty() {
            failures.push(format!(
                "not taken, as {label} did not finish: {}",
                skipped.join(", ")
            ));
        }
        failures
    }
}

/// Checks every `forbid` of the steps that acted against the lines read
/// after they acted (`acted_at` from [`Sequencer::acted_at`]); `lines` is
/// the whole log, as [`judge::log_lines`] splits it. Returns one failure
/// line per regex that matched, naming the first line it matched.
pub fn judge_forbids(
    steps: &[Step],
    acted_at: &[Option<usize>],
    lines: &[String],
    smp: u32,
) -> Vec<String> {
    let mut failures = Vec::new();
    for (step, at) in steps.iter().zip(acted_at) {
        let Some(at) = *at else { continue };
        for pattern in &step.forbid {
            let re = match judge::compile(pattern, smp) {
                Ok(re) => re,
                Err(e) => {
                    failures.push(format!(
                        "{}: forbid {pattern:?}: bad regex: {e}",
                        step.label
                    ));
                    continue;
                }
            };
            let later = lines.iter().enumerate().skip(at);
            if let Some((n, line)) = later.into_iter().find(|(_, l)| re.is_match(l)) {
                failures.push(format!(
                    "{}: forbid /{}/ matched line {}, after its input (sent after line {at}): \
                     {line}",
                    step.label,
                    re.as_str(),
                    n + 1
                ));
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(label: &str, after: Option<&str>, expect: &[&str], forbid: &[&str]) -> Step {
        Step {
            label: label.into(),
            after: after.map(str::to_string),
            screen: None,
            pixels: Vec::new(),
            windows: Vec::new(),
            click: None,
            drag: Vec::new(),
            keys: Vec::new(),
            expect: expect.iter().map(|s| s.to_string()).collect(),
            forbid: forbid.iter().map(|s| s.to_string()).collect(),
            within_ms: None,
        }
    }

    /// Feeds `lines`, acting on each due step at once; returns the steps
    /// acted on, with the line count at that moment.
    fn run(seq: &mut Sequencer, lines: &[&str]) -> Vec<(usize, usize)> {
        let mut acted = Vec::new();
        let mut act = |seq: &mut Sequencer, n: usize| {
            while let Some(i) = seq.due() {
                acted.push((i, n));
                seq.acted();
            }
        };
        act(seq, 0);
        for (n, line) in lines.iter().enumerate() {
            seq.line(line);
            act(seq, n + 1);
        }
        acted
    }

    #[test]
    fn steps_follow_one_cursor() {
        let steps = [
            step("step 1", Some("ready"), &["left: key a"], &["right: key a"]),
            // No `after`: due once step 1 finished.
            step("step 2", None, &["right: click", "right: focus"], &[]),
            // `after` counts only lines after the one that finished step 2.
            step("step 3", Some("tick"), &[], &[]),
        ];
        let mut seq = Sequencer::new(&steps, 1).unwrap();
        assert_eq!(seq.due(), None);
        let acted = run(
            &mut seq,
            &[
                "left: key a",  // before step 1 acted: does not count
                "ready",        // 2: step 1 acts
                "left: key a",  // 3: step 1 done, step 2 acts
                "tick",         // 4: step 2 is not finished; not step 3's
                "right: focus", // 5
                "right: click", // 6: step 2 done
                "tick",         // 7: step 3 acts, and with no expect is done
            ],
        );
        assert_eq!(acted, [(0, 2), (1, 3), (2, 7)]);
        assert!(seq.done());
        assert_eq!(seq.acted_at(), [Some(2), Some(3), Some(7)]);
        assert!(seq.unfinished("QEMU exited").is_empty());
    }

    #[test]
    fn placeholders_in_step_regexes() {
        let steps = [step("step 1", Some("cpu{last_cpu} up"), &["{smp} ok"], &[])];
        let mut seq = Sequencer::new(&steps, 2).unwrap();
        assert_eq!(
            run(&mut seq, &["cpu0 up", "cpu1 up", "1 ok", "2 ok"]),
            [(0, 2)]
        );
        assert!(seq.done());
    }

    #[test]
    fn unfinished_steps_are_explained() {
        let steps = [
            step("step 1", Some("go"), &["left", "right"], &[]),
            step("step 2", None, &[], &[]),
            step("step 3", None, &[], &[]),
        ];
        let mut seq = Sequencer::new(&steps, 1).unwrap();
        run(&mut seq, &["noise", "go", "left"]);
        assert!(!seq.done());
        assert_eq!(
            seq.unfinished("QEMU exited"),
            [
                "step 1: expect /right/ matched no line after its input (sent after line 2)",
                "not taken, as step 1 did not finish: step 2, step 3",
            ]
        );

        let mut seq = Sequencer::new(&steps, 1).unwrap();
        run(&mut seq, &["noise"]);
        assert_eq!(
            seq.unfinished("QEMU exited")[0],
            "step 1: `after` /go/ matched no line"
        );

        // Step 2 waits for a line after the one that finished step 1.
        let steps = [
            step("step 1", Some("go"), &[], &[]),
            step("step 2", Some("more"), &[], &[]),
        ];
        let mut seq = Sequencer::new(&steps, 1).unwrap();
        run(&mut seq, &["go"]);
        assert_eq!(
            seq.unfinished("the timeout"),
            ["step 2: `after` /more/ matched no line after line 1"]
        );

        // Due as the run ended: the harness could not act.
        let mut seq = Sequencer::new(&steps, 1).unwrap();
        seq.line("go");
        assert_eq!(seq.due(), Some(0));
        assert_eq!(
            seq.unfinished("QEMU exited"),
            [
                "step 1: `after` matched line 1 only as QEMU exited, too late to act",
                "not taken, as step 1 did not finish: step 2",
            ]
        );
    }

    #[test]
    fn a_step_that_cannot_act_stops_the_rest() {
        let steps = [
            step("step 1", Some("go"), &[], &[]),
            step("step 2", None, &[], &[]),
        ];
        let mut seq = Sequencer::new(&steps, 1).unwrap();
        seq.line("go");
        seq.stop();
        assert!(seq.stopped() && !seq.done());
        assert_eq!(seq.due(), None);
        seq.line("go");
        assert_eq!(seq.due(), None);
        assert_eq!(
            seq.unfinished("QEMU exited"),
            ["not taken, as step 1 did not finish: step 2"]
        );
        assert_eq!(seq.acted_at(), [None, None]);
    }

    fn within(mut s: Step, ms: u64) -> Step {
        s.within_ms = Some(ms);
        s
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn within_ms_bounds_each_expect_from_the_input() {
        let steps = [
            within(step("step 1", Some("go"), &["a", "b"], &[]), 2000),
            within(step("step 2", None, &["c"], &[]), 100),
            step("step 3", None, &["d"], &[]),
        ];
        let mut seq = Sequencer::new(&steps, 1).unwrap();
        seq.line_at("go", ms(5_000));
        assert_eq!(seq.due(), Some(0));
        seq.acted_at_time(ms(6_000));
        // Lines before the bound count; the bound counts from the input,
        // not from the line that made the step due.
        seq.line_at("a", ms(7_000));
        seq.line_at("b", ms(8_000));
        assert_eq!(seq.due(), Some(1));
        seq.acted_at_time(ms(8_010));
        seq.line_at("c", ms(8_111));
        // A late step still finishes; the next one runs, without a bound.
        assert_eq!(seq.due(), Some(2));
        seq.acted_at_time(ms(9_000));
        seq.line_at("d", ms(100_000));
        assert!(seq.done());
        assert_eq!(
            seq.unfinished("QEMU exited"),
            [
                "step 2: expect /c/ matched line 4 101 ms after its input (sent after line 3), \
              later than its within_ms = 100"
            ]
        );
    }

    #[test]
    fn within_ms_exactly_at_the_bound_passes() {
        let steps = [within(step("step 1", Some("go"), &["a"], &[]), 50)];
        let mut seq = Sequencer::new(&steps, 1).unwrap();
        seq.line_at("go", ms(1));
        seq.acted_at_time(ms(10));
        seq.line_at("a", ms(60));
        assert!(seq.done());
        assert!(seq.unfinished("x").is_empty());
    }

    #[test]
    fn within_ms_names_every_late_expect_and_the_missing_ones() {
        let steps = [
            within(step("step 1", Some("go"), &["a", "b", "c"], &[]), 10),
            step("step 2", None, &[], &[]),
        ];
        let mut seq = Sequencer::new(&steps, 1).unwrap();
        seq.line_at("go", ms(0));
        seq.acted_at_time(ms(0));
        seq.line_at("a", ms(5));
        seq.line_at("b", ms(500));
        assert_eq!(
            seq.unfinished("the run timed out"),
            [
                "step 1: expect /b/ matched line 3 500 ms after its input (sent after line 1), \
                 later than its within_ms = 10",
                "step 1: expect /c/ matched no line after its input (sent after line 1) \
                 (within_ms = 10)",
                "not taken, as step 1 did not finish: step 2",
            ]
        );
    }

    #[test]
    fn no_steps_are_done_at_once() {
        let seq = Sequencer::new(&[], 4).unwrap();
        assert!(seq.done());
        assert_eq!(seq.due(), None);
        assert!(seq.unfinished("x").is_empty());
    }

    #[test]
    fn bad_regexes_name_the_step() {
        let e = Sequencer::new(&[step("step 4", Some("("), &[], &[])], 1).unwrap_err();
        assert!(e.starts_with("step 4: bad regex in `after`"), "{e}");
        let e = Sequencer::new(&[step("step 1", None, &["["], &[])], 1).unwrap_err();
        assert!(e.contains("`expect`"), "{e}");
    }

    #[test]
    fn forbids_apply_from_the_input_to_the_end() {
        let steps = [
            step("step 1", Some("go"), &[], &["right: key a", "never"]),
            step("step 2", None, &[], &["left: key b"]),
            step("step 3", None, &[], &["anything"]),
        ];
        let lines: Vec<String> = [
            "right: key a", // 1: before step 1 acted: allowed
            "go",           // 2
            "left: key b",  // 3: after step 2 acted at 2
            "right: key a", // 4
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let f = judge_forbids(&steps, &[Some(2), Some(2), None], &lines, 1);
        assert_eq!(
            f,
            [
                "step 1: forbid /right: key a/ matched line 4, after its input (sent after \
                 line 2): right: key a",
                "step 2: forbid /left: key b/ matched line 3, after its input (sent after \
                 line 2): left: key b",
            ]
        );
        // A step acted after every line forbids nothing it could see.
        assert!(judge_forbids(&steps[..1], &[Some(4)], &lines, 1).is_empty());
        let placeholder = [step("s", None, &[], &["cpu{last_cpu}"])];
        let cpu = ["cpu3".to_string()];
        assert_eq!(judge_forbids(&placeholder, &[Some(0)], &cpu, 4).len(), 1);
        assert!(judge_forbids(&placeholder, &[Some(0)], &cpu, 2).is_empty());
    }
}
