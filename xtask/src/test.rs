//! `cargo xtask test`: the host unit tests, and the QEMU scenarios.
//!
//! A scenario is a solution file under `policies/tests/` with a `[test]`
//! table. For each of its runs (CPU count and model) the harness boots the
//! kernel with the scenario's own boot image in a headless QEMU, with the
//! serial port going to `target/qemu-tests/<scenario>-smp<N>-<cpu>.log`,
//! enforces the timeout, and judges the run (see `judge.rs`). Failures print
//! the failed checks, the exact QEMU command, and the end of the serial log;
//! a timeout prints the whole log. Up to `--jobs` QEMUs run at once.
//!
//! # Steps
//!
//! A scenario with `[[test.step]]` (or `[[test.screen]]`) entries (see
//! `solution.rs` and `step.rs`) runs with a QMP socket at
//! `target/qemu-tests/<job>.qmp` (`test/steps.rs`). While QEMU runs, the
//! harness reads the serial log as it grows and feeds it line by line to a
//! [`Sequencer`](crate::step::Sequencer). When a step is due, the harness
//! takes its actions through QMP: saves the screen (`screendump`) to
//! `target/qemu-tests/<job>-<screen>.png` and checks its pixels; moves the
//! pointer to the click's screen pixel and presses and releases the button
//! (scaled with the screen's size, which a screenshot of the step gives, or
//! else one saved for that purpose as `<job>.pointer.png`); drags it
//! through the drag's points with the left button held (scaled the same
//! way); then sends the keys. The step then waits for its `expect` lines, and its `forbid`
//! regexes are checked over the rest of the log once QEMU has ended. A
//! pixel that differs, a `forbid` line, a QMP error, or a step that did not
//! finish before QEMU ended or the timeout is a `failed:` line, as is an
//! `expect` line of a step with `within_ms` that came later than that many
//! milliseconds after the step acted (by the harness's clock); a step
//! whose actions fail (a QMP error) stops the steps after it, and the
//! harness stops QEMU.
//!
//! How the run ends depends on `exit_when_done`:
//!
//! - `true`: as without steps, the kernel exits QEMU, and the run must end
//!   with the pass status 33.
//! - `false`: once every step is done and every `expect`, `expect_smp`, run
//!   `expect` and `order` regex has matched a line, the harness sends QMP
//!   `quit`. That ending counts as a pass without the isa-debug-exit
//!   status; the log checks (including `forbid`, over the lines logged
//!   until then) and the step checks decide the run.
//!
//! Scenarios without steps run without a QMP socket, and the log is judged
//! once QEMU has exited.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::build::{self, Artifacts, Profile};
use crate::judge::{self, Outcome};
use crate::qemu::{self, Display, QemuConfig};
use crate::setup;
use crate::solution::{RunSpec, SolutionFile, TestSpec};
use crate::workspace::{Workspace, add_packages, run_step};

mod steps;

/// Lines of serial log shown with a failure (a timeout shows all of it).
const LOG_TAIL: usize = 200;

/// What `cargo xtask test` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct TestOptions {
    /// Run the host unit tests.
    pub host: bool,
    /// Run the QEMU scenarios.
    pub qemu: bool,
    /// Only scenarios whose name (or run label) contains this.
    pub filter: Option<String>,
    /// QEMUs at once.
    pub jobs: usize,
    /// Build the kernel and programs with the release profile.
    pub release: bool,
}

/// Runs the selected tests; fails if any failed.
pub fn test(ws: &Workspace, opts: &TestOptions) -> Result<()> {
    let (host, qemu) = if opts.host || opts.qemu {
        (opts.host, opts.qemu)
    } else {
        (true, true)
    };
    let mut failed = Vec::new();
    if host && let Err(e) = host_tests(ws) {
        eprintln!("error: {e:#}");
        failed.push("host tests");
    }
    if host && let Err(e) = crate::policy::check(ws, None, None) {
        eprintln!("error: {e:#}");
        failed.push("solution policy");
    }
    if qemu && let Err(e) = qemu_tests(ws, opts) {
        eprintln!("error: {e:#}");
        failed.push("QEMU scenarios");
    }
    if !failed.is_empty() {
        bail!("failed: {}", failed.join(", "));
    }
    Ok(())
}

