//! Host tests of the memory logic: surfaces, text, the `present` words.

use crate::*;
use embedded_graphics::Pixel;
use embedded_graphics::pixelcolor::RgbColor;
use embedded_graphics::prelude::{
    Dimensions, DrawTarget, OriginDimensions, Point, PointsIter, Size,
};
use proptest::prelude::*;
use std::vec;
use std::vec::Vec;

const W: u32 = 12;
const H: u32 = 8;
const BLUE: Rgb888 = Rgb888::new(0x11, 0x22, 0xee);

fn surface() -> Surface<Vec<u32>> {
    Surface::new(vec![0; (W * H) as usize], W, H).unwrap()
}

fn rect(x: i32, y: i32, w: u32, h: u32) -> Rectangle {
    Rectangle::new(Point::new(x, y), Size::new(w, h))
}

/// The set pixels (non-zero values) of `s`, as points.
fn set_points(s: &Surface<Vec<u32>>) -> Vec<Point> {
    let mut points = Vec::new();
    for (i, &p) in s.pixels().iter().enumerate() {
        if p != 0 {
            points.push(Point::new(
                (i as u32 % s.width()) as i32,
                (i as u32 / s.width()) as i32,
            ));
        }
    }
    points
}

/// Whether `area` contains `p`, computed in `i64` so that no rectangle
/// overflows.
fn contains(area: &Rectangle, p: Point) -> bool {
    let (x, y) = (i64::from(p.x), i64::from(p.y));
    let (left, top) = (i64::from(area.top_left.x), i64::from(area.top_left.y));
    x >= left
        && y >= top
        && x < left + i64::from(area.size.width)
        && y < top + i64::from(area.size.height)
}

/// All points of `s` that lie in `area`, in row order.
fn inside(s: &Surface<Vec<u32>>, area: &Rectangle) -> Vec<Point> {
    s.bounding_box()
        .points()
        .filter(|&p| contains(area, p))
        .collect()
}

/// The bounding box of `points`.
fn bounds(points: &[Point]) -> Option<Rectangle> {
    let first = *points.first()?;
    let (mut min, mut max) = (first, first);
    for p in points {
        min = min.component_min(*p);
        max = max.component_max(*p);
    }
    Some(Rectangle::with_corners(min, max))
}

#[test]
fn new_checks_the_buffer() {
    assert!(Surface::new(vec![0u32; 11], 4, 3).is_none());
    assert!(Surface::new(vec![0u32; 12], 4, 3).is_some());
    // Longer buffers are fine; only the first width * height are used.
    let s = Surface::new(vec![0u32; 20], 4, 3).unwrap();
    assert_eq!(s.pixels().len(), 12);
    assert_eq!(s.size(), Size::new(4, 3));
    assert!(Surface::new(vec![0u32; 0], 0, 0).is_some());
    assert!(Surface::new(&mut [][..], u32::MAX, 0).is_none());
}

#[test]
fn bgra_byte_order() {
    let mut s = surface();
    s.draw_iter([Pixel(Point::new(3, 2), Rgb888::new(0x12, 0x34, 0x56))])
        .unwrap();
    let value = s.pixels()[(2 * W + 3) as usize];
    assert_eq!(value.to_le_bytes(), [0x56, 0x34, 0x12, 0xff]);
    assert_eq!(value, 0xff12_3456);
    assert_eq!(
        s.pixel(Point::new(3, 2)),
        Some(Rgb888::new(0x12, 0x34, 0x56))
    );
    assert_eq!(from_bgra(to_bgra(BLUE)), BLUE);
    assert_eq!(set_points(&s), [Point::new(3, 2)]);
}

#[test]
fn pixel_reads_outside_are_none() {
    let s = surface();
    for p in [(-1, 0), (0, -1), (W as i32, 0), (0, H as i32)] {
        assert_eq!(s.pixel(Point::new(p.0, p.1)), None);
    }
    assert_eq!(s.pixel(Point::new(0, 0)), Some(Rgb888::BLACK));
}

#[test]
fn draw_iter_clips_every_edge() {
    let mut s = surface();
    let (w, h) = (W as i32, H as i32);
    let outside = [
        (-1, 0),
        (0, -1),
        (w, 0),
        (0, h),
        (-1, -1),
        (w, h),
        (i32::MIN, 3),
        (3, i32::MAX),
    ];
    s.draw_iter(outside.map(|(x, y)| Pixel(Point::new(x, y), BLUE)))
        .unwrap();
    assert!(set_points(&s).is_empty());
    assert_eq!(s.take_damage(), None);

    let corners = [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)];
    s.draw_iter(corners.map(|(x, y)| Pixel(Point::new(x, y), BLUE)))
        .unwrap();
    assert_eq!(set_points(&s).len(), 4);
    assert_eq!(s.take_damage(), Some(s.bounding_box()));
}

