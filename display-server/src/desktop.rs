//! The desktop: windows, their server-drawn frames and labels, and
//! composition with damage tracking.
//!
//! Every window has a frame and a title bar that only the server draws,
//! with the label of the client's domain (from the solution description,
//! through the kernel's `Task.label`) and a colour derived from it. A
//! client's pixels land only inside its window's content area, and only
//! where no window above covers it; clients never see the screen.
//!
//! Composition works on damage: a change (a client's `present`, a window
//! opening, resizing or closing) marks a screen rectangle, and `compose`
//! redraws exactly that rectangle from the background up. An unchanged
//! screen costs nothing.
//!
//! The promises of the trusted path are kept here, where host tests check
//! them (`tests/desktop.rs`, `tests/compose.rs`):
//! - key presses go only to the focused window (a release to the window
//!   that got the press), pointer events only to the window under the
//!   pointer, in its content coordinates;
//! - the focus moves only on a click or the secure chord (Ctrl+Alt+Tab),
//!   which no window sees; no request of a client changes it, except that
//!   closing the focused window leaves nobody focused;
//! - a client's pixels reach the screen only inside its window's content
//!   area, never over a frame, a title bar, the panel or another window;
//! - a window is reachable only by the client that opened it (its owner).

use crate::frame::Frame;
pub use crate::window::{Event, Pixels, Window, kind, label_color};
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::ascii::{FONT_6X10, FONT_9X15_BOLD};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use embedded_graphics::text::{Baseline, Text};

/// Desktop background.
pub const BACKGROUND: Rgb888 = Rgb888::new(0x20, 0x30, 0x40);
/// The trusted panel across the top.
pub const PANEL: Rgb888 = Rgb888::new(0x10, 0x18, 0x20);
/// Height of the panel.
pub const PANEL_HEIGHT: i32 = 24;
/// Where the panel's list of domains starts (after "Tessera").
pub const PANEL_START: i32 = 80;
/// Height of a window's title bar.
pub const TITLE_HEIGHT: i32 = 20;
/// Width of a window's border.
pub const BORDER: i32 = 2;
/// Most windows per client.
pub const MAX_WINDOWS_PER_CLIENT: usize = 4;
/// Largest window content.
pub const MAX_SIZE: (u32, u32) = (1024, 768);
/// Smallest window content.
pub const MIN_SIZE: u32 = 16;
/// Most events queued for one window; older ones are dropped.
pub const MAX_EVENTS: usize = 64;
/// Most keys the desktop remembers as held down; past that the oldest is
/// forgotten (and its release then reaches nobody).
pub const MAX_HELD_KEYS: usize = 16;

/// The character the Tab key types (`Input.key`'s `code`).
pub const TAB: u32 = b'\t' as u32;
/// The modifier bits of the secure chord, Ctrl+Alt (`Input.key`'s
/// `modifiers`: bit 1 ctrl, bit 2 alt); with Tab it moves the focus.
pub const CHORD_MODIFIERS: u32 = 2 | 4;

/// Why the desktop refused a client's request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The client has no window of that id.
    NotFound,
    /// A size outside [`MIN_SIZE`]..=[`MAX_SIZE`], or pixel memory too
    /// small for it.
    Size,
    /// The client already has [`MAX_WINDOWS_PER_CLIENT`] windows.
    Quota,
}

/// `width x height` is a window size the desktop allows.
pub fn size_allowed(width: u32, height: u32) -> bool {
    (MIN_SIZE..=MAX_SIZE.0).contains(&width) && (MIN_SIZE..=MAX_SIZE.1).contains(&height)
}

/// The largest value of an absolute pointer axis (virtio-tablet,
/// `ABS_X`/`ABS_Y`).
pub const ABS_MAX: u32 = 32767;

/// The screen pixel, along an axis `size` pixels long, of the absolute
/// position `value` (clamped to [`ABS_MAX`]).
///
/// QEMU scales pixel `p` to `p * ABS_MAX / size`, rounding down, so this is
/// the exact inverse: the one pixel `p` with `p * ABS_MAX / size == value`,
/// `ceil(value * size / ABS_MAX)`, and `size - 1` for the far edge.
pub fn abs_to_pixel(value: u32, size: u32) -> i32 {
    let v = u64::from(value.min(ABS_MAX));
    let size = u64::from(size.max(1));
    (v * size).div_ceil(u64::from(ABS_MAX)).min(size - 1) as i32
}

