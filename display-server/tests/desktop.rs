//! The desktop's promises to users and clients, each tested by trying to
//! break it: input routing, focus, what a client's pixels can reach, the
//! server-drawn title bars, owner checks, limits and resizing.

mod common;

use common::{Screen, bgra};
use display::desktop::{
    self, BACKGROUND, CHORD_MODIFIERS, MAX_EVENTS, MAX_HELD_KEYS, MAX_SIZE, MAX_WINDOWS_PER_CLIENT,
    MIN_SIZE, PANEL, Refusal, TAB, kind, label_color,
};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

const W: u32 = 1280;
const H: u32 = 800;
const ALICE: u64 = 10;
const BOB: u64 = 20;
const CAROL: u64 = 30;

/// Key events only (focus events left out).
fn keys(events: &[desktop::Event]) -> Vec<desktop::Event> {
    events
        .iter()
        .copied()
        .filter(|e| e.0 == kind::KEY_DOWN || e.0 == kind::KEY_UP)
        .collect()
}

/// Three side-by-side windows of three clients.
fn three() -> (Screen, [u32; 3]) {
    let mut s = Screen::new(W, H);
    let a = s.open(ALICE, "alice", 200, 150).unwrap();
    let b = s.open(BOB, "bob", 200, 150).unwrap();
    let c = s.open(CAROL, "carol", 200, 150).unwrap();
    s.compose();
    (s, [a, b, c])
}

#[test]
fn keys_reach_only_the_focused_window() {
    let (mut s, [a, b, c]) = three();
    // Nobody has the focus yet: a key goes nowhere.
    s.desktop.key(u32::from(b'x'), true, 0);
    for (owner, id) in [(ALICE, a), (BOB, b), (CAROL, c)] {
        assert!(keys(&s.events(owner, id)).is_empty());
    }
    s.click(s.content_point(b, 5, 5));
    assert_eq!(s.desktop.focus, Some(b));
    for (owner, id) in [(ALICE, a), (BOB, b), (CAROL, c)] {
        s.events(owner, id);
    }
    s.desktop.key(u32::from(b'k'), true, 0);
    s.desktop.key(u32::from(b'k'), false, 0);
    assert_eq!(
        s.events(BOB, b),
        [
            (kind::KEY_DOWN, u32::from(b'k'), 0, 0),
            (kind::KEY_UP, u32::from(b'k'), 0, 0)
        ]
    );
    assert!(s.events(ALICE, a).is_empty());
    assert!(s.events(CAROL, c).is_empty());
    // Keys follow the focus, wherever the pointer is.
    s.click(s.content_point(c, 1, 1));
    s.desktop.pointer_to(s.content_point(a, 3, 3));
    s.desktop.key(u32::from(b'q'), true, 0);
    assert_eq!(
        keys(&s.events(CAROL, c)),
        [(kind::KEY_DOWN, u32::from(b'q'), 0, 0)]
    );
    assert!(keys(&s.events(ALICE, a)).is_empty());
    assert!(keys(&s.events(BOB, b)).is_empty());
}

#[test]
fn a_release_goes_to_the_window_that_got_the_press() {
    let (mut s, [a, b, c]) = three();
    s.click(s.content_point(a, 1, 1));
    s.desktop.key(u32::from(b'p'), true, 0);
    s.click(s.content_point(b, 1, 1));
    s.desktop.key(u32::from(b'p'), false, 0);
    assert_eq!(
        keys(&s.events(ALICE, a)),
        [
            (kind::KEY_DOWN, u32::from(b'p'), 0, 0),
            (kind::KEY_UP, u32::from(b'p'), 0, 0)
        ]
    );
    assert!(
        keys(&s.events(BOB, b)).is_empty(),
        "no release without its press"
    );
    assert!(keys(&s.events(CAROL, c)).is_empty());
}

#[test]
fn a_release_without_a_press_reaches_nobody() {
    let (mut s, [a, _, _]) = three();
    s.click(s.content_point(a, 1, 1));
    s.desktop.key(u32::from(b'x'), false, 0);
    s.desktop.key(u32::from(b'x'), false, 0);
    assert!(keys(&s.events(ALICE, a)).is_empty());
    // Nor does the release of a key pressed while nobody had the focus.
    s.click(Point::new(W as i32 - 2, H as i32 - 2));
    s.desktop.key(u32::from(b'y'), true, 0);
    s.click(s.content_point(a, 1, 1));
    s.desktop.key(u32::from(b'y'), false, 0);
    assert!(keys(&s.events(ALICE, a)).is_empty());
}

