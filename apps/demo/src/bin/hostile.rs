//! `hostile`: an app that tries to break out of its domain, for the
//! `desktop-breakout` scenario. It opens a 352x256 window and shows one row
//! per attempt: a green box and `refused: <error>` when the attempt failed
//! as it must, a red box and `BROKE OUT: <what>` when it did not, a yellow
//! box for an attempt whose effect only the screen shows (presents outside
//! its window: the server clips them, the scenario's screenshot judges).
//!
//! The attempts (see the `attacks` and `desktop` modules for each one's
//! details):
//! - calls on handle slots it has no channel in, `Task.channel` for
//!   channels it does not have, forged and stale handles;
//! - wild pointers (null, kernel half, non-canonical, unmapped, straddling
//!   into an unmapped page) for log text, channel and program names,
//!   out-of-line descriptors, send and receive buffers, mappings and
//!   thread entries; starting programs it may not execute, and stopping
//!   other domains;
//! - PCI, MMIO, DMA and IRQ requests; reading other domains' labels, the
//!   domain list, the audit ring and the statistics;
//! - the windows of others (present, event, close), presents over its own
//!   title bar and the panel, windows beyond the size limits;
//! - mapping memory until the kernel refuses, checking that its window and
//!   the display server still work while it holds everything;
//! - a flood of valid and invalid requests to the display server;
//! - forged `Input` requests (Ctrl+Alt+Tab, a click), and opening a window
//!   while its window has the focus (the new window must not take it);
//! - threads above its priority ceiling, and last a thread at the ceiling
//!   that spins forever while the main thread keeps the window up.
//!
//! The program argument is how many milliseconds to wait before opening
//! the window, so that a scenario can let its other windows open first and
//! know where each one lands. Once its window is up it waits up to 30 s
//! for the focus (a click on it), so that the focus check has a focused
//! window to take the focus from.
//!
//! Log lines:
//! - `hostile: window <id> presented (352x256)`, then
//!   `hostile: waiting for the focus (click the window)`;
//! - `hostile: window <id>: focus gained` / `... focus lost`;
//! - `hostile: <attempt>: <result>` for each attempt, where `<result>` is
//!   `refused: <why>`, `contained: <why>`, `BROKE OUT: <what>` or
//!   `not tried: <why>`;
//! - `hostile: N attempts, R refused, C contained, B got through`, with
//!   `, S not tried` when the focus check could not be made (nobody
//!   clicked its window in time: its row then says `not tried: ...`);
//! - `hostile: spinner started at priority <p> (its ceiling)`, and
//!   `hostile: spinner: <n> spins in <s> s; main thread still serves its
//!   window` once the spinner has run [`SPIN_REPORT_NS`].
//!
//! The program never ends by itself (its spinner spins forever); it exits
//! with 1 only if its first window cannot be opened.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use gui::embedded_graphics::prelude::*;
use gui::embedded_graphics::primitives::Rectangle;
use gui::{Event, Rgb888, Window};
use rt::abi::Error;

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}

#[path = "hostile/attacks.rs"]
mod attacks;
#[path = "hostile/desktop.rs"]
mod desktop;

rt::entry!(main);

const WIDTH: u32 = 352;
const HEIGHT: u32 = 256;
/// Height of one row of the board.
const ROW: i32 = 10;
/// Where the first row starts.
const TOP: i32 = 3;
/// Most characters of a row's text (after the status box).
const ROW_CHARS: usize = 56;
const BACKGROUND: Rgb888 = Rgb888::new(0x10, 0x10, 0x10);
const TEXT: Rgb888 = Rgb888::new(0xd0, 0xd0, 0xd0);
/// Status box colours.
const GREEN: Rgb888 = Rgb888::new(0x00, 0xc0, 0x00);
const RED: Rgb888 = Rgb888::new(0xff, 0x00, 0x00);
const YELLOW: Rgb888 = Rgb888::new(0xc0, 0xc0, 0x00);
/// How long to wait for the focus before going on without it.
const FOCUS_WAIT_NS: u64 = 30_000_000_000;
/// When the main thread reports on the spinner.
const SPIN_REPORT_NS: u64 = 3_000_000_000;

