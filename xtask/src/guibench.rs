//! The GUI benchmarks of `cargo xtask bench`, written to
//! `target/bench/gui.json` in the format of `ipc.json`, in milliseconds of
//! host time (QEMU TCG, no icount: the figures are what a user sees on
//! this machine, not instruction counts).
//!
//! - `boot_to_desktop_ms`: from starting QEMU until the serial log shows
//!   that every app of `bench/solutions/gui.toml` (four `hello-window`
//!   domains) has its first frame on the display server. One figure per
//!   boot, [`BOOTS`] boots.
//! - `input_to_screen_ms`: a key sent through QMP (`input-send-event`)
//!   until a QMP screenshot shows the typed character in the focused
//!   window; [`KEYS`] keys per boot. Each check takes a screenshot, so
//!   a figure is at most one screenshot late: `qmp_screendump_ms`, the
//!   time one screenshot takes, is reported beside it for that reason.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use regex::Regex;

use crate::bench::BenchResult;
use crate::build::Artifacts;
use crate::image;
use crate::qemu::{self, Display, QemuConfig, Running, SerialFollower};
use crate::qmp::{self, Qmp};
use crate::screen::Screenshot;
use crate::solution::SolutionFile;
use crate::workspace::Workspace;

/// The solution booted.
const SOLUTION: &str = "bench/solutions/gui.toml";
/// Boots measured.
pub const BOOTS: usize = 3;
/// Keys measured per boot.
pub const KEYS: usize = 8;
/// Windows the solution opens.
const APPS: usize = 4;
/// The first window's content on the 1280x800 screen (the display
/// server's placement), where the typed characters appear.
const FIRST_CONTENT: (u32, u32, u32, u32) = (40, 60, 320, 200);
/// Longest wait for anything.
const LIMIT: Duration = Duration::from_secs(60);

/// Runs the boots and returns the results.
pub fn run(ws: &Workspace, artifacts: &Artifacts, out_dir: &Path) -> Result<Vec<BenchResult>> {
    let file = SolutionFile::load(&ws.root.join(SOLUTION))?;
    let image_path = out_dir.join("gui.img");
    image::write_image(&file, artifacts, &image_path)?;
    let (mut boot, mut input, mut dump) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..BOOTS {
        println!("bench  gui boot {} of {BOOTS} (-smp 2)", n + 1);
        let (b, keys, dumps) = one_boot(artifacts, &image_path, out_dir)
            .with_context(|| format!("GUI benchmark, boot {}", n + 1))?;
        boot.push(b);
        input.extend(keys);
        dump.extend(dumps);
    }
    Ok(vec![
        summary("boot_to_desktop_ms", boot),
        summary("input_to_screen_ms", input),
        summary("qmp_screendump_ms", dump),
    ])
}

/// Median and 99th percentile (nearest rank) of `values`, in ms.
fn summary(name: &str, mut values: Vec<f64>) -> BenchResult {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let rank = |p: usize| values[((n * p).div_ceil(100)).clamp(1, n) - 1].round() as u64;
    BenchResult {
        name: name.into(),
        median: rank(50),
        p99: rank(99),
        unit: "ms".into(),
        iterations: n as u64,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One boot: its boot-to-desktop time, the key latencies, and the time of
/// each screenshot taken.
fn one_boot(
    artifacts: &Artifacts,
    image_path: &Path,
    out_dir: &Path,
) -> Result<(f64, Vec<f64>, Vec<f64>)> {
    let log = out_dir.join("gui.log");
    let stderr = out_dir.join("gui.stderr");
    let socket = qemu::qmp_socket_path(out_dir.join("gui.qmp"));
    let config = QemuConfig {
        kernel: artifacts.kernel.clone(),
        image: image_path.to_path_buf(),
        smp: 2,
        cpu: "max".into(),
        append: String::new(),
        display: Display::None,
        qmp: Some(socket.clone()),
        icount: false,
    };
    let mut running = Running::spawn(config.command(), &log, &stderr)?;
    let result = measure(&mut running, &log, &socket, out_dir);
    running.kill();
    let _ = std::fs::remove_file(&socket);
    result
}

fn measure(
    running: &mut Running,
    log: &Path,
    socket: &Path,
    out_dir: &Path,
) -> Result<(f64, Vec<f64>, Vec<f64>)> {
    let mut serial = SerialFollower::new(log);
    let presented = Regex::new(r"app-\d: hello-window: window \d+ presented")?;
    let mut seen = 0;
    while seen < APPS {
        if running.try_wait()?.is_some() {
            bail!(
                "QEMU ended before the desktop was up; log {}",
                log.display()
            );
        }
        if running.elapsed() > LIMIT {
            bail!(
                "the desktop was not up after {LIMIT:?}; log {}",
                log.display()
            );
        }
        seen += serial
            .poll()
            .iter()
            .filter(|l| presented.is_match(l))
            .count();
        std::thread::sleep(Duration::from_millis(2));
    }
    let boot = ms(running.elapsed());
    let alive = || matches!(running.try_wait(), Ok(None));
    let mut q = Qmp::connect(socket, qmp::CONNECT_TIMEOUT, alive)?;
    // Focus the first window, and wait until it says so.
    let (x, y, w, h) = FIRST_CONTENT;
    q.pointer_abs(x + w / 2, y + h / 2, 1280, 800)?;
    q.click("left")?;
    wait_line(running, &mut serial, r"window 1: focus gained")?;
    let shot = out_dir.join("gui-shot.png");
    let mut dumps = Vec::new();
    let mut take = |q: &mut Qmp| -> Result<Screenshot> {
        let t = Instant::now();
        q.screendump(&shot)?;
        let s = Screenshot::load(&shot)?;
        dumps.push(ms(t.elapsed()));
        Ok(s)
    };
    let region = |s: &Screenshot| -> Vec<u8> {
        let mut v = Vec::new();
        for row in y..y + h {
            for col in x..x + w {
                v.extend(s.pixel(col, row).unwrap_or_default());
            }
        }
        v
    };
    let mut keys = Vec::new();
    for _ in 0..KEYS {
        let before = region(&take(&mut q)?);
        let sent = Instant::now();
        q.send_key("x")?;
        loop {
            if region(&take(&mut q)?) != before {
                keys.push(ms(sent.elapsed()));
                break;
            }
            if sent.elapsed() > Duration::from_secs(5) {
                bail!("the key sent through QMP never showed in the focused window");
            }
        }
        // The key has reached the app: its log line is the proof.
        wait_line(running, &mut serial, r"window 1: key x")?;
    }
    let _ = q.quit();
    Ok((boot, keys, dumps))
}

/// Waits for a serial line matching `pattern`.
fn wait_line(running: &mut Running, serial: &mut SerialFollower, pattern: &str) -> Result<()> {
    let re = Regex::new(pattern)?;
    let start = Instant::now();
    loop {
        if serial.poll().iter().any(|l| re.is_match(l)) {
            return Ok(());
        }
        if running.try_wait()?.is_some() || start.elapsed() > LIMIT {
            bail!("no serial line matched /{pattern}/");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_takes_nearest_ranks() {
        let r = summary("x", vec![30.0, 10.0, 20.4]);
        assert_eq!((r.median, r.p99, r.iterations), (20, 30, 3));
        let r = summary("x", (1..=100).map(f64::from).collect());
        assert_eq!((r.median, r.p99), (50, 99));
        assert_eq!(r.unit, "ms");
    }
}
