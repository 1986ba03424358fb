//! `paint`: a 320x200 drawing window on the display server (channel
//! `"display"`). A palette runs along the top: eight colour swatches and
//! a "clear" swatch. Clicking a swatch selects its colour (the selected
//! swatch is outlined in white); pressing a pointer button on the canvas
//! below and moving draws a line from each pointer position to the next,
//! 3 pixels wide, in the selected colour. The "clear" swatch or the `c`
//! key paints the canvas white again; Esc ends the program (exit code 0;
//! its window closes).
//!
//! Only what changed reaches the screen: each event draws into the
//! window's surface, which keeps the bounding box of the pixels written
//! (a line segment's box, the two swatch outlines of a selection change),
//! and all events waiting at one wake-up are handled before that box is
//! presented, once. The whole window is presented only for the first
//! frame.
//!
//! The display server sends pointer events to the window under the
//! pointer, and only inside its content area, so a stroke that leaves the
//! window stops there; a release outside it is never seen, and the stroke
//! then ends at the next press or when the window loses the focus.
//!
//! Program argument bit 0 logs what the program does, for tests:
//! - `paint: window <id> presented (320x200)` once the first frame is sent;
//! - `paint: colour <n>` when swatch `n` (0 to 7) is selected, and
//!   `paint: clear` when the canvas is cleared;
//! - `paint: line (<x0>,<y0>)-(<x1>,<y1>) colour <n>` for each stroke
//!   segment in window coordinates (a press draws the dot `(x,y)-(x,y)`);
//! - `paint: presented <w>x<h> at <x>,<y>` after each present but the
//!   first, once the display server has answered it (and so has put that
//!   area on the screen).
//!
//! Without the bit it logs only errors: `paint: <what>: <error>`, after
//! which it exits with 1.

#![no_std]
#![no_main]

use gui::embedded_graphics::prelude::*;
use gui::embedded_graphics::primitives::{Line, PrimitiveStyle, Rectangle};
use gui::{Event, Key, Rgb888, Window};

rt::entry!(main);

const WIDTH: u32 = 320;
const HEIGHT: u32 = 200;
/// The palette's height; the canvas is the rest of the window below it.
const PALETTE_HEIGHT: u32 = 24;
/// Where strokes land.
const CANVAS: Rectangle = Rectangle::new(
    Point::new(0, PALETTE_HEIGHT as i32),
    Size::new(WIDTH, HEIGHT - PALETTE_HEIGHT),
);
/// Width of a stroke, in pixels.
const STROKE: u32 = 3;

const CANVAS_COLOUR: Rgb888 = Rgb888::WHITE;
const PALETTE_BACKGROUND: Rgb888 = Rgb888::new(0x40, 0x44, 0x48);
/// The outline of the selected swatch.
const SELECTED: Rgb888 = Rgb888::WHITE;

/// The swatches' colours, numbered 0 to 7 in the log.
const COLOURS: [Rgb888; 8] = [
    Rgb888::new(0x00, 0x00, 0x00),
    Rgb888::new(0xe0, 0x20, 0x20),
    Rgb888::new(0x20, 0xa0, 0x40),
    Rgb888::new(0x20, 0x50, 0xe0),
    Rgb888::new(0xf0, 0xd0, 0x20),
    Rgb888::new(0xc0, 0x30, 0xc0),
    Rgb888::new(0x20, 0xc0, 0xd0),
    Rgb888::new(0xf0, 0x80, 0x20),
];

/// Distance from one swatch's left edge to the next one's.
const SWATCH_PITCH: i32 = 32;
/// A swatch's colour area.
const SWATCH_SIZE: Size = Size::new(24, 16);
/// The outline's width around a swatch.
const OUTLINE: u32 = 2;
/// The "clear" swatch, right of the colours.
const CLEAR: Rectangle = Rectangle::new(Point::new(262, 4), Size::new(54, 16));

/// At most this many events are handled before the damage is presented,
/// so a stream of pointer moves cannot hold back drawing.
const BATCH: usize = 64;
/// How long the program sleeps when no event is waiting.
const POLL_INTERVAL_NS: u64 = 10_000_000;

/// The colour area of swatch `i`.
fn swatch(i: usize) -> Rectangle {
    Rectangle::new(Point::new(6 + SWATCH_PITCH * i as i32, 4), SWATCH_SIZE)
}

/// Swatch `i` with its outline: what a click selects it in, and what a
/// selection change redraws.
fn outlined(i: usize) -> Rectangle {
    swatch(i).offset(OUTLINE as i32)
}

/// What a press on the palette at `p` picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pick {
    Colour(usize),
    Clear,
}

fn pick(p: Point) -> Option<Pick> {
    if CLEAR.offset(OUTLINE as i32).contains(p) {
        return Some(Pick::Clear);
    }
    (0..COLOURS.len())
        .find(|&i| outlined(i).contains(p))
        .map(Pick::Colour)
}

/// The program's state: the selected colour and the stroke in progress.
struct Paint {
    /// Index into [`COLOURS`].
    colour: usize,
    /// The last point of the stroke in progress, while a button is held
    /// after a press on the canvas.
    stroke: Option<Point>,
    /// Log what happens (argument bit 0).
    log: bool,
}

