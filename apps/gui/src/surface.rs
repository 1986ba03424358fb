//! [`Surface`]: a BGRA pixel buffer that embedded-graphics can draw on, and
//! that remembers which part of it changed.
//!
//! A pixel is one `u32` whose little-endian bytes are blue, green, red and
//! 0xff, the layout the window protocol shares with the display server.
//! Rows follow each other without padding: the pixel at (x, y) is element
//! `y * width + x`.
//!
//! Everything here is plain memory logic: no system calls, so it runs in
//! host unit tests.

use embedded_graphics::Pixel;
use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use embedded_graphics::prelude::{DrawTarget, OriginDimensions, Point, Size};
use embedded_graphics::primitives::Rectangle;

/// The pixel value of `color`: bytes blue, green, red, 0xff in memory order.
#[must_use]
#[inline]
pub fn to_bgra(color: Rgb888) -> u32 {
    u32::from_le_bytes([color.b(), color.g(), color.r(), 0xff])
}

/// The colour of the pixel value `pixel` (the fourth byte is ignored).
#[must_use]
pub const fn from_bgra(pixel: u32) -> Rgb888 {
    let [b, g, r, _] = pixel.to_le_bytes();
    Rgb888::new(r, g, b)
}

/// A non-empty rectangle of pixels inside a surface, as half-open index
/// ranges: columns `x0..x1`, rows `y0..y1`. All four values are at most the
/// surface's width or height, which fit in `i32` (see [`Surface::new`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl Span {
    fn rectangle(self) -> Rectangle {
        // Lossless casts: every value fits in `i32` (see above).
        Rectangle::new(
            Point::new(self.x0 as i32, self.y0 as i32),
            Size::new((self.x1 - self.x0) as u32, (self.y1 - self.y0) as u32),
        )
    }
}

/// A `width` x `height` BGRA pixel buffer over the storage `B`, which
/// embedded-graphics can draw on ([`DrawTarget`] with [`Rgb888`] colours).
///
/// `B` is anything that lends out a `[u32]` slice: `&mut [u32]`, an array,
/// a `Vec<u32>`, or the shared memory of a `Window` (`WindowBuffer`). Only
/// its first `width * height` elements are used.
///
/// Drawing is clipped to the surface: pixels outside it, including at
/// negative coordinates, are dropped. The surface keeps the bounding box of
/// every pixel written through [`DrawTarget`] since the last
/// [`take_damage`](Surface::take_damage) (the *damage*), so a window can
/// send the display server just the part that changed.
///
/// ```
/// use gui::Surface;
/// use gui::embedded_graphics::{pixelcolor::Rgb888, prelude::*, primitives::Rectangle};
///
/// let mut buf = [0u32; 8 * 4];
/// let mut s = Surface::new(&mut buf[..], 8, 4).unwrap();
/// s.fill_solid(&Rectangle::new(Point::new(6, -1), Size::new(5, 2)), Rgb888::RED)
///     .unwrap();
/// assert_eq!(s.pixel(Point::new(7, 0)), Some(Rgb888::RED));
/// assert_eq!(s.pixels()[7].to_le_bytes(), [0x00, 0x00, 0xff, 0xff]);
/// assert_eq!(
///     s.take_damage(),
///     Some(Rectangle::new(Point::new(6, 0), Size::new(2, 1)))
/// );
/// assert_eq!(s.take_damage(), None);
/// ```
pub struct Surface<B> {
    buf: B,
    width: u32,
    height: u32,
    damage: Option<Span>,
}

impl<B: AsRef<[u32]> + AsMut<[u32]>> Surface<B> {
    /// A surface of `width` x `height` pixels over `buf`, with no damage.
    /// The pixels keep whatever `buf` holds.
    ///
    /// `None` if `buf` has fewer than `width * height` elements, or if
    /// `width` or `height` exceeds `i32::MAX` (embedded-graphics
    /// coordinates are `i32`).
    pub fn new(mut buf: B, width: u32, height: u32) -> Option<Surface<B>> {
        let max = i32::MAX as u32;
        if width > max || height > max {
            return None;
        }
        let len = (width as usize).checked_mul(height as usize)?;
        if buf.as_mut().len() < len {
            return None;
        }
        Some(Surface {
            buf,
            width,
            height,
            damage: None,
        })
    }

    /// Width in pixels.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The `width * height` pixel values, row after row.
    #[must_use]
    pub fn pixels(&self) -> &[u32] {
        &self.buf.as_ref()[..self.len()]
    }

    /// The pixel values for writing directly. Writes through this slice are
    /// not tracked: report them with [`add_damage`](Surface::add_damage).
    pub fn pixels_mut(&mut self) -> &mut [u32] {
        let len = self.len();
        &mut self.buf.as_mut()[..len]
    }

    /// The colour at `point`, or `None` outside the surface.
    #[must_use]
    pub fn pixel(&self, point: Point) -> Option<Rgb888> {
        let x = usize::try_from(point.x).ok()?;
        let y = usize::try_from(point.y).ok()?;
        if x >= self.width as usize || y >= self.height as usize {
            return None;
        }
        Some(from_bgra(self.pixels()[y * self.width as usize + x]))
    }

    /// The bounding box of everything drawn since the last
    /// [`take_damage`](Surface::take_damage), or `None` if nothing was.
    #[must_use]
    pub fn damage(&self) -> Option<Rectangle> {
        self.damage.map(Span::rectangle)
    }

    /// Returns the damage (as [`damage`](Surface::damage)) and forgets it.
    pub fn take_damage(&mut self) -> Option<Rectangle> {
        self.damage.take().map(Span::rectangle)
    }

