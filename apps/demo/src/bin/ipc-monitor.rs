//! `ipc-monitor`: a live view of the kernel's IPC statistics
//! (`abi::stats`), in a window on the display server (channel
//! `"display"`).
//!
//! Twice a second it reads every CPU's counters and shows, per CPU, the
//! messages between domains per second, the share the IPC fast path
//! carried, the share of verdicts the verdict cache gave (the rest were
//! full policy evaluations), and the CPU's load; below, a bar chart of the
//! last [`HISTORY`] samples of all CPUs' messages per second, each bar
//! split into the fast path's part and the rest.
//!
//! Reading the statistics is up to the policy (`Stats.*`): when it is
//! denied, the window says so and the monitor keeps running.
//!
//! Program argument bit 0 logs every sample (one line per CPU), for tests:
//! `ipc-monitor: cpu<i> <n> msg/s, fast <f>%, cache <c>%, load <l>%`.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::format;
use alloc::vec::Vec;
use gui::embedded_graphics::prelude::*;
use gui::embedded_graphics::primitives::Rectangle;
use gui::{Rgb888, Window};
use rt::abi::Error;
use rt::kernel::{self, CpuStats, IpcStats};

rt::entry!(main);

const WIDTH: u32 = 360;
const HEIGHT: u32 = 220;
/// Time between two samples.
const PERIOD_NS: u64 = 500_000_000;
/// Samples the chart shows.
const HISTORY: usize = 40;
/// Most CPUs listed (the window has room for this many rows).
const ROWS: usize = 8;

const BACKGROUND: Rgb888 = Rgb888::new(0x14, 0x1c, 0x24);
const TEXT: Rgb888 = Rgb888::new(0xe0, 0xe0, 0xe0);
const DIM: Rgb888 = Rgb888::new(0x80, 0x90, 0xa0);
const FAST: Rgb888 = Rgb888::new(0x4c, 0xaf, 0x50);
const SLOW: Rgb888 = Rgb888::new(0xe0, 0x8a, 0x30);

/// Where the chart sits, in window coordinates.
const CHART: Rectangle = Rectangle::new(Point::new(8, 128), Size::new(WIDTH - 16, 84));

/// One CPU's counters at one moment.
#[derive(Clone, Copy)]
struct Sample {
    ipc: IpcStats,
    cpu: CpuStats,
}

/// What changed on one CPU between two samples.
struct Rates {
    messages_per_s: u64,
    fast_per_s: u64,
    fast_pct: u64,
    cache_pct: u64,
    load_pct: u64,
}

/// `part` of `whole` in percent (0 when there is no whole).
fn pct(part: u64, whole: u64) -> u64 {
    (part.min(whole) * 100).checked_div(whole).unwrap_or(0)
}

/// `count` events over `ns` nanoseconds, per second (0 over no time).
fn per_s(count: u64, ns: u64) -> u64 {
    (u128::from(count) * 1_000_000_000)
        .checked_div(u128::from(ns))
        .map_or(0, |r| r as u64)
}

fn rates(old: &Sample, new: &Sample, ns: u64) -> Rates {
    let d = |a: u64, b: u64| b.saturating_sub(a);
    let messages = d(old.ipc.messages, new.ipc.messages);
    let fast = d(old.ipc.fast, new.ipc.fast);
    let hits = d(old.ipc.verdict_hits, new.ipc.verdict_hits);
    let evaluations = d(old.ipc.evaluations, new.ipc.evaluations);
    let idle = d(old.cpu.idle_ns, new.cpu.idle_ns).min(ns);
    Rates {
        messages_per_s: per_s(messages, ns),
        fast_per_s: per_s(fast, ns),
        fast_pct: pct(fast, messages),
        cache_pct: pct(hits, hits + evaluations),
        load_pct: 100 - pct(idle, ns),
    }
}

/// Every CPU's counters.
fn sample(cpus: u64) -> Result<Vec<Sample>, Error> {
    (0..cpus.min(ROWS as u64))
        .map(|i| {
            Ok(Sample {
                ipc: kernel::ipc_stats(i)?,
                cpu: kernel::cpu_stats(i)?,
            })
        })
        .collect()
}

