//! User address spaces: a page table whose upper half is the shared kernel
//! half, plus the region map that says what every user page is.
//!
//! Every user page belongs to exactly one region ([`RegionMap`]), and every
//! frame mapped in the lower half is owned by the address space: tearing it
//! down frees them all. Mappings are W^X: the ELF loader and `MAP` both
//! refuse writable+executable.

use super::{Frames, Hhdm, KERNEL_PT, hw, phys_to_virt};
use abi::Error;
use abi::mem::{PROT_EXEC, PROT_READ, PROT_WRITE};
use alloc::vec::Vec;
use kcore::paging::{FrameSource, MapFlags, PageTable};
use kcore::region::{Region, RegionKind, RegionMap};

const PAGE: u64 = abi::PAGE_SIZE;

/// Default limit on anonymous memory per domain.
pub const DEFAULT_QUOTA: u64 = 96 << 20;

/// A user address space.
pub struct AddressSpace {
    pt: PageTable,
    /// What each user range is.
    pub regions: RegionMap,
    /// Bytes of anonymous memory mapped (counted against `quota`).
    pub anon_bytes: u64,
    /// Bytes of page tables made for this space's lower half.
    pub table_bytes: u64,
    /// Bytes of DMA blocks (`dma::ALLOC`).
    pub dma_bytes: u64,
    /// Limit for `anon_bytes + table_bytes + dma_bytes`.
    pub quota: u64,
}

/// A `MAP` that failed. If it got as far as mapping pages, `frames` holds
/// them: another CPU running the domain may have cached their translations,
/// so they may be freed only after a TLB shootdown of the range at `start`.
pub struct MapFailure {
    /// What to return to the caller.
    pub error: Error,
    /// Frames to free after the shootdown.
    pub frames: Vec<u64>,
    /// Start of the range they were mapped at.
    pub start: u64,
}

impl From<Error> for MapFailure {
    fn from(error: Error) -> MapFailure {
        MapFailure {
            error,
            frames: Vec::new(),
            start: 0,
        }
    }
}

/// Allocates page-table frames and counts them.
struct CountingFrames<'a>(&'a mut u64);

impl FrameSource for CountingFrames<'_> {
    fn alloc_frame(&mut self) -> Option<u64> {
        let pa = super::alloc_frame()?;
        *self.0 += PAGE;
        Some(pa)
    }
    fn free_frame(&mut self, pa: u64) {
        *self.0 = self.0.saturating_sub(PAGE);
        super::free_frame(pa);
    }
}

fn prot_flags(prot: u64) -> MapFlags {
    let mut f = MapFlags::USER;
    if prot & PROT_WRITE != 0 {
        f = f | MapFlags::WRITABLE;
    }
    if prot & PROT_EXEC != 0 {
        f = f | MapFlags::EXECUTABLE;
    }
    hw(f)
}

/// Why an image could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The ELF file was rejected.
    Elf(kcore::elf::ElfError),
    /// Mapping failed.
    Map(Error),
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoadError::Elf(e) => write!(f, "invalid ELF image: {e:?}"),
            LoadError::Map(e) => write!(f, "cannot map it: {e}"),
        }
    }
}

impl AddressSpace {
    /// An empty address space sharing the kernel half.
    pub fn new() -> Option<AddressSpace> {
        let mut pt = PageTable::new(&Hhdm, &mut Frames).ok()?;
        // SAFETY: `pt` is a fresh table; the kernel table's upper half is
        // complete and never changes at PML4 level.
        unsafe { pt.share_kernel_half(&Hhdm, &KERNEL_PT.lock()) };
        Some(AddressSpace {
            pt,
            regions: RegionMap::new(),
            anon_bytes: 0,
            dma_bytes: 0,
            table_bytes: 0,
            quota: DEFAULT_QUOTA,
        })
    }

