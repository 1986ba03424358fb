//! `cargo xtask bench`: boots the in-OS benchmark solutions in
//! `bench/solutions/`, collects the `BENCH` lines the programs print, and
//! writes `target/bench/ipc.json`; then the GUI benchmarks
//! (`crate::guibench`), written to `target/bench/gui.json`.
//!
//! Every solution runs twice: under `-icount shift=0,align=off,sleep=off`,
//! where the guest TSC counts instructions (reported as `instructions`), and
//! without it, where TSC ticks are converted to nanoseconds with the rate the
//! program measured against kernel time (reported as `ns`). Same-CPU
//! benchmarks boot with `-smp 1`; the cross-CPU one with `-smp 2` and the
//! four-pair one with `-smp 4`, where the icount clock counts every CPU's
//! instructions. The slow-path solution boots with `fastpath=off`.
//!
//! Two checks keep the figures honest: a solution that reports a
//! `fastpath_*` result must show fast-path switches in the kernel's
//! `fastpath:` statistics, and the `fastpath=off` run must show none.
//!
//! Afterwards the host-side criterion benches run, unless `--no-criterion`:
//! the verdict cache (`cargo bench -p tessera-ipc-fastpath`) and the
//! display server's composition (`cargo bench -p tessera-display-server`).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::build::{self, Profile};
use crate::judge::{Outcome, STATUS_PASS};
use crate::qemu::{self, Display, QemuConfig};
use crate::solution::SolutionFile;
use crate::workspace::Workspace;
use crate::{image, setup};

/// The benchmark solutions, the CPU count each boots with, and its kernel
/// options.
const SOLUTIONS: [(&str, u32, &str); 4] = [
    ("bench/solutions/ipc-1cpu.toml", 1, ""),
    ("bench/solutions/ipc-slowpath.toml", 1, "fastpath=off"),
    ("bench/solutions/ipc-2cpu.toml", 2, ""),
    ("bench/solutions/ipc-4pairs.toml", 4, ""),
];

/// One result, as written to `ipc.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    /// Benchmark name.
    pub name: String,
    /// Median per operation.
    pub median: u64,
    /// 99th percentile per operation.
    pub p99: u64,
    /// `instructions` or `ns`.
    pub unit: String,
    /// Operations measured.
    pub iterations: u64,
}

#[derive(Deserialize)]
struct Line {
    name: String,
    median: u64,
    p99: u64,
    iterations: u64,
}

#[derive(Deserialize)]
struct Window {
    name: String,
    start: u64,
    end: u64,
    ops: u64,
}

#[derive(Deserialize)]
struct Rate {
    ticks: u64,
    ns: u64,
}

/// Extracts results from a serial log. With `icount`, ticks are
/// instructions; otherwise they are converted with the `BENCH_TSC` rate.
///
/// `BENCH_WINDOW` lines of one name (one per CPU of a multi-pair run) add
/// up to one result: the ticks from the earliest start to the latest end
/// divided by all their operations. Under icount that is every CPU's
/// instructions per operation; median and p99 are that same figure.
pub fn parse_log(log: &str, icount: bool) -> Result<Vec<BenchResult>> {
    let mut rate: Option<Rate> = None;
    let mut out = Vec::new();
    let mut windows: Vec<Window> = Vec::new();
    let convert = |rate: &Option<Rate>, t: u64| -> Result<(u64, &'static str)> {
        if icount {
            return Ok((t, "instructions"));
        }
        let r = rate
            .as_ref()
            .context("a BENCH line came before the BENCH_TSC rate")?;
        if r.ticks == 0 {
            bail!("BENCH_TSC reports zero ticks");
        }
        let ns = (t as u128 * r.ns as u128 + r.ticks as u128 / 2) / r.ticks as u128;
        Ok((ns as u64, "ns"))
    };
    for line in log.lines() {
        if let Some(json) = line.split_once("BENCH_TSC ").map(|(_, j)| j) {
            rate = Some(
                serde_json::from_str(json)
                    .with_context(|| format!("bad BENCH_TSC line: {line}"))?,
            );
        } else if let Some(json) = line.split_once("BENCH_WINDOW ").map(|(_, j)| j) {
            let w: Window = serde_json::from_str(json)
                .with_context(|| format!("bad BENCH_WINDOW line: {line}"))?;
            if w.end < w.start || w.ops == 0 {
                bail!("BENCH_WINDOW with an empty window: {line}");
            }
            windows.push(w);
        } else if let Some(json) = line.split_once("BENCH ").map(|(_, j)| j) {
            let l: Line =
                serde_json::from_str(json).with_context(|| format!("bad BENCH line: {line}"))?;
            let (median, unit) = convert(&rate, l.median)?;
            let (p99, _) = convert(&rate, l.p99)?;
            out.push(BenchResult {
                name: l.name,
                median,
                p99,
                unit: unit.to_string(),
                iterations: l.iterations,
            });
        }
    }
    let mut names: Vec<&str> = windows.iter().map(|w| w.name.as_str()).collect();
    names.dedup();
    for name in names {
        let ws: Vec<&Window> = windows.iter().filter(|w| w.name == name).collect();
        let start = ws.iter().map(|w| w.start).min().unwrap_or(0);
        let end = ws.iter().map(|w| w.end).max().unwrap_or(0);
        let ops: u64 = ws.iter().map(|w| w.ops).sum();
        let (per_op, unit) = convert(&rate, (end - start + ops / 2) / ops)?;
        out.push(BenchResult {
            name: name.to_string(),
            median: per_op,
            p99: per_op,
            unit: unit.to_string(),
            iterations: ops,
        });
    }
    Ok(out)
}