/// All windows, bottom to top, and what needs redrawing.
pub struct Desktop {
    /// Screen size.
    pub size: Size,
    /// Windows, bottom first.
    pub windows: Vec<Window>,
    next_id: u32,
    /// Windows placed once every tile was taken (see `place`).
    placed: u32,
    damage: Option<Rectangle>,
    /// The window with the keyboard focus.
    pub focus: Option<u32>,
    /// The pointer, in screen coordinates.
    pub pointer: Point,
    /// Keys held down, each with the window its press went to (`None`:
    /// nobody, for a press without focus or the secure chord).
    held: Vec<(u32, Option<u32>)>,
    /// The labels of the running domains, as the panel lists them.
    domains: Vec<String>,
}

/// The widest window the tiles leave room for at the screen's right edge:
/// 360 pixels of content and its frame.
const WIDEST_TILED: i32 = 360 + 2 * BORDER;

/// Text colour readable on `background`: black on light label colours,
/// white on the others.
pub fn text_on(background: Rgb888) -> Rgb888 {
    let luma = 299 * u32::from(background.r())
        + 587 * u32::from(background.g())
        + 114 * u32::from(background.b());
    if luma > 140_000 {
        Rgb888::BLACK
    } else {
        Rgb888::WHITE
    }
}

/// The smallest rectangle holding both.
fn union(a: Rectangle, b: Rectangle) -> Rectangle {
    let (Some(ab), Some(bb)) = (a.bottom_right(), b.bottom_right()) else {
        return if a.is_zero_sized() { b } else { a };
    };
    let tl = Point::new(
        a.top_left.x.min(b.top_left.x),
        a.top_left.y.min(b.top_left.y),
    );
    let br = Point::new(ab.x.max(bb.x), ab.y.max(bb.y));
    Rectangle::with_corners(tl, br)
}

impl Desktop {
    /// An empty desktop of `width x height`, all of it to be drawn.
    pub fn new(width: u32, height: u32) -> Desktop {
        let size = Size::new(width, height);
        Desktop {
            size,
            windows: Vec::new(),
            next_id: 1,
            placed: 0,
            damage: Some(Rectangle::new(Point::zero(), size)),
            focus: None,
            pointer: Point::zero(),
            held: Vec::new(),
            domains: Vec::new(),
        }
    }

    /// Sets the labels of the running domains that the panel lists, in
    /// order; returns whether they changed (and the panel must be redrawn).
    pub fn set_domains(&mut self, labels: Vec<String>) -> bool {
        if labels == self.domains {
            return false;
        }
        self.domains = labels;
        self.damage(self.panel());
        true
    }

    /// The labels the panel lists.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }

    /// The panel's rectangle: the top [`PANEL_HEIGHT`] rows.
    pub fn panel(&self) -> Rectangle {
        Rectangle::new(
            Point::zero(),
            Size::new(self.size.width, PANEL_HEIGHT as u32),
        )
    }

    /// Where the panel shows each domain's label: a chip in the label's
    /// colour per domain, left to right after the name of the system,
    /// as many as fit; the chip's rectangle and the text's origin.
    pub fn panel_chips(&self) -> Vec<(Rectangle, Point)> {
        let (char_w, pad, gap) = (6i32, 5i32, 4i32);
        let mut x = PANEL_START;
        let mut chips = Vec::new();
        for label in &self.domains {
            let w = label.len() as i32 * char_w + 2 * pad;
            if x + w > self.size.width as i32 {
                break;
            }
            let chip = Rectangle::new(Point::new(x, 4), Size::new(w as u32, 16));
            chips.push((chip, Point::new(x + pad, 7)));
            x += w + gap;
        }
        chips
    }

    /// Marks `r` (screen coordinates) for redrawing.
    pub fn damage(&mut self, r: Rectangle) {
        let r = r.intersection(&Rectangle::new(Point::zero(), self.size));
        if r.is_zero_sized() {
            return;
        }
        self.damage = Some(match self.damage {
            Some(d) => union(d, r),
            None => r,
        });
    }

