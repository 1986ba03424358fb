//! Running a scenario with steps: QEMU with a QMP socket, the serial log
//! followed line by line, and each step's actions taken through QMP when
//! the [`Sequencer`] says it is due (see the parent module's docs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::Job;
use crate::judge::{self, Checks, Outcome};
use crate::qemu::{Running, SerialFollower, TimedRun};
use crate::qmp::{self, Qmp};
use crate::screen::{self, Screenshot};
use crate::step::{self, Sequencer, Step};
use crate::workspace::Workspace;

/// How long QEMU may take to exit after QMP `quit`.
const QUIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a run with steps reads the serial log.
const STEP_POLL: Duration = Duration::from_millis(5);

/// One run of a scenario with steps (see the module docs).
pub(super) struct StepRun<'a> {
    pub(super) job: &'a Job<'a>,
    /// The QMP socket QEMU opens.
    pub(super) qmp: &'a Path,
    pub(super) out_dir: &'a Path,
    /// The log checks, the run's own `expect` included.
    pub(super) checks: &'a Checks,
    pub(super) ws: &'a Workspace,
}

impl StepRun<'_> {
    /// Where the screenshot named `name` goes.
    fn png(&self, name: &str) -> PathBuf {
        self.out_dir
            .join(format!("{}-{name}.png", self.job.file_stem()))
    }

    /// Runs QEMU, taking the steps as their lines appear, until QEMU exits,
    /// the harness stops it, or the timeout. Returns how it ended and the
    /// step failures; `notes` gets one line per saved screenshot.
    pub(super) fn run(
        &self,
        command: Command,
        log: &Path,
        stderr_log: &Path,
        timeout: Duration,
        notes: &mut Vec<String>,
    ) -> Result<(TimedRun, Vec<String>)> {
        let smp = self.job.run.smp;
        let steps = &self.job.test.steps;
        let exit_when_done = self.job.scenario.file.solution.exit_when_done;
        let mut seq = Sequencer::new(steps, smp).map_err(anyhow::Error::msg)?;
        // An old picture must not pass for this run's.
        for name in steps.iter().filter_map(|s| s.screen.as_deref()) {
            let _ = std::fs::remove_file(self.png(name));
        }
        let mut pending = judge::required(self.checks, smp);
        let mut failures = Vec::new();
        let mut client: Option<Qmp> = None;
        let mut running = Running::spawn(command, log, stderr_log)?;
        let mut serial = SerialFollower::new(log);
        // The windows the display server has placed so far.
        let mut placed = Vec::new();
        let outcome = loop {
            let exited = running.try_wait()?;
            let lines = if exited.is_some() {
                serial.finish()
            } else {
                serial.poll()
            };
            for line in &lines {
                pending.retain(|re| !re.is_match(line));
                screen::Placed::track(&mut placed, line);
                seq.line(line);
                // A step due as QEMU exits can no longer act; `unfinished`
                // reports it.
                while exited.is_none()
                    && let Some(i) = seq.due()
                {
                    match self.act(&steps[i], &placed, &mut running, &mut client, notes) {
                        Ok(checks) => {
                            failures.extend(checks);
                            seq.acted();
                        }
                        Err(all) => {
                            failures.extend(all);
                            seq.stop();
                        }
                    }
                }
            }
            if let Some(outcome) = exited {
                break outcome;
            }
            let finished = seq.done() && !exit_when_done && pending.is_empty();
            if finished || seq.stopped() {
                break self.stop(&mut running, &mut client, &mut failures);
            }
            if running.elapsed() >= timeout {
                running.kill();
                break Outcome::Timeout(timeout);
            }
            std::thread::sleep(STEP_POLL);
        };
        let ended = match outcome {
            Outcome::Timeout(_) => "the run timed out",
            Outcome::Stopped => "the harness stopped QEMU",
            _ => "QEMU exited",
        };
        failures.extend(seq.unfinished(ended));
        let text = std::fs::read(log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        failures.extend(step::judge_forbids(
            steps,
            seq.acted_at(),
            &judge::log_lines(&text),
            smp,
        ));
        Ok((
            TimedRun {
                outcome,
                elapsed: running.elapsed(),
            },
            failures,
        ))
    }

    /// The QMP connection, opened on first use.
    fn client<'c>(
        &self,
        running: &mut Running,
        client: &'c mut Option<Qmp>,
    ) -> Result<&'c mut Qmp> {
        if client.is_none() {
            let alive = || matches!(running.try_wait(), Ok(None));
            *client = Some(Qmp::connect(self.qmp, qmp::CONNECT_TIMEOUT, alive)?);
        }
        Ok(client.as_mut().expect("just connected"))
    }

    /// Takes the actions of one step: screenshot with its pixel and window
    /// checks (`placed`: the windows the display server placed so far),
    /// click, drag, keys. Returns the failed checks, or, if an action
    /// failed, those and why it failed.
    fn act(
        &self,
        step: &Step,
        placed: &[screen::Placed],
        running: &mut Running,
        client: &mut Option<Qmp>,
        notes: &mut Vec<String>,
    ) -> Result<Vec<String>, Vec<String>> {
        let mut failures = Vec::new();
        let result = (|| -> Result<()> {
            let qmp = self.client(running, client)?;
            let mut size = None;
            if let Some(name) = &step.screen {
                let png = self.png(name);
                let shown = PathBuf::from(self.ws.show(&png).to_string());
                qmp.screendump(&png)?;
                let shot = Screenshot::load(&png)?;
                notes.push(format!(
                    "{}: {} ({}x{})",
                    step.label,
                    shown.display(),
                    shot.width,
                    shot.height
                ));
                failures.extend(screen::check_pixels(
                    &step.label,
                    &step.pixels,
                    &shot,
                    &shown,
                ));
                failures.extend(screen::check_windows(
                    &step.label,
                    &step.windows,
                    placed,
                    &shot,
                    &shown,
                ));
                size = Some((shot.width, shot.height));
            }
            if let Some(click) = &step.click {
                let (width, height) = match size {
                    Some(size) => size,
                    None => self.screen_size(qmp)?,
                };
                size = Some((width, height));
                let (x, y) = match &click.window {
                    None => (click.x, click.y),
                    Some(label) => {
                        let w = screen::Placed::newest(placed, label)
                            .with_context(|| format!("no open window of {label} to click in"))?;
                        (w.x + click.x, w.y + click.y)
                    }
                };
                qmp.pointer_abs(x, y, width, height)
                    .and_then(|()| qmp.click(&click.button))
                    .with_context(|| format!("click at ({x}, {y}) on {width}x{height}"))?;
            }
            if !step.drag.is_empty() {
                let (width, height) = match size {
                    Some(size) => size,
                    None => self.screen_size(qmp)?,
                };
                qmp.drag(&step.drag, width, height)
                    .with_context(|| format!("drag through {:?} on {width}x{height}", step.drag))?;
            }
            for (i, key) in step.keys.iter().enumerate() {
                if i > 0 {
                    std::thread::sleep(crate::qmp::KEY_PACE);
                }
                qmp.send_key(key).with_context(|| format!("key {key:?}"))?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(failures),
            Err(e) => {
                // A QMP error as QEMU exits is QEMU's exit, not a QMP fault.
                let why = match running.wait_for(Duration::from_secs(1)) {
                    Ok(Some(outcome)) => {
                        let hint = if self.job.scenario.file.solution.exit_when_done {
                            "; with `exit_when_done = true` the kernel may exit QEMU right \
                             after the line"
                        } else {
                            ""
                        };
                        format!("QEMU ended ({outcome}) before the step could act{hint} ({e:#})")
                    }
                    _ => format!("{e:#}"),
                };
                failures.push(format!("{}: {why}", step.label));
                Err(failures)
            }
        }
    }

    /// The screen's size, from a screenshot saved for that alone (as
    /// `<job>.pointer.png`, a name no step's screenshot can have).
    fn screen_size(&self, qmp: &mut Qmp) -> Result<(u32, u32)> {
        let png = self
            .out_dir
            .join(format!("{}.pointer.png", self.job.file_stem()));
        qmp.screendump(&png)?;
        let size = Screenshot::dimensions(&png);
        let _ = std::fs::remove_file(&png);
        size.context("the screen's size, for the pointer")
    }

    /// Stops QEMU through QMP `quit` (killing it if that fails) and returns
    /// the outcome: [`Outcome::Stopped`], unless QEMU ended some other way
    /// first.
    fn stop(
        &self,
        running: &mut Running,
        client: &mut Option<Qmp>,
        failures: &mut Vec<String>,
    ) -> Outcome {
        let quit = self
            .client(running, client)
            .and_then(|qmp| qmp.quit())
            .and_then(|()| running.wait_for(QUIT_TIMEOUT));
        match quit {
            Ok(Some(Outcome::Exited(0))) => Outcome::Stopped,
            Ok(Some(other)) => other,
            Ok(None) => {
                running.kill();
                failures.push(format!(
                    "QEMU did not exit within {} s of QMP `quit`; killed",
                    QUIT_TIMEOUT.as_secs()
                ));
                Outcome::Stopped
            }
            Err(e) => {
                if let Ok(Some(outcome)) = running.try_wait() {
                    // It ended by itself meanwhile; judge that ending.
                    return outcome;
                }
                running.kill();
                failures.push(format!("could not stop QEMU through QMP: {e:#}; killed"));
                Outcome::Stopped
            }
        }
    }
}
