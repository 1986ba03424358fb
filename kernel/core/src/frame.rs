//! Physical frame allocator: one bit per 4 KiB frame, usable before any heap.
//!
//! The allocator owns a caller-supplied bitmap (`&mut [u64]`) in which a set
//! bit means *free* and a clear bit means *used* (allocated, reserved, or not
//! RAM at all). Invariants:
//!
//! - frame 0 is never free, so [`FrameAllocator::alloc`] never returns 0 and a
//!   physical address of 0 can keep meaning "none";
//! - `free` always equals the number of set bits;
//! - a frame is handed out at most once until it is freed again.
//!
//! One bit cannot tell "allocated" from "reserved", so freeing a reserved
//! frame is not detected; frees come from the kernel's own bookkeeping (page
//! tables, object lists), never directly from user input.

/// Size of a physical frame in bytes.
pub const FRAME_SIZE: u64 = 4096;

/// Bits per bitmap word.
const WORD_BITS: usize = 64;

/// A physical address range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhysRange {
    /// First byte of the range.
    pub start: u64,
    /// One past the last byte of the range.
    pub end: u64,
}

/// Why a free was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The address lies beyond the memory the bitmap covers.
    OutOfRange,
    /// The frame is already free (double free), or is frame 0.
    NotAllocated,
    /// The address is not frame aligned.
    Misaligned,
}

/// A bitmap frame allocator over frames `0 .. bits.len() * 64`.
pub struct FrameAllocator<'a> {
    /// One bit per frame; set means free.
    bits: &'a mut [u64],
    /// Number of set bits.
    free: usize,
    /// Frames ever turned from used to free by [`FrameAllocator::add_free`].
    total: usize,
    /// Word where the next single-frame search starts (next fit).
    hint: usize,
}

impl<'a> FrameAllocator<'a> {
    /// Number of u64 bitmap words needed to cover physical memory [0, max_phys).
    pub const fn bitmap_words(max_phys: u64) -> usize {
        let frames = max_phys.div_ceil(FRAME_SIZE);
        frames.div_ceil(WORD_BITS as u64) as usize
    }

    /// Covers frames 0 .. bits.len()*64. Every frame starts *used*.
    pub fn new(bits: &'a mut [u64]) -> Self {
        bits.fill(0);
        FrameAllocator {
            bits,
            free: 0,
            total: 0,
            hint: 0,
        }
    }

    /// Marks the whole frames inside r (rounded inward) free. Frame 0 is never made free.
    ///
    /// Meant for boot, before any allocation: a frame that is currently
    /// allocated and lies inside `r` would become free again.
    pub fn add_free(&mut self, r: PhysRange) {
        let start = frame_ceil(r.start).max(1);
        let end = frame_floor(r.end).min(self.frame_count());
        if start < end {
            let changed = self.set_range(start, end, true);
            self.free += changed;
            self.total += changed;
        }
    }

    /// Marks every frame touching r (rounded outward) used (for kernel image, initrd, bitmap itself...).
    pub fn reserve(&mut self, r: PhysRange) {
        let start = frame_floor(r.start);
        let end = frame_ceil(r.end).min(self.frame_count());
        if start < end {
            self.free -= self.set_range(start, end, false);
        }
    }

    /// Allocates one frame and returns its physical address (never 0).
    ///
    /// Searches from where the previous allocation left off (next fit), so a
    /// run of allocations does not rescan the used prefix every time.
    pub fn alloc(&mut self) -> Option<u64> {
        let words = self.bits.len();
        if self.free == 0 || words == 0 {
            return None;
        }
        for step in 0..words {
            let w = (self.hint + step) % words;
            let word = self.bits[w];
            if word != 0 {
                let bit = word.trailing_zeros() as usize;
                self.bits[w] = word & !(1u64 << bit);
                self.free -= 1;
                self.hint = w;
                return Some(frame_addr(w * WORD_BITS + bit));
            }
        }
        None
    }