#[test]
fn fill_solid_clips_every_edge() {
    for area in [
        rect(-3, 2, 5, 2),
        rect(2, -3, 2, 5),
        rect(W as i32 - 2, 2, 5, 2),
        rect(2, H as i32 - 2, 2, 5),
        rect(-5, -5, W + 10, H + 10),
        rect(i32::MIN, i32::MIN, u32::MAX, u32::MAX),
        rect(i32::MAX, 0, u32::MAX, 3),
    ] {
        let mut s = surface();
        s.fill_solid(&area, BLUE).unwrap();
        let expected = inside(&s, &area);
        assert_eq!(set_points(&s), expected, "{area:?}");
        assert!(s.pixels().iter().all(|&p| p == 0 || p == to_bgra(BLUE)));
        assert_eq!(s.take_damage(), bounds(&expected), "{area:?}");
    }
}

#[test]
fn fill_outside_draws_nothing() {
    let mut s = surface();
    for area in [
        rect(-4, 0, 4, 4),
        rect(0, -4, 4, 4),
        rect(W as i32, 0, 4, 4),
        rect(0, H as i32, 4, 4),
        rect(2, 2, 0, 5),
        rect(2, 2, 5, 0),
    ] {
        s.fill_solid(&area, BLUE).unwrap();
        s.fill_contiguous(&area, core::iter::repeat(BLUE)).unwrap();
    }
    assert!(set_points(&s).is_empty());
    assert_eq!(s.take_damage(), None);
}

/// A colour that encodes the index `i`, so misplaced colours show.
fn numbered(i: usize) -> Rgb888 {
    Rgb888::new((i >> 16) as u8, (i >> 8) as u8, i as u8 | 1)
}

#[test]
fn fill_contiguous_with_partial_clipping() {
    let mut s = surface();
    // 4 x 3 area hanging over the top-left corner: its colours 0..12 in
    // row order; only columns 2..4 of rows 1..3 are inside.
    let area = rect(-2, -1, 4, 3);
    s.fill_contiguous(&area, (0..12).map(numbered)).unwrap();
    for (i, p) in area.points().enumerate() {
        if let Some(c) = s.pixel(p) {
            assert_eq!(c, numbered(i), "at {p:?}");
        }
    }
    assert_eq!(
        set_points(&s),
        [
            Point::new(0, 0),
            Point::new(1, 0),
            Point::new(0, 1),
            Point::new(1, 1)
        ]
    );
    assert_eq!(s.pixel(Point::new(0, 0)), Some(numbered(6)));
    assert_eq!(s.pixel(Point::new(1, 1)), Some(numbered(11)));
    assert_eq!(s.take_damage(), Some(rect(0, 0, 2, 2)));

    // Over the bottom-right corner.
    let mut s = surface();
    let area = rect(W as i32 - 1, H as i32 - 2, 3, 3);
    s.fill_contiguous(&area, (0..9).map(numbered)).unwrap();
    assert_eq!(
        s.pixel(Point::new(W as i32 - 1, H as i32 - 2)),
        Some(numbered(0))
    );
    assert_eq!(
        s.pixel(Point::new(W as i32 - 1, H as i32 - 1)),
        Some(numbered(3))
    );
    assert_eq!(set_points(&s).len(), 2);
    assert_eq!(
        s.take_damage(),
        Some(rect(W as i32 - 1, H as i32 - 2, 1, 2))
    );
}

#[test]
fn fill_contiguous_with_too_few_colours() {
    let mut s = surface();
    let area = rect(1, 1, 4, 3);
    // Six colours: the first row and half the second.
    s.fill_contiguous(&area, (0..6).map(numbered)).unwrap();
    assert_eq!(set_points(&s).len(), 6);
    assert_eq!(s.pixel(Point::new(2, 2)), Some(numbered(5)));
    assert_eq!(s.pixel(Point::new(3, 2)), Some(Rgb888::BLACK));
    assert_eq!(s.take_damage(), Some(rect(1, 1, 4, 2)));

    // Colours that end before the visible part starts draw nothing.
    s.fill_contiguous(&rect(-3, -3, 5, 5), (0..10).map(numbered))
        .unwrap();
    assert_eq!(s.take_damage(), None);
}

#[test]
fn damage_accumulates_and_resets() {
    let mut s = surface();
    assert_eq!(s.damage(), None);
    s.fill_solid(&rect(1, 1, 2, 2), BLUE).unwrap();
    s.draw_iter([Pixel(Point::new(7, 5), BLUE)]).unwrap();
    assert_eq!(s.damage(), Some(rect(1, 1, 7, 5)));
    s.fill_contiguous(&rect(-1, 6, 2, 1), [BLUE, BLUE]).unwrap();
    assert_eq!(s.take_damage(), Some(rect(0, 1, 8, 6)));
    assert_eq!(s.take_damage(), None);

    // Drawing nothing (no pixels, an empty area) adds no damage.
    s.draw_iter(core::iter::empty()).unwrap();
    s.fill_solid(&rect(3, 3, 0, 0), BLUE).unwrap();
    s.fill_contiguous(&rect(3, 3, 2, 2), core::iter::empty())
        .unwrap();
    assert_eq!(s.take_damage(), None);

    s.add_damage(&rect(-5, 4, 7, 100));
    assert_eq!(s.take_damage(), Some(rect(0, 4, 2, H - 4)));
    s.add_damage(&rect(-5, 4, 5, 1));
    assert_eq!(s.take_damage(), None);

    s.clear(BLUE).unwrap();
    assert!(s.pixels().iter().all(|&p| p == to_bgra(BLUE)));
    assert_eq!(s.take_damage(), Some(s.bounding_box()));
}

