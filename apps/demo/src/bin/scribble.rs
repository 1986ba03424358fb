//! `scribble`: a hostile client of the display server, for the
//! `desktop-hostile` scenario. It opens a 320x200 window filled with a loud
//! magenta (#ff00ff) and then tries everything the window protocol lets a
//! client say to get pixels or input it must not have:
//!
//! - present rectangles outside its window: huge, far away, full-screen,
//!   at origins that read as negative if a server took the 16-bit fields as
//!   signed (aimed at its own title bar and border), partly outside, empty,
//!   and with every bit set;
//! - present with argument words wider than the interface's `u32`;
//! - create windows larger and smaller than the limits, and one whose
//!   claimed size is larger than the memory it shares;
//! - open more windows than a client may have;
//! - share more memory than the server's quota holds, in requests the
//!   server refuses (a server that kept refused shares would then have no
//!   memory left for anyone's windows);
//! - present, fetch the events of, and close window ids that are not its
//!   own;
//! - send the display server input, as only the input service may.
//!
//! Last, it presents its own window once more, which must still work.
//!
//! Each attempt logs one line, `scribble: <attempt>: <result>`, where the
//! result is `ok`, `window <id>`, or `refused: <error>`; the scenario
//! judges those lines and the screen. After `scribble: done` the program
//! keeps its window open until 60 seconds after its start, and exits with
//! 0. Only a failure to open its first window ends it early, with 1.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Display;
use gui::embedded_graphics::prelude::*;
use gui::{Rgb888, Window};
use rt::abi::{self, Message, Tag};

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::{InputClient, WindowClient, window};

rt::entry!(main);

const WIDTH: u32 = 320;
const HEIGHT: u32 = 200;
/// The colour no server-drawn pixel has.
const LOUD: Rgb888 = Rgb888::new(0xff, 0x00, 0xff);
/// How long the program runs, from its start.
const RUN_NS: u64 = 60_000_000_000;
/// Window ids tried as someone else's: the server numbers windows from 1.
const FOREIGN_IDS: core::ops::RangeInclusive<u32> = 1..=8;

/// The `origin` or `size` word of `present`: `a << 16 | b`, each 16 bits.
fn pack(a: u32, b: u32) -> u32 {
    (a & 0xffff) << 16 | (b & 0xffff)
}

/// A 16-bit field holding `-v` in two's complement.
fn negative(v: u32) -> u32 {
    0x1_0000 - v
}

/// How a result is logged.
fn outcome<T, E: Display>(result: &Result<T, E>) -> String {
    match result {
        Ok(_) => "ok".to_string(),
        Err(e) => alloc::format!("refused: {e}"),
    }
}

/// Maps `bytes` of zeroed memory (leaked: a server that accepted it keeps
/// using it) and describes it for sharing read-only.
fn share(bytes: u64) -> Result<rt::sys::Share, abi::Error> {
    let len = bytes.next_multiple_of(abi::PAGE_SIZE).max(abi::PAGE_SIZE);
    let addr = rt::kernel::map(0, len, abi::mem::PROT_READ | abi::mem::PROT_WRITE)?;
    Ok(rt::sys::Share {
        addr,
        len,
        writable: false,
    })
}

fn main() -> i32 {
    let deadline = rt::kernel::now_ns().saturating_add(RUN_NS);
    let mut win = match Window::open("display", WIDTH, HEIGHT) {
        Ok(win) => win,
        Err(e) => {
            rt::error!("scribble: {}", e);
            return 1;
        }
    };
    // Drawing on a window's memory cannot fail (`Infallible`).
    let _ = win.clear(LOUD);
    if let Err(e) = win.present() {
        rt::error!("scribble: {}", e);
        return 1;
    }
    let id = win.id();
    rt::println!("scribble: window {} presented ({}x{})", id, WIDTH, HEIGHT);
    let handle = match rt::kernel::channel("display") {
        Ok(h) => h,
        Err(e) => {
            rt::error!("scribble: channel: {}", e);
            return 1;
        }
    };
    let raw = WindowClient { handle };

    present_outside(&raw, id);
    present_wide_words(handle, id);
    create_beyond_limits(&raw);
    flood_refused_shares(&raw);
    let extra = open_too_many();
    let mut mine: Vec<u32> = extra.iter().map(Window::id).collect();
    mine.push(id);
    touch_foreign(&raw, &mine);
    drop(extra);
    rt::println!("scribble: closed the extra windows");
    forge_input(handle);
    // The server still serves it after all that.
    let again = raw.present(id, pack(0, 0), pack(WIDTH, HEIGHT));
    rt::println!("scribble: present its window again: {}", outcome(&again));
    rt::println!("scribble: done");

    while rt::kernel::now_ns() < deadline {
        rt::kernel::sleep_ns(deadline - rt::kernel::now_ns());
    }
    drop(win);
    0
}

