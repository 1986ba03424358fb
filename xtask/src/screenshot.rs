//! `cargo xtask screenshot FILE.png`: boot a solution headless and save the
//! screen once the serial log shows a given line.
//!
//! QEMU runs with `-display none` and a QMP socket (see [`crate::qmp`]).
//! The serial log goes to `target/screenshot/<solution>.log` (QEMU's own
//! messages to `<solution>.stderr` beside it). When a line matches the
//! `--after` regex and the log has then been quiet for `--settle`
//! milliseconds (so the clients that start later have drawn too), xtask
//! saves the screen with QMP `screendump`, asks QEMU to quit, and prints
//! the path and the size of the picture.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::build::Artifacts;
use crate::judge::{self, Outcome};
use crate::qemu::{self, Display, QemuConfig, Running, SerialFollower};
use crate::qmp::{self, Qmp};
use crate::screen::Screenshot;
use crate::solution::SolutionFile;
use crate::workspace::Workspace;

/// The default `--after`: the display server has shown a frame.
pub const DEFAULT_AFTER: &str = r"display-server: frame \d+ presented";

/// Serial lines shown when the expected line never came.
const TAIL: usize = 20;

/// How long QEMU may take to exit after QMP `quit`.
const QUIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What to boot and when to take the picture.
pub struct Options {
    /// Where to write the PNG.
    pub file: PathBuf,
    /// The regex a serial line must match (placeholders as in scenarios).
    pub after: String,
    /// How long to wait for that line.
    pub timeout: Duration,
    /// How long the serial log must then stay quiet.
    pub settle: Duration,
    /// Number of CPUs.
    pub smp: u32,
    /// QEMU CPU model.
    pub cpu: String,
    /// Kernel command line.
    pub append: String,
}

/// Boots `image` headless, waits for the line, saves the screen to
/// `opts.file` and stops QEMU.
pub fn screenshot(
    ws: &Workspace,
    file: &SolutionFile,
    artifacts: &Artifacts,
    image: &Path,
    opts: &Options,
) -> Result<()> {
    let is_png = opts
        .file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png {
        bail!(
            "{} should end in .png (the screenshot is a PNG)",
            opts.file.display()
        );
    }
    let after = judge::compile(&opts.after, opts.smp)
        .with_context(|| format!("bad --after regex {:?}", opts.after))?;
    if let Some(parent) = opts.file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("could not create {}", parent.display()))?;
    }
    let dir = ws.target_dir.join("screenshot");
    std::fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
    let name = &file.solution.name;
    let log = dir.join(format!("{name}.log"));
    let stderr_log = dir.join(format!("{name}.stderr"));
    let qmp = qemu::qmp_socket_path(dir.join(format!("{name}.qmp")));
    let config = QemuConfig {
        kernel: artifacts.kernel.clone(),
        image: image.to_path_buf(),
        smp: opts.smp,
        cpu: opts.cpu.clone(),
        append: opts.append.clone(),
        display: Display::None,
        qmp: Some(qmp.clone()),
        icount: false,
    };
    let command = config.command();
    println!("{}", qemu::shell_line(&command));
    println!(
        "waiting for a serial line matching /{}/ (at most {} s; log {})",
        after.as_str(),
        opts.timeout.as_secs(),
        ws.show(&log)
    );
    let result = capture(command, &log, &stderr_log, &qmp, &after, opts);
    let _ = std::fs::remove_file(&qmp);
    let (number, line) = match result {
        Ok(found) => found,
        Err(e) => {
            let mut message = format!("{e:#}");
            if file.solution.exit_when_done {
                message.push_str(&format!(
                    "\nnote: solution `{name}` has `exit_when_done = true`, so the kernel may \
                     exit QEMU before the screenshot; use a solution that keeps running"
                ));
            }
            message.push_str(&tail(&log, ws));
            let stderr = std::fs::read_to_string(&stderr_log).unwrap_or_default();
            if !stderr.trim().is_empty() {
                message.push_str("\nQEMU stderr:");
                for l in stderr.lines() {
                    message.push_str("\n  ");
                    message.push_str(l);
                }
            }
            bail!("{message}");
        }
    };
    let shot = Screenshot::load(&opts.file)?;
    println!("serial line {number}: {line}");
    println!(
        "screenshot {} ({}x{})",
        opts.file.display(),
        shot.width,
        shot.height
    );
    Ok(())
}