/// `cargo test` for every host crate (the workspace's default members).
fn host_tests(ws: &Workspace) -> Result<()> {
    let mut cmd = ws.cargo();
    // Every crate's tests run even when an earlier crate's fail.
    cmd.args(["test", "--no-fail-fast"]);
    add_packages(&mut cmd, &ws.host_packages);
    run_step(&mut cmd)
}

/// One scenario file.
struct Scenario {
    /// File stem: the scenario's name in logs and summaries.
    name: String,
    file: SolutionFile,
}

/// One QEMU run to do.
struct Job<'s> {
    scenario: &'s Scenario,
    test: &'s TestSpec,
    run: RunSpec,
    image: PathBuf,
}

impl Job<'_> {
    fn label(&self) -> String {
        let mut l = format!("smp{} {}", self.run.smp, self.run.cpu);
        if !self.run.append.is_empty() {
            l.push(' ');
            l.push_str(&self.run.append);
        }
        if self.run.icount {
            l.push_str(" icount");
        }
        l
    }

    fn file_stem(&self) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        let mut stem = format!(
            "{}-smp{}-{}",
            self.scenario.name,
            self.run.smp,
            clean(&self.run.cpu)
        );
        if !self.run.append.is_empty() {
            stem.push('-');
            stem.push_str(&clean(&self.run.append));
        }
        if self.run.icount {
            stem.push_str("-icount");
        }
        stem
    }
}

/// What became of one run.
struct RunResult {
    scenario: String,
    label: String,
    passed: bool,
    seconds: f64,
}

/// Reads every scenario in `policies/tests`, sorted by name. Files without
/// a `[test]` table are plain solutions and are skipped.
fn discover(dir: &Path) -> Result<Vec<Scenario>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("could not list {}", dir.display())),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match SolutionFile::load(&path) {
            Ok(file) if file.test.is_some() => {
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                scenarios.push(Scenario { name, file });
            }
            Ok(_) => {}
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if !errors.is_empty() {
        bail!("bad scenario file(s):\n{}", errors.join("\n"));
    }
    Ok(scenarios)
}

fn qemu_tests(ws: &Workspace, opts: &TestOptions) -> Result<()> {
    let scenarios = discover(&ws.root.join("policies/tests"))?;
    setup::ensure_target(ws)?;
    setup::ensure_qemu()?;
    let artifacts = build::build(ws, Profile::from_release(opts.release))?;
    let out_dir = ws.target_dir.join("qemu-tests");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("could not create {}", out_dir.display()))?;

    let mut jobs = Vec::new();
    for scenario in &scenarios {
        let Some(test) = &scenario.file.test else {
            continue;
        };
        let image = out_dir.join(format!("{}.img", scenario.name));
        let mut wrote_image = false;
        for run in &test.runs {
            let job = Job {
                scenario,
                test,
                run: run.clone(),
                image: image.clone(),
            };
            let selected = opts
                .filter
                .as_deref()
                .is_none_or(|f| scenario.name.contains(f) || job.file_stem().contains(f));
            if !selected {
                continue;
            }
            if !wrote_image {
                crate::image::write_image(&scenario.file, &artifacts, &image)?;
                wrote_image = true;
            }
            jobs.push(job);
        }
    }
    if jobs.is_empty() {
        println!(
            "no QEMU scenario runs selected (scenarios: policies/tests/*.toml with a [test] table)"
        );
        return Ok(());
    }
    let workers = opts.jobs.clamp(1, jobs.len());
    let selected: BTreeSet<&str> = jobs.iter().map(|j| j.scenario.name.as_str()).collect();
    println!(
        "running {} QEMU run(s) of {} scenario(s), {workers} at a time",
        jobs.len(),
        selected.len()
    );

    let next = AtomicUsize::new(0);
    let results: Mutex<BTreeMap<usize, RunResult>> = Mutex::new(BTreeMap::new());
    let print_lock = Mutex::new(());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = jobs.get(i) else { break };
                    let result = run_job(job, &artifacts, &out_dir, ws, &print_lock);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(i, result);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    print_summary(results.values());
    let failed = results.values().filter(|r| !r.passed).count();
    if failed > 0 {
        bail!(
            "{failed} QEMU run(s) failed; logs are in {}",
            ws.show(&out_dir)
        );
    }
    Ok(())
}

