//! Property: whatever windows exist, whatever rectangles their clients
//! present and whatever pixels they hold, every pixel of the screen that is
//! not inside a visible content area is what the server draws: background,
//! panel, frames and title bars. Along the way, no client request moves
//! the focus or changes the stacking.
//!
//! The same desktop is driven twice, once with random client pixels and
//! once with all clients' pixels zero, through the same opens, presents,
//! clicks, chords, resizes and closes. The first screen is composed after
//! every step, from damage; the second once at the end, in full. Outside
//! the visible content areas the two must agree pixel for pixel, so no
//! client pixel leaked out and no damage was forgotten. Inside, a full
//! redraw must show exactly each client's pixels.

mod common;

use common::{Screen, color_of};
use display::desktop::{self, CHORD_MODIFIERS, TAB};
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use proptest::prelude::*;

const W: u32 = 800;
const H: u32 = 600;

#[derive(Clone, Debug)]
enum Op {
    Present {
        win: usize,
        x: i32,
        y: i32,
        w: u32,
        h: u32,
    },
    Scribble {
        win: usize,
        seed: u64,
    },
    Click {
        x: i32,
        y: i32,
    },
    Chord,
    Resize {
        win: usize,
        w: u32,
        h: u32,
        seed: u64,
    },
    Close {
        win: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..6usize, -100..900i32, -100..700i32, 0..1000u32, 0..800u32)
            .prop_map(|(win, x, y, w, h)| Op::Present { win, x, y, w, h }),
        2 => (0..6usize, any::<u64>()).prop_map(|(win, seed)| Op::Scribble { win, seed }),
        2 => (0..W as i32, 0..H as i32).prop_map(|(x, y)| Op::Click { x, y }),
        1 => Just(Op::Chord),
        1 => (0..6usize, 16..=450u32, 16..=400u32, any::<u64>())
            .prop_map(|(win, w, h, seed)| Op::Resize { win, w, h, seed }),
        1 => (0..6usize).prop_map(|win| Op::Close { win }),
    ]
}