    /// Where the content of a new window goes. The screen is a grid of
    /// tiles of 400x300 (a little narrower if the screen's width is not a
    /// good fit) below the panel, filled left to right, then top to
    /// bottom; a new window takes the first tile no open window starts in,
    /// so the tile of a closed window is used again. When every tile is
    /// taken, windows go round the grid once more, over the others.
    fn place(&mut self) -> Point {
        let columns = (self.size.width / 400).max(1);
        let rows = ((self.size.height.saturating_sub(60)) / 300).max(1);
        // Tiles are 400 apart, closer if the last column would cut a
        // window of [`WIDEST_TILED`] pixels (frame included) at the edge.
        let room = self.size.width as i32 - 40 - WIDEST_TILED;
        let step = match columns {
            1 => 400,
            n => (room / (n as i32 - 1)).min(400),
        };
        let tile = |n: u32| {
            Point::new(
                40 + (n % columns) as i32 * step,
                PANEL_HEIGHT + 36 + ((n / columns) % rows) as i32 * 300,
            )
        };
        let free = (0..columns * rows)
            .map(tile)
            .find(|p| self.windows.iter().all(|w| w.content.top_left != *p));
        free.unwrap_or_else(|| {
            let n = self.placed;
            self.placed = self.placed.wrapping_add(1);
            tile(n)
        })
    }

    /// Opens a window of `width x height` for `owner` with the client's
    /// pixels, unless the size is not allowed ([`size_allowed`]), `pixels`
    /// does not hold `width * height` pixels, or `owner` has
    /// [`MAX_WINDOWS_PER_CLIENT`] windows already; a refusal hands `pixels`
    /// back. The new window goes on top, without the focus.
    pub fn open(
        &mut self,
        owner: u64,
        label: String,
        width: u32,
        height: u32,
        pixels: Pixels,
    ) -> Result<u32, (Refusal, Pixels)> {
        if !size_allowed(width, height) || !pixels.holds(width, height) {
            return Err((Refusal::Size, pixels));
        }
        if self.count(owner) >= MAX_WINDOWS_PER_CLIENT {
            return Err((Refusal::Quota, pixels));
        }
        let origin = self.place();
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let w = Window {
            id,
            owner,
            color: label_color(&label),
            label,
            content: Rectangle::new(origin, Size::new(width, height)),
            pixels,
            events: VecDeque::new(),
            shown: false,
        };
        self.damage(w.outer());
        self.windows.push(w);
        Ok(id)
    }

    /// The client changed the rectangle at (`x`, `y`) of `width x height`
    /// of window `id` (content coordinates): marks the part inside the
    /// content for redrawing. Whatever the client says, nothing outside its
    /// content area is touched.
    pub fn present(
        &mut self,
        owner: u64,
        id: u32,
        x: i32,
        y: i32,
        width: u32,
        height: u32,
    ) -> Result<(), Refusal> {
        let w = self.find_mut(owner, id).ok_or(Refusal::NotFound)?;
        w.shown = true;
        // Clipped in i64, where no value a client sends can overflow.
        let clip = |start: i32, len: u32, limit: u32| {
            let lo = i64::from(start).clamp(0, i64::from(limit));
            let hi = (i64::from(start) + i64::from(len)).clamp(lo, i64::from(limit));
            // Both lie in 0..=limit, and limit is a window side (< 2^31).
            (lo as i32, (hi - lo) as u32)
        };
        let (x, width) = clip(x, width, w.content.size.width);
        let (y, height) = clip(y, height, w.content.size.height);
        let screen = Rectangle::new(
            w.content.top_left + Point::new(x, y),
            Size::new(width, height),
        );
        self.damage(screen);
        Ok(())
    }

    /// Gives window `id` of `owner` a new size and new pixels, keeping its
    /// place, stacking and focus; returns the old pixels, which the window
    /// no longer uses. Refused (handing `pixels` back) for another
    /// client's window, or a size [`open`](Desktop::open) would refuse.
    pub fn resize(
        &mut self,
        owner: u64,
        id: u32,
        width: u32,
        height: u32,
        pixels: Pixels,
    ) -> Result<Pixels, (Refusal, Pixels)> {
        if self.find_mut(owner, id).is_none() {
            return Err((Refusal::NotFound, pixels));
        }
        if !size_allowed(width, height) || !pixels.holds(width, height) {
            return Err((Refusal::Size, pixels));
        }
        let Some(w) = self.find_mut(owner, id) else {
            return Err((Refusal::NotFound, pixels));
        };
        let before = w.outer();
        w.content.size = Size::new(width, height);
        let old = core::mem::replace(&mut w.pixels, pixels);
        let after = w.outer();
        self.damage(before);
        self.damage(after);
        Ok(old)
    }

