//! Screenshots and the pixel checks of test scenarios.
//!
//! QEMU's `screendump` (see [`qmp`](crate::qmp)) writes the screen as an
//! 8-bit RGB PNG. [`Screenshot::load`] reads such a file (RGBA is accepted
//! too; the alpha channel is dropped), and a [`PixelCheck`] compares one
//! pixel with an expected colour, each channel within a tolerance.
//!
//! The steps of a scenario (see `step.rs`) take screenshots and check
//! their pixels with [`check_pixels`], and the windows the display server
//! says it placed ([`Placed`]) with [`check_windows`]; a click needs only
//! the screen's size, which [`Screenshot::dimensions`] reads from the PNG
//! header.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// A decoded screenshot: `width * height` pixels of 3 bytes, row by row
/// from the top left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screenshot {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Red, green, blue for each pixel.
    pub rgb: Vec<u8>,
}

impl Screenshot {
    /// Reads a PNG file with 8-bit RGB or RGBA pixels.
    pub fn load(path: &Path) -> Result<Screenshot> {
        let file =
            File::open(path).with_context(|| format!("could not open {}", path.display()))?;
        Screenshot::decode(BufReader::new(file))
            .with_context(|| format!("could not read {} as a PNG screenshot", path.display()))
    }

    /// The width and height of a PNG file, from its header alone.
    pub fn dimensions(path: &Path) -> Result<(u32, u32)> {
        let file =
            File::open(path).with_context(|| format!("could not open {}", path.display()))?;
        let reader = png::Decoder::new(BufReader::new(file))
            .read_info()
            .with_context(|| format!("{} is not a valid PNG", path.display()))?;
        let info = reader.info();
        Ok((info.width, info.height))
    }

    /// Decodes PNG data.
    fn decode(reader: impl std::io::BufRead + std::io::Seek) -> Result<Screenshot> {
        let mut reader = png::Decoder::new(reader)
            .read_info()
            .context("not a valid PNG")?;
        let size = reader
            .output_buffer_size()
            .context("the image is too large")?;
        let mut buf = vec![0; size];
        let frame = reader
            .next_frame(&mut buf)
            .context("could not decode the image data")?;
        if frame.bit_depth != png::BitDepth::Eight {
            bail!(
                "the pixels are {:?}-bit; only 8-bit RGB or RGBA is supported",
                frame.bit_depth as u8
            );
        }
        let channels = match frame.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => bail!("the pixels are {other:?}; only 8-bit RGB or RGBA is supported"),
        };
        let (width, height) = (frame.width, frame.height);
        let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
        for row in buf[..frame.buffer_size()].chunks_exact(frame.line_size) {
            for pixel in row[..width as usize * channels].chunks_exact(channels) {
                rgb.extend_from_slice(&pixel[..3]);
            }
        }
        Ok(Screenshot { width, height, rgb })
    }

    /// The colour at `(x, y)`, or `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        self.rgb.get(i..i + 3).map(|p| [p[0], p[1], p[2]])
    }
}

/// A colour written `#rrggbb`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub [u8; 3]);