/// Random-looking pixel `i` for `seed` (splitmix64).
fn noise(seed: u64, i: usize) -> u32 {
    let mut z = seed.wrapping_add((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as u32
}

fn scribble(s: &Screen, id: u32, seed: u64) {
    let (content, _) = s.rects(id);
    let mem = s.mem(id);
    for i in 0..(content.size.width * content.size.height) as usize {
        mem.set(i, noise(seed, i));
    }
}

/// The window on top at `p` and whether `p` is in its content.
fn top_at(s: &Screen, p: Point) -> Option<(u32, bool)> {
    s.desktop
        .windows
        .iter()
        .rev()
        .find(|w| w.outer().contains(p))
        .map(|w| (w.id, w.content.contains(p)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn only_content_areas_show_client_pixels(
        windows in prop::collection::vec((0..3u64, 16..=450u32, 16..=400u32, any::<u64>()), 1..=6),
        ops in prop::collection::vec(op(), 0..14),
    ) {
        let mut test = Screen::new(W, H);
        let mut reference = Screen::new(W, H);
        // (owner, id) of each window opened.
        let mut opened = Vec::new();
        for &(owner, w, h, seed) in &windows {
            let label = format!("client-{owner}");
            let got = test.open(owner, &label, w, h);
            prop_assert_eq!(got, reference.open(owner, &label, w, h));
            if let Ok(id) = got {
                scribble(&test, id, seed);
                opened.push((owner, id));
            }
            test.compose();
        }
        for op in &ops {
            let pick = |win: usize| opened.get(win % opened.len().max(1)).copied();
            let focus = test.desktop.focus;
            let order: Vec<u32> = test.desktop.windows.iter().map(|w| w.id).collect();
            match *op {
                Op::Present { win, x, y, w, h } => {
                    if let Some((owner, id)) = pick(win) {
                        let got = test.desktop.present(owner, id, x, y, w, h);
                        prop_assert_eq!(got, reference.desktop.present(owner, id, x, y, w, h));
                    }
                }
                Op::Scribble { win, seed } => {
                    if let Some((_, id)) = pick(win)
                        && test.desktop.windows.iter().any(|w| w.id == id)
                    {
                        scribble(&test, id, seed);
                    }
                }
                Op::Click { x, y } => {
                    test.click(Point::new(x, y));
                    reference.click(Point::new(x, y));
                }
                Op::Chord => {
                    for s in [&mut test, &mut reference] {
                        s.desktop.key(TAB, true, CHORD_MODIFIERS);
                        s.desktop.key(TAB, false, CHORD_MODIFIERS);
                    }
                }
                Op::Resize { win, w, h, seed } => {
                    if let Some((owner, id)) = pick(win) {
                        let got = test.resize(owner, id, w, h);
                        prop_assert_eq!(got, reference.resize(owner, id, w, h));
                        if got.is_ok() {
                            scribble(&test, id, seed);
                        }
                    }
                }
                Op::Close { win } => {
                    if let Some((owner, id)) = pick(win) {
                        let got = test.desktop.close(owner, id).is_some();
                        prop_assert_eq!(got, reference.desktop.close(owner, id).is_some());
                    }
                }
            }
            // A client's request never moves the focus or restacks; only
            // closing the focused window leaves nobody focused.
            if !matches!(op, Op::Click { .. } | Op::Chord) {
                let now = test.desktop.focus;
                let closed = matches!(op, Op::Close { .. });
                prop_assert!(now == focus || (now.is_none() && closed), "focus moved by {:?}", op);
                let left: Vec<u32> = order
                    .iter()
                    .copied()
                    .filter(|id| test.desktop.windows.iter().any(|w| w.id == *id))
                    .collect();
                let after: Vec<u32> = test.desktop.windows.iter().map(|w| w.id).collect();
                prop_assert_eq!(after, left, "stacking changed by {:?}", op);
            }
            test.compose();
        }
        prop_assert_eq!(test.desktop.focus, reference.desktop.focus);
        reference.desktop.damage(Rectangle::new(Point::zero(), Size::new(W, H)));
        reference.compose();

        // Outside visible content: what the server draws, after damage
        // composition only.
        for y in 0..H as i32 {
            for x in 0..W as i32 {
                let p = Point::new(x, y);
                if top_at(&test, p).is_none_or(|(_, inside)| !inside) {
                    prop_assert_eq!(test.px(x, y), reference.px(x, y), "at {:?}", p);
                }
            }
        }

        // Inside: a full redraw shows each client's own pixels.
        test.desktop.damage(Rectangle::new(Point::zero(), Size::new(W, H)));
        test.compose();
        for y in 0..H as i32 {
            for x in 0..W as i32 {
                let p = Point::new(x, y);
                if let Some((id, true)) = top_at(&test, p) {
                    let (content, _) = test.rects(id);
                    let local = p - content.top_left;
                    let i = (local.y as u32 * content.size.width + local.x as u32) as usize;
                    prop_assert_eq!(test.px(x, y), color_of(test.mem(id).get(i)), "at {:?}", p);
                }
            }
        }
    }
}

proptest! {
    /// The display server's pointer mapping inverts QEMU's pixel-to-tablet
    /// scaling exactly: every pixel of any screen size comes back as itself,
    /// and every tablet value lands on the screen.
    #[test]
    fn tablet_positions_map_back_to_the_pixel_clicked(size in 1u32..=8192, p in 0u32..8192, v in 0u32..=40000) {
        let p = p % size;
        let qemu = p * desktop::ABS_MAX / size;
        prop_assert_eq!(desktop::abs_to_pixel(qemu, size), p as i32);
        let back = desktop::abs_to_pixel(v, size);
        prop_assert!((0..size as i32).contains(&back));
    }
}