/// Fast-path switches the kernel reported (`fastpath: cpuN taken X`).
pub fn fast_switches(log: &str) -> u64 {
    log.lines()
        .filter_map(|l| {
            l.split_once("fastpath: cpu")?
                .1
                .split_once(" taken ")?
                .1
                .split_once(',')
        })
        .filter_map(|(n, _)| n.trim().parse::<u64>().ok())
        .sum()
}

/// The honesty checks of the module docs.
fn check_paths(stem: &str, append: &str, log: &str, results: &[BenchResult]) -> Result<()> {
    let taken = fast_switches(log);
    if append.contains("fastpath=off") {
        if taken != 0 || !log.contains("fast path and verdict cache disabled") {
            bail!(
                "{stem}: booted with fastpath=off but the kernel reports {taken} fast-path switches"
            );
        }
    } else if let Some(r) = results.iter().find(|r| r.name.starts_with("fastpath"))
        && taken < r.iterations
    {
        bail!(
            "{stem}: {} reported, but the kernel counted only {taken} fast-path switches",
            r.name
        );
    }
    Ok(())
}

/// Builds (release), boots every benchmark solution with and without
/// icount, prints a table and writes `target/bench/ipc.json`.
pub fn bench(ws: &Workspace, criterion: bool, gui_only: bool) -> Result<()> {
    setup::ensure_target(ws)?;
    setup::ensure_qemu()?;
    let artifacts = build::build(ws, Profile::Release)?;
    let out_dir = ws.target_dir.join("bench");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("could not create {}", out_dir.display()))?;
    let mut results = Vec::new();
    let modes: &[bool] = if gui_only { &[] } else { &[true, false] };
    for &icount in modes {
        for (file, smp, append) in SOLUTIONS {
            let file = SolutionFile::load(&ws.root.join(file))?;
            let stem = format!(
                "{}-{}",
                file.solution.name,
                if icount { "icount" } else { "wall" }
            );
            let image_path = out_dir.join(format!("{stem}.img"));
            image::write_image(&file, &artifacts, &image_path)?;
            let config = QemuConfig {
                kernel: artifacts.kernel.clone(),
                image: image_path,
                smp,
                cpu: "max".into(),
                append: append.to_string(),
                display: Display::None,
                qmp: None,
                icount,
            };
            let log = out_dir.join(format!("{stem}.log"));
            let stderr = out_dir.join(format!("{stem}.stderr"));
            println!(
                "bench  {stem} (-smp {smp}{})",
                if icount { ", -icount" } else { "" }
            );
            let run = qemu::run_timed(config.command(), &log, &stderr, Duration::from_secs(300))?;
            let text = read(&log);
            if run.outcome != Outcome::Exited(STATUS_PASS) {
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                bail!(
                    "{stem}: QEMU ended with {:?}, not a pass; log {}:\n{}\n{}",
                    run.outcome,
                    ws.show(&log),
                    tail.join("\n"),
                    read(&stderr)
                );
            }
            let found = parse_log(&text, icount)?;
            check_paths(&stem, append, &text, &found)?;
            results.extend(found);
        }
    }
    if !gui_only {
        let json = out_dir.join("ipc.json");
        std::fs::write(&json, serde_json::to_string_pretty(&results)? + "\n")
            .with_context(|| format!("could not write {}", json.display()))?;
        println!("{}", table(&results));
        println!("results: {}", ws.show(&json));
    }
    let gui = crate::guibench::run(ws, &artifacts, &out_dir)?;
    let gui_json = out_dir.join("gui.json");
    std::fs::write(&gui_json, serde_json::to_string_pretty(&gui)? + "\n")
        .with_context(|| format!("could not write {}", gui_json.display()))?;
    println!("{:<26} {:>20}", "benchmark", "ms (med/p99, n)");
    for r in &gui {
        let figure = format!("{} / {} ({})", r.median, r.p99, r.iterations);
        println!("{:<26} {:>20}", r.name, figure);
    }
    println!("results: {}", ws.show(&gui_json));
    if criterion {
        println!("== criterion: verdict cache against policy evaluation (host)");
        let mut cmd = ws.cargo();
        cmd.args(["bench", "-p", "tessera-ipc-fastpath"]);
        crate::workspace::run_step(&mut cmd)?;
        println!("== criterion: desktop composition (host)");
        let mut cmd = ws.cargo();
        cmd.args(["bench", "-p", "tessera-display-server"]);
        crate::workspace::run_step(&mut cmd)?;
    }
    Ok(())
}

