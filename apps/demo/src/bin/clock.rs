//! `clock`: the time and a few facts about the machine, in a window on the
//! display server (channel `"display"`), redrawn every second:
//!
//! - the date and time in UTC, from the machine's real-time clock
//!   (`Time.wall`), or "no clock" if the machine has none;
//! - the time since boot (`Time.now`);
//! - the number of CPUs (`Task.info`);
//! - free physical memory and what this domain has mapped
//!   (`Memory.stats`).
//!
//! Program argument bit 0 logs every redraw, for tests:
//! `clock: <yyyy-mm-dd hh:mm:ss> UTC, up <s> s, <n> CPUs, <m> MiB free`.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use gui::embedded_graphics::prelude::*;
use gui::{Rgb888, Window};
use rt::kernel;

rt::entry!(main);

const WIDTH: u32 = 260;
const HEIGHT: u32 = 120;
const BACKGROUND: Rgb888 = Rgb888::new(0x20, 0x24, 0x30);
const TEXT: Rgb888 = Rgb888::new(0xf0, 0xf0, 0xf0);
const DIM: Rgb888 = Rgb888::new(0x90, 0xa0, 0xb0);
const SECOND_NS: u64 = 1_000_000_000;

/// `yyyy-mm-dd hh:mm:ss` for Unix time `ns`.
fn timestamp(ns: u64) -> String {
    let secs = ns / SECOND_NS;
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = rt::abi::time::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rest / 3_600,
        rest / 60 % 60,
        rest % 60
    )
}

/// `h:mm:ss` for a duration in seconds.
fn duration(secs: u64) -> String {
    format!("{}:{:02}:{:02}", secs / 3_600, secs / 60 % 60, secs % 60)
}

fn main() -> i32 {
    let log = rt::arg() & 1 != 0;
    let mut win = match Window::open("display", WIDTH, HEIGHT) {
        Ok(win) => win,
        Err(e) => {
            rt::error!("clock: {}", e);
            return 1;
        }
    };
    let cpus = kernel::info().cpus_online;
    loop {
        let now = kernel::now_ns();
        let wall = kernel::wall_ns().ok().flatten();
        let memory = kernel::mem_stats().ok();
        let free_mib = memory.map_or(0, |m| m.free_phys >> 20);
        let mapped_kib = memory.map_or(0, |m| (m.mapped + m.tables) >> 10);
        let when = wall.map_or_else(|| String::from("no clock"), timestamp);
        let up = now / SECOND_NS;
        // Drawing on a window's memory cannot fail (`Infallible`).
        let _ = win.clear(BACKGROUND);
        let _ = gui::text(&mut win, &when, 10, 10, TEXT, &gui::FONT_9X15_BOLD);
        let _ = gui::text(&mut win, "UTC", 10, 28, DIM, &gui::FONT_6X10);
        let lines = [
            format!("up      {}", duration(up)),
            format!("CPUs    {cpus}"),
            format!("memory  {free_mib} MiB free"),
            format!("        {mapped_kib} KiB mapped here"),
        ];
        for (i, line) in lines.iter().enumerate() {
            let _ = gui::text(
                &mut win,
                line,
                10,
                48 + 14 * i as i32,
                TEXT,
                &gui::FONT_6X10,
            );
        }
        if let Err(e) = win.present() {
            rt::error!("clock: {}", e);
            return 1;
        }
        if log {
            rt::println!(
                "clock: {} UTC, up {} s, {} CPUs, {} MiB free",
                when,
                up,
                cpus,
                free_mib
            );
        }
        // Until the next whole second of uptime; events are ignored.
        let next = (now / SECOND_NS + 1) * SECOND_NS;
        if let Err(e) = win.run_until(next, |_, _| true) {
            rt::error!("clock: {}", e);
            return 1;
        }
    }
}