/// One attempt: builds its [`Attempt`] (the window is this program's, for
/// the attempts that need it).
type Attack = fn(&attacks::Env, &mut Window) -> Attempt;

/// Every attempt but the last two (which need more than [`attacks::Env`]),
/// in order.
const ALL: [Attack; 21] = [
    attacks::unbound_slots,
    attacks::channel_names,
    attacks::forged_handles,
    attacks::stale_handles,
    attacks::wild_log,
    attacks::wild_channel_name,
    attacks::start_and_stop,
    attacks::wild_descriptor,
    attacks::wild_send_buffer,
    attacks::wild_receive_buffer,
    attacks::wild_map_and_thread,
    attacks::pci_and_mmio,
    attacks::dma_and_irq,
    attacks::labels_and_stats,
    desktop::foreign_windows,
    desktop::present_outside,
    desktop::windows_too_large,
    desktop::exhaust_memory,
    desktop::flood,
    desktop::forge_chord,
    desktop::forge_click,
];

/// Set once the results are on the screen: the spinner may start.
static GO: AtomicBool = AtomicBool::new(false);
/// The spinner's loop count.
static SPINS: AtomicU64 = AtomicU64::new(0);

/// How an attempt ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every request failed, as it must.
    Refused,
    /// Accepted, but without effect outside the domain (as far as the
    /// program can tell; the screen shows the rest).
    Contained,
    /// Something got through.
    BrokeOut,
    /// Not tried: what it needs did not happen (no window had the focus).
    Skipped,
}

/// The outcome of one attempt, made of many requests.
pub struct Attempt {
    pub name: &'static str,
    calls: u32,
    /// Distinct errors and how often each came back.
    errors: Vec<(Error, u32)>,
    /// The first request that got through.
    through: Option<String>,
    /// Extra words for the result (figures).
    note: Option<String>,
    contained: bool,
    /// Why the attempt was not made.
    skipped: Option<&'static str>,
}

impl Attempt {
    pub fn new(name: &'static str) -> Attempt {
        Attempt {
            name,
            calls: 0,
            errors: Vec::new(),
            through: None,
            note: None,
            contained: false,
            skipped: None,
        }
    }

    /// A request that must fail. Any error counts as a refusal except
    /// `PeerGone`, which means the peer died of it.
    pub fn refused<T>(&mut self, what: impl FnOnce() -> String, r: Result<T, Error>) {
        self.calls += 1;
        match r {
            Err(Error::PeerGone) => self.got_through(|| format!("{}: the peer is gone", what())),
            Err(e) => match self.errors.iter_mut().find(|(k, _)| *k == e) {
                Some((_, n)) => *n += 1,
                None => self.errors.push((e, 1)),
            },
            Ok(_) => self.got_through(|| format!("{}: ok", what())),
        }
    }

    /// Records a request that got through.
    pub fn got_through(&mut self, what: impl FnOnce() -> String) {
        if self.through.is_none() {
            self.through = Some(what());
        }
    }

    /// Adds figures to the result.
    pub fn note(&mut self, note: String) {
        self.note = Some(note);
    }

    /// Marks the attempt as accepted but contained (see [`Verdict`]).
    pub fn contained(&mut self, why: String) {
        self.contained = true;
        self.note = Some(why);
    }

    /// Marks the attempt as not made, for the reason `why`.
    pub fn skip(&mut self, why: &'static str) {
        self.skipped = Some(why);
    }

    pub fn verdict(&self) -> Verdict {
        if self.skipped.is_some() {
            Verdict::Skipped
        } else if self.through.is_some() {
            Verdict::BrokeOut
        } else if self.contained {
            Verdict::Contained
        } else {
            Verdict::Refused
        }
    }