    /// Queues `ev` for window `id`.
    fn post(&mut self, id: u32, ev: Event) {
        if let Some(w) = self.windows.iter_mut().find(|w| w.id == id) {
            if w.events.len() == MAX_EVENTS {
                w.events.pop_front();
            }
            w.events.push_back(ev);
        }
    }

    /// The next event for window `id` of `owner`.
    pub fn next_event(&mut self, owner: u64, id: u32) -> Option<Option<Event>> {
        let w = self
            .windows
            .iter_mut()
            .find(|w| w.id == id && w.owner == owner)?;
        Some(w.events.pop_front())
    }

    /// The topmost window whose frame holds screen point `p`.
    fn under(&self, p: Point) -> Option<&Window> {
        self.windows.iter().rev().find(|w| w.outer().contains(p))
    }

    /// Gives the focus to window `id` (and raises it), or to nobody.
    pub fn set_focus(&mut self, id: Option<u32>) {
        if self.focus == id {
            return;
        }
        if let Some(old) = self.focus {
            self.post(old, (kind::FOCUS_OUT, 0, 0, 0));
            if let Some(w) = self.windows.iter().find(|w| w.id == old) {
                let r = w.outer();
                self.damage(r);
            }
        }
        self.focus = id;
        if let Some(new) = id
            && let Some(i) = self.windows.iter().position(|w| w.id == new)
        {
            let w = self.windows.remove(i);
            self.damage(w.outer());
            self.windows.push(w);
            self.post(new, (kind::FOCUS_IN, 0, 0, 0));
        }
    }

    /// A key event from the input service (`Input.key`).
    ///
    /// - A press of the secure chord (Tab with [`CHORD_MODIFIERS`] held)
    ///   moves the focus and reaches no window; nor does its release,
    ///   whichever key the user lets go of first.
    /// - Any other press goes to the focused window only. A repeat (a
    ///   press of a key already down) goes there only if that window got
    ///   the first press and still has the focus.
    /// - A release goes to the window that got the press, focused or not
    ///   (it knows the key is down), and a release without a press reaches
    ///   nobody: a window never learns of keys typed into another.
    pub fn key(&mut self, code: u32, down: bool, modifiers: u32) {
        let held = self.held.iter().position(|&(c, _)| c == code);
        if !down {
            if let Some(i) = held {
                let (_, target) = self.held.remove(i);
                if let Some(id) = target {
                    self.post(id, (kind::KEY_UP, code, 0, 0));
                }
            }
            return;
        }
        if code == TAB && modifiers & CHORD_MODIFIERS == CHORD_MODIFIERS {
            self.cycle_focus();
            match held {
                Some(i) => self.held[i].1 = None,
                None => self.hold(code, None),
            }
            return;
        }
        let target = match held {
            Some(i) => self.held[i].1.filter(|&id| self.focus == Some(id)),
            None => {
                self.hold(code, self.focus);
                self.focus
            }
        };
        if let Some(id) = target {
            self.post(id, (kind::KEY_DOWN, code, 0, 0));
        }
    }

    /// Remembers `code` as held, its press sent to `target`.
    fn hold(&mut self, code: u32, target: Option<u32>) {
        if self.held.len() == MAX_HELD_KEYS {
            self.held.remove(0);
        }
        self.held.push((code, target));
    }

    /// The focus moves to the bottom window, which `set_focus` raises, so
    /// repeating it visits every window (the server's secure chord).
    pub fn cycle_focus(&mut self) {
        let bottom = self.windows.first().map(|w| w.id);
        self.set_focus(bottom);
    }

    /// The pointer moved to screen point `p`: the window under it (only)
    /// learns where, in its content coordinates, if it is inside.
    pub fn pointer_to(&mut self, p: Point) {
        self.pointer = p;
        if let Some((id, local)) = self.content_point(p) {
            self.post(id, (kind::MOVED, 0, local.x as u32, local.y as u32));
        }
    }

    /// The window under `p` and `p` in its content coordinates, if `p` is
    /// inside its content.
    fn content_point(&self, p: Point) -> Option<(u32, Point)> {
        let w = self.under(p)?;
        w.content
            .contains(p)
            .then(|| (w.id, p - w.content.top_left))
    }

