//! `ticker`: an animation at a fixed frame period in a window on the
//! display server (channel `"display"`), which counts the frames it could
//! not show on time. It is the probe of the `desktop-spinner` and `spread`
//! scenarios: a CPU hog on the same CPU must not make it miss frames.
//!
//! The program argument is the frame period in milliseconds (0: 50 ms;
//! other values are clamped to 10..=1000). The deadlines are
//! `start + k * period`, absolute times on the kernel's monotonic clock
//! (`Time.now`). The ticker sleeps until the next deadline (`Time.sleep`),
//! draws a frame (a frame counter and a bar that moves a few pixels) and
//! presents only the rectangle that changed. A deadline is *missed* when no
//! frame was presented within one full period after it: when a present
//! returns, every deadline that has come since the previous present is
//! missed except the latest, which that frame stands for (it is less than
//! a period old); the next frame then aims at the first deadline still to
//! come, skipping the ones that have passed. So a frame presented just over
//! a period late misses one deadline, and a ticker kept off the CPU for a
//! second misses about a second's worth. A ticker that gets the CPU within
//! a time slice or two of each wake-up misses nothing.
//!
//! About once a second (the first frame presented at least a second after
//! the previous report) it logs the figures of the frames since that report
//! and shows them in its window:
//!
//! - `ticker: <ms> ms period on cpu <n>` once the window is open;
//! - `ticker: <n> frames, <m> missed, worst gap <g> ms, <k> clean in a row`:
//!   `n` frames presented and `m` deadlines missed since the last report,
//!   `g` the longest time between two presents (ms, rounded down; the first
//!   present of the report is measured from the last of the previous one),
//!   and `k` the number of reports in a row, this one included, with no
//!   missed deadline (0 if this one has some);
//! - `ticker: <what>: <error>` if a request fails; the program then exits
//!   with 1.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use gui::embedded_graphics::prelude::*;
use gui::embedded_graphics::primitives::Rectangle;
use gui::{Rgb888, Window};
use rt::kernel;

rt::entry!(main);

const WIDTH: u32 = 320;
const HEIGHT: u32 = 112;
const MS: u64 = 1_000_000;
/// The frame period when the argument is 0.
const DEFAULT_PERIOD_MS: u64 = 50;
/// Allowed periods (ms).
const PERIODS_MS: core::ops::RangeInclusive<u64> = 10..=1000;
/// Reports are at least this far apart.
const REPORT_NS: u64 = 1_000_000_000;

const BACKGROUND: Rgb888 = Rgb888::new(0x1c, 0x24, 0x1c);
const TEXT: Rgb888 = Rgb888::new(0xf0, 0xf0, 0xf0);
const DIM: Rgb888 = Rgb888::new(0x90, 0xb0, 0x90);
const TRACK: Rgb888 = Rgb888::new(0x30, 0x40, 0x30);
const BAR: Rgb888 = Rgb888::new(0x60, 0xe0, 0x60);
const MISSED: Rgb888 = Rgb888::new(0xff, 0x70, 0x50);

/// Where the frame counter is drawn (12 characters of 9x15).
const COUNTER: Rectangle = Rectangle::new(Point::new(10, 28), Size::new(9 * 12, 15));
/// The track the bar moves along.
const TRACK_AREA: Rectangle = Rectangle::new(Point::new(10, 48), Size::new(300, 12));
/// The bar's width and how far it moves each frame (pixels).
const BAR_WIDTH: u32 = 20;
const BAR_STEP: u32 = 4;
/// The three lines of the last report (6x10 font).
const REPORT: Rectangle = Rectangle::new(Point::new(10, 68), Size::new(300, 36));

/// The figures of the frames since the last report.
#[derive(Default)]
struct Interval {
    frames: u64,
    missed: u64,
    worst_gap_ns: u64,
}

/// The bar's place along the track for frame `frame`: it sweeps from left
/// to right and starts again.
fn bar(frame: u64) -> Rectangle {
    let travel = u64::from(TRACK_AREA.size.width - BAR_WIDTH);
    let x = (frame * u64::from(BAR_STEP)) % travel;
    Rectangle::new(
        TRACK_AREA.top_left + Point::new(x as i32, 0),
        Size::new(BAR_WIDTH, TRACK_AREA.size.height),
    )
}

