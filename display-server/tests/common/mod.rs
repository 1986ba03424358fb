//! A desktop on the host with the pieces the server program supplies on
//! Tessera: client pixel memory (which clients write behind the server's
//! back, as with shared pages) and a frame buffer to compose into.

#![allow(dead_code)]

use display::desktop::{Desktop, Event, Pixels, Refusal};
use display::frame::Frame;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use std::alloc::{Layout, alloc_zeroed, dealloc};

/// Memory a client shares with the server: zeroed words, written only
/// through raw pointers (the server reads it through its own), freed when
/// dropped.
pub struct ClientMemory {
    ptr: *mut u32,
    words: usize,
}

impl ClientMemory {
    /// `words` zeroed words (at least one).
    pub fn new(words: usize) -> ClientMemory {
        let layout = Layout::array::<u32>(words.max(1)).expect("layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) }.cast::<u32>();
        assert!(!ptr.is_null(), "out of memory");
        ClientMemory { ptr, words }
    }

    /// The server's view of it.
    ///
    /// The memory must outlive every use the desktop makes of the returned
    /// value: [`Screen`] keeps its memories until after its desktop.
    pub fn pixels(&self) -> Pixels {
        // SAFETY: the allocation is aligned for u32, holds `words * 4`
        // bytes, and lives until `self` is dropped, which `Screen` does
        // only after dropping its desktop.
        unsafe { Pixels::new(self.ptr, self.words * 4) }
    }

    /// Writes word `i` (as the client would).
    pub fn set(&self, i: usize, value: u32) {
        assert!(i < self.words);
        // SAFETY: `i` is inside the allocation; writes go through the raw
        // pointer only, like the desktop's reads.
        unsafe { self.ptr.add(i).write_volatile(value) }
    }

    /// Word `i`.
    pub fn get(&self, i: usize) -> u32 {
        assert!(i < self.words);
        // SAFETY: as in `set`.
        unsafe { self.ptr.add(i).read_volatile() }
    }

    /// Sets every word to `value`.
    pub fn fill(&self, value: u32) {
        for i in 0..self.words {
            self.set(i, value);
        }
    }

    /// Start of the memory.
    pub fn as_ptr(&self) -> *const u32 {
        self.ptr
    }
}

impl Drop for ClientMemory {
    fn drop(&mut self) {
        let layout = Layout::array::<u32>(self.words.max(1)).expect("layout");
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { dealloc(self.ptr.cast(), layout) }
    }
}

/// The BGRA word of a colour, as clients write it.
pub fn bgra(c: Rgb888) -> u32 {
    u32::from_le_bytes([c.b(), c.g(), c.r(), 0xff])
}

/// The colour a client's BGRA word shows as.
pub fn color_of(word: u32) -> Rgb888 {
    let [b, g, r, _] = word.to_le_bytes();
    Rgb888::new(r, g, b)
}

/// A desktop, its frame buffer, and the memory of its clients' windows.
/// Fields drop in order: the desktop goes before the memory it reads.
pub struct Screen {
    pub desktop: Desktop,
    pub frame: Vec<u8>,
    /// Every window's memory, by window id; replaced memory is kept too.
    pub memory: Vec<(u32, ClientMemory)>,
    /// Memory of refused requests, kept alive as the rest.
    pub spare: Vec<ClientMemory>,
}

impl Screen {
    /// An empty desktop of `width x height`, composed once.
    pub fn new(width: u32, height: u32) -> Screen {
        let mut s = Screen {
            desktop: Desktop::new(width, height),
            frame: vec![0; width as usize * height as usize * 4],
            memory: Vec::new(),
            spare: Vec::new(),
        };
        s.compose();
        s
    }

    /// Opens a `width x height` window for `owner`; its memory is zeroed.
    pub fn open(
        &mut self,
        owner: u64,
        label: &str,
        width: u32,
        height: u32,
    ) -> Result<u32, Refusal> {
        let mem = ClientMemory::new(width as usize * height as usize);
        self.open_with(owner, label, width, height, mem)
    }

    /// Opens a window over `mem`.
    pub fn open_with(
        &mut self,
        owner: u64,
        label: &str,
        width: u32,
        height: u32,
        mem: ClientMemory,
    ) -> Result<u32, Refusal> {
        match self
            .desktop
            .open(owner, label.into(), width, height, mem.pixels())
        {
            Ok(id) => {
                self.memory.push((id, mem));
                Ok(id)
            }
            Err((r, back)) => {
                assert_eq!(back.as_ptr(), mem.as_ptr(), "refused memory handed back");
                self.spare.push(mem);
                Err(r)
            }
        }
    }

    /// Resizes window `id` of `owner` onto new zeroed memory.
    pub fn resize(&mut self, owner: u64, id: u32, width: u32, height: u32) -> Result<(), Refusal> {
        let mem = ClientMemory::new(width as usize * height as usize);
        let new = mem.pixels();
        match self.desktop.resize(owner, id, width, height, new) {
            Ok(old) => {
                let current = self.mem(id).as_ptr();
                assert_eq!(old.as_ptr(), current, "the old memory handed back");
                // The newest memory of a window is the last one pushed.
                self.memory.push((id, mem));
                Ok(())
            }
            Err((r, back)) => {
                assert_eq!(back.as_ptr(), mem.as_ptr(), "refused memory handed back");
                self.spare.push(mem);
                Err(r)
            }
        }
    }

    /// The current memory of window `id`.
    pub fn mem(&self, id: u32) -> &ClientMemory {
        &self
            .memory
            .iter()
            .rev()
            .find(|(w, _)| *w == id)
            .expect("a window of that id")
            .1
    }

    /// Composes the damage; returns the redrawn rectangle.
    pub fn compose(&mut self) -> Option<Rectangle> {
        let size = self.desktop.size;
        let mut f = Frame::new(&mut self.frame, size.width, size.height).expect("frame");
        self.desktop.compose(&mut f)
    }

    /// The colour on the screen at (x, y).
    pub fn px(&self, x: i32, y: i32) -> Rgb888 {
        let width = self.desktop.size.width as usize;
        let (x, y) = (
            usize::try_from(x).expect("x"),
            usize::try_from(y).expect("y"),
        );
        assert!(x < width, "a point on the screen");
        let i = (y * width + x) * 4;
        let [b, g, r, _] = self.frame[i..i + 4] else {
            unreachable!("four bytes")
        };
        Rgb888::new(r, g, b)
    }

    /// Every event queued for window `id` of `owner`.
    pub fn events(&mut self, owner: u64, id: u32) -> Vec<Event> {
        let mut all = Vec::new();
        while let Some(Some(e)) = self.desktop.next_event(owner, id) {
            all.push(e);
        }
        all
    }

    /// Window `id`'s content and outer rectangles.
    pub fn rects(&self, id: u32) -> (Rectangle, Rectangle) {
        let w = self
            .desktop
            .windows
            .iter()
            .find(|w| w.id == id)
            .expect("a window of that id");
        (w.content, w.outer())
    }

    /// A point inside window `id`'s content, `(dx, dy)` from its corner.
    pub fn content_point(&self, id: u32, dx: i32, dy: i32) -> Point {
        self.rects(id).0.top_left + Point::new(dx, dy)
    }

    /// Moves the pointer to `p` and clicks the left button there.
    pub fn click(&mut self, p: Point) {
        self.desktop.pointer_to(p);
        self.desktop.button(0, true);
        self.desktop.button(0, false);
    }
}
