//! `gui`: the client side of the display server's window protocol
//! (`policies/interfaces/window.idl`), for Tessera user programs.
//!
//! - [`Surface`]: a BGRA pixel buffer that embedded-graphics draws on
//!   ([`DrawTarget`] with [`Rgb888`] colours), clipped to its edges,
//!   keeping the bounding box of what changed (the *damage*).
//! - `Window` (bare-metal target only): a window on the display server. It
//!   maps a zeroed pixel buffer, shares it read-only with the server, and
//!   owns a `Surface` over it (reached through `Deref`/`DerefMut`; the
//!   window is also a draw target itself). `present` sends the damage to
//!   the server, `poll_event` fetches input as an [`Event`], `run` is an
//!   event loop, `resize` gives it a new size (and a new buffer), and
//!   dropping the window closes it.
//! - [`text`] and the re-exported fonts for drawing text.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use gui::{Event, Rgb888, Window};
//! use gui::embedded_graphics::prelude::*;
//! rt::entry!(main);
//! fn main() -> i32 {
//!     let Ok(mut win) = Window::open("display", 320, 200) else { return 1 };
//!     let _ = win.clear(Rgb888::new(0x2a, 0x6f, 0x97));
//!     let _ = gui::text(&mut win, "hi", 8, 8, Rgb888::WHITE, &gui::FONT_9X15);
//!     let _ = win.run(|_, e| !matches!(e, Event::KeyDown(_)));
//!     0
//! }
//! ```
//!
//! # Host tests and the bare-metal split
//!
//! Everything except `Window` is memory logic and builds anywhere, so
//! `cargo test -p tessera-gui` runs on the host. `Window` needs the runtime
//! (`tessera-rt`: system calls, plus an entry point, panic handler and
//! allocator that clash with `std`), so that dependency is declared only
//! for `cfg(target_os = "none")` in `Cargo.toml`, and the `window` module,
//! which includes the IPC stubs that `build.rs` generates from the
//! interface descriptions, is compiled only under the same condition. On
//! the host the runtime is not even built; the stubs are generated but
//! left unused.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub use embedded_graphics;
pub use embedded_graphics::mono_font::MonoFont;
pub use embedded_graphics::mono_font::ascii::{FONT_6X10, FONT_9X15, FONT_9X15_BOLD, FONT_10X20};
pub use embedded_graphics::pixelcolor::Rgb888;

mod event;
mod surface;
#[cfg(target_os = "none")]
mod window;

#[cfg(test)]
mod tests;

pub use event::{Event, Key};
pub use surface::{Surface, from_bgra, to_bgra};
#[cfg(target_os = "none")]
pub use window::{Window, WindowBuffer};

use core::fmt;
use embedded_graphics::Drawable;
use embedded_graphics::draw_target::DrawTarget;
use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::prelude::Point;
use embedded_graphics::primitives::Rectangle;
use embedded_graphics::text::{Baseline, Text};

/// Why a window operation failed. Each variant but [`Error::Size`] carries
/// the error of the system call or IPC it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A width or height of 0 or above 65535 (the protocol packs sizes and
    /// positions into 16 bits).
    Size,
    /// This domain has no channel of the given name (`NotFound`), or the
    /// lookup was refused.
    Channel(abi::Error),
    /// Mapping the pixel buffer failed, usually for lack of memory quota.
    Map(abi::Error),
    /// The display server did not create the window (for example
    /// `InvalidArgument` for a size it does not allow, or `QuotaExceeded`
    /// for a fifth window), or the call failed.
    Create(abi::Error),
    /// Presenting a changed area failed.
    Present(abi::Error),
    /// Fetching the next event failed.
    Event(abi::Error),
    /// The display server did not resize the window (for example
    /// `InvalidArgument` for a size it does not allow), or the call failed.
    Resize(abi::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Size => f.write_str("window size out of range"),
            Error::Channel(e) => write!(f, "channel: {e}"),
            Error::Map(e) => write!(f, "map: {e}"),
            Error::Create(e) => write!(f, "create: {e}"),
            Error::Present(e) => write!(f, "present: {e}"),
            Error::Event(e) => write!(f, "event: {e}"),
            Error::Resize(e) => write!(f, "resize: {e}"),
        }
    }
}

impl core::error::Error for Error {}

/// Draws `s` in `color` with `font`, its top-left corner at (`x`, `y`)
/// ([`Baseline::Top`]), on a transparent background. A `\n` starts a new
/// line below. Returns the position just after the text, where more text
/// would continue.
pub fn text<D>(
    target: &mut D,
    s: &str,
    x: i32,
    y: i32,
    color: Rgb888,
    font: &MonoFont<'_>,
) -> Result<Point, D::Error>
where
    D: DrawTarget<Color = Rgb888>,
{
    let style = MonoTextStyle::new(font, color);
    Text::with_baseline(s, Point::new(x, y), style, Baseline::Top).draw(target)
}

/// The `origin` (x << 16 | y) and `size` (w << 16 | h) words of a `present`
/// request for `area`, or `None` if a value does not fit in 16 bits (or the
/// origin is negative). A window's damage always fits: window sizes are
/// limited to 65535 (see [`Error::Size`]).
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
fn present_words(area: &Rectangle) -> Option<(u32, u32)> {
    let field = |v: u32| (v <= 0xffff).then_some(v);
    let x = field(u32::try_from(area.top_left.x).ok()?)?;
    let y = field(u32::try_from(area.top_left.y).ok()?)?;
    let w = field(area.size.width)?;
    let h = field(area.size.height)?;
    Some((x << 16 | y, w << 16 | h))
}
