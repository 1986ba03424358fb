//! [`Window`]: a window on the display server, and [`WindowBuffer`], the
//! shared memory its pixels live in. Bare-metal target only (see the crate
//! documentation).

use crate::event::{Event, KIND_NONE};
use crate::surface::Surface;
use crate::{Error, present_words};
use core::ops::{Deref, DerefMut};
use embedded_graphics::Pixel;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::{Dimensions, DrawTarget, OriginDimensions, Size};
use embedded_graphics::primitives::Rectangle;

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::WindowClient;

/// How long [`Window::run`] sleeps when no event is waiting.
const POLL_INTERVAL_NS: u64 = 10_000_000;

/// At most this many events are handled between two presents in
/// [`Window::run`], so a stream of pointer moves cannot hold back drawing.
const BATCH: usize = 64;

/// At most this many events of unknown kinds are skipped in one
/// [`Window::poll_event`], so a misbehaving server cannot keep it looping.
const UNKNOWN_LIMIT: usize = 16;

/// The pixel memory of a [`Window`]: pages this domain mapped and shares
/// read-only with the display server. It is unmapped when dropped (the
/// server keeps its own mapping until it lets go). Only a window makes one.
pub struct WindowBuffer {
    /// Start of the mapping (page-aligned, from `mem::MAP`).
    addr: u64,
    /// Length of the mapping in bytes (whole pages).
    len: u64,
    /// Number of pixels: `width * height`, at most `len / 4`.
    pixels: usize,
}

impl WindowBuffer {
    /// Maps zeroed, writable memory for `pixels` pixels.
    fn map(pixels: usize) -> Result<WindowBuffer, rt::abi::Error> {
        let bytes = (pixels as u64)
            .checked_mul(4)
            .and_then(|b| b.checked_next_multiple_of(rt::abi::PAGE_SIZE))
            .ok_or(rt::abi::Error::InvalidArgument)?;
        let prot = rt::abi::mem::PROT_READ | rt::abi::mem::PROT_WRITE;
        let addr = rt::kernel::map(0, bytes, prot)?;
        Ok(WindowBuffer {
            addr,
            len: bytes,
            pixels,
        })
    }
}

impl AsRef<[u32]> for WindowBuffer {
    fn as_ref(&self) -> &[u32] {
        // SAFETY: `addr..addr + len` is a readable and writable mapping this
        // buffer made and owns until it is dropped; `addr` is non-null
        // (user memory starts at `abi::USER_BASE`) and page-aligned, so
        // aligned for u32, and `pixels * 4 <= len`. The kernel zeroed the
        // pages and every u32 bit pattern is valid, so every element is
        // initialised. The server only reads the pages, and nothing else in
        // this domain refers to them: this borrow of `self` is the only way
        // in.
        unsafe { core::slice::from_raw_parts(self.addr as *const u32, self.pixels) }
    }
}

impl AsMut<[u32]> for WindowBuffer {
    fn as_mut(&mut self) -> &mut [u32] {
        // SAFETY: as in `as_ref`; the mutable borrow of `self` makes this the
        // only reference into the mapping while it lives.
        unsafe { core::slice::from_raw_parts_mut(self.addr as *mut u32, self.pixels) }
    }
}

impl Drop for WindowBuffer {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `map` for this buffer alone, and
        // every slice into it borrowed `self`, so none outlives this call.
        // An error leaves the pages mapped, which wastes memory but is
        // harmless.
        let _ = unsafe { rt::kernel::unmap(self.addr, self.len) };
    }
}

/// A window on the display server: a [`Surface`] whose memory the server
/// reads, and the id the server gave it.
///
/// Draw on it through [`Deref`]/[`DerefMut`] to the surface, or directly:
/// the window is a [`DrawTarget`] that forwards to its surface. Nothing
/// reaches the screen until [`present`](Window::present) sends the damage.
/// Dropping the window closes it.
pub struct Window {
    client: WindowClient,
    id: u32,
    surface: Surface<WindowBuffer>,
}

impl Window {
    /// Opens a `width` x `height` window through this domain's channel
    /// `channel` (normally `"display"`): maps a zeroed buffer (all pixels
    /// black, fourth byte 0), shares it read-only with the server and asks
    /// it to create the window.
    ///
    /// The server decides which sizes it allows (16..=1024 x 16..=768 as
    /// `window.idl` describes it) and answers [`Error::Create`] otherwise;
    /// this side refuses only sizes the protocol cannot carry
    /// ([`Error::Size`]).
    pub fn open(channel: &str, width: u32, height: u32) -> Result<Window, Error> {
        let handle = rt::kernel::channel(channel).map_err(Error::Channel)?;
        let (surface, share) = new_surface(width, height)?;
        let client = WindowClient { handle };
        let id = client.create(width, height, share).map_err(Error::Create)?;
        Ok(Window {
            client,
            id,
            surface,
        })
    }

    /// Gives the window a new size, `width` x `height`: maps a new zeroed
    /// buffer, shares it read-only with the server and asks it to resize
    /// the window onto it. The window keeps its place on the screen, and
    /// shows the new buffer at once (black) until the client draws and
    /// presents. The surface then is the new buffer, with no damage, and
    /// the old buffer is unmapped (the server let go of it). On an error
    /// the window keeps its old size and pixels.
    ///
    /// The server allows the sizes of [`open`](Window::open) and answers
    /// [`Error::Resize`] otherwise; this side refuses only sizes the
    /// protocol cannot carry ([`Error::Size`]).
    pub fn resize(&mut self, width: u32, height: u32) -> Result<(), Error> {
        let (surface, share) = new_surface(width, height)?;
        self.client
            .resize(self.id, width, height, share)
            .map_err(Error::Resize)?;
        // The old surface, and with it the old buffer, goes here.
        self.surface = surface;
        Ok(())
    }

