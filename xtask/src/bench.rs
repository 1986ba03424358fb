//! `cargo xtask bench`: boots the in-OS benchmark solutions in
//! `bench/solutions/`, collects the `BENCH` lines the programs print, and
//! writes `target/bench/ipc.json`.
//!
//! Every solution runs twice: under `-icount shift=0,align=off,sleep=off`,
//! where the guest TSC counts instructions (reported as `instructions`), and
//! without it, where TSC ticks are converted to nanoseconds with the rate the
//! program measured against kernel time (reported as `ns`). Same-CPU
//! benchmarks boot with `-smp 1`; the cross-CPU one with `-smp 2`, where the
//! icount clock counts both CPUs' instructions.

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

/// The benchmark solutions and the CPU count each boots with.
const SOLUTIONS: [(&str, u32); 2] = [
    ("bench/solutions/ipc-1cpu.toml", 1),
    ("bench/solutions/ipc-2cpu.toml", 2),
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
struct Rate {
    ticks: u64,
    ns: u64,
}

/// Extracts results from a serial log. With `icount`, ticks are
/// instructions; otherwise they are converted with the `BENCH_TSC` rate.
pub fn parse_log(log: &str, icount: bool) -> Result<Vec<BenchResult>> {
    let mut rate: Option<Rate> = None;
    let mut out = Vec::new();
    for line in log.lines() {
        if let Some(json) = line.split_once("BENCH_TSC ").map(|(_, j)| j) {
            rate = Some(
                serde_json::from_str(json)
                    .with_context(|| format!("bad BENCH_TSC line: {line}"))?,
            );
        } else if let Some(json) = line.split_once("BENCH ").map(|(_, j)| j) {
            let l: Line =
                serde_json::from_str(json).with_context(|| format!("bad BENCH line: {line}"))?;
            let (median, p99, unit) = if icount {
                (l.median, l.p99, "instructions")
            } else {
                let r = rate
                    .as_ref()
                    .context("a BENCH line came before the BENCH_TSC rate")?;
                if r.ticks == 0 {
                    bail!("BENCH_TSC reports zero ticks");
                }
                let ns = |t: u64| {
                    ((t as u128 * r.ns as u128 + r.ticks as u128 / 2) / r.ticks as u128) as u64
                };
                (ns(l.median), ns(l.p99), "ns")
            };
            out.push(BenchResult {
                name: l.name,
                median,
                p99,
                unit: unit.to_string(),
                iterations: l.iterations,
            });
        }
    }
    Ok(out)
}

/// Builds (release), boots every benchmark solution with and without
/// icount, prints a table and writes `target/bench/ipc.json`.
pub fn bench(ws: &Workspace) -> Result<()> {
    setup::ensure_target(ws)?;
    setup::ensure_qemu()?;
    let artifacts = build::build(ws, Profile::Release)?;
    let out_dir = ws.target_dir.join("bench");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("could not create {}", out_dir.display()))?;
    let mut results = Vec::new();
    for icount in [true, false] {
        for (file, smp) in SOLUTIONS {
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
                append: String::new(),
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
            results.extend(parse_log(&text, icount)?);
        }
    }
    let json = out_dir.join("ipc.json");
    std::fs::write(&json, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("could not write {}", json.display()))?;
    println!("{}", table(&results));
    println!("results: {}", ws.show(&json));
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
    fn table_puts_both_units_on_one_row() {
        let mut r = parse_log(LOG, true).unwrap();
        r.extend(parse_log(LOG, false).unwrap());
        let t = table(&r);
        assert!(t.contains("null_kernel_call"), "{t}");
        assert!(t.contains("300 / 410") && t.contains("150 / 205"), "{t}");
        assert_eq!(t.lines().count(), 2);
    }
}