impl Rgb {
    /// Parses `#rrggbb` (hex digits in either case).
    pub fn parse(s: &str) -> Result<Rgb, String> {
        let bad = || format!("colour {s:?} is not of the form \"#rrggbb\"");
        let hex = s.strip_prefix('#').ok_or_else(bad)?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        Ok(Rgb([channel(0)?, channel(2)?, channel(4)?]))
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

/// One pixel a screenshot must show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PixelCheck {
    /// Column, from the left edge.
    pub x: u32,
    /// Row, from the top edge.
    pub y: u32,
    /// The expected colour.
    pub rgb: Rgb,
    /// How far each channel may be from the expected value.
    pub tolerance: u8,
}

impl PixelCheck {
    /// `None` when the screenshot shows the expected colour; otherwise what
    /// is wrong, as one line.
    pub fn check(&self, shot: &Screenshot) -> Option<String> {
        let expected = if self.tolerance == 0 {
            format!("{}", self.rgb)
        } else {
            format!("{} (±{} per channel)", self.rgb, self.tolerance)
        };
        let Some(found) = shot.pixel(self.x, self.y) else {
            return Some(format!(
                "pixel ({}, {}): expected {expected}, but the screen is only {}x{}",
                self.x, self.y, shot.width, shot.height
            ));
        };
        let close = found
            .iter()
            .zip(self.rgb.0)
            .all(|(&f, e)| f.abs_diff(e) <= self.tolerance);
        (!close).then(|| {
            format!(
                "pixel ({}, {}): expected {expected}, found {}",
                self.x,
                self.y,
                Rgb(found)
            )
        })
    }
}

/// Checks `pixels` in `shot`; returns one failure line per mismatch,
/// naming the step (`label`) and the PNG.
pub fn check_pixels(
    label: &str,
    pixels: &[PixelCheck],
    shot: &Screenshot,
    png: &Path,
) -> Vec<String> {
    pixels
        .iter()
        .filter_map(|p| p.check(shot))
        .map(|m| format!("{label}: {m} (in {})", png.display()))
        .collect()
}

/// Where the display server put a window, as its log line says:
/// `display-server: window <id> (<w>x<h>) for <label> at <x>,<y>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    /// The window's id.
    pub id: u32,
    /// The label of the domain that owns it.
    pub label: String,
    /// The content area's top-left corner on the screen.
    pub x: u32,
    /// The content area's top-left corner on the screen.
    pub y: u32,
    /// The content area's size.
    pub width: u32,
    /// The content area's size.
    pub height: u32,
}

impl Placed {
    /// The window a serial line announces, if it is such a line.
    pub fn from_line(line: &str) -> Option<Placed> {
        static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(
                r"display-server: window (\d+) \((\d+)x(\d+)\) for ([a-z0-9_-]+) at (\d+),(\d+)$",
            )
            .expect("a valid regex")
        });
        let c = RE.captures(line.trim_end())?;
        let n = |i: usize| c[i].parse::<u32>().ok();
        Some(Placed {
            id: n(1)?,
            label: c[4].to_string(),
            width: n(2)?,
            height: n(3)?,
            x: n(5)?,
            y: n(6)?,
        })
    }

    /// The newest open window of `label` among `placed`.
    pub fn newest<'a>(placed: &'a [Placed], label: &str) -> Option<&'a Placed> {
        placed.iter().rev().find(|p| p.label == label)
    }

    /// Follows one serial line: a new window joins `placed`, a closed one
    /// (`display-server: window <id> closed`) leaves it.
    pub fn track(placed: &mut Vec<Placed>, line: &str) {
        static CLOSED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"display-server: window (\d+) closed$").expect("a valid regex")
        });
        if let Some(p) = Placed::from_line(line) {
            placed.push(p);
        } else if let Some(c) = CLOSED.captures(line.trim_end()) {
            let id = c[1].parse::<u32>().ok();
            placed.retain(|p| Some(p.id) != id);
        }
    }
}

