//! The user address-space region map of one domain: which ranges are in use,
//! and for what.
//!
//! The kernel consults it for `mem::MAP`/`mem::UNMAP` and to check user
//! pointers before it touches them. Invariants:
//!
//! - every region is page aligned, non-empty and lies inside
//!   [`abi::USER_BASE`, `abi::USER_TOP`);
//! - regions never overlap (adjacent regions are kept apart, not merged, so
//!   each keeps its kind and protection);
//! - all arithmetic on user-supplied addresses and lengths is checked, so no
//!   argument can wrap around or panic.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

const PAGE: u64 = abi::PAGE_SIZE;

/// What a region holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Segments of the program's ELF image.
    Image,
    /// A thread stack.
    Stack,
    /// An unmapped page that keeps something (a stack) from running into a neighbour.
    Guard,
    /// Zeroed memory from `mem::MAP`; the only kind `mem::UNMAP` may remove.
    Anonymous,
    /// Device memory from `mmio::MAP`: not RAM, never freed, kept until
    /// the domain ends.
    Device,
    /// A block from `dma::ALLOC`, removed whole by `dma::FREE`.
    Dma,
}

/// One used range of the address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First address (page aligned).
    pub start: u64,
    /// Length in bytes (a non-zero multiple of the page size).
    pub len: u64,
    /// What the range holds.
    pub kind: RegionKind,
    /// `abi::mem::PROT_*` bits.
    pub prot: u8,
}

impl Region {
    /// One past the last byte. Cannot overflow for a region in the map.
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// Why a region operation was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RegionError {
    /// Start or length is not a multiple of the page size.
    Misaligned,
    /// The length is zero.
    Empty,
    /// Part of the range lies outside user space (or it wraps around).
    OutOfRange,
    /// The range overlaps an existing region.
    Overlap,
    /// Part of the range to remove is not anonymous memory.
    NotAnonymous,
    /// No free gap is large enough.
    NoSpace,
}

impl RegionError {
    /// The error code reported to the user program.
    pub fn to_abi(&self) -> abi::Error {
        match self {
            RegionError::Misaligned => abi::Error::Misaligned,
            RegionError::Empty => abi::Error::InvalidArgument,
            RegionError::OutOfRange => abi::Error::BadAddress,
            RegionError::Overlap => abi::Error::AddressInUse,
            RegionError::NotAnonymous => abi::Error::InvalidArgument,
            RegionError::NoSpace => abi::Error::NoMemory,
        }
    }
}

/// The regions of one address space, keyed by start address.
#[derive(Debug, Default)]
pub struct RegionMap {
    regions: BTreeMap<u64, Region>,
}

impl RegionMap {
    /// An empty address space.
    pub fn new() -> Self {
        RegionMap {
            regions: BTreeMap::new(),
        }
    }

    /// Adds a region: page-aligned start and len, len > 0, inside
    /// [`abi::USER_BASE`, `abi::USER_TOP`), overlapping nothing.
    pub fn insert(&mut self, r: Region) -> Result<(), RegionError> {
        let end = check_range(r.start, r.len)?;
        if self.first_overlap(r.start, end).is_some() {
            return Err(RegionError::Overlap);
        }
        self.regions.insert(r.start, r);
        Ok(())
    }

    /// Lowest page-aligned address `>= from` (and `>= USER_BASE`) where `len`
    /// bytes are free, with the whole range below `USER_TOP`.
    pub fn find_free(&self, len: u64, from: u64) -> Result<u64, RegionError> {
        if len == 0 {
            return Err(RegionError::Empty);
        }
        if !len.is_multiple_of(PAGE) {
            return Err(RegionError::Misaligned);
        }
        let mut cand = from
            .max(abi::USER_BASE)
            .checked_next_multiple_of(PAGE)
            .ok_or(RegionError::NoSpace)?;
        // A region that starts below `cand` may still cover it.
        if let Some(r) = self.containing(cand) {
            cand = r.end();
        }
        for r in self.regions.range(cand..).map(|(_, r)| r) {
            if r.start - cand >= len {
                break;
            }
            cand = r.end();
        }
        match cand.checked_add(len) {
            Some(end) if end <= abi::USER_TOP => Ok(cand),
            _ => Err(RegionError::NoSpace),
        }
    }