/// Draws the rows and the chart. Drawing on a window's memory cannot fail
/// (`Infallible`), so results are ignored.
fn draw(win: &mut Window, rows: &[Rates], history: &VecDeque<(u64, u64)>) {
    let _ = win.clear(BACKGROUND);
    let font = &gui::FONT_6X10;
    let _ = gui::text(win, "IPC by CPU", 8, 6, TEXT, &gui::FONT_9X15_BOLD);
    let _ = gui::text(win, "cpu     msg/s   fast  cache   load", 8, 28, DIM, font);
    for (i, r) in rows.iter().enumerate() {
        let line = format!(
            "{:<3} {:>9} {:>5}% {:>5}% {:>5}%",
            i, r.messages_per_s, r.fast_pct, r.cache_pct, r.load_pct
        );
        let _ = gui::text(win, &line, 8, 42 + 10 * i as i32, TEXT, font);
    }
    let _ = gui::text(
        win,
        "all CPUs, msg/s: fast path / other",
        8,
        CHART.top_left.y - 12,
        DIM,
        font,
    );
    let _ = win.fill_solid(&CHART, Rgb888::new(0x0c, 0x12, 0x18));
    let top = history
        .iter()
        .map(|&(all, _)| all)
        .max()
        .unwrap_or(0)
        .max(1);
    let bar = CHART.size.width / HISTORY as u32;
    let h = u64::from(CHART.size.height);
    let bottom = CHART.top_left.y + CHART.size.height as i32;
    for (k, &(all, fast)) in history.iter().enumerate() {
        let x = CHART.top_left.x + (k as u32 * bar) as i32;
        let all_h = (all * h / top) as u32;
        let fast_h = (fast.min(all) * h / top) as u32;
        let slow = Rectangle::new(
            Point::new(x, bottom - all_h as i32),
            Size::new(bar.saturating_sub(1), all_h - fast_h),
        );
        let quick = Rectangle::new(
            Point::new(x, bottom - fast_h as i32),
            Size::new(bar.saturating_sub(1), fast_h),
        );
        let _ = win.fill_solid(&slow, SLOW);
        let _ = win.fill_solid(&quick, FAST);
    }
}

fn main() -> i32 {
    let log = rt::arg() & 1 != 0;
    let mut win = match Window::open("display", WIDTH, HEIGHT) {
        Ok(win) => win,
        Err(e) => {
            rt::error!("ipc-monitor: {}", e);
            return 1;
        }
    };
    let cpus = kernel::info().cpus_online;
    let mut history: VecDeque<(u64, u64)> = VecDeque::with_capacity(HISTORY);
    let mut last = match sample(cpus) {
        Ok(s) => (kernel::now_ns(), s),
        Err(e) => {
            // Denied by the policy (or no such endpoint): say so, once,
            // and stay open without asking again.
            rt::println!("ipc-monitor: statistics unavailable: {}", e);
            let _ = win.clear(BACKGROUND);
            let what = format!("statistics: {e}");
            let _ = gui::text(&mut win, &what, 8, 8, TEXT, &gui::FONT_6X10);
            return match win.run(|_, _| true) {
                Ok(()) => 0,
                Err(e) => {
                    rt::error!("ipc-monitor: {}", e);
                    1
                }
            };
        }
    };
    draw(&mut win, &[], &history);
    let mut next = last.0 + PERIOD_NS;
    loop {
        // Events are ignored: the monitor has nothing to type into. The
        // loop returns at the deadline (or with a failed request).
        if let Err(e) = win.run_until(next, |_, _| true) {
            rt::error!("ipc-monitor: {}", e);
            return 1;
        }
        let now = kernel::now_ns();
        next = now + PERIOD_NS;
        let new = match sample(cpus) {
            Ok(new) => new,
            Err(e) => {
                rt::error!("ipc-monitor: statistics: {}", e);
                return 1;
            }
        };
        let ns = now - last.0;
        let rows: Vec<Rates> = last
            .1
            .iter()
            .zip(&new)
            .map(|(a, b)| rates(a, b, ns))
            .collect();
        if history.len() == HISTORY {
            history.pop_front();
        }
        let all = rows.iter().map(|r| r.messages_per_s).sum();
        let fast = rows.iter().map(|r| r.fast_per_s).sum();
        history.push_back((all, fast));
        draw(&mut win, &rows, &history);
        // On screen before it is logged, so a test that waits for the log
        // line sees it drawn.
        if let Err(e) = win.present() {
            rt::error!("ipc-monitor: {}", e);
            return 1;
        }
        if log {
            for (i, r) in rows.iter().enumerate() {
                rt::println!(
                    "ipc-monitor: cpu{} {} msg/s, fast {}%, cache {}%, load {}%",
                    i,
                    r.messages_per_s,
                    r.fast_pct,
                    r.cache_pct,
                    r.load_pct
                );
            }
        }
        last = (now, new);
    }
}