    /// Allocates `frames` physically contiguous frames whose first frame
    /// number is a multiple of `align_frames`; returns the first address.
    ///
    /// Returns `None` if `frames` is 0, `align_frames` is not a power of two,
    /// or no such run is free. First fit from the bottom of memory.
    pub fn alloc_contiguous(&mut self, frames: usize, align_frames: usize) -> Option<u64> {
        if frames == 0 || !align_frames.is_power_of_two() || frames > self.free {
            return None;
        }
        let count = self.frame_count();
        let mut from = 0;
        loop {
            let first_free = self.next_free_from(from)?;
            let start = first_free.checked_next_multiple_of(align_frames)?;
            let end = start.checked_add(frames)?;
            if end > count {
                return None;
            }
            match self.first_used_in(start, end) {
                None => {
                    self.free -= self.set_range(start, end, false);
                    return Some(frame_addr(start));
                }
                Some(used) => from = used + 1,
            }
        }
    }

    /// Returns one frame; double free -> `NotAllocated`, unaligned -> `Misaligned`.
    pub fn free(&mut self, pa: u64) -> Result<(), FrameError> {
        self.free_contiguous(pa, 1)
    }

    /// Returns `frames` contiguous frames starting at `pa`. Either every
    /// frame is freed or, on error, none is.
    pub fn free_contiguous(&mut self, pa: u64, frames: usize) -> Result<(), FrameError> {
        if !pa.is_multiple_of(FRAME_SIZE) {
            return Err(FrameError::Misaligned);
        }
        let start = usize::try_from(pa / FRAME_SIZE).map_err(|_| FrameError::OutOfRange)?;
        let end = start.checked_add(frames).ok_or(FrameError::OutOfRange)?;
        if end > self.frame_count() {
            return Err(FrameError::OutOfRange);
        }
        if frames == 0 {
            return Ok(());
        }
        if start == 0 || self.first_free_in(start, end).is_some() {
            return Err(FrameError::NotAllocated);
        }
        self.free += self.set_range(start, end, true);
        // The next single-frame allocation starts here: when memory is nearly
        // full, the frames just freed are the only free ones, and starting at
        // them keeps `alloc` from scanning the whole bitmap.
        self.hint = start / WORD_BITS;
        Ok(())
    }

    /// Whether the frame containing `pa` is free. Out of range is not free.
    pub fn is_free(&self, pa: u64) -> bool {
        match usize::try_from(pa / FRAME_SIZE) {
            Ok(f) if f < self.frame_count() => self.bit(f),
            _ => false,
        }
    }

    /// Number of frames currently free.
    pub fn free_frames(&self) -> usize {
        self.free
    }

    /// Frames ever made free by add_free (i.e. usable RAM).
    pub fn total_frames(&self) -> usize {
        self.total
    }

    /// Number of frames the bitmap covers.
    fn frame_count(&self) -> usize {
        self.bits.len().saturating_mul(WORD_BITS)
    }

    fn bit(&self, frame: usize) -> bool {
        self.bits[frame / WORD_BITS] & (1u64 << (frame % WORD_BITS)) != 0
    }

    /// Sets frames `start..end` (which must lie inside the bitmap) free or
    /// used, a word at a time, and returns how many bits actually changed.
    fn set_range(&mut self, start: usize, end: usize, free: bool) -> usize {
        let mut changed = 0;
        let mut f = start;
        while f < end {
            let bit = f % WORD_BITS;
            let n = (WORD_BITS - bit).min(end - f);
            let mask = span_mask(bit, n);
            let word = &mut self.bits[f / WORD_BITS];
            if free {
                changed += (!*word & mask).count_ones() as usize;
                *word |= mask;
            } else {
                changed += (*word & mask).count_ones() as usize;
                *word &= !mask;
            }
            f += n;
        }
        changed
    }

    /// First free frame at or after `from`.
    fn next_free_from(&self, from: usize) -> Option<usize> {
        let mut w = from / WORD_BITS;
        let mut word = *self.bits.get(w)? & !span_mask(0, from % WORD_BITS);
        loop {
            if word != 0 {
                return Some(w * WORD_BITS + word.trailing_zeros() as usize);
            }
            w += 1;
            word = *self.bits.get(w)?;
        }
    }