/// Draws frame `frame`: the counter, and the bar moved from its last place
/// (the damage is the counter and the two places of the bar).
fn draw_frame(win: &mut Window, frame: u64) {
    // Drawing on a window's memory cannot fail (`Infallible`).
    let _ = win.fill_solid(&COUNTER, BACKGROUND);
    let counter = format!("frame {frame:>6}");
    let _ = gui::text(win, &counter, 10, 28, TEXT, &gui::FONT_9X15);
    if frame > 0 {
        let _ = win.fill_solid(&bar(frame - 1), TRACK);
    }
    let _ = win.fill_solid(&bar(frame), BAR);
}

/// Shows a report in the window's report area.
fn draw_report(win: &mut Window, i: &Interval, clean: u64) {
    let _ = win.fill_solid(&REPORT, BACKGROUND);
    let first = format!("{} frames, {} missed", i.frames, i.missed);
    let colour = if i.missed == 0 { TEXT } else { MISSED };
    let _ = gui::text(win, &first, 10, 68, colour, &gui::FONT_6X10);
    let second = format!("worst gap {} ms", i.worst_gap_ns / MS);
    let _ = gui::text(win, &second, 10, 80, DIM, &gui::FONT_6X10);
    let third = format!("{clean} clean report(s) in a row");
    let _ = gui::text(win, &third, 10, 92, DIM, &gui::FONT_6X10);
}

fn main() -> i32 {
    let period_ms = match rt::arg() {
        0 => DEFAULT_PERIOD_MS,
        ms => ms.clamp(*PERIODS_MS.start(), *PERIODS_MS.end()),
    };
    let period = period_ms * MS;
    let mut win = match Window::open("display", WIDTH, HEIGHT) {
        Ok(win) => win,
        Err(e) => {
            rt::error!("ticker: open: {}", e);
            return 1;
        }
    };
    let _ = win.clear(BACKGROUND);
    let title = format!("ticker, every {period_ms} ms");
    let _ = gui::text(&mut win, &title, 10, 6, TEXT, &gui::FONT_9X15_BOLD);
    let _ = win.fill_solid(&TRACK_AREA, TRACK);
    draw_frame(&mut win, 0);
    if let Err(e) = win.present_all() {
        rt::error!("ticker: present: {}", e);
        return 1;
    }
    rt::println!(
        "ticker: {} ms period on cpu {}",
        period_ms,
        kernel::info().cpu
    );

    let start = kernel::now_ns();
    let mut last_present = start;
    let mut next_report = start + REPORT_NS;
    let mut deadline = start + period;
    let mut interval = Interval::default();
    let mut clean: u64 = 0;
    let mut frame: u64 = 0;
    loop {
        let now = kernel::now_ns();
        if now < deadline {
            kernel::sleep_ns(deadline - now);
        }
        frame += 1;
        draw_frame(&mut win, frame);
        if let Err(e) = win.present() {
            rt::error!("ticker: present: {}", e);
            return 1;
        }
        let presented = kernel::now_ns();
        interval.frames += 1;
        interval.worst_gap_ns = interval.worst_gap_ns.max(presented - last_present);
        last_present = presented;
        // The deadlines that have come by now (at least the one this frame
        // was drawn for, unless the sleep ended early): the latest is met
        // by this frame, the others had none within a period. The next
        // frame aims at the first one still to come.
        let come = match presented.checked_sub(deadline) {
            Some(late) => late / period + 1,
            None => 1,
        };
        interval.missed += come - 1;
        deadline += come * period;
        if presented >= next_report {
            clean = if interval.missed == 0 { clean + 1 } else { 0 };
            rt::println!(
                "ticker: {} frames, {} missed, worst gap {} ms, {} clean in a row",
                interval.frames,
                interval.missed,
                interval.worst_gap_ns / MS,
                clean
            );
            draw_report(&mut win, &interval, clean);
            interval = Interval::default();
            next_report += REPORT_NS;
            if next_report <= presented {
                next_report = presented + REPORT_NS;
            }
        }
    }
}