/// Runs one job and prints its verdict (and details when it failed).
fn run_job(
    job: &Job,
    artifacts: &Artifacts,
    out_dir: &Path,
    ws: &Workspace,
    print_lock: &Mutex<()>,
) -> RunResult {
    let test = job.test;
    let log = out_dir.join(format!("{}.log", job.file_stem()));
    let stderr_log = out_dir.join(format!("{}.stderr", job.file_stem()));
    let qmp = (!test.steps.is_empty())
        .then(|| qemu::qmp_socket_path(out_dir.join(format!("{}.qmp", job.file_stem()))));
    let config = QemuConfig {
        kernel: artifacts.kernel.clone(),
        image: job.image.clone(),
        smp: job.run.smp,
        cpu: job.run.cpu.clone(),
        append: [test.append.as_str(), job.run.append.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" "),
        display: Display::None,
        qmp: qmp.clone(),
        icount: job.run.icount,
    };
    let command = config.command();
    let command_line = qemu::shell_line(&command);
    {
        let _guard = print_lock.lock().unwrap_or_else(|e| e.into_inner());
        println!("start  {} [{}]", job.scenario.name, job.label());
    }
    let timeout = Duration::from_secs(test.timeout_secs);
    let mut checks = test.checks.clone();
    checks.expect.extend(job.run.expect.iter().cloned());
    let mut notes = Vec::new();
    let run = match &qmp {
        None => qemu::run_timed(command, &log, &stderr_log, timeout).map(|run| (run, Vec::new())),
        Some(qmp) => {
            let steps = steps::StepRun {
                job,
                qmp,
                out_dir,
                checks: &checks,
                ws,
            };
            steps.run(command, &log, &stderr_log, timeout, &mut notes)
        }
    };
    if let Some(qmp) = &qmp {
        let _ = std::fs::remove_file(qmp);
    }
    let (failures, seconds, outcome) = match run {
        Ok((run, step_failures)) => {
            let text = std::fs::read(&log)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let ending = if qmp.is_some() && !job.scenario.file.solution.exit_when_done {
                judge::Ending::HarnessStop
            } else {
                judge::Ending::GuestExit
            };
            let mut failures = judge::judge(run.outcome, &text, &checks, job.run.smp, ending);
            failures.extend(step_failures);
            (failures, run.elapsed.as_secs_f64(), Some(run.outcome))
        }
        Err(e) => (vec![format!("could not run QEMU: {e:#}")], 0.0, None),
    };
    let passed = failures.is_empty();
    let _guard = print_lock.lock().unwrap_or_else(|e| e.into_inner());
    println!(
        "{}   {} [{}] ({seconds:.1} s)",
        if passed { "PASS" } else { "FAIL" },
        job.scenario.name,
        job.label()
    );
    for note in &notes {
        println!("  {note}");
    }
    if !passed {
        print_failure(
            job,
            &failures,
            outcome,
            &command_line,
            &log,
            &stderr_log,
            ws,
        );
    }
    RunResult {
        scenario: job.scenario.name.clone(),
        label: job.label(),
        passed,
        seconds,
    }
}