#[test]
fn a_repeat_reaches_only_the_window_that_got_the_press_while_it_has_the_focus() {
    let (mut s, [a, b, _]) = three();
    s.click(s.content_point(a, 1, 1));
    let r = u32::from(b'r');
    s.desktop.key(r, true, 0);
    s.desktop.key(r, true, 0);
    s.click(s.content_point(b, 1, 1));
    s.desktop.key(r, true, 0);
    s.desktop.key(r, false, 0);
    assert_eq!(
        keys(&s.events(ALICE, a)),
        [
            (kind::KEY_DOWN, r, 0, 0),
            (kind::KEY_DOWN, r, 0, 0),
            (kind::KEY_UP, r, 0, 0)
        ]
    );
    assert!(keys(&s.events(BOB, b)).is_empty());
}

#[test]
fn no_window_sees_the_chord_whichever_key_is_let_go_first() {
    let (mut s, ids) = three();
    let owners = [ALICE, BOB, CAROL];
    s.click(s.content_point(ids[0], 1, 1));
    // Ctrl and Alt let go before Tab: the Tab release comes without them.
    s.desktop.key(TAB, true, CHORD_MODIFIERS);
    s.desktop.key(TAB, true, CHORD_MODIFIERS);
    s.desktop.key(TAB, false, 0);
    assert!(s.desktop.focus.is_some());
    for (owner, id) in owners.into_iter().zip(ids) {
        let tabs: Vec<_> = keys(&s.events(owner, id))
            .into_iter()
            .filter(|e| e.1 == TAB)
            .collect();
        assert!(tabs.is_empty(), "window {id} saw {tabs:?}");
    }
    // A plain Tab afterwards is an ordinary key again.
    let focus = s.desktop.focus.unwrap();
    let owner = owners[ids.iter().position(|&i| i == focus).unwrap()];
    s.desktop.key(TAB, true, 0);
    s.desktop.key(TAB, false, 0);
    assert_eq!(
        keys(&s.events(owner, focus)),
        [(kind::KEY_DOWN, TAB, 0, 0), (kind::KEY_UP, TAB, 0, 0)]
    );
}

#[test]
fn held_keys_are_bounded() {
    let (mut s, [a, _, _]) = three();
    s.click(s.content_point(a, 1, 1));
    let n = MAX_HELD_KEYS as u32 + 1;
    for code in 100..100 + n {
        s.desktop.key(code, true, 0);
    }
    s.events(ALICE, a);
    // The first press is forgotten, the others are not.
    s.desktop.key(100, false, 0);
    s.desktop.key(101, false, 0);
    s.desktop.key(100 + n - 1, false, 0);
    assert_eq!(
        keys(&s.events(ALICE, a)),
        [(kind::KEY_UP, 101, 0, 0), (kind::KEY_UP, 100 + n - 1, 0, 0)]
    );
}

#[test]
fn pointer_events_reach_only_the_window_under_the_pointer_in_its_coordinates() {
    let mut s = Screen::new(W, H);
    // Wide enough to overlap: the second window covers the first's right
    // part, and is above it.
    let low = s.open(ALICE, "alice", 600, 200).unwrap();
    let high = s.open(BOB, "bob", 300, 200).unwrap();
    let (low_c, _) = s.rects(low);
    let (high_c, high_o) = s.rects(high);
    assert!(
        low_c.intersection(&high_o).size.width > 0,
        "the windows overlap"
    );

    // In the overlap: only the window on top, in its own coordinates.
    let p = high_c.top_left + Point::new(7, 9);
    assert!(low_c.contains(p));
    s.desktop.pointer_to(p);
    s.desktop.button(1, true);
    s.desktop.button(1, false);
    assert_eq!(
        s.events(BOB, high),
        [
            (kind::MOVED, 0, 7, 9),
            (kind::BUTTON_DOWN, 1, 7, 9),
            (kind::BUTTON_UP, 1, 7, 9)
        ]
    );
    assert!(s.events(ALICE, low).is_empty());

    // Only in the lower window.
    let q = low_c.top_left + Point::new(11, 13);
    s.desktop.pointer_to(q);
    s.desktop.button(2, true);
    assert_eq!(
        s.events(ALICE, low),
        [(kind::MOVED, 0, 11, 13), (kind::BUTTON_DOWN, 2, 11, 13)]
    );
    assert!(s.events(BOB, high).is_empty());

    // On a title bar, a border, the panel or the background: nobody.
    let title = s
        .desktop
        .windows
        .iter()
        .find(|w| w.id == high)
        .unwrap()
        .title();
    for p in [
        title.top_left + Point::new(3, 3),
        high_o.top_left,
        Point::new(5, 5),
        Point::new(W as i32 - 1, H as i32 - 1),
    ] {
        s.desktop.pointer_to(p);
        s.desktop.button(1, true);
        s.desktop.button(1, false);
    }
    assert!(s.events(ALICE, low).is_empty());
    assert!(s.events(BOB, high).is_empty());
}