    /// What counts against the quota.
    pub fn charged(&self) -> u64 {
        self.anon_bytes
            .saturating_add(self.table_bytes)
            .saturating_add(self.dma_bytes)
    }

    /// Physical address of the PML4.
    pub fn root(&self) -> u64 {
        self.pt.root()
    }

    /// Maps `pages` fresh zeroed frames at `va`. On failure it removes what
    /// it mapped and returns those frames: the caller frees them, after a TLB
    /// shootdown if other threads of the domain may run. Page-table frames
    /// it needs are counted in `table_bytes`.
    fn map_fresh(&mut self, va: u64, pages: u64, flags: MapFlags) -> Result<(), (Error, Vec<u64>)> {
        let mut tables = CountingFrames(&mut self.table_bytes);
        for i in 0..pages {
            let res = match super::alloc_frame() {
                None => Err(Error::NoMemory),
                Some(pa) => {
                    // SAFETY: this address space's own table; `va` lies in a
                    // region just reserved for it, so nothing else maps there.
                    unsafe { self.pt.map(&Hhdm, &mut tables, va + i * PAGE, pa, flags) }.map_err(
                        |_| {
                            super::free_frame(pa);
                            Error::NoMemory
                        },
                    )
                }
            };
            if let Err(e) = res {
                return Err((e, self.unmap_pages(va, i)));
            }
        }
        Ok(())
    }

    /// Removes the mappings of `pages` pages from `va` that this address
    /// space just made (undoing a partial map) and returns their frames.
    fn unmap_pages(&mut self, va: u64, pages: u64) -> Vec<u64> {
        let mut frames = Vec::new();
        for j in 0..pages {
            // SAFETY: this address space's own table; the caller mapped
            // these pages itself a moment ago.
            if let Ok(pa) = unsafe { self.pt.unmap(&Hhdm, va + j * PAGE) } {
                frames.push(pa);
            }
        }
        frames
    }

    /// Checks the quota for `len` more bytes and records an anonymous
    /// region of them with `prot`, at `addr` or (when `addr` is 0) at a
    /// free address in the mmap area. Returns its start.
    fn reserve_anonymous(&mut self, addr: u64, len: u64, prot: u64) -> Result<u64, Error> {
        if self.charged().saturating_add(len) > self.quota {
            return Err(Error::QuotaExceeded);
        }
        let start = if addr == 0 {
            self.regions
                .find_free(len, abi::MMAP_BASE)
                .map_err(|e| e.to_abi())?
        } else {
            addr
        };
        let region = Region {
            start,
            len,
            kind: RegionKind::Anonymous,
            prot: prot as u8,
        };
        self.regions.insert(region).map_err(|e| e.to_abi())?;
        Ok(start)
    }

    /// [`Self::map_fresh`] for a domain none of whose threads runs yet: no
    /// TLB can hold the pages, so failed frames are freed at once.
    fn map_fresh_unstarted(&mut self, va: u64, pages: u64, flags: MapFlags) -> Result<(), Error> {
        self.map_fresh(va, pages, flags).map_err(|(e, frames)| {
            frames.into_iter().for_each(super::free_frame);
            e
        })
    }