    /// The result as logged and shown.
    pub fn result(&self) -> String {
        if let Some(why) = self.skipped {
            return format!("not tried: {why}");
        }
        if let Some(what) = &self.through {
            return format!("BROKE OUT: {what}");
        }
        let note = self.note.as_deref().unwrap_or("");
        if self.contained {
            return format!("contained: {note}");
        }
        let mut s = String::from("refused: ");
        for (i, (e, n)) in self.errors.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            s += &if self.calls == 1 {
                format!("{e}")
            } else {
                format!("{sep}{e} x{n}")
            };
        }
        match (self.errors.is_empty(), note.is_empty()) {
            (true, true) => s += "nothing to try",
            (false, false) => {
                s += "; ";
                s += note;
            }
            _ => s += note,
        }
        s
    }
}

/// The rows on the window.
struct Board {
    win: Window,
    rows: usize,
}

impl Board {
    /// Draws row `i`: a status box in `color` and `text`.
    fn draw(&mut self, i: usize, color: Rgb888, text: &str) {
        let y = TOP + i as i32 * ROW;
        let line = Rectangle::new(Point::new(0, y), Size::new(WIDTH, ROW as u32));
        // Drawing on a window's memory cannot fail (`Infallible`).
        let _ = self.win.fill_solid(&line, BACKGROUND);
        let dot = Rectangle::new(Point::new(2, y + 1), Size::new(6, 8));
        let _ = self.win.fill_solid(&dot, color);
        let shown = rt::kernel::truncate(text, ROW_CHARS);
        let _ = gui::text(&mut self.win, shown, 10, y, TEXT, &gui::FONT_6X10);
    }

    /// Shows and logs an attempt's result on the next row.
    fn record(&mut self, a: &Attempt) -> Verdict {
        let result = a.result();
        let verdict = a.verdict();
        match verdict {
            Verdict::BrokeOut => rt::error!("hostile: {}: {}", a.name, result),
            _ => rt::println!("hostile: {}: {}", a.name, result),
        }
        let color = match verdict {
            Verdict::Refused => GREEN,
            Verdict::Contained | Verdict::Skipped => YELLOW,
            Verdict::BrokeOut => RED,
        };
        let row = self.rows;
        self.rows += 1;
        self.draw(row, color, &format!("{}: {}", a.name, result));
        let _ = self.win.present();
        verdict
    }
}

fn main() -> i32 {
    rt::kernel::sleep_ns(rt::arg().saturating_mul(1_000_000));
    let win = match Window::open("display", WIDTH, HEIGHT) {
        Ok(win) => win,
        Err(e) => {
            rt::error!("hostile: {}", e);
            return 1;
        }
    };
    let id = win.id();
    let mut board = Board { win, rows: 0 };
    let _ = board.win.clear(BACKGROUND);
    board.draw(0, YELLOW, "waiting for the focus: click this window");
    if let Err(e) = board.win.present() {
        rt::error!("hostile: {}", e);
        return 1;
    }
    rt::println!("hostile: window {} presented ({}x{})", id, WIDTH, HEIGHT);
    rt::println!("hostile: waiting for the focus (click the window)");
    let focused = wait_for_focus(&board.win);
    board.draw(0, BACKGROUND, "");
    let _ = board.win.present();

    let env = match attacks::Env::new(id) {
        Ok(env) => env,
        Err(e) => {
            rt::error!("hostile: cannot set up: {}", e);
            return 1;
        }
    };
    let (mut refused, mut contained, mut through, mut skipped) = (0, 0, 0, 0);
    let mut tally = |v: Verdict| match v {
        Verdict::Refused => refused += 1,
        Verdict::Contained => contained += 1,
        Verdict::BrokeOut => through += 1,
        Verdict::Skipped => skipped += 1,
    };
    for attack in ALL {
        let a = attack(&env, &mut board.win);
        tally(board.record(&a));
    }
    let focus = desktop::open_while_focused(&mut board.win, focused);
    tally(board.record(&focus));
    let (ceiling_attempt, ceiling) = desktop::above_ceiling(spin);
    tally(board.record(&ceiling_attempt));

    let total = refused + contained + through;
    let mut summary = format!(
        "{total} attempts, {refused} refused, {contained} contained, {through} got through"
    );
    if skipped > 0 {
        summary += &format!(", {skipped} not tried");
    }
    rt::println!("hostile: {}", summary);
    let spinner_row = board.rows;
    let summary_row = board.rows + 1;
    let color = if through == 0 { GREEN } else { RED };
    board.draw(summary_row, color, &summary);
    match ceiling {
        Some(p) => board.draw(
            spinner_row,
            YELLOW,
            &format!("spinner at priority {p} (its ceiling): starting"),
        ),
        None => board.draw(spinner_row, RED, "spinner: no thread could start"),
    }
    if let Err(e) = board.win.present() {
        rt::error!("hostile: present: {}", e);
    }
    // The results are on the screen: now the endless loop.
    if let Some(p) = ceiling {
        GO.store(true, Ordering::Release);
        rt::println!("hostile: spinner started at priority {} (its ceiling)", p);
    }
    keep_window_up(&mut board, spinner_row, ceiling)
}

