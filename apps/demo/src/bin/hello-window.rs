//! `hello-window`: opens a 320x200 window on the display server (channel
//! `"display"`), fills it with a colour picked by the program argument,
//! writes "Tessera" and "hello from `<domain id>`" on it in white, and then
//! shows the characters typed into it on a line below (Backspace erases,
//! Enter clears) and reports key presses and clicks. Esc ends it (exit
//! code 0; its window closes).
//!
//! The low byte of the program argument picks the colour: 0, 1 and 2 pick
//! #2a6f97, #8c2f39 and #3a7d44; any other value a colour derived from it
//! by a hash. Bit 8 ([`CRASH_ON_BANG`]) is fault injection for tests: `!`
//! then makes the program crash (a write into page 0) without closing its
//! window, as a broken app would.
//!
//! Log lines (the kernel prefixes each with the domain's label, so a
//! scenario with several clients can tell them apart; the window id names
//! the window on the display server):
//! - `hello-window: window <id> presented (320x200)` once the first frame is sent;
//! - `hello-window: window <id>: key <char>` for each key press (control
//!   characters escaped, keys without a character as `<0x...>`);
//! - `hello-window: window <id>: click at <x>,<y>` for each button press, in
//!   window coordinates;
//! - `hello-window: window <id>: focus gained` and `... focus lost`;
//! - `hello-window: window <id>: closing` on Esc, and
//!   `hello-window: crashing on purpose` on `!` with [`CRASH_ON_BANG`];
//! - `hello-window: <what>: <error>` if a request fails, for example
//!   `hello-window: channel: not found`; the program then exits with 1.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use gui::embedded_graphics::prelude::*;
use gui::embedded_graphics::primitives::Rectangle;
use gui::{Event, Key, Rgb888, Window};

rt::entry!(main);

const WIDTH: u32 = 320;
const HEIGHT: u32 = 200;
/// Where the typed line starts, in window coordinates.
const LINE: Point = Point::new(16, 72);
/// The most characters the typed line shows (the latest ones).
const LINE_CHARS: usize = 30;

/// Argument bit: `!` crashes the program (see the module's notes).
const CRASH_ON_BANG: u64 = 0x100;

/// The injected fault: a write into the first page, which the kernel never
/// maps for user space.
fn crash() -> ! {
    rt::println!("hello-window: crashing on purpose");
    let target = core::ptr::without_provenance_mut::<u64>(8);
    // SAFETY: the write faults on purpose (page 0 is never mapped), and the
    // kernel ends the domain at the fault, so no memory of ours changes.
    unsafe { core::ptr::write_volatile(target, 0) };
    unreachable!("the write into page 0 faults")
}

/// The background colour for the colour byte `arg`.
fn background(arg: u64) -> Rgb888 {
    match arg {
        0 => Rgb888::new(0x2a, 0x6f, 0x97),
        1 => Rgb888::new(0x8c, 0x2f, 0x39),
        2 => Rgb888::new(0x3a, 0x7d, 0x44),
        _ => {
            let [_, _, _, _, _, r, g, b] = mix(arg).to_be_bytes();
            Rgb888::new(r, g, b)
        }
    }
}

/// The SplitMix64 output function: spreads every bit of `z` over the result.
fn mix(z: u64) -> u64 {
    let z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Draws the typed line: the last [`LINE_CHARS`] characters of `typed`
/// over the background, then a cursor block.
fn draw_line(win: &mut Window, typed: &str, bg: Rgb888) {
    let font = &gui::FONT_9X15;
    let cell = font.character_size;
    let width = cell.width * (LINE_CHARS as u32 + 1);
    let area = Rectangle::new(LINE, Size::new(width, cell.height));
    // Drawing on a window's memory cannot fail (`Infallible`).
    let _ = win.fill_solid(&area, bg);
    let skip = typed.chars().count().saturating_sub(LINE_CHARS);
    let shown: String = typed.chars().skip(skip).collect();
    let end = gui::text(win, &shown, LINE.x, LINE.y, Rgb888::WHITE, font).unwrap_or(LINE);
    let cursor = Rectangle::new(Point::new(end.x, LINE.y), cell);
    let _ = win.fill_solid(&cursor, Rgb888::new(0xc0, 0xc0, 0xc0));
}

fn main() -> i32 {
    let mut win = match Window::open("display", WIDTH, HEIGHT) {
        Ok(win) => win,
        Err(e) => {
            rt::error!("hello-window: {}", e);
            return 1;
        }
    };

    // Drawing on a window's memory cannot fail (its error type is
    // `Infallible`), so the results are ignored.
    let bg = background(rt::arg() & 0xff);
    let crash_on_bang = rt::arg() & CRASH_ON_BANG != 0;
    let _ = win.clear(bg);
    let white = Rgb888::WHITE;
    let _ = gui::text(&mut win, "Tessera", 16, 16, white, &gui::FONT_9X15);
    let greeting = alloc::format!("hello from {}", rt::domain_id());
    let _ = gui::text(&mut win, &greeting, 16, 40, white, &gui::FONT_9X15);
    let mut typed = String::new();
    draw_line(&mut win, &typed, bg);
    if let Err(e) = win.present() {
        rt::error!("hello-window: {}", e);
        return 1;
    }
    rt::println!(
        "hello-window: window {} presented ({}x{})",
        win.id(),
        WIDTH,
        HEIGHT
    );

    let id = win.id();
    let result = win.run(|win, event| {
        match event {
            Event::KeyDown(Key::Char(c)) => {
                rt::println!("hello-window: window {}: key {}", id, c.escape_debug());
                match c {
                    '\u{1b}' => {
                        rt::println!("hello-window: window {}: closing", id);
                        return false;
                    }
                    '!' if crash_on_bang => crash(),
                    '\u{8}' => {
                        typed.pop();
                    }
                    '\n' | '\r' => typed.clear(),
                    c if !c.is_control() => typed.push(c),
                    _ => {}
                }
                // Bounded: only the last line's worth is ever shown.
                let count = typed.chars().count();
                if count > 2 * LINE_CHARS {
                    typed = typed.chars().skip(count - LINE_CHARS).collect();
                }
                draw_line(win, &typed, bg);
            }
            Event::KeyDown(key) => rt::println!("hello-window: window {}: key {}", id, key),
            Event::ButtonDown { x, y } => {
                rt::println!("hello-window: window {}: click at {},{}", id, x, y)
            }
            Event::FocusGained => rt::println!("hello-window: window {}: focus gained", id),
            Event::FocusLost => rt::println!("hello-window: window {}: focus lost", id),
            _ => {}
        }
        true
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            rt::error!("hello-window: {}", e);
            1
        }
    }
}
