//! One window as the desktop keeps it: the client's pixel memory, the
//! server-drawn frame and title bar around the content, the label and its
//! colour, and the input waiting for the client.

use crate::desktop::{BORDER, TITLE_HEIGHT};
use alloc::collections::VecDeque;
use alloc::string::String;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

/// A client's pixel memory as the server sees it: BGRA words the client
/// shares read-only, and may change at any time.
///
/// It never unmaps or frees the memory: whoever made it gets it back
/// (from [`Desktop::close`], [`Desktop::resize`] or a refusal) and lets go
/// of the memory then.
///
/// [`Desktop::close`]: crate::desktop::Desktop::close
/// [`Desktop::resize`]: crate::desktop::Desktop::resize
#[derive(Debug)]
pub struct Pixels {
    ptr: *const u32,
    len: usize,
}

impl Pixels {
    /// The `len` bytes at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is aligned for `u32`, and the `len` bytes from it stay mapped
    /// and readable until this value is handed back by the desktop and
    /// dropped. Their contents may change at any time (the desktop reads
    /// them with volatile loads and copes with any value).
    pub unsafe fn new(ptr: *const u32, len: usize) -> Pixels {
        Pixels { ptr, len }
    }

    /// Where the memory starts.
    pub fn as_ptr(&self) -> *const u32 {
        self.ptr
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Holds `width * height` pixels.
    pub(crate) fn holds(&self, width: u32, height: u32) -> bool {
        (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(4))
            .is_some_and(|need| self.len >= need)
    }
}

/// An input event for a window, as `Window.event` reports it: (kind,
/// code, x, y) with the kinds of `window.idl`.
pub type Event = (u32, u32, u32, u32);
/// Event kinds (`window.idl`).
pub mod kind {
    /// Key pressed.
    pub const KEY_DOWN: u32 = 1;
    /// Key released.
    pub const KEY_UP: u32 = 2;
    /// Pointer moved.
    pub const MOVED: u32 = 3;
    /// Button pressed.
    pub const BUTTON_DOWN: u32 = 4;
    /// Button released.
    pub const BUTTON_UP: u32 = 5;
    /// The window got the focus.
    pub const FOCUS_IN: u32 = 6;
    /// The window lost the focus.
    pub const FOCUS_OUT: u32 = 7;
}

/// One window.
pub struct Window {
    /// Id, unique on this server.
    pub id: u32,
    /// The client's domain id (its badge).
    pub owner: u64,
    /// The client's label.
    pub label: String,
    /// Title-bar colour, from the label.
    pub color: Rgb888,
    /// Content area on the screen.
    pub content: Rectangle,
    /// The client's pixels: at least `width * height` BGRA words.
    pub(crate) pixels: Pixels,
    /// Input waiting for the client.
    pub events: VecDeque<Event>,
    /// The client has presented its pixels at least once.
    pub shown: bool,
}

impl Window {
    /// The whole window on the screen: content, border and title bar.
    pub fn outer(&self) -> Rectangle {
        let c = self.content;
        Rectangle::new(
            c.top_left - Point::new(BORDER, BORDER + TITLE_HEIGHT),
            c.size + Size::new(2 * BORDER as u32, (2 * BORDER + TITLE_HEIGHT) as u32),
        )
    }

    /// The title bar.
    pub fn title(&self) -> Rectangle {
        let o = self.outer();
        Rectangle::new(
            o.top_left + Point::new(BORDER, BORDER),
            Size::new(self.content.size.width, TITLE_HEIGHT as u32),
        )
    }

    /// The client's pixel memory.
    pub fn pixels(&self) -> &Pixels {
        &self.pixels
    }

    /// The client's pixel memory, for the server to let go of once the
    /// window is closed.
    pub fn into_pixels(self) -> Pixels {
        self.pixels
    }

    /// The server-drawn frame around the content and the title bar: the
    /// strips above, below, left and right.
    pub fn frame_strips(&self) -> [Rectangle; 4] {
        let o = self.outer();
        let side = Size::new(BORDER as u32, o.size.height);
        let across = Size::new(o.size.width, BORDER as u32);
        let bottom = o.top_left + Point::new(0, o.size.height as i32 - BORDER);
        let right = o.top_left + Point::new(o.size.width as i32 - BORDER, 0);
        [
            Rectangle::new(o.top_left, across),
            Rectangle::new(bottom, across),
            Rectangle::new(o.top_left, side),
            Rectangle::new(right, side),
        ]
    }

    /// The client's BGRA word at content coordinates (x, y), inside the
    /// content.
    pub(crate) fn word(&self, x: u32, y: u32) -> u32 {
        let w = self.content.size.width as usize;
        let i = y as usize * w + x as usize;
        debug_assert!(i < self.content.size.width as usize * self.content.size.height as usize);
        // SAFETY: `Pixels::new`'s contract keeps the memory mapped, readable
        // and aligned while the window holds it; `open` and `resize` checked
        // that it holds `width * height` words, and (x, y) is inside the
        // content, so word `i` is inside the memory.
        unsafe { core::ptr::read_volatile(self.pixels.ptr.add(i)) }
    }
}

/// A label's colour: a hash of it, kept dark enough for white text.
pub fn label_color(label: &str) -> Rgb888 {
    let h = label.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let c = |shift: u32| 0x30 + ((h >> shift) & 0x7f) as u8;
    Rgb888::new(c(0), c(8), c(16))
}