/// Runs QEMU until a line matches, then takes the screenshot and quits.
/// Returns the line and its number.
fn capture(
    command: std::process::Command,
    log: &Path,
    stderr_log: &Path,
    qmp: &Path,
    after: &regex::Regex,
    opts: &Options,
) -> Result<(usize, String)> {
    let mut running = Running::spawn(command, log, stderr_log)?;
    let mut serial = SerialFollower::new(log);
    loop {
        let exited = running.try_wait()?;
        let lines = if exited.is_some() {
            serial.finish()
        } else {
            serial.poll()
        };
        let first_number = serial.lines() - lines.len() + 1;
        let found = lines
            .into_iter()
            .enumerate()
            .find(|(_, l)| after.is_match(l));
        if let Some(outcome) = exited {
            match found {
                Some((i, _)) => bail!(
                    "serial line {} matched /{}/, but QEMU had already ended, too late for a \
                     screenshot: {}",
                    first_number + i,
                    after.as_str(),
                    outcome_text(outcome)
                ),
                None => bail!(
                    "QEMU ended before any serial line matched /{}/: {}",
                    after.as_str(),
                    outcome_text(outcome)
                ),
            }
        }
        if let Some((i, line)) = found {
            settle(&mut running, &mut serial, opts)?;
            let alive = || matches!(running.try_wait(), Ok(None));
            let mut client = Qmp::connect(qmp, qmp::CONNECT_TIMEOUT, alive)?;
            if let Err(e) = client.screendump(&opts.file) {
                // A QMP error as QEMU exits is QEMU's exit, not a QMP fault.
                if let Some(outcome) = running.wait_for(Duration::from_secs(1))? {
                    bail!(
                        "QEMU ended before the screenshot: {} ({e:#})",
                        outcome_text(outcome)
                    );
                }
                return Err(e);
            }
            if client.quit().is_err() || running.wait_for(QUIT_TIMEOUT)?.is_none() {
                running.kill();
            }
            return Ok((first_number + i, line));
        }
        if running.elapsed() >= opts.timeout {
            running.kill();
            bail!(
                "no serial line matched /{}/ within {} s (pass --after REGEX or --timeout SECS)",
                after.as_str(),
                opts.timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until no serial line has come for `opts.settle`. Gives up waiting
/// (and says so) when the log never goes quiet within `opts.timeout` of
/// the start; fails if QEMU ends meanwhile.
fn settle(running: &mut Running, serial: &mut SerialFollower, opts: &Options) -> Result<()> {
    let mut quiet_since = std::time::Instant::now();
    loop {
        if let Some(outcome) = running.try_wait()? {
            bail!(
                "QEMU ended while xtask waited for the screen to settle: {}",
                outcome_text(outcome)
            );
        }
        if !serial.poll().is_empty() {
            quiet_since = std::time::Instant::now();
        }
        if quiet_since.elapsed() >= opts.settle {
            return Ok(());
        }
        if running.elapsed() >= opts.timeout {
            println!(
                "note: the serial log was never quiet for {} ms; taking the screenshot anyway",
                opts.settle.as_millis()
            );
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn outcome_text(outcome: Outcome) -> String {
    match outcome {
        Outcome::Exited(code) => judge::describe_status(code),
        other => other.to_string(),
    }
}

/// The last [`TAIL`] lines of the serial log, as text to append to an
/// error.
fn tail(log: &Path, ws: &Workspace) -> String {
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines = judge::log_lines(&text);
    if lines.is_empty() {
        return format!("\nthe serial log {} is empty", ws.show(log));
    }
    let shown = &lines[lines.len().saturating_sub(TAIL)..];
    let mut out = format!(
        "\nlast {} of {} serial lines ({}):",
        shown.len(),
        lines.len(),
        ws.show(log)
    );
    for line in shown {
        out.push_str("\n  | ");
        out.push_str(line);
    }
    out
}