    /// Loads a static ELF program; returns its entry point.
    pub fn load_image(&mut self, elf: &[u8]) -> Result<u64, LoadError> {
        let plan = kcore::elf::plan(elf, abi::USER_BASE..abi::USER_TOP).map_err(LoadError::Elf)?;
        for seg in &plan.segments {
            let start = seg.vaddr & !(PAGE - 1);
            let end = (seg.vaddr + seg.mem_size).div_ceil(PAGE) * PAGE;
            let prot = PROT_READ
                | if seg.writable { PROT_WRITE } else { 0 }
                | if seg.executable { PROT_EXEC } else { 0 };
            let region = Region {
                start,
                len: end - start,
                kind: RegionKind::Image,
                prot: prot as u8,
            };
            self.regions
                .insert(region)
                .map_err(|e| LoadError::Map(e.to_abi()))?;
            self.map_fresh_unstarted(start, (end - start) / PAGE, prot_flags(prot))
                .map_err(LoadError::Map)?;
            // Copy file bytes page by page through the direct map.
            let data = &elf[seg.file_offset as usize..(seg.file_offset + seg.file_size) as usize];
            let mut done = 0u64;
            while done < seg.file_size {
                let va = seg.vaddr + done;
                let in_page = (PAGE - (va % PAGE)).min(seg.file_size - done);
                // SAFETY: the page was mapped just above.
                let (pa, _) = unsafe { self.pt.translate(&Hhdm, va) }
                    .ok_or(LoadError::Map(Error::NoMemory))?;
                // SAFETY: `pa` is a frame owned by this address space and not
                // yet visible to any thread; the copy stays inside its page.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        data.as_ptr().add(done as usize),
                        phys_to_virt(pa) as *mut u8,
                        in_page as usize,
                    )
                };
                done += in_page;
            }
        }
        Ok(plan.entry)
    }

    /// Maps the main thread's stack below [`abi::USER_STACK_TOP`] with a
    /// guard page under it.
    pub fn map_main_stack(&mut self) -> Result<u64, Error> {
        let top = abi::USER_STACK_TOP;
        let base = top - abi::USER_STACK_SIZE;
        let rw = (PROT_READ | PROT_WRITE) as u8;
        self.regions
            .insert(Region {
                start: base - PAGE,
                len: PAGE,
                kind: RegionKind::Guard,
                prot: 0,
            })
            .map_err(|e| e.to_abi())?;
        self.regions
            .insert(Region {
                start: base,
                len: abi::USER_STACK_SIZE,
                kind: RegionKind::Stack,
                prot: rw,
            })
            .map_err(|e| e.to_abi())?;
        self.map_fresh_unstarted(
            base,
            abi::USER_STACK_SIZE / PAGE,
            prot_flags(PROT_READ | PROT_WRITE),
        )?;
        Ok(top)
    }

    /// `mem::MAP`: validates exactly as the ABI documents, then maps zeroed
    /// anonymous memory. The quota covers the memory and the page tables
    /// the domain has caused to exist.
    pub fn map_anon(&mut self, addr: u64, len: u64, prot: u64) -> Result<u64, MapFailure> {
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0 {
            return Err(Error::InvalidArgument.into());
        }
        if prot & PROT_WRITE != 0 && prot & PROT_EXEC != 0 {
            return Err(Error::InvalidArgument.into());
        }
        if len == 0 {
            return Err(Error::InvalidArgument.into());
        }
        if !addr.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) {
            return Err(Error::Misaligned.into());
        }
        if addr != 0 {
            let end = addr.checked_add(len).ok_or(Error::BadAddress)?;
            if addr < abi::USER_BASE || end > abi::USER_TOP {
                return Err(Error::BadAddress.into());
            }
        }
        let start = self.reserve_anonymous(addr, len, prot)?;
        if let Err((error, frames)) = self.map_fresh(start, len / PAGE, prot_flags(prot)) {
            let _ = self.regions.remove_anonymous(start, len);
            return Err(MapFailure {
                error,
                frames,
                start,
            });
        }
        self.anon_bytes += len;
        Ok(start)
    }

    /// Maps `frames` (each with an owner reference the caller hands over) at
    /// a free address in the mmap area with `prot` (never executable), as an
    /// anonymous region charged to the quota like `MAP`. Returns the
    /// address. On failure the caller keeps the references; if some pages
    /// were mapped for a moment, the failure names their range, which the
    /// caller must shoot down before it lets the frames go.
    pub fn map_shared(
        &mut self,
        frames: &[u64],
        prot: u64,
    ) -> Result<u64, (Error, Option<(u64, u64)>)> {
        if prot & PROT_EXEC != 0 || prot & PROT_READ == 0 || frames.is_empty() {
            return Err((Error::InvalidArgument, None));
        }
        let len = frames.len() as u64 * PAGE;
        let start = self
            .reserve_anonymous(0, len, prot)
            .map_err(|e| (e, None))?;
        let flags = prot_flags(prot);
        let mut tables = CountingFrames(&mut self.table_bytes);
        for (i, &pa) in frames.iter().enumerate() {
            let va = start + i as u64 * PAGE;
            // SAFETY: this address space's own table; `va` lies in the
            // region just reserved, so nothing else maps there.
            if unsafe { self.pt.map(&Hhdm, &mut tables, va, pa, flags) }.is_err() {
                // The frames stay the caller's: only the mappings go.
                self.unmap_pages(start, i as u64);
                let _ = self.regions.remove_anonymous(start, len);
                return Err((Error::NoMemory, Some((start, i as u64))));
            }
        }
        self.anon_bytes += len;
        Ok(start)
    }

    /// The frames behind `[addr, addr + len)`, which must be anonymous
    /// memory mapped by `MAP` (and writable if `write`), each with a new
    /// owner reference for the caller (see `mm::share_frame`).
    pub fn share_range(&self, addr: u64, len: u64, write: bool) -> Result<Vec<u64>, Error> {
        if len == 0 {
            return Err(Error::InvalidArgument);
        }
        if !addr.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) {
            return Err(Error::Misaligned);
        }
        let end = addr.checked_add(len).ok_or(Error::BadAddress)?;
        if addr < abi::USER_BASE || end > abi::USER_TOP {
            return Err(Error::BadAddress);
        }
        let mut frames = Vec::new();
        frames
            .try_reserve_exact((len / PAGE) as usize)
            .map_err(|_| Error::NoMemory)?;
        let mut va = addr;
        while va < end {
            let anon = self
                .regions
                .lookup(va)
                .is_some_and(|r| r.kind == RegionKind::Anonymous);
            let pa = self.translate_user(va, write).filter(|_| anon);
            frames.push(pa.ok_or(Error::BadAddress)?);
            va += PAGE;
        }
        for (i, &pa) in frames.iter().enumerate() {
            if let Err(e) = super::share_frame(pa) {
                for &done in &frames[..i] {
                    super::release_user_frame(done);
                }
                return Err(e);
            }
        }
        Ok(frames)
    }

    /// `mem::UNMAP`: removes anonymous mappings and returns their frames,
    /// which the caller frees after the TLB shootdown.
    pub fn unmap_anon(&mut self, addr: u64, len: u64) -> Result<Vec<u64>, Error> {
        if addr >= abi::USER_TOP {
            return Err(Error::BadAddress);
        }
        if !addr.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) {
            return Err(Error::Misaligned);
        }
        if len == 0 {
            return Err(Error::InvalidArgument);
        }
        let end = addr.checked_add(len).ok_or(Error::BadAddress)?;
        if end > abi::USER_TOP {
            return Err(Error::BadAddress);
        }
        let removed = self
            .regions
            .remove_anonymous(addr, len)
            .map_err(|e| e.to_abi())?;
        let mut frames = Vec::new();
        for r in removed {
            let mut va = r.start;
            while va < r.start + r.len {
                // SAFETY: this address space's own table; the range was an
                // anonymous region, so every page in it is mapped by us.
                if let Ok(pa) = unsafe { self.pt.unmap(&Hhdm, va) } {
                    frames.push(pa);
                }
                va += PAGE;
            }
        }
        self.anon_bytes = self.anon_bytes.saturating_sub(len);
        Ok(frames)
    }

    /// Physical address behind user address `va`, if mapped user-accessible
    /// (and writable when `write`).
    pub fn translate_user(&self, va: u64, write: bool) -> Option<u64> {
        if va >= abi::USER_TOP {
            return None;
        }
        // SAFETY: this address space's own table.
        let (pa, flags) = unsafe { self.pt.translate(&Hhdm, va) }?;
        if !flags.contains(MapFlags::USER) || (write && !flags.contains(MapFlags::WRITABLE)) {
            return None;
        }
        Some(pa)
    }

    /// Whether `va` lies in an executable user mapping.
    pub fn is_executable(&self, va: u64) -> bool {
        self.regions
            .lookup(va)
            .is_some_and(|r| r.prot as u64 & PROT_EXEC != 0)
    }

    /// Calls `f(kernel pointer, offset, length)` for each piece of
    /// `[va, va + len)` that lies within one page, after checking that the
    /// whole range is user memory mapped readable (and writable if
    /// `write`), so a failure copies nothing.
    fn for_each_user_chunk(
        &self,
        va: u64,
        len: u64,
        write: bool,
        mut f: impl FnMut(*mut u8, usize, usize),
    ) -> Result<(), Error> {
        let end = va.checked_add(len).ok_or(Error::BadAddress)?;
        if end > abi::USER_TOP {
            return Err(Error::BadAddress);
        }
        if len == 0 {
            return Ok(());
        }
        let mut at = va & !(PAGE - 1);
        while at < end {
            self.translate_user(at, write).ok_or(Error::BadAddress)?;
            at += PAGE;
        }
        let mut done = 0u64;
        while done < len {
            let cur = va + done;
            let chunk = (PAGE - cur % PAGE).min(len - done);
            let pa = self.translate_user(cur, write).ok_or(Error::BadAddress)?;
            f(phys_to_virt(pa) as *mut u8, done as usize, chunk as usize);
            done += chunk;
        }
        Ok(())
    }

    /// Copies `buf.len()` bytes from user address `va`.
    pub fn copy_from_user(&self, va: u64, buf: &mut [u8]) -> Result<(), Error> {
        let dst = buf.as_mut_ptr();
        self.for_each_user_chunk(va, buf.len() as u64, false, |src, off, n| {
            // SAFETY: `src` is `n` bytes of a user frame of this address
            // space, which the caller keeps locked so it cannot be freed
            // during the copy; `off + n` is within `buf`.
            unsafe { core::ptr::copy_nonoverlapping(src, dst.add(off), n) }
        })
    }

    /// Copies `buf` to user address `va`, which must be mapped writable.
    pub fn copy_to_user(&self, va: u64, buf: &[u8]) -> Result<(), Error> {
        let src = buf.as_ptr();
        self.for_each_user_chunk(va, buf.len() as u64, true, |dst, off, n| {
            // SAFETY: `dst` is `n` bytes of a writable user frame of this
            // address space, locked by the caller; `off + n` is within
            // `buf`.
            unsafe { core::ptr::copy_nonoverlapping(src.add(off), dst, n) }
        })
    }

    /// Frees every user frame, every lower-half table and the root.
    pub fn destroy(&mut self) {
        let mut frames = Vec::new();
        // SAFETY: no CPU runs this address space any more (its last thread
        // has been switched away from), and every lower-half frame is ours.
        // Uncached leaves are device memory (`map_device` makes the only
        // uncached user mappings): not RAM, and not ours to free.
        unsafe {
            self.pt.clear_user_half(&Hhdm, &mut Frames, |_, pa, flags| {
                if !flags.contains(MapFlags::UNCACHED) {
                    frames.push(pa)
                }
            })
        };
        for pa in frames {
            super::release_user_frame(pa);
        }
        super::free_frame(self.pt.root());
        self.regions = RegionMap::new();
        self.anon_bytes = 0;
        self.table_bytes = 0;
        self.dma_bytes = 0;
    }

    /// Records a region of `kind` with `len` bytes at a free address in the
    /// mmap area and maps `pa_of(i)` at its page `i` with `flags`. On
    /// failure nothing stays mapped or recorded; the error names the pages
    /// that were mapped for a moment (start, count), which the caller must
    /// shoot down before it reuses what they pointed at.
    fn map_region(
        &mut self,
        len: u64,
        kind: RegionKind,
        flags: MapFlags,
        pa_of: impl Fn(u64) -> u64,
    ) -> Result<u64, (Error, Option<(u64, u64)>)> {
        let start = self
            .regions
            .find_free(len, abi::MMAP_BASE)
            .map_err(|e| (e.to_abi(), None))?;
        let region = Region {
            start,
            len,
            kind,
            prot: (PROT_READ | PROT_WRITE) as u8,
        };
        self.regions
            .insert(region)
            .map_err(|e| (e.to_abi(), None))?;
        let mut tables = CountingFrames(&mut self.table_bytes);
        for i in 0..len / PAGE {
            let va = start + i * PAGE;
            // SAFETY: this address space's own table; `va` lies in the
            // region just recorded, so nothing else maps there.
            if unsafe { self.pt.map(&Hhdm, &mut tables, va, pa_of(i), flags) }.is_err() {
                self.unmap_pages(start, i);
                let _ = self.regions.remove_exact(start, kind);
                return Err((Error::NoMemory, Some((start, i))));
            }
        }
        Ok(start)
    }

    /// `mmio::MAP`: maps device memory `[pa, pa + len)` (page-aligned; the
    /// caller checked that it lies inside a BAR of a device assigned to
    /// this domain) uncached, read-write, never executable, at a free
    /// address in the mmap area. It is not RAM and not charged to the
    /// quota; the page tables it needs are.
    pub fn map_device(&mut self, pa: u64, len: u64) -> Result<u64, (Error, Option<(u64, u64)>)> {
        if len == 0 || !pa.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) {
            return Err((Error::Misaligned, None));
        }
        let flags = MapFlags::USER | MapFlags::WRITABLE | MapFlags::UNCACHED;
        self.map_region(len, RegionKind::Device, flags, |i| pa + i * PAGE)
    }

    /// `dma::ALLOC`, second half: maps the block of `pages` contiguous
    /// zeroed frames at `pa` (the caller allocated it with
    /// `mm::alloc_contiguous` after [`Self::dma_fits`]) read-write at a free
    /// address and charges it to the quota. On failure the block stays the
    /// caller's, to free after the shootdown the error may ask for.
    pub fn map_dma(&mut self, pa: u64, pages: u64) -> Result<u64, (Error, Option<(u64, u64)>)> {
        let len = pages * PAGE;
        let flags = MapFlags::USER | MapFlags::WRITABLE;
        let va = self.map_region(len, RegionKind::Dma, flags, |i| pa + i * PAGE)?;
        self.dma_bytes += len;
        Ok(va)
    }

    /// `dma::ALLOC`, first half: checks the size and the quota for a block
    /// of `pages` pages.
    pub fn dma_fits(&self, pages: u64) -> Result<(), Error> {
        if pages == 0 || pages > abi::dma::MAX_PAGES {
            return Err(Error::InvalidArgument);
        }
        if self.charged().saturating_add(pages * PAGE) > self.quota {
            return Err(Error::QuotaExceeded);
        }
        Ok(())
    }

    /// `dma::FREE`: removes the DMA block that starts at `addr` and returns
    /// (physical address, pages), which the caller frees after a TLB
    /// shootdown.
    pub fn unmap_dma(&mut self, addr: u64) -> Result<(u64, u64), Error> {
        let pa = self.translate_user(addr, false).ok_or(Error::BadAddress)?;
        let r = self
            .regions
            .remove_exact(addr, RegionKind::Dma)
            .ok_or(Error::BadAddress)?;
        let pages = r.len / PAGE;
        self.unmap_pages(addr, pages);
        self.dma_bytes = self.dma_bytes.saturating_sub(r.len);
        Ok((pa, pages))
    }
}
