//! The frame buffer: BGRA layout, clipping at its edges.

use display::frame::Frame;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

const W: u32 = 40;
const H: u32 = 30;

/// A word that tells where it came from: x in green, y in red.
fn tagged(x: u32, y: u32) -> u32 {
    u32::from_le_bytes([0x11, x as u8, y as u8, 0x00])
}

#[test]
fn frames_need_enough_bytes() {
    let mut small = vec![0u8; (W * H * 4 - 1) as usize];
    assert!(Frame::new(&mut small, W, H).is_none());
    let mut huge = vec![0u8; 16];
    assert!(Frame::new(&mut huge, u32::MAX, u32::MAX).is_none());
    let mut exact = vec![0u8; (W * H * 4) as usize];
    assert!(Frame::new(&mut exact, W, H).is_some());
}

#[test]
fn pixels_are_bgra_with_alpha_set() {
    let mut buf = vec![0u8; (W * H * 4) as usize];
    let mut f = Frame::new(&mut buf, W, H).unwrap();
    f.fill_solid(
        &Rectangle::new(Point::new(1, 2), Size::new(1, 1)),
        Rgb888::new(1, 2, 3),
    )
    .unwrap();
    assert_eq!(f.pixel(Point::new(1, 2)), Some(Rgb888::new(1, 2, 3)));
    assert_eq!(f.pixel(Point::new(W as i32, 0)), None);
    assert_eq!(f.pixel(Point::new(-1, 0)), None);
    let i = ((2 * W + 1) * 4) as usize;
    assert_eq!(buf[i..i + 4], [3, 2, 1, 0xff]);
}

#[test]
fn fill_words_places_each_word_and_clips_at_the_edges() {
    for area in [
        Rectangle::new(Point::new(3, 4), Size::new(10, 7)),
        Rectangle::new(Point::new(-5, -6), Size::new(12, 9)),
        Rectangle::new(Point::new(W as i32 - 4, H as i32 - 3), Size::new(10, 10)),
        Rectangle::new(Point::new(-100, 5), Size::new(300, 2)),
        Rectangle::new(Point::new(W as i32, 0), Size::new(5, 5)),
    ] {
        let mut buf = vec![0u8; (W * H * 4) as usize];
        let mut f = Frame::new(&mut buf, W, H).unwrap();
        let mut asked = Vec::new();
        f.fill_words(&area, |x, y| {
            asked.push((x, y));
            tagged(x, y)
        });
        for y in 0..H as i32 {
            for x in 0..W as i32 {
                let p = Point::new(x, y);
                let got = f.pixel(p).unwrap();
                if area.contains(p) {
                    let (lx, ly) = ((x - area.top_left.x) as u32, (y - area.top_left.y) as u32);
                    assert_eq!(
                        got,
                        Rgb888::new(ly as u8, lx as u8, 0x11),
                        "{area:?} at {p:?}"
                    );
                } else {
                    assert_eq!(got, Rgb888::BLACK, "{area:?} wrote {p:?}");
                }
            }
        }
        let on = area.intersection(&f.bounding_box());
        assert_eq!(
            asked.len() as u32,
            on.size.width * on.size.height,
            "{area:?}"
        );
        // Alpha bytes of written pixels are set.
        let written = buf.chunks_exact(4).filter(|px| px[3] == 0xff).count() as u32;
        assert_eq!(written, on.size.width * on.size.height);
    }
}
