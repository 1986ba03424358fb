//! `launcher`: starts and stops app instances through the kernel
//! (`Task.start`, `Task.stop`), as the policy allows. Its window (channel
//! `"display"`) lists the apps it offers, one row each; a click on a row,
//! or its number key, starts a new instance. `s` (or a click on the last
//! row) stops the newest instance it started that still runs. The line at
//! the bottom shows what happened, a denial included: the policy's
//! `execute` rules decide which apps the launcher may start, so a row the
//! policy does not allow answers "denied by the policy".
//!
//! The apps are those of the default desktop (`policies/solution.toml`)
//! that start on demand; a solution without one of them answers "not
//! found" for its row.
//!
//! Log lines: `launcher: window <id> ready`, `launcher: focus gained`,
//! `launcher: started <label> (domain <id>)`, `launcher: <app>:
//! <error>` (for example `launcher: scribble: denied`), `launcher:
//! stopped <label>`, `launcher: nothing to stop`.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use gui::embedded_graphics::prelude::*;
use gui::embedded_graphics::primitives::Rectangle;
use gui::{Event, Key, Rgb888, Window};
use rt::abi::Error;
use rt::kernel;

rt::entry!(main);

const WIDTH: u32 = 320;
const HEIGHT: u32 = 200;
const BACKGROUND: Rgb888 = Rgb888::new(0x1c, 0x22, 0x2c);
const ROW: Rgb888 = Rgb888::new(0x2c, 0x36, 0x46);
const TEXT: Rgb888 = Rgb888::new(0xf0, 0xf0, 0xf0);
const DIM: Rgb888 = Rgb888::new(0x90, 0xa0, 0xb0);
/// Row geometry, window coordinates.
const ROW_TOP: i32 = 30;
const ROW_HEIGHT: i32 = 24;

/// The apps offered, by the program name `Task.start` takes, with a word
/// on each.
const APPS: [(&str, &str); 4] = [
    ("hello", "a window that echoes keys"),
    ("paint", "draw with the pointer"),
    ("hostile", "tries to break out; all fails"),
    ("scribble", "the policy says no"),
];

fn row(i: usize) -> Rectangle {
    Rectangle::new(
        Point::new(8, ROW_TOP + i as i32 * ROW_HEIGHT),
        Size::new(WIDTH - 16, ROW_HEIGHT as u32 - 4),
    )
}

fn draw(win: &mut Window, status: &str) {
    let _ = win.clear(BACKGROUND);
    let _ = gui::text(win, "Start an app", 8, 8, TEXT, &gui::FONT_9X15_BOLD);
    let rows = APPS
        .iter()
        .map(|(name, what)| (*name, *what))
        .chain([("stop", "the newest app started here")]);
    for (i, (name, what)) in rows.enumerate() {
        let r = row(i);
        let _ = win.fill_solid(&r, ROW);
        let (x, y) = (r.top_left.x + 6, r.top_left.y + 5);
        let key = if name == "stop" {
            String::from("s")
        } else {
            format!("{}", i + 1)
        };
        let _ = gui::text(win, &format!("{key} {name}"), x, y, TEXT, &gui::FONT_6X10);
        let _ = gui::text(win, what, x + 100, y, DIM, &gui::FONT_6X10);
    }
    let _ = gui::text(win, status, 8, HEIGHT as i32 - 18, TEXT, &gui::FONT_6X10);
}

/// What `Task.start` and `Task.stop` answered, in words.
fn why(e: Error) -> &'static str {
    match e {
        Error::Denied => "denied by the policy",
        Error::NotFound => "not found",
        Error::QuotaExceeded => "all its instances run",
        Error::NoMemory => "out of memory",
        _ => "refused",
    }
}

fn main() -> i32 {
    let mut win = match Window::open("display", WIDTH, HEIGHT) {
        Ok(win) => win,
        Err(e) => {
            rt::error!("launcher: {}", e);
            return 1;
        }
    };
    // Domains started here, newest last: id and label.
    let mut started: Vec<(u64, String)> = Vec::new();
    let mut status = String::from("click a row or press its number");
    draw(&mut win, &status);
    if let Err(e) = win.present() {
        rt::error!("launcher: {}", e);
        return 1;
    }
    rt::println!("launcher: window {} ready", win.id());
    let result = win.run(|win, event| {
        if event == Event::FocusGained {
            rt::println!("launcher: focus gained");
        }
        let choice = match event {
            Event::KeyDown(Key::Char(c)) if ('1'..='9').contains(&c) => {
                Some(c as usize - '1' as usize)
            }
            Event::KeyDown(Key::Char('s')) => Some(APPS.len()),
            Event::ButtonDown { x, y } => {
                (0..=APPS.len()).find(|&i| row(i).contains(Point::new(x, y)))
            }
            _ => None,
        };
        let Some(i) = choice else { return true };
        status = if let Some((app, _)) = APPS.get(i) {
            match kernel::start(app) {
                Ok((id, _)) => {
                    let label = kernel::label(id).unwrap_or_else(|_| String::from(*app));
                    rt::println!("launcher: started {} (domain {})", label, id);
                    let s = format!("started {label}");
                    started.push((id, label));
                    s
                }
                Err(e) => {
                    rt::println!("launcher: {}: {}", app, e);
                    format!("{app}: {}", why(e))
                }
            }
        } else if i == APPS.len() {
            // The newest that still runs: earlier ones may have ended.
            loop {
                let Some((id, label)) = started.pop() else {
                    rt::println!("launcher: nothing to stop");
                    break String::from("nothing to stop");
                };
                match kernel::stop(id) {
                    Ok(()) => {
                        rt::println!("launcher: stopped {}", label);
                        break format!("stopped {label}");
                    }
                    Err(Error::NotFound) => continue,
                    Err(e) => {
                        rt::println!("launcher: stop {}: {}", label, e);
                        break format!("stop {label}: {}", why(e));
                    }
                }
            }
        } else {
            return true;
        };
        draw(win, &status);
        true
    });
    if let Err(e) = result {
        rt::error!("launcher: {}", e);
        return 1;
    }
    0
}