    /// First free frame in `start..end` (inside the bitmap), if any. Costs
    /// one word per 64 frames of the range, never a scan beyond it.
    fn first_free_in(&self, start: usize, end: usize) -> Option<usize> {
        let mut f = start;
        while f < end {
            let bit = f % WORD_BITS;
            let n = (WORD_BITS - bit).min(end - f);
            let free = self.bits[f / WORD_BITS] & span_mask(bit, n);
            if free != 0 {
                return Some(f - bit + free.trailing_zeros() as usize);
            }
            f += n;
        }
        None
    }

    /// First used frame in `start..end` (inside the bitmap), if any.
    fn first_used_in(&self, start: usize, end: usize) -> Option<usize> {
        let mut f = start;
        while f < end {
            let bit = f % WORD_BITS;
            let n = (WORD_BITS - bit).min(end - f);
            let used = !self.bits[f / WORD_BITS] & span_mask(bit, n);
            if used != 0 {
                return Some(f - bit + used.trailing_zeros() as usize);
            }
            f += n;
        }
        None
    }
}

/// Lets the page-table builder take its table frames straight from here.
impl crate::paging::FrameSource for FrameAllocator<'_> {
    fn alloc_frame(&mut self) -> Option<u64> {
        self.alloc()
    }

    fn free_frame(&mut self, pa: u64) {
        let freed = self.free(pa);
        // Page tables only give back frames they got from here.
        debug_assert!(freed.is_ok(), "page-table frame {pa:#x}: {freed:?}");
    }
}

/// A mask of `n` bits starting at bit `bit` (`bit + n <= 64`).
const fn span_mask(bit: usize, n: usize) -> u64 {
    if n >= WORD_BITS {
        u64::MAX
    } else {
        ((1u64 << n) - 1) << bit
    }
}

/// Frame number of the first frame starting at or after `pa`, saturating.
fn frame_ceil(pa: u64) -> usize {
    usize::try_from(pa.div_ceil(FRAME_SIZE)).unwrap_or(usize::MAX)
}

/// Frame number of the frame containing `pa`, saturating.
fn frame_floor(pa: u64) -> usize {
    usize::try_from(pa / FRAME_SIZE).unwrap_or(usize::MAX)
}