/// Checks that `shot` shows the window of each of `labels` where the
/// display server said it put it (the newest of `placed`, the open
/// windows, for that label),
/// as the display server draws a window: its title bar in the label's
/// colour at both ends, the label written in it, and client pixels of
/// more than one colour in its content area (a window never presented,
/// or covered by another, fails). Frames are not checked, since the
/// focused window's frame is white. Returns one line per failure, naming
/// the step (`step`) and the PNG.
pub fn check_windows(
    step: &str,
    labels: &[String],
    placed: &[Placed],
    shot: &Screenshot,
    png: &Path,
) -> Vec<String> {
    let mut failures = Vec::new();
    for label in labels {
        let mut fail = |m: String| {
            failures.push(format!(
                "{step}: window of {label}: {m} (in {})",
                png.display()
            ));
        };
        let Some(w) = Placed::newest(placed, label) else {
            fail("none is open (no `display-server: window ... for LABEL at X,Y` line, or its window was closed)".into());
            continue;
        };
        if w.y < TITLE_HEIGHT || w.width < 16 {
            fail(format!(
                "placed at {},{} ({}x{}), where no title bar fits",
                w.x, w.y, w.width, w.height
            ));
            continue;
        }
        use embedded_graphics::pixelcolor::RgbColor;
        let color = display::window::label_color(label);
        let text = display::desktop::text_on(color);
        let (color, text) = (
            [color.r(), color.g(), color.b()],
            [text.r(), text.g(), text.b()],
        );
        // The title bar's middle row, at its left and right ends.
        let row = w.y - TITLE_HEIGHT / 2;
        for x in [w.x + 1, w.x + w.width - 2] {
            match shot.pixel(x, row) {
                Some(found) if found == color => {}
                found => fail(format!(
                    "title bar pixel ({x}, {row}): expected the label colour {}, found {}",
                    Rgb(color),
                    found.map_or("nothing (off the screen)".into(), |f| Rgb(f).to_string())
                )),
            }
        }
        // The label, in 6x10 glyphs from 6 pixels in: every glyph of a
        // label character has at least 4 pixels of the text colour.
        let chars = label.len() as u32;
        let strip = (w.x + 6..(w.x + 6 + 6 * chars).min(w.x + w.width))
            .flat_map(|x| (w.y - TITLE_HEIGHT..w.y).map(move |y| (x, y)));
        let written = strip
            .filter(|&(x, y)| shot.pixel(x, y) == Some(text))
            .count();
        if written < 4 * chars as usize {
            fail(format!(
                "the title bar shows {written} pixel(s) of label text ({}), fewer than {} for {chars} character(s)",
                Rgb(text),
                4 * chars
            ));
        }
        // The content: the client's pixels, one sample every 4 pixels.
        let mut seen = std::collections::BTreeSet::new();
        for y in (w.y..w.y + w.height).step_by(4) {
            for x in (w.x..w.x + w.width).step_by(4) {
                if let Some(p) = shot.pixel(x, y) {
                    seen.insert(p);
                }
            }
        }
        if seen.len() < 2 {
            fail(format!(
                "its content ({}x{} at {},{}) shows {} colour(s), not what a client drew",
                w.width,
                w.height,
                w.x,
                w.y,
                seen.len()
            ));
        }
    }
    failures
}