impl Paint {
    /// Draws the whole window: palette and empty canvas.
    fn draw_all(&self, win: &mut Window) {
        // Drawing on a window's memory cannot fail (`Infallible`).
        let palette = Rectangle::new(Point::zero(), Size::new(WIDTH, PALETTE_HEIGHT));
        let _ = win.fill_solid(&palette, PALETTE_BACKGROUND);
        for i in 0..COLOURS.len() {
            self.draw_swatch(win, i);
        }
        let _ = win.fill_solid(&CLEAR, CANVAS_COLOUR);
        let _ = gui::text(
            win,
            "clear",
            CLEAR.top_left.x + 12,
            CLEAR.top_left.y + 3,
            Rgb888::BLACK,
            &gui::FONT_6X10,
        );
        let _ = win.fill_solid(&CANVAS, CANVAS_COLOUR);
    }

    /// Draws swatch `i` with its outline: white if selected, else the
    /// palette's background.
    fn draw_swatch(&self, win: &mut Window, i: usize) {
        let outline = if i == self.colour {
            SELECTED
        } else {
            PALETTE_BACKGROUND
        };
        let _ = win.fill_solid(&outlined(i), outline);
        let _ = win.fill_solid(&swatch(i), COLOURS[i]);
    }

    /// Selects colour `i`, redrawing the old and the new swatch.
    fn select(&mut self, win: &mut Window, i: usize) {
        let old = self.colour;
        self.colour = i;
        self.draw_swatch(win, old);
        self.draw_swatch(win, i);
        if self.log {
            rt::println!("paint: colour {}", i);
        }
    }

    fn clear(&mut self, win: &mut Window) {
        let _ = win.fill_solid(&CANVAS, CANVAS_COLOUR);
        if self.log {
            rt::println!("paint: clear");
        }
    }

    /// Draws the stroke segment from `a` to `b` on the canvas (clipped to
    /// it) in the selected colour.
    fn segment(&self, win: &mut Window, a: Point, b: Point) {
        let style = PrimitiveStyle::with_stroke(COLOURS[self.colour], STROKE);
        let _ = Line::new(a, b)
            .into_styled(style)
            .draw(&mut win.clipped(&CANVAS));
        if self.log {
            rt::println!(
                "paint: line ({},{})-({},{}) colour {}",
                a.x,
                a.y,
                b.x,
                b.y,
                self.colour
            );
        }
    }

    /// Handles one event; `false` ends the program.
    fn handle(&mut self, win: &mut Window, event: Event) -> bool {
        match event {
            Event::ButtonDown { x, y } => {
                let p = Point::new(x, y);
                self.stroke = None;
                if CANVAS.contains(p) {
                    self.segment(win, p, p);
                    self.stroke = Some(p);
                } else {
                    match pick(p) {
                        Some(Pick::Colour(i)) => self.select(win, i),
                        Some(Pick::Clear) => self.clear(win),
                        None => {}
                    }
                }
            }
            Event::PointerMoved { x, y } | Event::ButtonUp { x, y } => {
                let p = Point::new(x, y);
                if let Some(last) = self.stroke
                    && last != p
                {
                    self.segment(win, last, p);
                    self.stroke = Some(p);
                }
                if matches!(event, Event::ButtonUp { .. }) {
                    self.stroke = None;
                }
            }
            Event::FocusLost => self.stroke = None,
            Event::KeyDown(Key::Char('c' | 'C')) => self.clear(win),
            Event::KeyDown(Key::Char('\u{1b}')) => return false,
            _ => {}
        }
        true
    }
}

/// Handles the events waiting, at most [`BATCH`], then presents what they
/// changed, once. Returns whether to go on, and how many events it
/// handled.
fn wake(paint: &mut Paint, win: &mut Window) -> Result<(bool, usize), gui::Error> {
    let mut handled = 0;
    let mut go_on = true;
    while go_on && handled < BATCH {
        let Some(event) = win.poll_event()? else {
            break;
        };
        handled += 1;
        go_on = paint.handle(win, event);
    }
    let damage = win.damage();
    win.present()?;
    if let Some(area) = damage
        && paint.log
    {
        rt::println!(
            "paint: presented {}x{} at {},{}",
            area.size.width,
            area.size.height,
            area.top_left.x,
            area.top_left.y
        );
    }
    Ok((go_on, handled))
}

fn main() -> i32 {
    let mut win = match Window::open("display", WIDTH, HEIGHT) {
        Ok(win) => win,
        Err(e) => {
            rt::error!("paint: {}", e);
            return 1;
        }
    };
    let mut paint = Paint {
        colour: 0,
        stroke: None,
        log: rt::arg() & 1 != 0,
    };
    paint.draw_all(&mut win);
    if let Err(e) = win.present() {
        rt::error!("paint: {}", e);
        return 1;
    }
    if paint.log {
        rt::println!(
            "paint: window {} presented ({}x{})",
            win.id(),
            WIDTH,
            HEIGHT
        );
    }
    loop {
        match wake(&mut paint, &mut win) {
            Ok((false, _)) => return 0,
            Ok((true, handled)) if handled < BATCH => rt::kernel::sleep_ns(POLL_INTERVAL_NS),
            Ok(_) => {}
            Err(e) => {
                rt::error!("paint: {}", e);
                return 1;
            }
        }
    }
}