#[test]
fn surface_over_a_borrowed_slice() {
    let mut buf = [0u32; 16];
    {
        let mut s = Surface::new(&mut buf[..], 4, 4).unwrap();
        s.fill_solid(&rect(1, 1, 1, 1), Rgb888::WHITE).unwrap();
    }
    assert_eq!(buf[5], 0xffff_ffff);
}

#[test]
fn text_draws_inside_its_box() {
    let mut s = Surface::new(vec![0; 100 * 40], 100, 40).unwrap();
    let end = text(&mut s, "Hi", 10, 5, Rgb888::WHITE, &FONT_9X15).unwrap();
    assert_eq!(end, Point::new(28, 5));
    let damage = s.take_damage().unwrap();
    // Within the two 9 x 15 cells at (10, 5), and something was drawn.
    assert!(
        rect(10, 5, 18, 15).intersection(&damage) == damage,
        "{damage:?}"
    );
    let white = s.pixels().iter().filter(|&&p| p == 0xffff_ffff).count();
    assert!(white > 10);
    assert_eq!(
        s.pixels()
            .iter()
            .filter(|&&p| p != 0 && p != 0xffff_ffff)
            .count(),
        0
    );
}

#[test]
fn present_words() {
    assert_eq!(
        super::present_words(&rect(0, 0, 320, 200)),
        Some((0, 320 << 16 | 200))
    );
    assert_eq!(
        super::present_words(&rect(3, 4, 5, 6)),
        Some((3 << 16 | 4, 5 << 16 | 6))
    );
    assert_eq!(
        super::present_words(&rect(0xffff, 0xffff, 0xffff, 0xffff)),
        Some((0xffff_ffff, 0xffff_ffff))
    );
    assert_eq!(super::present_words(&rect(-1, 0, 1, 1)), None);
    assert_eq!(super::present_words(&rect(0, 0x1_0000, 1, 1)), None);
    assert_eq!(super::present_words(&rect(0, 0, 0x1_0000, 1)), None);
}

#[test]
fn error_display() {
    use std::string::ToString;
    assert_eq!(
        Error::Create(abi::Error::Denied).to_string(),
        "create: denied"
    );
    assert_eq!(Error::Size.to_string(), "window size out of range");
    assert_eq!(
        Error::Resize(abi::Error::InvalidArgument).to_string(),
        "resize: invalid argument"
    );
}

/// Rectangles around a `W` x `H` surface: anywhere from well outside to
/// well past it, of any size up to twice the surface.
fn any_rect() -> impl Strategy<Value = Rectangle> {
    (-20i32..30, -20i32..30, 0u32..2 * W, 0u32..2 * H).prop_map(|(x, y, w, h)| rect(x, y, w, h))
}

proptest! {
    /// `fill_solid` writes exactly what drawing every point of the
    /// rectangle through `draw_iter` writes, with the same damage.
    #[test]
    fn fill_solid_equals_draw_iter(area in any_rect(), r: u8, g: u8, b: u8, seed: u32) {
        let color = Rgb888::new(r, g, b);
        // Start from the same non-trivial picture on both.
        let background: Vec<u32> = (0..W * H).map(|i| i.wrapping_mul(seed)).collect();
        let mut fast = Surface::new(background.clone(), W, H).unwrap();
        let mut slow = Surface::new(background, W, H).unwrap();
        fast.fill_solid(&area, color).unwrap();
        slow.draw_iter(area.points().map(|p| Pixel(p, color))).unwrap();
        prop_assert_eq!(fast.pixels(), slow.pixels());
        prop_assert_eq!(fast.take_damage(), slow.take_damage());
    }

    /// `fill_contiguous` places each colour where `draw_iter` of the
    /// rectangle's points in row order would, also when the colours run
    /// out early.
    #[test]
    fn fill_contiguous_equals_draw_iter(area in any_rect(), count in 0usize..1200) {
        let colors = || (0..count).map(numbered);
        let mut fast = surface();
        let mut slow = surface();
        fast.fill_contiguous(&area, colors()).unwrap();
        slow.draw_iter(area.points().zip(colors()).map(|(p, c)| Pixel(p, c))).unwrap();
        prop_assert_eq!(fast.pixels(), slow.pixels());
        prop_assert_eq!(fast.take_damage(), slow.take_damage());
    }
}