fn read(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// One row per benchmark: instructions and nanoseconds side by side.
pub fn table(results: &[BenchResult]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for r in results {
        if !names.contains(&r.name.as_str()) {
            names.push(&r.name);
        }
    }
    let find = |name: &str, unit: &str| {
        results
            .iter()
            .find(|r| r.name == name && r.unit == unit)
            .map_or("-".to_string(), |r| format!("{} / {}", r.median, r.p99))
    };
    let mut s = format!(
        "{:<26} {:>24} {:>20}\n",
        "benchmark", "instructions (med/p99)", "ns (med/p99)"
    );
    for n in names {
        s += &format!(
            "{:<26} {:>24} {:>20}\n",
            n,
            find(n, "instructions"),
            find(n, "ns")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
[    0.1] INFO  cpu0 ipcbench: BENCH_TSC {\"ticks\": 2000000, \"ns\": 1000000}
[    0.2] INFO  cpu0 ipcbench: BENCH {\"name\": \"null_kernel_call\", \"median\": 300, \"p99\": 410, \"unit\": \"tsc\", \"iterations\": 2000}
[    0.3] INFO  cpu0 kernel: something else
";

    #[test]
    fn icount_lines_are_instructions() {
        let r = parse_log(LOG, true).unwrap();
        assert_eq!(
            r,
            vec![BenchResult {
                name: "null_kernel_call".into(),
                median: 300,
                p99: 410,
                unit: "instructions".into(),
                iterations: 2000
            }]
        );
    }

    #[test]
    fn wall_clock_lines_are_converted_with_the_measured_rate() {
        let r = parse_log(LOG, false).unwrap();
        assert_eq!(
            (r[0].median, r[0].p99, r[0].unit.as_str()),
            (150, 205, "ns")
        );
    }

    #[test]
    fn bad_lines_are_errors() {
        assert!(parse_log("x BENCH {not json}", true).is_err());
        assert!(
            parse_log(
                "x BENCH {\"name\": \"a\", \"median\": 1, \"p99\": 1, \"iterations\": 1}",
                false
            )
            .is_err()
        );
        assert!(parse_log("x BENCH_TSC {\"ticks\": 0, \"ns\": 5}\nx BENCH {\"name\": \"a\", \"median\": 1, \"p99\": 1, \"iterations\": 1}", false).is_err());
    }

    #[test]
    fn windows_add_up_across_cpus() {
        let log = "\
x BENCH_TSC {\"ticks\": 2000, \"ns\": 1000}
x BENCH_WINDOW {\"name\": \"p\", \"start\": 1000, \"end\": 5000, \"ops\": 10}
x BENCH_WINDOW {\"name\": \"p\", \"start\": 1200, \"end\": 5400, \"ops\": 10}
";
        let r = parse_log(log, true).unwrap();
        assert_eq!(
            (r[0].name.as_str(), r[0].median, r[0].p99, r[0].iterations),
            ("p", 220, 220, 20)
        );
        assert_eq!(parse_log(log, false).unwrap()[0].median, 110);
        assert!(
            parse_log(
                "x BENCH_WINDOW {\"name\": \"p\", \"start\": 5, \"end\": 1, \"ops\": 1}",
                true
            )
            .is_err()
        );
    }

    #[test]
    fn fast_path_use_is_checked() {
        let res = |name: &str| {
            vec![BenchResult {
                name: name.into(),
                median: 1,
                p99: 1,
                unit: "instructions".into(),
                iterations: 2000,
            }]
        };
        let used =
            "x fastpath: cpu0 taken 4400, missed: verdict=3\nx fastpath: cpu1 taken 5, missed:";
        assert_eq!(fast_switches(used), 4405);
        assert!(check_paths("s", "", used, &res("fastpath_roundtrip")).is_ok());
        let unused = "x fastpath: cpu0 taken 0, missed: verdict=4400";
        assert!(check_paths("s", "", unused, &res("fastpath_roundtrip")).is_err());
        assert!(check_paths("s", "", unused, &res("cross_core_roundtrip")).is_ok());
        let off = "x IPC fast path and verdict cache disabled (fastpath=off)\nx fastpath: cpu0 taken 0, missed: disabled=9";
        assert!(check_paths("s", "fastpath=off", off, &res("slowpath_roundtrip")).is_ok());
        assert!(check_paths("s", "fastpath=off", used, &res("slowpath_roundtrip")).is_err());
    }

    #[test]
    fn table_puts_both_units_on_one_row() {
        let mut r = parse_log(LOG, true).unwrap();
        r.extend(parse_log(LOG, false).unwrap());
        let t = table(&r);
        assert!(t.contains("null_kernel_call"), "{t}");
        assert!(t.contains("300 / 410") && t.contains("150 / 205"), "{t}");
        assert_eq!(t.lines().count(), 2);
    }
}