/// The display server's title bar height, in pixels.
const TITLE_HEIGHT: u32 = display::desktop::TITLE_HEIGHT as u32;

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("xtask-screen-{name}-{}.png", std::process::id()))
    }

    fn write_png(path: &Path, width: u32, height: u32, color: png::ColorType, data: &[u8]) {
        write_png_depth(path, width, height, color, png::BitDepth::Eight, data);
    }

    fn write_png_depth(
        path: &Path,
        width: u32,
        height: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
    ) {
        let file = File::create(path).unwrap();
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
        encoder.set_color(color);
        encoder.set_depth(depth);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(data).unwrap();
        writer.finish().unwrap();
    }

    /// A 3x2 image: pixel (x, y) is (10x, 20y, 7).
    fn pixels(channels: usize) -> Vec<u8> {
        let mut data = Vec::new();
        for y in 0..2u8 {
            for x in 0..3u8 {
                data.extend_from_slice(&[10 * x, 20 * y, 7]);
                if channels == 4 {
                    data.push(0x80);
                }
            }
        }
        data
    }

    #[test]
    fn rgb_and_rgba_round_trip() {
        for (color, channels) in [(png::ColorType::Rgb, 3), (png::ColorType::Rgba, 4)] {
            let path = temp(&format!("rt{channels}"));
            write_png(&path, 3, 2, color, &pixels(channels));
            let shot = Screenshot::load(&path).unwrap();
            assert_eq!(Screenshot::dimensions(&path).unwrap(), (3, 2));
            let _ = std::fs::remove_file(&path);
            assert_eq!((shot.width, shot.height), (3, 2));
            assert_eq!(shot.rgb, pixels(3));
            assert_eq!(shot.pixel(0, 0), Some([0, 0, 7]));
            assert_eq!(shot.pixel(2, 1), Some([20, 20, 7]));
            assert_eq!(shot.pixel(3, 0), None);
            assert_eq!(shot.pixel(0, 2), None);
            let e = Screenshot::dimensions(&path).unwrap_err();
            assert!(e.to_string().contains("could not open"), "{e:#}");
        }
    }

    #[test]
    fn unsupported_and_bad_files_are_errors() {
        let path = temp("gray");
        write_png(&path, 2, 1, png::ColorType::Grayscale, &[1, 2]);
        let e = format!("{:#}", Screenshot::load(&path).unwrap_err());
        assert!(e.contains("Grayscale") && e.contains("8-bit RGB"), "{e}");

        write_png_depth(
            &path,
            1,
            1,
            png::ColorType::Rgb,
            png::BitDepth::Sixteen,
            &[0; 6],
        );
        let e = format!("{:#}", Screenshot::load(&path).unwrap_err());
        assert!(e.contains("16-bit"), "{e}");

        std::fs::write(&path, b"not a png").unwrap();
        let e = format!("{:#}", Screenshot::load(&path).unwrap_err());
        assert!(e.contains("not a valid PNG"), "{e}");
        let e = format!("{:#}", Screenshot::dimensions(&path).unwrap_err());
        assert!(e.contains("not a valid PNG"), "{e}");
        let _ = std::fs::remove_file(&path);

        let e = format!("{:#}", Screenshot::load(&path).unwrap_err());
        assert!(e.contains("could not open"), "{e}");
    }

    #[test]
    fn colours() {
        assert_eq!(Rgb::parse("#203040"), Ok(Rgb([0x20, 0x30, 0x40])));
        assert_eq!(Rgb::parse("#FFfF0a"), Ok(Rgb([0xff, 0xff, 0x0a])));
        assert_eq!(Rgb([1, 0xab, 0]).to_string(), "#01ab00");
        for bad in ["203040", "#20304", "#2030400", "#20304g", "#+1+2+3", ""] {
            assert!(Rgb::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pixel_checks() {
        let shot = Screenshot {
            width: 3,
            height: 2,
            rgb: pixels(3),
        };
        let check = |x, y, rgb, tolerance| PixelCheck {
            x,
            y,
            rgb: Rgb(rgb),
            tolerance,
        };
        assert_eq!(check(2, 1, [20, 20, 7], 0).check(&shot), None);
        assert_eq!(check(2, 1, [24, 16, 10], 4).check(&shot), None);
        assert_eq!(
            check(2, 1, [25, 20, 7], 4).check(&shot).unwrap(),
            "pixel (2, 1): expected #191407 (±4 per channel), found #141407"
        );
        assert_eq!(
            check(3, 0, [0, 0, 0], 0).check(&shot).unwrap(),
            "pixel (3, 0): expected #000000, but the screen is only 3x2"
        );
        let pixels = [check(0, 0, [0, 0, 7], 0), check(1, 0, [0, 0, 0], 0)];
        assert_eq!(
            check_pixels("screen `desk`", &pixels, &shot, Path::new("t/a.png")),
            ["screen `desk`: pixel (1, 0): expected #000000, found #0a0007 (in t/a.png)"]
        );
    }

    /// What the display server itself composes: a desktop with `alpha`'s
    /// window (two colours of content, presented) and `beta`'s (never
    /// presented: its content is all zero), as a screenshot.
    fn composed() -> (Screenshot, Vec<Placed>) {
        use display::desktop::{Desktop, Pixels};
        use display::frame::Frame;
        let (width, height) = (1280, 800);
        let alpha: Vec<u32> = (0..100 * 60)
            .map(|i| {
                if i % 100 < 50 {
                    0xff00_00ff
                } else {
                    0xff00_ff00
                }
            })
            .collect();
        let beta = vec![0u32; 80 * 40];
        let mut desk = Desktop::new(width, height);
        let mut placed = Vec::new();
        for (owner, label, mem, w, h) in [(1, "alpha", &alpha, 100, 60), (2, "beta", &beta, 80, 40)]
        {
            // SAFETY: both vectors outlive `desk` (declared before it) and
            // nothing writes them while it reads.
            let pixels = unsafe { Pixels::new(mem.as_ptr(), mem.len() * 4) };
            let id = desk.open(owner, label.into(), w, h, pixels).ok().unwrap();
            let at = desk.windows.last().unwrap().content.top_left;
            let line = format!(
                "display-server: display-server: window {id} ({w}x{h}) for {label} at {},{}",
                at.x, at.y
            );
            placed.push(Placed::from_line(&line).expect("a window line"));
        }
        desk.present(1, 1, 0, 0, 100, 60).unwrap();
        let mut fb = vec![0u8; width as usize * height as usize * 4];
        desk.compose(&mut Frame::new(&mut fb, width, height).unwrap());
        let rgb = fb
            .chunks_exact(4)
            .flat_map(|p| [p[2], p[1], p[0]])
            .collect();
        (Screenshot { width, height, rgb }, placed)
    }

    #[test]
    fn window_lines_parse() {
        assert_eq!(
            Placed::from_line("display-server: window 3 (320x200) for hello-1 at 440,60\r"),
            Some(Placed {
                id: 3,
                label: "hello-1".into(),
                x: 440,
                y: 60,
                width: 320,
                height: 200
            })
        );
        let mut placed = Vec::new();
        for line in [
            "display-server: window 3 (320x200) for a at 40,60",
            "display-server: window 4 (16x16) for a at 440,60",
            "display-server: window 5 (16x16) for b at 840,60",
            "display-server: window 4 closed\r",
            "display-server: window 9 closed",
        ] {
            Placed::track(&mut placed, line);
        }
        let open: Vec<(u32, &str)> = placed.iter().map(|p| (p.id, p.label.as_str())).collect();
        assert_eq!(open, [(3, "a"), (5, "b")]);
        assert_eq!(
            Placed::from_line("display-server: window 3 (320x200) for hello-1"),
            None
        );
        assert_eq!(
            Placed::from_line("x: window 3 (320x200) for A at 1,2"),
            None
        );
    }

    #[test]
    fn window_checks_pass_on_what_the_display_server_draws_and_fail_otherwise() {
        let (shot, placed) = composed();
        let png = Path::new("t/w.png");
        let check = |labels: &[&str], placed: &[Placed]| {
            let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
            check_windows("step 1", &labels, placed, &shot, png)
        };
        assert_eq!(check(&["alpha"], &placed), Vec::<String>::new());
        // Never presented: the frame is there, the content is one colour.
        let beta = check(&["beta"], &placed);
        assert_eq!(beta.len(), 1, "{beta:?}");
        assert!(beta[0].contains("shows 1 colour(s)"), "{beta:?}");
        // Never opened.
        let gamma = check(&["gamma"], &placed);
        assert!(gamma[0].contains("none is open"), "{gamma:?}");
        // Another label's window where alpha's is: wrong colour, wrong text.
        let mut forged = placed[0].clone();
        forged.label = "mallory".into();
        let wrong = check(&["mallory"], &[forged]);
        assert!(
            wrong
                .iter()
                .any(|m| m.contains("expected the label colour")),
            "{wrong:?}"
        );
        // Where no window is: the background.
        let mut moved = placed[0].clone();
        moved.x += 300;
        moved.y += 200;
        let gone = check(&["alpha"], &[moved]);
        assert!(gone.len() >= 3, "{gone:?}");
    }
}