    /// Adds the part of `area` inside the surface to the damage, for
    /// changes made through [`pixels_mut`](Surface::pixels_mut), or to have
    /// an area sent again.
    pub fn add_damage(&mut self, area: &Rectangle) {
        if let Some(span) = self.clip(area) {
            self.grow(span.x0, span.y0, span.x1, span.y1);
        }
    }

    fn len(&self) -> usize {
        // Cannot overflow: checked in `new`.
        self.width as usize * self.height as usize
    }

    /// The part of `area` inside the surface, or `None` if there is none.
    /// Computed in `i64`, where no `i32` position plus `u32` length
    /// overflows.
    fn clip(&self, area: &Rectangle) -> Option<Span> {
        let left = i64::from(area.top_left.x);
        let top = i64::from(area.top_left.y);
        let x0 = left.max(0);
        let y0 = top.max(0);
        let x1 = (left + i64::from(area.size.width)).min(i64::from(self.width));
        let y1 = (top + i64::from(area.size.height)).min(i64::from(self.height));
        if x0 >= x1 || y0 >= y1 {
            return None;
        }
        // All four are in 0..=i32::MAX now, so the casts are lossless.
        Some(Span {
            x0: x0 as usize,
            y0: y0 as usize,
            x1: x1 as usize,
            y1: y1 as usize,
        })
    }

    /// Extends the damage to cover columns `x0..x1` of rows `y0..y1` (a
    /// non-empty range inside the surface).
    fn grow(&mut self, x0: usize, y0: usize, x1: usize, y1: usize) {
        self.damage = Some(match self.damage {
            None => Span { x0, y0, x1, y1 },
            Some(b) => Span {
                x0: b.x0.min(x0),
                y0: b.y0.min(y0),
                x1: b.x1.max(x1),
                y1: b.y1.max(y1),
            },
        });
    }
}

/// Advances `it` by `n` items; `false` if it ran out first.
fn skip<I: Iterator>(it: &mut I, n: usize) -> bool {
    n == 0 || it.nth(n - 1).is_some()
}

impl<B: AsRef<[u32]> + AsMut<[u32]>> OriginDimensions for Surface<B> {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl<B: AsRef<[u32]> + AsMut<[u32]>> DrawTarget for Surface<B> {
    type Color = Rgb888;
    type Error = core::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Rgb888>>,
    {
        let width = self.width as usize;
        let height = self.height as usize;
        let len = self.len();
        let buf = &mut self.buf.as_mut()[..len];
        // Collect the bounding box locally and merge it once at the end.
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for Pixel(point, color) in pixels {
            let (Ok(x), Ok(y)) = (usize::try_from(point.x), usize::try_from(point.y)) else {
                continue;
            };
            if x >= width || y >= height {
                continue;
            }
            buf[y * width + x] = to_bgra(color);
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x + 1);
            y1 = y1.max(y + 1);
        }
        if x0 < x1 {
            self.grow(x0, y0, x1, y1);
        }
        Ok(())
    }

    /// Writes `colors` row by row over `area`, dropping those that fall
    /// outside the surface. If `colors` runs out early, the rest of `area`
    /// is left alone.
    fn fill_contiguous<I>(&mut self, area: &Rectangle, colors: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Rgb888>,
    {
        let Some(span) = self.clip(area) else {
            return Ok(());
        };
        // How many colours of each row of `area` lie left of, inside and
        // right of the surface, and how many whole rows lie above it. The
        // differences are in 0..=u32::MAX, so they fit in usize (x86_64).
        let area_width = area.size.width as usize;
        let left = (span.x0 as i64 - i64::from(area.top_left.x)) as usize;
        let visible = span.x1 - span.x0;
        let right = area_width - left - visible;
        let rows_above = (span.y0 as i64 - i64::from(area.top_left.y)) as usize;

        let mut colors = colors.into_iter();
        let Some(above) = rows_above.checked_mul(area_width) else {
            // More colours than memory can address: the iterator cannot
            // be that long in practice, but stay correct.
            return Ok(());
        };
        if !skip(&mut colors, above) {
            return Ok(());
        }
        let width = self.width as usize;
        let len = self.len();
        let buf = &mut self.buf.as_mut()[..len];
        // Rows are written in order from `span.y0`; the last one may be
        // short if `colors` runs out.
        let (mut rows, mut widest) = (0, 0);
        for y in span.y0..span.y1 {
            if !skip(&mut colors, left) {
                break;
            }
            let row = &mut buf[y * width + span.x0..y * width + span.x1];
            let mut n = 0;
            // `zip` asks `row` first, so no colour is lost past the row end.
            for (dst, color) in row.iter_mut().zip(&mut colors) {
                *dst = to_bgra(color);
                n += 1;
            }
            if n > 0 {
                rows += 1;
                widest = widest.max(n);
            }
            if n < visible || !skip(&mut colors, right) {
                break;
            }
        }
        if rows > 0 {
            self.grow(span.x0, span.y0, span.x0 + widest, span.y0 + rows);
        }
        Ok(())
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Rgb888) -> Result<(), Self::Error> {
        let Some(span) = self.clip(area) else {
            return Ok(());
        };
        let width = self.width as usize;
        let value = to_bgra(color);
        let buf = self.pixels_mut();
        for y in span.y0..span.y1 {
            buf[y * width + span.x0..y * width + span.x1].fill(value);
        }
        self.grow(span.x0, span.y0, span.x1, span.y1);
        Ok(())
    }

    fn clear(&mut self, color: Rgb888) -> Result<(), Self::Error> {
        let value = to_bgra(color);
        self.pixels_mut().fill(value);
        if self.len() > 0 {
            self.grow(0, 0, self.width as usize, self.height as usize);
        }
        Ok(())
    }
}