/// Presents rectangles of its own window that reach outside it.
fn present_outside(raw: &WindowClient, id: u32) {
    let (w, h) = (WIDTH, HEIGHT);
    let attempts: [(&str, u32, u32); 11] = [
        ("everything", pack(0, 0), pack(0xffff, 0xffff)),
        ("the whole screen", pack(0, 0), pack(1280, 800)),
        ("far away", pack(0xffff, 0xffff), pack(0xffff, 0xffff)),
        (
            "at -1,-1",
            pack(negative(1), negative(1)),
            pack(w + 2, h + 2),
        ),
        (
            "at -32768,-32768",
            pack(0x8000, 0x8000),
            pack(0xffff, 0xffff),
        ),
        ("over the title bar", pack(0, negative(22)), pack(w, 22 + h)),
        ("over the left border", pack(negative(2), 0), pack(w + 2, h)),
        ("past the right edge", pack(w - 20, 0), pack(100, h)),
        ("past the bottom edge", pack(0, h - 20), pack(w, 100)),
        ("an empty rectangle", pack(10, 10), pack(0, 0)),
        ("with every bit set", u32::MAX, u32::MAX),
    ];
    for (what, origin, size) in attempts {
        let result = raw.present(id, origin, size);
        rt::println!(
            "scribble: present {} ({:#010x} {:#010x}): {}",
            what,
            origin,
            size,
            outcome(&result)
        );
    }
}

/// Presents with origin and size words beyond 32 bits, which the
/// interface does not allow.
fn present_wide_words(handle: abi::Handle, id: u32) {
    let tag = Tag::new(window::INTERFACE, window::method::PRESENT);
    let message = Message::new(tag, [u64::from(id), u64::MAX, u64::MAX, 0]);
    let result = rt::sys::call(handle, message);
    rt::println!("scribble: present with 64-bit words: {}", outcome(&result));
}

/// Asks for windows outside the size limits, each with memory for the
/// size it claims, and one that claims more than its memory holds.
fn create_beyond_limits(raw: &WindowClient) {
    let attempts: [(u32, u32, u64); 6] = [
        (1025, 16, 1025 * 16 * 4),
        (16, 769, 16 * 769 * 4),
        (15, 16, 15 * 16 * 4),
        (0, 0, 0),
        (320, 200, abi::PAGE_SIZE),
        (0xffff, 0xffff, abi::PAGE_SIZE),
    ];
    for (width, height, bytes) in attempts {
        let result = share(bytes).and_then(|pixels| raw.create(width, height, pixels));
        let shown = match &result {
            Ok(window) => alloc::format!("window {window}"),
            Err(e) => alloc::format!("refused: {e}"),
        };
        rt::println!(
            "scribble: create {}x{} with {} bytes: {}",
            width,
            height,
            bytes.max(abi::PAGE_SIZE),
            shown
        );
    }
}

/// Refused creates that share more than the server's memory quota
/// (96 MiB) in all: 32 of 4 MiB, then 64 of 64 KiB and 64 of 4 KiB, so a
/// server that kept them would be left without a single page. The same
/// client memory is shared every time, so only the server would run out.
fn flood_refused_shares(raw: &WindowClient) {
    let mut sent = 0;
    let mut refused = 0;
    for (count, bytes) in [(32, 4 << 20), (64, 64 << 10), (64, abi::PAGE_SIZE)] {
        let Ok(memory) = share(bytes) else {
            rt::println!("scribble: flood: cannot map {} bytes", bytes);
            return;
        };
        for _ in 0..count {
            sent += 1;
            if raw.create(0xffff, 0xffff, memory).is_err() {
                refused += 1;
            }
        }
    }
    rt::println!(
        "scribble: {} refused creates sharing 132 MiB in all: {} refused",
        sent,
        refused
    );
}

/// Opens small windows up to one more than a client may have; returns the
/// ones the server gave (each filled with the loud colour and presented).
fn open_too_many() -> Vec<Window> {
    let mut windows = Vec::new();
    // The first window counts too: this asks for the 2nd to the 5th.
    for n in 2..=5 {
        match Window::open("display", 16, 16) {
            Ok(mut w) => {
                let _ = w.clear(LOUD);
                let presented = w.present();
                rt::println!(
                    "scribble: open window {} of 4: window {}, present: {}",
                    n,
                    w.id(),
                    outcome(&presented)
                );
                windows.push(w);
            }
            Err(e) => rt::println!("scribble: open window {} of 4: refused: {}", n, e),
        }
    }
    windows
}

/// Presents, polls and closes window ids that are not in `mine`.
fn touch_foreign(raw: &WindowClient, mine: &[u32]) {
    for other in FOREIGN_IDS.filter(|i| !mine.contains(i)) {
        let presented = raw.present(other, pack(0, 0), pack(0xffff, 0xffff));
        rt::println!(
            "scribble: present window {} (not mine): {}",
            other,
            outcome(&presented)
        );
        let event = raw.event(other);
        rt::println!(
            "scribble: event of window {} (not mine): {}",
            other,
            outcome(&event)
        );
        let closed = raw.close(other);
        rt::println!(
            "scribble: close window {} (not mine): {}",
            other,
            outcome(&closed)
        );
    }
}

/// Sends the display server a key press and a click, as the input service
/// does.
fn forge_input(handle: abi::Handle) {
    let input = InputClient { handle };
    let key = input.key(u32::from(b'x'), true, 0);
    rt::println!("scribble: forge Input.key: {}", outcome(&key));
    let button = input.button(0, true);
    rt::println!("scribble: forge Input.button: {}", outcome(&button));
}