    /// The id the display server gave this window.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Sends the damage (everything drawn since the last present) to the
    /// server, which copies that area to the screen. Does nothing if
    /// nothing was drawn. If the request fails, the damage is kept, so the
    /// next present sends it again.
    pub fn present(&mut self) -> Result<(), Error> {
        let Some(area) = self.surface.take_damage() else {
            return Ok(());
        };
        self.send(&area)
            .inspect_err(|_| self.surface.add_damage(&area))
    }

    /// Sends the whole window to the server, whatever the damage, and
    /// forgets the damage. If the request fails, the whole window counts
    /// as damaged.
    pub fn present_all(&mut self) -> Result<(), Error> {
        let all = self.surface.bounding_box();
        self.surface.take_damage();
        self.send(&all)
            .inspect_err(|_| self.surface.add_damage(&all))
    }

    fn send(&self, area: &Rectangle) -> Result<(), Error> {
        // Damage lies inside the surface, whose sides are at most 0xffff
        // (checked in `open`), so the words always fit.
        let (origin, size) = present_words(area).ok_or(Error::Size)?;
        self.client
            .present(self.id, origin, size)
            .map_err(Error::Present)
    }

    /// The next input event for this window, or `None` if none is waiting.
    /// Never blocks. Events of kinds this library does not know are
    /// skipped.
    pub fn poll_event(&self) -> Result<Option<Event>, Error> {
        for _ in 0..UNKNOWN_LIMIT {
            let raw = self.client.event(self.id).map_err(Error::Event)?;
            if raw.kind == KIND_NONE {
                return Ok(None);
            }
            if let Some(event) = Event::from_raw(raw.kind, raw.code, raw.x, raw.y) {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    /// Runs an event loop until `f` returns `false`: calls `f` with each
    /// event as it arrives, presents the damage after each batch of
    /// events, and sleeps about 10 ms whenever no event is waiting. The
    /// damage is presented once more before it returns. Returns early with
    /// the error of a failed `event` or `present` request.
    pub fn run(&mut self, f: impl FnMut(&mut Window, Event) -> bool) -> Result<(), Error> {
        self.run_until(u64::MAX, f)
    }

    /// As [`run`](Window::run), but also returns once the monotonic clock
    /// (`rt::kernel::now_ns`) reaches `deadline_ns`, checked after each
    /// batch of events.
    pub fn run_until(
        &mut self,
        deadline_ns: u64,
        mut f: impl FnMut(&mut Window, Event) -> bool,
    ) -> Result<(), Error> {
        loop {
            let mut handled = 0;
            while handled < BATCH {
                let Some(event) = self.poll_event()? else {
                    break;
                };
                handled += 1;
                if !f(self, event) {
                    return self.present();
                }
            }
            self.present()?;
            let now = rt::kernel::now_ns();
            if now >= deadline_ns {
                return Ok(());
            }
            if handled < BATCH {
                rt::kernel::sleep_ns(POLL_INTERVAL_NS.min(deadline_ns - now));
            }
        }
    }
}

/// A new zeroed surface of `width` x `height` and how to share its memory
/// read-only with the server. Refuses sizes the protocol cannot carry
/// ([`Error::Size`]).
fn new_surface(width: u32, height: u32) -> Result<(Surface<WindowBuffer>, rt::sys::Share), Error> {
    if !(1..=0xffff).contains(&width) || !(1..=0xffff).contains(&height) {
        return Err(Error::Size);
    }
    let buffer = WindowBuffer::map(width as usize * height as usize).map_err(Error::Map)?;
    let share = rt::sys::Share {
        addr: buffer.addr,
        len: buffer.len,
        writable: false,
    };
    // Cannot fail: the buffer holds exactly width * height pixels and both
    // are below i32::MAX. On error the buffer is unmapped.
    let surface = Surface::new(buffer, width, height).ok_or(Error::Size)?;
    Ok((surface, share))
}

impl Drop for Window {
    fn drop(&mut self) {
        // Nothing useful can be done if the server is gone or refuses; the
        // buffer is unmapped right after (field drop) either way.
        let _ = self.client.close(self.id);
    }
}

impl Deref for Window {
    type Target = Surface<WindowBuffer>;

    fn deref(&self) -> &Surface<WindowBuffer> {
        &self.surface
    }
}

impl DerefMut for Window {
    fn deref_mut(&mut self) -> &mut Surface<WindowBuffer> {
        &mut self.surface
    }
}

impl OriginDimensions for Window {
    fn size(&self) -> Size {
        self.surface.size()
    }
}

impl DrawTarget for Window {
    type Color = Rgb888;
    type Error = core::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Rgb888>>,
    {
        self.surface.draw_iter(pixels)
    }

    fn fill_contiguous<I>(&mut self, area: &Rectangle, colors: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Rgb888>,
    {
        self.surface.fill_contiguous(area, colors)
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Rgb888) -> Result<(), Self::Error> {
        self.surface.fill_solid(area, color)
    }

    fn clear(&mut self, color: Rgb888) -> Result<(), Self::Error> {
        self.surface.clear(color)
    }
}