/// What a drawing client (`paint`) relies on: while the button is held,
/// every move reaches the window under the pointer, in order, in its
/// content coordinates; moves over another window or a frame reach the
/// window below the pointer only (no grab), and a release outside every
/// content area reaches nobody.
#[test]
fn a_drag_reaches_the_window_under_the_pointer_move_by_move() {
    let (mut s, [a, b, _]) = three();
    let (_, a_outer) = s.rects(a);
    s.desktop.pointer_to(s.content_point(a, 10, 20));
    s.desktop.button(0, true);
    for (dx, dy) in [(11, 20), (30, 25), (199, 149)] {
        s.desktop.pointer_to(s.content_point(a, dx, dy));
    }
    s.desktop.button(0, false);
    let events = s.events(ALICE, a);
    assert_eq!(
        events,
        [
            (kind::MOVED, 0, 10, 20),
            (kind::FOCUS_IN, 0, 0, 0),
            (kind::BUTTON_DOWN, 0, 10, 20),
            (kind::MOVED, 0, 11, 20),
            (kind::MOVED, 0, 30, 25),
            (kind::MOVED, 0, 199, 149),
            (kind::BUTTON_UP, 0, 199, 149),
        ]
    );
    assert!(s.events(BOB, b).is_empty());

    // Pressed in `a`, dragged over its border and on into `b`, released
    // over the background.
    s.desktop.pointer_to(s.content_point(a, 5, 5));
    s.desktop.button(0, true);
    s.desktop
        .pointer_to(a_outer.top_left + Point::new(a_outer.size.width as i32 - 1, 40));
    s.desktop.pointer_to(s.content_point(b, 3, 4));
    s.desktop.pointer_to(Point::new(W as i32 - 2, H as i32 - 2));
    s.desktop.button(0, false);
    assert_eq!(
        s.events(ALICE, a),
        [(kind::MOVED, 0, 5, 5), (kind::BUTTON_DOWN, 0, 5, 5)]
    );
    // `b` sees the move over it, but no button: the press went to `a`,
    // which keeps the focus.
    assert_eq!(s.events(BOB, b), [(kind::MOVED, 0, 3, 4)]);
    assert_eq!(s.desktop.focus, Some(a));
}

