//! Composition speed of the desktop, in bytes of frame buffer written per
//! second.
//!
//! `cargo bench -p tessera-display-server` (or `cargo xtask bench`, which
//! runs it after the in-OS benchmarks). Three figures, each on a 1280x800
//! desktop with three client windows like the `desktop` scenario's:
//!
//! - `compose/full_screen`: the whole screen redrawn (what a window opening
//!   over everything, or the first frame, costs): background, panel,
//!   frames, title bars with labels, and every window's pixels;
//! - `compose/present_64x64` and `compose/present_320x200`: a client
//!   presents a damaged rectangle of its window and the server copies it
//!   to the frame buffer (the common case: a cursor, a text line, a small
//!   animation).
//!
//! Throughput is the frame-buffer bytes of the redrawn area (4 per pixel),
//! reported in decimal units (MB/s, GB/s).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use display::desktop::{Desktop, Pixels};
use display::frame::Frame;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use std::hint::black_box;

const W: u32 = 1280;
const H: u32 = 800;

/// Three windows of client pixels, a desktop showing them, and the frame
/// buffer; the client memory outlives the desktop (field order).
struct Scene {
    desktop: Desktop,
    fb: Vec<u8>,
    /// Each window's pixels; the desktop reads them through `Pixels`.
    _clients: Vec<Box<[u32]>>,
}

impl Scene {
    fn new() -> Scene {
        let mut desktop = Desktop::new(W, H);
        let mut clients = Vec::new();
        let mut ids = Vec::new();
        for (i, (w, h)) in [(360u32, 240u32), (360, 240), (360, 240)]
            .into_iter()
            .enumerate()
        {
            let pixels: Box<[u32]> = (0..w * h).map(|p| p.wrapping_mul(0x9e37_79b9)).collect();
            // SAFETY: the boxed slice is aligned for u32, holds `w * h`
            // words, is never written after this, and lives in `Scene`
            // after the desktop that reads it (fields drop in order).
            let shared = unsafe { Pixels::new(pixels.as_ptr(), pixels.len() * 4) };
            let label = format!("client-{i}");
            let id = desktop
                .open(i as u64 + 1, label, w, h, shared)
                .unwrap_or_else(|_| panic!("window {i} opens"));
            ids.push((i as u64 + 1, id));
            clients.push(pixels);
        }
        for &(owner, id) in &ids {
            desktop.present(owner, id, 0, 0, W, H).expect("own window");
        }
        let mut scene = Scene {
            desktop,
            fb: vec![0; (W * H * 4) as usize],
            _clients: clients,
        };
        scene.compose();
        scene
    }

    fn compose(&mut self) -> Option<Rectangle> {
        let mut frame = Frame::new(&mut self.fb, W, H).expect("frame buffer size");
        self.desktop.compose(&mut frame)
    }

    /// The first window's owner and id.
    fn first(&self) -> (u64, u32) {
        let w = &self.desktop.windows[0];
        (w.owner, w.id)
    }
}

fn bench(c: &mut Criterion) {
    let mut scene = Scene::new();
    let mut g = c.benchmark_group("compose");

    g.throughput(Throughput::BytesDecimal(u64::from(W * H * 4)));
    g.bench_function("full_screen", |b| {
        b.iter(|| {
            scene
                .desktop
                .damage(Rectangle::new(Point::zero(), Size::new(W, H)));
            black_box(scene.compose())
        })
    });

    let (owner, id) = scene.first();
    for (w, h) in [(64u32, 64u32), (320, 200)] {
        g.throughput(Throughput::BytesDecimal(u64::from(w * h * 4)));
        g.bench_function(format!("present_{w}x{h}"), |b| {
            b.iter(|| {
                scene
                    .desktop
                    .present(owner, id, 8, 8, w, h)
                    .expect("own window");
                let redrawn = scene.compose();
                debug_assert_eq!(redrawn.map(|r| r.size), Some(Size::new(w, h)));
                black_box(redrawn)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