/// Waits up to [`FOCUS_WAIT_NS`] for the window to get the focus; returns
/// whether it did.
fn wait_for_focus(win: &Window) -> bool {
    let deadline = rt::kernel::now_ns().saturating_add(FOCUS_WAIT_NS);
    while rt::kernel::now_ns() < deadline {
        loop {
            match win.poll_event() {
                Ok(Some(Event::FocusGained)) => {
                    rt::println!("hostile: window {}: focus gained", win.id());
                    return true;
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    rt::error!("hostile: event: {}", e);
                    return false;
                }
            }
        }
        rt::kernel::sleep_ns(10_000_000);
    }
    rt::println!("hostile: window {}: nobody gave it the focus", win.id());
    false
}

/// The spinner's body: waits (sleeping) until the results are on the
/// screen, then spins forever.
fn spin() {
    while !GO.load(Ordering::Acquire) {
        rt::kernel::sleep_ns(5_000_000);
    }
    loop {
        SPINS.fetch_add(1, Ordering::Relaxed);
        core::hint::spin_loop();
    }
}

/// The main thread after the attempts: handles the window's events and
/// shows how long it has kept running beside the spinner.
fn keep_window_up(board: &mut Board, row: usize, ceiling: Option<u8>) -> ! {
    let start = rt::kernel::now_ns();
    let id = board.win.id();
    let mut reported = false;
    let mut shown_secs = u64::MAX;
    loop {
        loop {
            match board.win.poll_event() {
                Ok(Some(Event::FocusGained)) => {
                    rt::println!("hostile: window {}: focus gained", id)
                }
                Ok(Some(Event::FocusLost)) => rt::println!("hostile: window {}: focus lost", id),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    rt::error!("hostile: event: {}", e);
                    break;
                }
            }
        }
        let elapsed = rt::kernel::now_ns().saturating_sub(start);
        let secs = elapsed / 1_000_000_000;
        if let Some(p) = ceiling
            && secs != shown_secs
        {
            shown_secs = secs;
            let spins = SPINS.load(Ordering::Relaxed);
            board.draw(
                row,
                YELLOW,
                &format!("spinner at priority {p}: {spins} spins; main alive {secs} s"),
            );
            let _ = board.win.present();
        }
        if !reported && elapsed >= SPIN_REPORT_NS && ceiling.is_some() {
            reported = true;
            rt::println!(
                "hostile: spinner: {} spins in {} s; main thread still serves its window",
                SPINS.load(Ordering::Relaxed),
                elapsed / 1_000_000_000
            );
        }
        rt::kernel::sleep_ns(20_000_000);
    }
}