#[test]
fn focus_moves_only_on_a_click_or_the_secure_chord() {
    let (mut s, [a, b, c]) = three();
    assert_eq!(s.desktop.focus, None);

    // Nothing a client asks for moves the focus.
    let extra = s.open(ALICE, "alice", 64, 64).unwrap();
    assert_eq!(s.desktop.focus, None, "opening a window does not focus it");
    s.click(s.content_point(a, 2, 2));
    assert_eq!(s.desktop.focus, Some(a));
    let d = s.open(BOB, "bob", 64, 64).unwrap();
    s.desktop.present(BOB, b, 0, 0, 200, 150).unwrap();
    s.resize(BOB, b, 300, 200).unwrap();
    s.desktop.next_event(BOB, b);
    assert!(s.desktop.close(BOB, d).is_some());
    assert!(s.desktop.close(ALICE, extra).is_some());
    s.compose();
    assert_eq!(
        s.desktop.focus,
        Some(a),
        "client requests leave the focus alone"
    );

    // Other buttons, and pointer moves, do not focus.
    s.desktop.pointer_to(s.content_point(c, 2, 2));
    s.desktop.button(1, true);
    s.desktop.button(2, true);
    assert_eq!(s.desktop.focus, Some(a));

    // A left click on a window focuses it (its title bar too), on the
    // background nobody.
    s.click(s.content_point(c, 2, 2));
    assert_eq!(s.desktop.focus, Some(c));
    let title = s
        .desktop
        .windows
        .iter()
        .find(|w| w.id == b)
        .unwrap()
        .title();
    s.click(title.top_left + Point::new(2, 2));
    assert_eq!(s.desktop.focus, Some(b));
    s.click(Point::new(W as i32 - 2, H as i32 - 2));
    assert_eq!(s.desktop.focus, None);

    // The chord visits every window, and no window sees it.
    let mut seen = Vec::new();
    for _ in 0..3 {
        s.desktop.key(TAB, true, CHORD_MODIFIERS);
        s.desktop.key(TAB, false, CHORD_MODIFIERS);
        seen.push(s.desktop.focus.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, [a, b, c]);
    for (owner, id) in [(ALICE, a), (BOB, b), (CAROL, c)] {
        let tabs: Vec<_> = keys(&s.events(owner, id))
            .into_iter()
            .filter(|e| e.1 == TAB)
            .collect();
        assert!(tabs.is_empty(), "the chord reached window {id}");
    }

    // Tab with only one of the chord's modifiers is a key like any other.
    let focus = s.desktop.focus.unwrap();
    let owner = s
        .desktop
        .windows
        .iter()
        .find(|w| w.id == focus)
        .unwrap()
        .owner;
    s.desktop.key(TAB, true, 2);
    s.desktop.key(TAB, true, 4);
    assert_eq!(s.desktop.focus, Some(focus));
    assert_eq!(
        keys(&s.events(owner, focus)),
        [(kind::KEY_DOWN, TAB, 0, 0), (kind::KEY_DOWN, TAB, 0, 0)]
    );
}

#[test]
fn focus_events_tell_each_window_when_it_gains_and_loses_the_focus() {
    let (mut s, [a, b, _]) = three();
    s.click(s.content_point(a, 1, 1));
    assert!(s.events(ALICE, a).contains(&(kind::FOCUS_IN, 0, 0, 0)));
    s.click(s.content_point(b, 1, 1));
    assert!(s.events(ALICE, a).contains(&(kind::FOCUS_OUT, 0, 0, 0)));
    assert!(s.events(BOB, b).contains(&(kind::FOCUS_IN, 0, 0, 0)));
}

#[test]
fn closing_the_focused_window_leaves_nobody_focused() {
    let (mut s, [a, b, _]) = three();
    s.click(s.content_point(a, 1, 1));
    s.desktop.close(BOB, b).unwrap();
    assert_eq!(
        s.desktop.focus,
        Some(a),
        "another window closing keeps the focus"
    );
    s.desktop.close(ALICE, a).unwrap();
    assert_eq!(s.desktop.focus, None);
    s.desktop.key(u32::from(b'z'), true, 0);
    for w in &s.desktop.windows {
        assert!(w.events.iter().all(|e| e.0 != kind::KEY_DOWN));
    }
}

/// Every pixel of the screen outside `content`.
fn outside(s: &Screen, content: Rectangle) -> Vec<(Point, Rgb888)> {
    let mut all = Vec::new();
    for y in 0..H as i32 {
        for x in 0..W as i32 {
            let p = Point::new(x, y);
            if !content.contains(p) {
                all.push((p, s.px(x, y)));
            }
        }
    }
    all
}

#[test]
fn a_present_never_changes_a_pixel_outside_the_content_area() {
    let mut s = Screen::new(W, H);
    let below = s.open(ALICE, "alice", 600, 300).unwrap();
    let id = s.open(BOB, "bob", 300, 200).unwrap();
    s.compose();
    let (content, _) = s.rects(id);
    let before = outside(&s, content);
    // The client paints everything white, the colour of a focused frame and
    // of the label text, and then names rectangles partly or wholly
    // outside its window.
    s.mem(id).fill(bgra(Rgb888::WHITE));
    for (x, y, w, h) in [
        (-10, -30, 50, 50),
        (250, 150, 200, 200),
        (-5, 100, 400, 10),
        (0, 0, 65535, 65535),
        (300, 0, 10, 10),
        (0, 200, 10, 10),
        (-100_000, -100_000, 10, 10),
        (i32::MAX - 5, i32::MAX - 5, u32::MAX, u32::MAX),
        (i32::MIN, i32::MIN, u32::MAX, u32::MAX),
    ] {
        s.desktop.present(BOB, id, x, y, w, h).unwrap();
        s.compose();
        assert_eq!(
            outside(&s, content),
            before,
            "present at ({x}, {y}) size {w}x{h}"
        );
    }
    // The parts inside did reach the screen.
    assert_eq!(s.px(content.top_left.x, content.top_left.y), Rgb888::WHITE);
    let br = content.bottom_right().unwrap();
    assert_eq!(s.px(br.x, br.y), Rgb888::WHITE);
    // The window below is untouched by the one above.
    assert!(s.desktop.present(ALICE, below, 0, 0, 600, 300).is_ok());
}

#[test]
fn the_title_bar_shows_the_label_colour_whatever_the_client_draws() {
    let mut s = Screen::new(W, H);
    let id = s.open(ALICE, "alice", 300, 200).unwrap();
    let other = label_color("bob");
    let (content, outer) = s.rects(id);
    let title = s.desktop.windows[0].title();
    // A point of the title bar right of the label text, a point of the
    // border, and one of the panel.
    let bar = title.top_left + Point::new(title.size.width as i32 - 4, 10);
    let border = outer.top_left + Point::new(0, outer.size.height as i32 / 2);
    for c in [
        Rgb888::WHITE,
        other,
        label_color("alice"),
        Rgb888::BLACK,
        PANEL,
    ] {
        s.mem(id).fill(bgra(c));
        s.desktop.present(ALICE, id, -50, -50, 1000, 1000).unwrap();
        s.compose();
        assert_eq!(s.px(bar.x, bar.y), label_color("alice"));
        assert_eq!(s.px(border.x, border.y), label_color("alice"));
        assert_eq!(s.px(5, 2), PANEL);
        assert_eq!(s.px(content.top_left.x, content.top_left.y), c);
    }
    // Every side of the frame, all the way round.
    let br = outer.bottom_right().unwrap();
    let mid = outer.center();
    let sides = [
        Point::new(mid.x, outer.top_left.y),
        Point::new(mid.x, outer.top_left.y + 1),
        Point::new(mid.x, br.y),
        Point::new(mid.x, br.y - 1),
        Point::new(outer.top_left.x + 1, mid.y),
        Point::new(br.x, mid.y),
        Point::new(br.x - 1, mid.y),
        outer.top_left,
        br,
    ];
    for p in sides {
        assert_eq!(s.px(p.x, p.y), label_color("alice"), "frame at {p:?}");
    }
    // Focused: a white frame, the same title bar.
    s.click(s.content_point(id, 1, 1));
    s.compose();
    for p in sides {
        assert_eq!(s.px(p.x, p.y), Rgb888::WHITE, "frame at {p:?}");
    }
    assert_eq!(s.px(border.x, border.y), Rgb888::WHITE);
    assert_eq!(s.px(bar.x, bar.y), label_color("alice"));
    // Some label text is drawn, in the colour readable on the bar.
    let ink = desktop::text_on(label_color("alice"));
    let text = (title.top_left.x..title.top_left.x + 30)
        .any(|x| (title.top_left.y..title.top_left.y + 20).any(|y| s.px(x, y) == ink));
    assert!(text, "the label is drawn");
}

#[test]
fn another_client_cannot_reach_a_window() {
    let (mut s, [a, _, _]) = three();
    s.click(s.content_point(a, 1, 1));
    s.events(ALICE, a);
    s.desktop.pointer_to(s.content_point(a, 4, 4));
    s.compose();
    let pixels = s
        .desktop
        .windows
        .iter()
        .find(|w| w.id == a)
        .unwrap()
        .pixels()
        .as_ptr();
    let before = s.rects(a);

    assert_eq!(
        s.desktop.present(BOB, a, 0, 0, 10, 10),
        Err(Refusal::NotFound)
    );
    assert_eq!(s.resize(BOB, a, 100, 100), Err(Refusal::NotFound));
    assert_eq!(
        s.resize(BOB, a, 1, 1),
        Err(Refusal::NotFound),
        "not found first"
    );
    assert!(
        s.desktop.next_event(BOB, a).is_none(),
        "another client's events"
    );
    assert!(s.desktop.close(BOB, a).is_none());
    assert!(s.desktop.find_mut(BOB, a).is_none());
    assert_eq!(s.compose(), None, "nothing changed on the screen");

    assert_eq!(s.rects(a), before);
    let w = s.desktop.windows.iter().find(|w| w.id == a).unwrap();
    assert_eq!(w.pixels().as_ptr(), pixels);
    assert!(!w.shown);
    assert_eq!(
        s.events(ALICE, a),
        [(kind::MOVED, 0, 4, 4)],
        "events stay queued"
    );
    assert_eq!(s.desktop.focus, Some(a));
    assert_eq!(s.desktop.count(ALICE), 1);
}

#[test]
fn a_client_has_at_most_the_window_limit() {
    let mut s = Screen::new(W, H);
    let ids: Vec<u32> = (0..MAX_WINDOWS_PER_CLIENT)
        .map(|_| s.open(ALICE, "alice", 32, 32).unwrap())
        .collect();
    assert_eq!(s.open(ALICE, "alice", 32, 32), Err(Refusal::Quota));
    assert_eq!(s.desktop.count(ALICE), MAX_WINDOWS_PER_CLIENT);
    // Others are not affected, and a closed window frees a place.
    assert!(s.open(BOB, "bob", 32, 32).is_ok());
    s.desktop.close(ALICE, ids[0]).unwrap();
    assert!(s.open(ALICE, "alice", 32, 32).is_ok());
    assert_eq!(s.open(ALICE, "alice", 32, 32), Err(Refusal::Quota));
}

#[test]
fn window_sizes_and_memory_are_checked() {
    let mut s = Screen::new(W, H);
    let (max_w, max_h) = MAX_SIZE;
    for (w, h) in [
        (MIN_SIZE - 1, 100),
        (100, MIN_SIZE - 1),
        (0, 0),
        (max_w + 1, 100),
        (100, max_h + 1),
        (u32::MAX, u32::MAX),
        (u32::MAX, 1),
    ] {
        let mem = common::ClientMemory::new(64 * 64);
        assert_eq!(
            s.open_with(ALICE, "alice", w, h, mem),
            Err(Refusal::Size),
            "{w}x{h}"
        );
    }
    // Memory one pixel short.
    let short = common::ClientMemory::new(100 * 100 - 1);
    assert_eq!(
        s.open_with(ALICE, "alice", 100, 100, short),
        Err(Refusal::Size)
    );
    assert_eq!(s.desktop.count(ALICE), 0);
    // The limits themselves are allowed.
    let small = s.open(ALICE, "alice", MIN_SIZE, MIN_SIZE).unwrap();
    assert!(s.open(ALICE, "alice", max_w, max_h).is_ok());

    // Resizing obeys the same limits, and a refusal changes nothing.
    let before = s.rects(small);
    for (w, h) in [(MIN_SIZE - 1, 20), (max_w + 1, 20), (20, max_h + 1)] {
        assert_eq!(s.resize(ALICE, small, w, h), Err(Refusal::Size), "{w}x{h}");
    }
    let short = common::ClientMemory::new(50 * 50 - 1);
    let refused = s.desktop.resize(ALICE, small, 50, 50, short.pixels());
    assert!(matches!(refused, Err((Refusal::Size, _))));
    s.spare.push(short);
    assert_eq!(s.rects(small), before);
    assert!(s.resize(ALICE, small, max_w, max_h).is_ok());
}

#[test]
fn event_queues_are_bounded_and_keep_the_newest() {
    let (mut s, [a, _, _]) = three();
    s.click(s.content_point(a, 1, 1));
    s.events(ALICE, a);
    let n = MAX_EVENTS as u32 * 3;
    for code in 0..n {
        s.desktop.key(code, true, 0);
    }
    let w = s.desktop.windows.iter().find(|w| w.id == a).unwrap();
    assert_eq!(w.events.len(), MAX_EVENTS);
    let got = s.events(ALICE, a);
    let codes: Vec<u32> = got.iter().map(|e| e.1).collect();
    let newest: Vec<u32> = (n - MAX_EVENTS as u32..n).collect();
    assert_eq!(codes, newest);
}

#[test]
fn resize_keeps_place_stacking_and_focus_and_redraws_old_and_new_area() {
    let mut s = Screen::new(W, H);
    let a = s.open(ALICE, "alice", 300, 200).unwrap();
    let b = s.open(BOB, "bob", 200, 100).unwrap();
    s.click(s.content_point(a, 1, 1));
    s.click(s.content_point(b, 1, 1));
    s.mem(a).fill(bgra(Rgb888::RED));
    s.desktop.present(ALICE, a, 0, 0, 300, 200).unwrap();
    s.compose();
    let (old_content, old_outer) = s.rects(a);
    let order: Vec<u32> = s.desktop.windows.iter().map(|w| w.id).collect();

    // Shrink: the freed part shows the background again.
    s.resize(ALICE, a, 100, 50).unwrap();
    s.mem(a).fill(bgra(Rgb888::GREEN));
    let redrawn = s.compose().expect("a resize redraws");
    assert!(redrawn.contains(old_outer.top_left));
    assert!(redrawn.contains(old_outer.bottom_right().unwrap()));
    let (content, outer) = s.rects(a);
    assert_eq!(content.top_left, old_content.top_left, "same place");
    assert_eq!(content.size, Size::new(100, 50));
    assert_eq!(s.desktop.focus, Some(b));
    let now: Vec<u32> = s.desktop.windows.iter().map(|w| w.id).collect();
    assert_eq!(now, order, "same stacking");
    let freed = old_content.bottom_right().unwrap();
    assert_eq!(s.px(freed.x, freed.y), BACKGROUND);
    assert_eq!(
        s.px(content.top_left.x, content.top_left.y),
        Rgb888::GREEN,
        "new pixels"
    );
    assert!(!outer.contains(freed));

    // Grow under the other window: its frame stays on top.
    s.resize(ALICE, a, 600, 300).unwrap();
    s.mem(a).fill(bgra(Rgb888::BLUE));
    s.desktop.present(ALICE, a, 0, 0, 600, 300).unwrap();
    s.compose();
    let (b_content, b_outer) = s.rects(b);
    let (content, _) = s.rects(a);
    let b_border = Point::new(b_outer.top_left.x, b_content.top_left.y + 10);
    assert!(content.contains(b_border), "the windows overlap");
    assert_eq!(
        s.px(b_border.x, b_border.y),
        Rgb888::WHITE,
        "focused frame on top"
    );
    assert_eq!(
        s.px(b_content.top_left.x, b_content.top_left.y),
        Rgb888::BLACK
    );
    let br = content.bottom_right().unwrap();
    assert_eq!(s.px(br.x, br.y), Rgb888::BLUE);
    // Pointer coordinates follow the new size.
    s.events(ALICE, a);
    s.desktop.pointer_to(br);
    assert_eq!(s.events(ALICE, a), [(kind::MOVED, 0, 599, 299)]);
}

#[test]
fn closing_a_window_redraws_what_was_under_it() {
    let mut s = Screen::new(W, H);
    let a = s.open(ALICE, "alice", 300, 200).unwrap();
    s.mem(a).fill(bgra(Rgb888::RED));
    s.desktop.present(ALICE, a, 0, 0, 300, 200).unwrap();
    s.compose();
    let (content, outer) = s.rects(a);
    assert_eq!(s.px(content.top_left.x, content.top_left.y), Rgb888::RED);
    let w = s.desktop.close(ALICE, a).unwrap();
    assert_eq!(
        w.into_pixels().as_ptr(),
        s.mem(a).as_ptr(),
        "its memory handed back"
    );
    s.compose();
    for p in [
        content.top_left,
        outer.top_left,
        outer.bottom_right().unwrap(),
    ] {
        assert_eq!(s.px(p.x, p.y), BACKGROUND);
    }
    assert!(s.desktop.next_event(ALICE, a).is_none());
}

/// The content origin of window `id`.
fn origin(s: &Screen, id: u32) -> Point {
    s.rects(id).0.top_left
}

#[test]
fn windows_fill_the_tiles_and_a_closed_windows_tile_is_used_again() {
    // 1280x800: three columns of 400 and two rows of 300 below the panel.
    let mut s = Screen::new(W, H);
    let ids: Vec<u32> = (0..6)
        .map(|i| s.open(10 + i, "app", 200, 150).unwrap())
        .collect();
    let tiles: Vec<Point> = ids.iter().map(|&id| origin(&s, id)).collect();
    assert_eq!(
        tiles,
        [
            (40, 60),
            (440, 60),
            (840, 60),
            (40, 360),
            (440, 360),
            (840, 360)
        ]
        .map(|(x, y)| Point::new(x, y))
    );
    // The second window closes: the next one takes its tile, not a new one.
    s.desktop.close(11, ids[1]).unwrap();
    let again = s.open(30, "again", 200, 150).unwrap();
    assert_eq!(origin(&s, again), tiles[1]);
    // Every tile taken: the next windows go round the grid again, over
    // the others, rather than off the screen.
    let over = s.open(31, "over", 200, 150).unwrap();
    let over2 = s.open(32, "over", 200, 150).unwrap();
    assert_eq!(origin(&s, over), tiles[0]);
    assert_eq!(origin(&s, over2), tiles[1]);
    // A client's windows ending frees their tiles for others.
    for w in s.desktop.close_owner(12) {
        drop(w);
    }
    let later = s.open(33, "later", 200, 150).unwrap();
    assert_eq!(origin(&s, later), tiles[2]);

    // 1600 wide: four columns, drawn a little closer so that a 360-wide
    // window in the last one keeps its frame on the screen.
    let mut wide = Screen::new(1600, 900);
    let ids: Vec<u32> = (0..8)
        .map(|i| wide.open(10 + i, "app", 360, 220).unwrap())
        .collect();
    let xs: Vec<i32> = ids.iter().map(|&id| origin(&wide, id).x).collect();
    assert_eq!(xs, [40, 438, 836, 1234, 40, 438, 836, 1234]);
    let (_, outer) = wide.rects(ids[3]);
    assert!(outer.bottom_right().unwrap().x < 1600);
}

#[test]
fn a_window_past_the_screen_edge_is_clipped() {
    let mut s = Screen::new(640, 480);
    s.open(ALICE, "alice", 100, 100).unwrap();
    let big = s.open(BOB, "bob", MAX_SIZE.0, MAX_SIZE.1).unwrap();
    s.mem(big).fill(bgra(Rgb888::CYAN));
    s.desktop
        .present(BOB, big, 0, 0, MAX_SIZE.0, MAX_SIZE.1)
        .unwrap();
    s.compose();
    assert_eq!(s.px(639, 479), Rgb888::CYAN);
    assert_eq!(s.px(5, 2), PANEL);
}

#[test]
fn an_ended_clients_windows_all_go_and_nobody_elses() {
    let (mut s, [a, b, c]) = three();
    let a2 = s.open(ALICE, "alice", 100, 100).unwrap();
    s.compose();
    assert_eq!(s.desktop.owners(), [ALICE, BOB, CAROL]);
    s.click(s.content_point(a2, 1, 1));
    let (content, _) = s.rects(a);
    let gone = s.desktop.close_owner(ALICE);
    let ids: Vec<u32> = gone.iter().map(|w| w.id).collect();
    assert_eq!(ids, [a, a2], "both of its windows, bottom to top");
    assert_eq!(s.desktop.focus, None, "its focused window went with it");
    assert_eq!(s.desktop.owners(), [BOB, CAROL]);
    assert_eq!(s.desktop.count(BOB) + s.desktop.count(CAROL), 2);
    assert!(
        s.desktop.close_owner(ALICE).is_empty(),
        "nothing left to close"
    );
    s.compose();
    assert_eq!(s.px(content.top_left.x, content.top_left.y), BACKGROUND);
    for id in [b, c] {
        assert!(
            s.desktop
                .next_event(if id == b { BOB } else { CAROL }, id)
                .is_some()
        );
    }
    // A key typed now reaches nobody (no window has the focus).
    s.desktop.key(u32::from(b'k'), true, 0);
    for w in &s.desktop.windows {
        assert!(w.events.iter().all(|e| e.0 != kind::KEY_DOWN));
    }
}

#[test]
fn the_panel_lists_the_domains_in_their_label_colours() {
    let (mut s, _) = three();
    let labels: Vec<String> = ["display-server", "alice", "bob", "carol"]
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert!(s.desktop.set_domains(labels.clone()));
    assert!(
        !s.desktop.set_domains(labels.clone()),
        "the same list changes nothing"
    );
    let damage = s.compose().expect("the panel is redrawn");
    assert!(damage.top_left.y == 0 && damage.size.height <= desktop::PANEL_HEIGHT as u32);
    let chips = s.desktop.panel_chips();
    assert_eq!(chips.len(), labels.len());
    for ((chip, _), label) in chips.iter().zip(&labels) {
        assert!(chip.top_left.y >= 0 && chip.bottom_right().unwrap().y < desktop::PANEL_HEIGHT);
        // The chip's top left corner holds no text.
        assert_eq!(
            s.px(chip.top_left.x, chip.top_left.y),
            label_color(label),
            "{label}"
        );
    }
    // Chips do not overlap.
    for w in chips.windows(2) {
        assert!(w[0].0.bottom_right().unwrap().x < w[1].0.top_left.x);
    }
    // A domain that ends leaves the panel; the chip's place is panel again.
    let last = chips[3].0.top_left;
    assert!(s.desktop.set_domains(labels[..3].to_vec()));
    s.compose();
    assert_eq!(s.px(last.x, last.y), PANEL);
}

#[test]
fn the_panel_shows_what_fits() {
    let mut s = Screen::new(320, 200);
    let many: Vec<String> = (0..40).map(|i| format!("domain-{i}")).collect();
    s.desktop.set_domains(many);
    s.compose();
    let chips = s.desktop.panel_chips();
    assert!(!chips.is_empty() && chips.len() < 40);
    assert!(chips.iter().all(|(c, _)| c.bottom_right().unwrap().x < 320));
}

#[test]
fn label_text_is_readable_on_its_colour() {
    use desktop::text_on;
    assert_eq!(text_on(Rgb888::new(0xaf, 0xaf, 0xaf)), Rgb888::BLACK);
    assert_eq!(text_on(Rgb888::new(0x30, 0x30, 0x30)), Rgb888::WHITE);
    assert_eq!(text_on(label_color("alpha")), Rgb888::WHITE);
}