    /// Removes [start, start+len); every byte must be covered by Anonymous regions (else NotAnonymous, and nothing changes). Splits partially covered regions. Returns the removed pieces.
    pub fn remove_anonymous(&mut self, start: u64, len: u64) -> Result<Vec<Region>, RegionError> {
        let end = check_range(start, len)?;
        // Check first, change after: a refused call leaves the map as it was.
        let mut cursor = start;
        while cursor < end {
            match self.containing(cursor) {
                Some(r) if r.kind == RegionKind::Anonymous => cursor = r.end(),
                _ => return Err(RegionError::NotAnonymous),
            }
        }
        let mut removed = Vec::new();
        while let Some(r) = self.first_overlap(start, end).copied() {
            self.regions.remove(&r.start);
            if r.start < start {
                self.regions.insert(r.start, piece(&r, r.start, start));
            }
            if r.end() > end {
                self.regions.insert(end, piece(&r, end, r.end()));
            }
            removed.push(piece(&r, r.start.max(start), r.end().min(end)));
        }
        Ok(removed)
    }

    /// Removes the whole region of kind `kind` that starts exactly at
    /// `start`, and returns it; `None` (and nothing changes) if there is
    /// no such region.
    pub fn remove_exact(&mut self, start: u64, kind: RegionKind) -> Option<Region> {
        match self.regions.get(&start) {
            Some(r) if r.kind == kind => self.regions.remove(&start),
            _ => None,
        }
    }

    /// The region containing `addr`, if any.
    pub fn lookup(&self, addr: u64) -> Option<&Region> {
        self.containing(addr)
    }

    /// Every region, in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.regions.values()
    }

    /// Total bytes of all regions of one kind.
    pub fn bytes_of(&self, kind: RegionKind) -> u64 {
        self.iter().filter(|r| r.kind == kind).map(|r| r.len).sum()
    }

    fn containing(&self, addr: u64) -> Option<&Region> {
        let (_, r) = self.regions.range(..=addr).next_back()?;
        (addr < r.end()).then_some(r)
    }

    /// The lowest region overlapping [start, end).
    fn first_overlap(&self, start: u64, end: u64) -> Option<&Region> {
        if let Some(r) = self.containing(start) {
            return Some(r);
        }
        let (_, r) = self.regions.range(start..end).next()?;
        Some(r)
    }
}

/// Validates a user range and returns its end.
fn check_range(start: u64, len: u64) -> Result<u64, RegionError> {
    if !start.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) {
        return Err(RegionError::Misaligned);
    }
    if len == 0 {
        return Err(RegionError::Empty);
    }
    match start.checked_add(len) {
        Some(end) if start >= abi::USER_BASE && end <= abi::USER_TOP => Ok(end),
        _ => Err(RegionError::OutOfRange),
    }
}