/// Physical address of a frame number (always fits: frames come from a bitmap in memory).
fn frame_addr(frame: usize) -> u64 {
    frame as u64 * FRAME_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn range(start: u64, end: u64) -> PhysRange {
        PhysRange { start, end }
    }

    #[test]
    fn bitmap_words_rounds_up() {
        assert_eq!(FrameAllocator::bitmap_words(0), 0);
        assert_eq!(FrameAllocator::bitmap_words(1), 1);
        assert_eq!(FrameAllocator::bitmap_words(64 * FRAME_SIZE), 1);
        assert_eq!(FrameAllocator::bitmap_words(64 * FRAME_SIZE + 1), 2);
        assert_eq!(FrameAllocator::bitmap_words(1 << 30), (1 << 18) / 64);
    }

    #[test]
    fn starts_used_and_never_frees_frame_zero() {
        let mut bits = [u64::MAX; 2];
        let mut fa = FrameAllocator::new(&mut bits);
        assert_eq!(fa.free_frames(), 0);
        assert_eq!(fa.alloc(), None);
        fa.add_free(range(0, 128 * FRAME_SIZE));
        assert_eq!(fa.free_frames(), 127);
        assert_eq!(fa.total_frames(), 127);
        assert!(!fa.is_free(0));
        assert_eq!(fa.free(0), Err(FrameError::NotAllocated));
        let mut got = HashSet::new();
        while let Some(pa) = fa.alloc() {
            assert_ne!(pa, 0);
            assert!(got.insert(pa));
        }
        assert_eq!(got.len(), 127);
    }

    #[test]
    fn add_free_rounds_inward_reserve_rounds_outward() {
        let mut bits = [0; 1];
        let mut fa = FrameAllocator::new(&mut bits);
        fa.add_free(range(FRAME_SIZE + 1, 4 * FRAME_SIZE - 1));
        assert_eq!(fa.free_frames(), 1); // only frame 2 lies wholly inside
        assert!(fa.is_free(2 * FRAME_SIZE));
        assert!(!fa.is_free(FRAME_SIZE));
        assert!(!fa.is_free(3 * FRAME_SIZE));
        fa.add_free(range(FRAME_SIZE, 8 * FRAME_SIZE));
        assert_eq!(fa.free_frames(), 7);
        assert_eq!(fa.total_frames(), 7);
        fa.reserve(range(3 * FRAME_SIZE - 1, 3 * FRAME_SIZE + 1));
        assert!(!fa.is_free(2 * FRAME_SIZE));
        assert!(!fa.is_free(3 * FRAME_SIZE));
        assert!(fa.is_free(4 * FRAME_SIZE));
        assert_eq!(fa.free_frames(), 5);
        // Ranges past the bitmap are clipped, not a panic.
        fa.add_free(range(60 * FRAME_SIZE, u64::MAX));
        fa.reserve(range(u64::MAX - 5, u64::MAX));
        assert_eq!(fa.free_frames(), 9);
    }

    #[test]
    fn free_errors() {
        let mut bits = [0; 1];
        let mut fa = FrameAllocator::new(&mut bits);
        fa.add_free(range(0, 64 * FRAME_SIZE));
        let pa = fa.alloc().unwrap();
        assert_eq!(fa.free(pa + 1), Err(FrameError::Misaligned));
        assert_eq!(fa.free(64 * FRAME_SIZE), Err(FrameError::OutOfRange));
        assert_eq!(fa.free(!0xfff), Err(FrameError::OutOfRange));
        assert_eq!(fa.free(pa), Ok(()));
        assert_eq!(fa.free(pa), Err(FrameError::NotAllocated));
        assert_eq!(
            fa.free_contiguous(pa, usize::MAX),
            Err(FrameError::OutOfRange)
        );
    }

    #[test]
    fn free_contiguous_is_all_or_nothing() {
        let mut bits = [0; 1];
        let mut fa = FrameAllocator::new(&mut bits);
        fa.add_free(range(0, 64 * FRAME_SIZE));
        let pa = fa.alloc_contiguous(4, 4).unwrap();
        assert_eq!(pa, 4 * FRAME_SIZE);
        fa.free(pa + 2 * FRAME_SIZE).unwrap();
        let before = fa.free_frames();
        assert_eq!(fa.free_contiguous(pa, 4), Err(FrameError::NotAllocated));
        assert_eq!(fa.free_frames(), before);
        assert!(!fa.is_free(pa));
        fa.free(pa).unwrap();
        fa.free(pa + FRAME_SIZE).unwrap();
        fa.free(pa + 3 * FRAME_SIZE).unwrap();
        assert_eq!(fa.free_frames(), 63);
    }

    #[test]
    fn contiguous_alignment_and_failure() {
        let mut bits = [0; 4];
        let mut fa = FrameAllocator::new(&mut bits);
        fa.add_free(range(0, 256 * FRAME_SIZE));
        assert_eq!(fa.alloc_contiguous(0, 1), None);
        assert_eq!(fa.alloc_contiguous(1, 3), None);
        assert_eq!(fa.alloc_contiguous(1, 0), None);
        let a = fa.alloc_contiguous(100, 64).unwrap();
        assert_eq!(a, 64 * FRAME_SIZE);
        assert_eq!(fa.alloc_contiguous(128, 1), None);
        let b = fa.alloc_contiguous(63, 1).unwrap();
        assert_eq!(b, FRAME_SIZE);
        assert_eq!(fa.alloc_contiguous(200, 1), None);
        assert_eq!(fa.alloc_contiguous(usize::MAX, 1), None);
    }

    #[test]
    fn freed_frames_are_found_first_and_search_wraps() {
        let mut bits = [0; 2];
        let mut fa = FrameAllocator::new(&mut bits);
        fa.add_free(range(0, 128 * FRAME_SIZE));
        let first: Vec<u64> = (0..100).map(|_| fa.alloc().unwrap()).collect();
        // A free moves the search to the freed frame, so a nearly full
        // allocator finds it without scanning.
        fa.free(first[0]).unwrap();
        assert_eq!(fa.alloc(), Some(first[0]));
        // The rest of memory is still found, wrapping past the end.
        let rest: Vec<u64> = (0..27).map(|_| fa.alloc().unwrap()).collect();
        assert!(rest.iter().all(|pa| !first.contains(pa)));
        assert_eq!(fa.alloc(), None);
    }

    #[test]
    fn empty_bitmap() {
        let mut fa = FrameAllocator::new(&mut []);
        fa.add_free(range(0, 1 << 20));
        fa.reserve(range(0, 1 << 20));
        assert_eq!(fa.alloc(), None);
        assert_eq!(fa.alloc_contiguous(1, 1), None);
        assert_eq!(fa.free(FRAME_SIZE), Err(FrameError::OutOfRange));
        assert!(!fa.is_free(0));
    }

    #[derive(Clone, Debug)]
    enum Op {
        Alloc,
        AllocContig(usize, u32),
        Free(usize),
        FreeContig(usize),
        FreeRaw(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => Just(Op::Alloc),
            2 => (1usize..20, 0u32..5).prop_map(|(n, a)| Op::AllocContig(n, a)),
            3 => any::<usize>().prop_map(Op::Free),
            1 => any::<usize>().prop_map(Op::FreeContig),
            1 => (0u64..300).prop_map(|f| Op::FreeRaw(f * FRAME_SIZE)),
        ]
    }

    proptest! {
        #[test]
        fn never_hands_out_a_frame_twice(
            free_ranges in prop::collection::vec((0u64..256, 0u64..64), 1..5),
            reserved in prop::collection::vec((0u64..256, 0u64..16), 0..4),
            ops in prop::collection::vec(op(), 0..200),
        ) {
            let mut bits = [0u64; 4];
            let mut fa = FrameAllocator::new(&mut bits);
            let mut usable = HashSet::new();
            for (s, n) in free_ranges {
                fa.add_free(range(s * FRAME_SIZE, (s + n) * FRAME_SIZE));
                usable.extend((s.max(1)..(s + n).min(256)).map(|f| f * FRAME_SIZE));
            }
            prop_assert_eq!(fa.total_frames(), usable.len());
            let mut banned = HashSet::new();
            for (s, n) in reserved {
                fa.reserve(range(s * FRAME_SIZE, (s + n) * FRAME_SIZE));
                banned.extend((s..s + n).map(|f| f * FRAME_SIZE));
            }
            let available = usable.difference(&banned).count();
            // Each live allocation: (first address, frame count).
            let mut live: Vec<(u64, usize)> = Vec::new();
            let mut held: HashSet<u64> = HashSet::new();
            for op in ops {
                match op {
                    Op::Alloc => {
                        if let Some(pa) = fa.alloc() {
                            prop_assert!(pa != 0 && usable.contains(&pa) && !banned.contains(&pa));
                            prop_assert!(held.insert(pa));
                            live.push((pa, 1));
                        } else {
                            prop_assert_eq!(held.len(), available);
                        }
                    }
                    Op::AllocContig(n, a) => {
                        let align = 1usize << a;
                        if let Some(pa) = fa.alloc_contiguous(n, align) {
                            prop_assert_eq!((pa / FRAME_SIZE) as usize % align, 0);
                            for i in 0..n as u64 {
                                let f = pa + i * FRAME_SIZE;
                                prop_assert!(f != 0 && usable.contains(&f) && !banned.contains(&f));
                                prop_assert!(held.insert(f));
                            }
                            live.push((pa, n));
                        }
                    }
                    Op::Free(i) | Op::FreeContig(i) if !live.is_empty() => {
                        let (pa, n) = live.swap_remove(i % live.len());
                        if n == 1 && matches!(op, Op::Free(_)) {
                            prop_assert_eq!(fa.free(pa), Ok(()));
                        } else {
                            prop_assert_eq!(fa.free_contiguous(pa, n), Ok(()));
                        }
                        for k in 0..n as u64 {
                            held.remove(&(pa + k * FRAME_SIZE));
                        }
                        // Freeing again is always a double free.
                        prop_assert_eq!(fa.free(pa), Err(FrameError::NotAllocated));
                    }
                    // Not held by us and free (or frame 0): a double free.
                    Op::FreeRaw(pa) if !held.contains(&pa) && (fa.is_free(pa) || pa == 0) => {
                        prop_assert_eq!(fa.free(pa), Err(FrameError::NotAllocated));
                    }
                    _ => {}
                }
                prop_assert_eq!(fa.free_frames(), available - held.len());
                for &pa in &held {
                    prop_assert!(!fa.is_free(pa));
                }
            }
        }
    }
}