    /// A button changed at the pointer. A press focuses (and raises) the
    /// window under the pointer, or nobody over the background; the event
    /// goes to the window under the pointer only.
    pub fn button(&mut self, button: u32, down: bool) {
        let p = self.pointer;
        if down && button == 0 {
            let id = self.under(p).map(|w| w.id);
            self.set_focus(id);
        }
        if let Some((id, local)) = self.content_point(p) {
            let k = if down {
                kind::BUTTON_DOWN
            } else {
                kind::BUTTON_UP
            };
            self.post(id, (k, button, local.x as u32, local.y as u32));
        }
    }

    /// Windows whose clients have presented at least once.
    pub fn shown(&self) -> usize {
        self.windows.iter().filter(|w| w.shown).count()
    }

    /// Window `id` of `owner`, to change.
    pub fn find_mut(&mut self, owner: u64, id: u32) -> Option<&mut Window> {
        self.windows
            .iter_mut()
            .find(|w| w.id == id && w.owner == owner)
    }

    /// Removes window `id` of `owner` and returns it.
    pub fn close(&mut self, owner: u64, id: u32) -> Option<Window> {
        let i = self
            .windows
            .iter()
            .position(|w| w.id == id && w.owner == owner)?;
        let w = self.windows.remove(i);
        self.damage(w.outer());
        if self.focus == Some(id) {
            self.focus = None;
        }
        Some(w)
    }

    /// Removes every window of `owner` (a client that has ended) and
    /// returns them, bottom to top.
    pub fn close_owner(&mut self, owner: u64) -> Vec<Window> {
        let ids: Vec<u32> = self
            .windows
            .iter()
            .filter(|w| w.owner == owner)
            .map(|w| w.id)
            .collect();
        ids.into_iter()
            .filter_map(|id| self.close(owner, id))
            .collect()
    }

    /// The clients that have windows, each once, in the order of their
    /// lowest window.
    pub fn owners(&self) -> Vec<u64> {
        let mut owners = Vec::new();
        for w in &self.windows {
            if !owners.contains(&w.owner) {
                owners.push(w.owner);
            }
        }
        owners
    }

    /// Windows of `owner`.
    pub fn count(&self, owner: u64) -> usize {
        self.windows.iter().filter(|w| w.owner == owner).count()
    }

    /// Redraws the damaged rectangle into `f`; returns it (None: nothing
    /// to do).
    pub fn compose(&mut self, f: &mut Frame<'_>) -> Option<Rectangle> {
        let area = self.damage.take()?;
        let _ = f.fill_solid(&area, BACKGROUND);
        let p = self.panel().intersection(&area);
        if !p.is_zero_sized() {
            let _ = f.fill_solid(&p, PANEL);
            let mut clipped = f.clipped(&p);
            let text = MonoTextStyle::new(&FONT_9X15_BOLD, Rgb888::WHITE);
            let _ = Text::with_baseline("Tessera", Point::new(8, 4), text, Baseline::Top)
                .draw(&mut clipped);
            for ((chip, at), label) in self.panel_chips().into_iter().zip(&self.domains) {
                let color = label_color(label);
                let _ = clipped.fill_solid(&chip, color);
                let small = MonoTextStyle::new(&FONT_6X10, text_on(color));
                let _ = Text::with_baseline(label, at, small, Baseline::Top).draw(&mut clipped);
            }
        }
        for w in &self.windows {
            let outer = w.outer().intersection(&area);
            if outer.is_zero_sized() {
                continue;
            }
            // Frame, then title bar with the label, both the server's. The
            // focused window's frame is white.
            let border = if self.focus == Some(w.id) {
                Rgb888::WHITE
            } else {
                w.color
            };
            for strip in w.frame_strips() {
                let _ = f.fill_solid(&strip.intersection(&area), border);
            }
            let title = w.title().intersection(&area);
            let _ = f.fill_solid(&title, w.color);
            if !title.is_zero_sized() {
                let mut clipped = f.clipped(&title);
                let style = MonoTextStyle::new(&FONT_6X10, text_on(w.color));
                let at = w.title().top_left + Point::new(6, 5);
                let _ = Text::with_baseline(&w.label, at, style, Baseline::Top).draw(&mut clipped);
            }
            // The client's pixels, inside its content area only.
            let c = w.content.intersection(&area);
            if !c.is_zero_sized() {
                // `c` lies inside the content: the offsets are >= 0.
                let at = c.top_left - w.content.top_left;
                let (dx, dy) = (at.x as u32, at.y as u32);
                f.fill_words(&c, |x, y| w.word(dx + x, dy + y));
            }
        }
        Some(area)
    }
}