fn print_failure(
    job: &Job,
    failures: &[String],
    outcome: Option<Outcome>,
    command_line: &str,
    log: &Path,
    stderr_log: &Path,
    ws: &Workspace,
) {
    let timed_out = matches!(outcome, Some(Outcome::Timeout(_)));
    if timed_out {
        println!("TIMEOUT");
    }
    println!(
        "  scenario: {} ({})",
        job.scenario.name,
        ws.show(&job.scenario.file.path)
    );
    for f in failures {
        println!("  failed: {f}");
    }
    println!("  QEMU command: {command_line}");
    let stderr = std::fs::read_to_string(stderr_log).unwrap_or_default();
    if !stderr.trim().is_empty() {
        println!("  QEMU stderr:");
        for line in stderr.lines() {
            println!("    {line}");
        }
    }
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let shown = if timed_out {
        lines.len()
    } else {
        lines.len().min(LOG_TAIL)
    };
    println!(
        "  ---- serial log ({}{} lines, {}) ----",
        if shown < lines.len() {
            format!("last {shown} of ")
        } else {
            String::new()
        },
        lines.len(),
        ws.show(log)
    );
    for line in &lines[lines.len() - shown..] {
        println!("  | {}", line.trim_end_matches('\r'));
    }
    println!("  ---- end of serial log ----");
}

fn print_summary<'r>(results: impl Iterator<Item = &'r RunResult>) {
    let results: Vec<&RunResult> = results.collect();
    let width = results
        .iter()
        .map(|r| r.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!();
    println!(
        "{:<width$}  {:<16} {:<6} {:>8}",
        "scenario", "run", "result", "seconds"
    );
    for r in &results {
        println!(
            "{:<width$}  {:<16} {:<6} {:>8.1}",
            r.scenario,
            r.label,
            if r.passed { "PASS" } else { "FAIL" },
            r.seconds
        );
    }
    let passed = results.iter().filter(|r| r.passed).count();
    // The plain closing line CI reads.
    println!("qemu: {passed} passed, {} failed", results.len() - passed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discover_reads_only_scenarios() {
        let dir = std::env::temp_dir().join(format!("xtask-discover-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("b.toml"),
            "[solution]\nname = \"b\"\nexit_when_done = true\n[test]\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("a.toml"),
            "[solution]\nname = \"a\"\nexit_when_done = true\n[test]\n",
        )
        .unwrap();
        std::fs::write(dir.join("plain.toml"), "[solution]\nname = \"p\"\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "not toml").unwrap();
        let names: Vec<String> = discover(&dir)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["a", "b"]);

        std::fs::write(dir.join("c.toml"), "[solution]\nname = \"c\"\nbogus = 1\n").unwrap();
        let e = format!("{:#}", discover(&dir).err().unwrap());
        assert!(e.contains("c.toml") && e.contains("bogus"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(discover(&dir).unwrap().is_empty());
    }

    #[test]
    fn job_names() {
        let scenario = Scenario {
            name: "preempt".into(),
            file: SolutionFile::parse(Path::new("p.toml"), "[solution]\nname = \"p\"\n").unwrap(),
        };
        let test = crate::solution::TestSpec {
            description: String::new(),
            timeout_secs: 1,
            append: String::new(),
            runs: Vec::new(),
            checks: Default::default(),
            steps: Vec::new(),
        };
        let job = Job {
            scenario: &scenario,
            test: &test,
            run: RunSpec {
                smp: 4,
                cpu: "max,+x2apic".into(),
                ..RunSpec::default()
            },
            image: "i".into(),
        };
        assert_eq!(job.file_stem(), "preempt-smp4-max__x2apic");
        assert_eq!(job.label(), "smp4 max,+x2apic");
        let off = Job {
            run: RunSpec {
                smp: 1,
                cpu: "max".into(),
                append: "fastpath=off".into(),
                ..RunSpec::default()
            },
            ..job
        };
        assert_eq!(off.file_stem(), "preempt-smp1-max-fastpath_off");
        assert_eq!(off.label(), "smp1 max fastpath=off");
        let counted = Job {
            run: RunSpec {
                smp: 2,
                cpu: "max".into(),
                icount: true,
                ..RunSpec::default()
            },
            ..off
        };
        assert_eq!(counted.file_stem(), "preempt-smp2-max-icount");
        assert_eq!(counted.label(), "smp2 max icount");
    }
}