/// The part [start, end) of `r`, with its kind and protection.
fn piece(r: &Region, start: u64, end: u64) -> Region {
    Region {
        start,
        len: end - start,
        ..*r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const B: u64 = abi::USER_BASE;

    fn region(start: u64, pages: u64, kind: RegionKind) -> Region {
        Region {
            start,
            len: pages * PAGE,
            kind,
            prot: 3,
        }
    }

    fn anon(start: u64, pages: u64) -> Region {
        region(start, pages, RegionKind::Anonymous)
    }

    #[test]
    fn insert_validates() {
        let mut m = RegionMap::new();
        let top = abi::USER_TOP;
        assert_eq!(m.insert(anon(B + 1, 1)), Err(RegionError::Misaligned));
        assert_eq!(
            m.insert(Region {
                len: 5,
                ..anon(B, 1)
            }),
            Err(RegionError::Misaligned)
        );
        assert_eq!(m.insert(anon(B, 0)), Err(RegionError::Empty));
        assert_eq!(m.insert(anon(B - PAGE, 1)), Err(RegionError::OutOfRange));
        assert_eq!(m.insert(anon(top, 1)), Err(RegionError::OutOfRange));
        assert_eq!(m.insert(anon(top - PAGE, 2)), Err(RegionError::OutOfRange));
        let huge = Region {
            len: !(PAGE - 1),
            ..anon(B, 1)
        };
        assert_eq!(m.insert(huge), Err(RegionError::OutOfRange));
        m.insert(anon(top - PAGE, 1)).unwrap();
        m.insert(anon(B + 4 * PAGE, 4)).unwrap();
        assert_eq!(m.insert(anon(B + 7 * PAGE, 1)), Err(RegionError::Overlap));
        assert_eq!(m.insert(anon(B + 2 * PAGE, 3)), Err(RegionError::Overlap));
        assert_eq!(m.insert(anon(B, 100)), Err(RegionError::Overlap));
        m.insert(anon(B + 8 * PAGE, 1)).unwrap();
        m.insert(anon(B + 3 * PAGE, 1)).unwrap();
        assert_eq!(m.iter().count(), 4);
        assert_eq!(m.bytes_of(RegionKind::Anonymous), 7 * PAGE);
    }

    #[test]
    fn lookup_and_bytes_of() {
        let mut m = RegionMap::new();
        m.insert(region(B, 2, RegionKind::Image)).unwrap();
        m.insert(region(B + 2 * PAGE, 1, RegionKind::Guard))
            .unwrap();
        m.insert(region(B + 3 * PAGE, 4, RegionKind::Stack))
            .unwrap();
        assert_eq!(m.lookup(B - 1), None);
        assert_eq!(m.lookup(B + PAGE + 5).unwrap().kind, RegionKind::Image);
        assert_eq!(m.lookup(B + 2 * PAGE).unwrap().kind, RegionKind::Guard);
        assert_eq!(m.lookup(B + 7 * PAGE - 1).unwrap().kind, RegionKind::Stack);
        assert_eq!(m.lookup(B + 7 * PAGE), None);
        assert_eq!(m.lookup(u64::MAX), None);
        assert_eq!(m.bytes_of(RegionKind::Stack), 4 * PAGE);
        assert_eq!(m.bytes_of(RegionKind::Anonymous), 0);
    }

    #[test]
    fn find_free_gaps() {
        let mut m = RegionMap::new();
        assert_eq!(m.find_free(0, 0), Err(RegionError::Empty));
        assert_eq!(m.find_free(5, 0), Err(RegionError::Misaligned));
        assert_eq!(m.find_free(PAGE, 0), Ok(B));
        assert_eq!(m.find_free(PAGE, B + 1), Ok(B + PAGE));
        m.insert(anon(B, 2)).unwrap();
        m.insert(anon(B + 3 * PAGE, 1)).unwrap();
        assert_eq!(m.find_free(PAGE, 0), Ok(B + 2 * PAGE));
        assert_eq!(m.find_free(2 * PAGE, 0), Ok(B + 4 * PAGE));
        assert_eq!(m.find_free(PAGE, B + PAGE), Ok(B + 2 * PAGE));
        assert_eq!(m.find_free(PAGE, abi::MMAP_BASE), Ok(abi::MMAP_BASE));
        let top = abi::USER_TOP;
        assert_eq!(m.find_free(PAGE, top - PAGE), Ok(top - PAGE));
        assert_eq!(m.find_free(2 * PAGE, top - PAGE), Err(RegionError::NoSpace));
        assert_eq!(m.find_free(PAGE, u64::MAX), Err(RegionError::NoSpace));
        assert_eq!(m.find_free(!(PAGE - 1), 0), Err(RegionError::NoSpace));
        m.insert(anon(top - PAGE, 1)).unwrap();
        assert_eq!(m.find_free(PAGE, top - 2 * PAGE), Ok(top - 2 * PAGE));
        assert_eq!(m.find_free(PAGE, top - PAGE), Err(RegionError::NoSpace));
    }

    #[test]
    fn remove_splits_and_checks_kind() {
        let mut m = RegionMap::new();
        m.insert(anon(B, 4)).unwrap();
        m.insert(anon(B + 4 * PAGE, 2)).unwrap();
        m.insert(region(B + 8 * PAGE, 1, RegionKind::Stack))
            .unwrap();
        // A hole or a non-anonymous page anywhere refuses the whole call.
        assert_eq!(
            m.remove_anonymous(B, 7 * PAGE),
            Err(RegionError::NotAnonymous)
        );
        assert_eq!(
            m.remove_anonymous(B + 8 * PAGE, PAGE),
            Err(RegionError::NotAnonymous)
        );
        assert_eq!(
            m.remove_anonymous(B + 1, PAGE),
            Err(RegionError::Misaligned)
        );
        assert_eq!(m.remove_anonymous(B, 0), Err(RegionError::Empty));
        assert_eq!(
            m.remove_anonymous(B, !(PAGE - 1)),
            Err(RegionError::OutOfRange)
        );
        assert_eq!(m.iter().count(), 3);
        let removed = m.remove_anonymous(B + PAGE, 4 * PAGE).unwrap();
        assert_eq!(removed, vec![anon(B + PAGE, 3), anon(B + 4 * PAGE, 1)]);
        let left: Vec<_> = m.iter().copied().collect();
        assert_eq!(
            left,
            vec![
                anon(B, 1),
                anon(B + 5 * PAGE, 1),
                region(B + 8 * PAGE, 1, RegionKind::Stack)
            ]
        );
    }

    #[test]
    fn errors_map_to_abi() {
        assert_eq!(RegionError::Overlap.to_abi(), abi::Error::AddressInUse);
        assert_eq!(RegionError::NoSpace.to_abi(), abi::Error::NoMemory);
        assert_eq!(RegionError::OutOfRange.to_abi(), abi::Error::BadAddress);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64, u64, bool),
        Remove(u64, u64),
        FindFree(u64, u64),
    }

    /// Page numbers relative to USER_BASE; a few below it to hit OutOfRange.
    fn op() -> impl Strategy<Value = Op> {
        let page = -2i64..40;
        let addr = page.prop_map(|p| (B as i64 + p * PAGE as i64) as u64);
        prop_oneof![
            (addr.clone(), 0u64..8, any::<bool>()).prop_map(|(a, n, k)| Op::Insert(a, n, k)),
            (addr.clone(), 0u64..8).prop_map(|(a, n)| Op::Remove(a, n)),
            (addr, 1u64..8).prop_map(|(a, n)| Op::FindFree(a, n)),
        ]
    }

    proptest! {
        #[test]
        fn matches_a_page_set_model(ops in prop::collection::vec(op(), 0..60)) {
            let mut m = RegionMap::new();
            // Page address -> whether anonymous.
            let mut model: BTreeMap<u64, bool> = BTreeMap::new();
            let pages = |a: u64, n: u64| (0..n).map(move |i| a + i * PAGE);
            for op in ops {
                match op {
                    Op::Insert(a, n, is_anon) => {
                        let kind = if is_anon { RegionKind::Anonymous } else { RegionKind::Image };
                        let r = m.insert(region(a, n, kind));
                        let ok = n > 0 && a >= B && pages(a, n).all(|p| !model.contains_key(&p));
                        prop_assert_eq!(r.is_ok(), ok);
                        if ok {
                            model.extend(pages(a, n).map(|p| (p, is_anon)));
                        }
                    }
                    Op::Remove(a, n) => {
                        let r = m.remove_anonymous(a, n * PAGE);
                        let ok = n > 0 && a >= B && pages(a, n).all(|p| model.get(&p) == Some(&true));
                        prop_assert_eq!(r.is_ok(), ok);
                        if let Ok(removed) = r {
                            let got: u64 = removed.iter().map(|r| r.len).sum();
                            prop_assert_eq!(got, n * PAGE);
                            prop_assert_eq!(removed.first().map(|r| r.start), Some(a));
                            for p in pages(a, n) {
                                model.remove(&p);
                            }
                        }
                    }
                    Op::FindFree(a, n) => {
                        let mut want = a.max(B);
                        while pages(want, n).any(|p| model.contains_key(&p)) {
                            want += PAGE;
                        }
                        prop_assert_eq!(m.find_free(n * PAGE, a), Ok(want));
                    }
                }
                for p in pages(B - 2 * PAGE, 60) {
                    let got = m.lookup(p + 7).map(|r| r.kind == RegionKind::Anonymous);
                    prop_assert_eq!(got, model.get(&p).copied());
                }
                let total: u64 = m.iter().map(|r| r.len).sum();
                prop_assert_eq!(total, model.len() as u64 * PAGE);
                prop_assert!(m.iter().zip(m.iter().skip(1)).all(|(x, y)| x.end() <= y.start));
            }
        }
    }
}
