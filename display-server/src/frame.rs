//! The frame buffer as an embedded-graphics draw target.
//!
//! virtio-gpu's scan-out resource is 32-bit B8G8R8A8: byte 0 blue, 1
//! green, 2 red, 3 alpha (ignored by the scan-out). Rows are `width * 4`
//! bytes, with no padding.

use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

/// A frame buffer of `width x height` BGRA pixels.
pub struct Frame<'a> {
    buf: &'a mut [u8],
    width: u32,
    height: u32,
}

/// The BGRA bytes of `c`, as one little-endian word.
fn word(c: Rgb888) -> u32 {
    u32::from_le_bytes([c.b(), c.g(), c.r(), 0xff])
}

impl<'a> Frame<'a> {
    /// Wraps `buf`, which must hold at least `width * height * 4` bytes.
    pub fn new(buf: &'a mut [u8], width: u32, height: u32) -> Option<Frame<'a>> {
        let need = (width as usize)
            .checked_mul(height as usize)?
            .checked_mul(4)?;
        (buf.len() >= need).then_some(Frame { buf, width, height })
    }

    /// Copies BGRA words onto `area`: the pixel at (`x`, `y`) from the
    /// area's top-left corner becomes `word(x, y)`, with its alpha byte set
    /// (the scan-out ignores it). Parts of `area` off the frame are left
    /// out, and `word` is not asked for them.
    pub fn fill_words(&mut self, area: &Rectangle, mut word: impl FnMut(u32, u32) -> u32) {
        let on = area.intersection(&self.bounding_box());
        if on.is_zero_sized() {
            return;
        }
        // Both offsets are >= 0: `on` lies inside `area`.
        let skip = on.top_left - area.top_left;
        let (dx, dy) = (skip.x as u32, skip.y as u32);
        let stride = self.width as usize * 4;
        let x0 = on.top_left.x as usize * 4;
        for row in 0..on.size.height {
            let y = on.top_left.y as usize + row as usize;
            let line = &mut self.buf[y * stride + x0..][..on.size.width as usize * 4];
            for (col, px) in line.chunks_exact_mut(4).enumerate() {
                let w = word(dx + col as u32, dy + row) | 0xff00_0000;
                px.copy_from_slice(&w.to_le_bytes());
            }
        }
    }

    /// The colour at `p`, or `None` outside the frame.
    pub fn pixel(&self, p: Point) -> Option<Rgb888> {
        let (x, y) = (u32::try_from(p.x).ok()?, u32::try_from(p.y).ok()?);
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 4;
        let [b, g, r, _] = self.buf[i..i + 4] else {
            return None;
        };
        Some(Rgb888::new(r, g, b))
    }
}

impl OriginDimensions for Frame<'_> {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Frame<'_> {
    type Color = Rgb888;
    type Error = core::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, c) in pixels {
            if p.x >= 0 && p.y >= 0 && (p.x as u32) < self.width && (p.y as u32) < self.height {
                let i = (p.y as usize * self.width as usize + p.x as usize) * 4;
                self.buf[i..i + 4].copy_from_slice(&word(c).to_le_bytes());
            }
        }
        Ok(())
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Self::Color) -> Result<(), Self::Error> {
        let area = area.intersection(&self.bounding_box());
        let Some(bottom_right) = area.bottom_right() else {
            return Ok(());
        };
        let w = word(color).to_le_bytes();
        let stride = self.width as usize * 4;
        let (x0, x1) = (area.top_left.x as usize, bottom_right.x as usize + 1);
        for y in area.top_left.y as usize..=bottom_right.y as usize {
            let row = &mut self.buf[y * stride + x0 * 4..y * stride + x1 * 4];
            for px in row.chunks_exact_mut(4) {
                px.copy_from_slice(&w);
            }
        }
        Ok(())
    }
}
