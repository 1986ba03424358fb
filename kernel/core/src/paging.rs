//! x86_64 4-level page tables, built and walked through a physical-memory window.
//!
//! [`PageTable`] owns the tables below one PML4 (its root). It reaches table
//! frames only through a [`PhysMem`] (the kernel's direct map, or simulated
//! RAM in host tests) and gets new table frames from a [`FrameSource`], so the
//! same code runs in the kernel and under `cargo test`.
//!
//! Invariants this module keeps:
//!
//! - every table frame it allocates is zeroed before it is linked in;
//! - intermediate entries are `P|RW` (plus `US` once any user leaf lies below)
//!   and never `NX`, so a leaf's own bits decide its effective access: when a
//!   leaf is mapped, the intermediates above it are widened (`US`, `RW`, `NX`
//!   cleared) as needed, never narrowed;
//! - the lower half (PML4 entries 0..256) belongs to this table alone and is
//!   torn down by [`PageTable::clear_user_half`]; the upper half is shared with
//!   the kernel's table and never freed here.
//!
//! TLB maintenance is the caller's job: nothing here flushes.

use core::ops::BitOr;

/// The hardware page-table entry bits this module uses.
mod bits {
    pub const PRESENT: u64 = 1 << 0;
    pub const WRITABLE: u64 = 1 << 1;
    pub const USER: u64 = 1 << 2;
    pub const WRITE_THROUGH: u64 = 1 << 3;
    pub const CACHE_DISABLE: u64 = 1 << 4;
    pub const HUGE: u64 = 1 << 7;
    pub const GLOBAL: u64 = 1 << 8;
    pub const NO_EXECUTE: u64 = 1 << 63;
    pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
}
use bits::*;

/// Entries per table.
const ENTRIES: usize = 512;
/// Size of a 4 KiB page.
const PAGE_4K: u64 = 4096;
/// Size of a 2 MiB page.
const PAGE_2M: u64 = 2 << 20;
/// First PML4 entry of the kernel (upper) half.
const KERNEL_HALF: usize = 256;

/// Access to physical memory by frame.
pub trait PhysMem {
    /// Pointer to the start of the 4 KiB frame at physical address `pa` (page aligned).
    ///
    /// The pointer must be valid for reads and writes of 4096 bytes and at
    /// least 8-byte aligned for every frame a page table built through this
    /// window refers to, including frames handed out by the [`FrameSource`]
    /// used with it.
    fn frame_ptr(&self, pa: u64) -> *mut u8;
}

/// Where new page-table frames come from and where freed ones go.
pub trait FrameSource {
    /// A free 4 KiB-aligned physical frame below 2^52, or `None` when out of
    /// memory. Its contents do not matter: the builder zeroes table frames.
    fn alloc_frame(&mut self) -> Option<u64>;
    /// Takes back a frame earlier returned by `alloc_frame`.
    fn free_frame(&mut self, pa: u64);
}

/// Access a mapping grants. Reading is implied by being mapped at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MapFlags(u8);

impl MapFlags {
    /// Writes allowed.
    pub const WRITABLE: MapFlags = MapFlags(1 << 0);
    /// Reachable from ring 3.
    pub const USER: MapFlags = MapFlags(1 << 1);
    /// Instruction fetch allowed (no `NX`).
    pub const EXECUTABLE: MapFlags = MapFlags(1 << 2);
    /// Caching disabled (`PCD|PWT`), for device memory.
    pub const UNCACHED: MapFlags = MapFlags(1 << 3);
    /// Survives CR3 reloads (kernel mappings only).
    pub const GLOBAL: MapFlags = MapFlags(1 << 4);

    /// No access beyond kernel read.
    pub const fn empty() -> Self {
        MapFlags(0)
    }
    /// Both sets of flags.
    pub const fn union(self, o: Self) -> Self {
        MapFlags(self.0 | o.0)
    }
    /// Whether every flag in `o` is set.
    pub const fn contains(self, o: Self) -> bool {
        self.0 & o.0 == o.0
    }
    /// The raw flag bits.
    pub const fn bits(self) -> u8 {
        self.0
    }
}

impl BitOr for MapFlags {
    type Output = MapFlags;
    fn bitor(self, o: MapFlags) -> MapFlags {
        self.union(o)
    }
}

/// Why a page-table operation failed.
#[derive(Debug, PartialEq, Eq)]
pub enum MapError {
    /// An address is not aligned to the page size of the operation.
    Misaligned,
    /// The virtual address is not canonical, or the physical address does
    /// not fit in 52 bits.
    NonCanonical,
    /// Something is already mapped there.
    AlreadyMapped,
    /// Nothing is mapped there.
    NotMapped,
    /// The frame source ran dry while allocating a table.
    OutOfFrames,
    /// The operation hits a 2 MiB (or 1 GiB) page.
    HugePage,
}

/// The page tables below one PML4.
pub struct PageTable {
    root: u64,
}

impl PageTable {
    /// Allocates and zeroes a PML4.
    pub fn new(mem: &impl PhysMem, fs: &mut impl FrameSource) -> Result<Self, MapError> {
        let root = fs.alloc_frame().ok_or(MapError::OutOfFrames)?;
        // SAFETY: `root` was just handed out by `fs`, so nothing else uses
        // it, and `PhysMem`'s contract makes its 4 KiB writable through `mem`.
        unsafe { zero_frame(mem, root) };
        Ok(PageTable { root })
    }

    /// Wraps an existing PML4 (for example the one the kernel booted on).
    pub const fn from_root(root: u64) -> Self {
        PageTable { root }
    }

    /// Physical address of the PML4, the value for CR3.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Copies PML4 entries 256..512 (the shared kernel half) from `kernel`.
    ///
    /// # Safety
    ///
    /// `mem` must reach both roots, and no other CPU may be changing either
    /// root concurrently.
    pub unsafe fn share_kernel_half(&mut self, mem: &impl PhysMem, kernel: &PageTable) {
        for idx in KERNEL_HALF..ENTRIES {
            // SAFETY: both roots are table frames reachable through `mem`
            // (caller's contract) and `idx < 512`.
            unsafe {
                let e = read_entry(mem, kernel.root, idx);
                write_entry(mem, self.root, idx, e);
            }
        }
    }

    /// Maps the 4 KiB page at `va` to the frame at `pa`.
    ///
    /// Tables created on the way stay in place if a later step fails; they
    /// are empty and [`PageTable::clear_user_half`] reclaims them.
    ///
    /// # Safety
    ///
    /// `mem` must give access to every frame this table refers to, the tables
    /// must be ones this type built (or the kernel's own), and nothing may
    /// change them concurrently.
    pub unsafe fn map(
        &mut self,
        mem: &impl PhysMem,
        fs: &mut impl FrameSource,
        va: u64,
        pa: u64,
        flags: MapFlags,
    ) -> Result<(), MapError> {
        // SAFETY: forwarded from this function's contract.
        unsafe { self.map_leaf(mem, fs, va, pa, flags, 1) }
    }

    /// Maps the 2 MiB page at `va` to the 2 MiB-aligned frames at `pa`.
    ///
    /// # Safety
    ///
    /// As for [`PageTable::map`].
    pub unsafe fn map_2m(
        &mut self,
        mem: &impl PhysMem,
        fs: &mut impl FrameSource,
        va: u64,
        pa: u64,
        flags: MapFlags,
    ) -> Result<(), MapError> {
        // SAFETY: forwarded from this function's contract.
        unsafe { self.map_leaf(mem, fs, va, pa, flags, 2) }
    }

    /// Maps a leaf at `level` (1: 4 KiB page, 2: 2 MiB page).
    ///
    /// # Safety
    ///
    /// As for [`PageTable::map`].
    unsafe fn map_leaf(
        &mut self,
        mem: &impl PhysMem,
        fs: &mut impl FrameSource,
        va: u64,
        pa: u64,
        flags: MapFlags,
        level: u32,
    ) -> Result<(), MapError> {
        let (size, huge) = if level == 2 {
            (PAGE_2M, HUGE)
        } else {
            (PAGE_4K, 0)
        };
        check_addrs(va, pa, size)?;
        // SAFETY: forwarded from this function's contract.
        let table = unsafe { self.walk_create(mem, fs, va, level, flags)? };
        let idx = index(va, level);
        // SAFETY: `table` is a table at `level` reachable through `mem`;
        // idx < 512.
        unsafe {
            // A present entry counts as mapped, also a page table below a
            // 2 MiB slot (even an empty one): its frame would leak if
            // overwritten.
            if read_entry(mem, table, idx) & PRESENT != 0 {
                return Err(MapError::AlreadyMapped);
            }
            write_entry(mem, table, idx, pa | leaf_bits(flags) | huge);
        }
        Ok(())
    }

    /// Unmaps the 4 KiB page at `va` and returns the frame it mapped.
    /// Tables that become empty are kept.
    ///
    /// # Safety
    ///
    /// As for [`PageTable::map`].
    pub unsafe fn unmap(&mut self, mem: &impl PhysMem, va: u64) -> Result<u64, MapError> {
        if !va.is_multiple_of(PAGE_4K) {
            return Err(MapError::Misaligned);
        }
        if !is_canonical(va) {
            return Err(MapError::NonCanonical);
        }
        let mut table = self.root;
        for level in (1..=4).rev() {
            let idx = index(va, level);
            // SAFETY: `table` is a page table reachable through `mem`
            // (caller's contract); idx < 512.
            let e = unsafe { read_entry(mem, table, idx) };
            if e & PRESENT == 0 {
                return Err(MapError::NotMapped);
            }
            if level == 1 {
                // SAFETY: as above.
                unsafe { write_entry(mem, table, idx, 0) };
                return Ok(e & ADDR_MASK);
            }
            if e & HUGE != 0 && level <= 3 {
                return Err(MapError::HugePage);
            }
            table = e & ADDR_MASK;
        }
        Err(MapError::NotMapped)
    }

    /// The physical address `va` maps to (offset inside the page included)
    /// and the effective access through every level.
    ///
    /// # Safety
    ///
    /// As for [`PageTable::map`].
    pub unsafe fn translate(&self, mem: &impl PhysMem, va: u64) -> Option<(u64, MapFlags)> {
        if !is_canonical(va) {
            return None;
        }
        let mut access = Access::ROOT;
        let mut table = self.root;
        for level in (1..=4).rev() {
            // SAFETY: `table` is a page table reachable through `mem`
            // (caller's contract); index() < 512.
            let e = unsafe { read_entry(mem, table, index(va, level)) };
            if e & PRESENT == 0 {
                return None;
            }
            access = access.through(e);
            let huge = e & HUGE != 0 && level <= 3;
            if level == 1 || huge {
                let size = level_size(level);
                let base = e & ADDR_MASK & !(size - 1);
                return Some((base | (va & (size - 1)), access.flags(e)));
            }
            table = e & ADDR_MASK;
        }
        None
    }

    /// Calls `f(va, pa, flags)` for every 4 KiB leaf in the lower half (PML4 0..256), removes them, and frees all lower-half intermediate tables through `fs`. The root stays.
    ///
    /// A 2 MiB or 1 GiB leaf in the lower half is reported as its 4 KiB
    /// pieces. `flags` are the effective flags, as [`PageTable::translate`]
    /// gives them.
    ///
    /// # Safety
    ///
    /// As for [`PageTable::map`]; in addition the lower-half tables must have
    /// been allocated from `fs` (so they may be given back to it) and the
    /// table must not be loaded on any CPU whose TLB may still use them.
    pub unsafe fn clear_user_half(
        &mut self,
        mem: &impl PhysMem,
        fs: &mut impl FrameSource,
        mut f: impl FnMut(u64, u64, MapFlags),
    ) {
        // SAFETY: forwarded from this function's contract.
        unsafe { clear_table(mem, fs, self.root, 4, 0, KERNEL_HALF, Access::ROOT, &mut f) };
    }

    /// Walks from the root down to the table at `leaf_level` (1 = page
    /// table, 2 = page directory) that holds `va`'s leaf, creating missing
    /// tables and widening existing intermediates for `flags`.
    ///
    /// # Safety
    ///
    /// As for [`PageTable::map`].
    unsafe fn walk_create(
        &mut self,
        mem: &impl PhysMem,
        fs: &mut impl FrameSource,
        va: u64,
        leaf_level: u32,
        flags: MapFlags,
    ) -> Result<u64, MapError> {
        let mut table = self.root;
        for level in ((leaf_level + 1)..=4).rev() {
            let idx = index(va, level);
            // SAFETY: `table` is a page table reachable through `mem`; idx < 512.
            let e = unsafe { read_entry(mem, table, idx) };
            let next = if e & PRESENT == 0 {
                let frame = fs.alloc_frame().ok_or(MapError::OutOfFrames)?;
                // SAFETY: fresh frame from `fs`, reachable through `mem`.
                unsafe { zero_frame(mem, frame) };
                let mut new = frame | PRESENT | WRITABLE;
                if flags.contains(MapFlags::USER) {
                    new |= USER;
                }
                // SAFETY: as above.
                unsafe { write_entry(mem, table, idx, new) };
                frame
            } else if e & HUGE != 0 && level <= 3 {
                return Err(MapError::HugePage);
            } else {
                let widened = widen(e, flags);
                if widened != e {
                    // SAFETY: as above.
                    unsafe { write_entry(mem, table, idx, widened) };
                }
                e & ADDR_MASK
            };
            table = next;
        }
        Ok(table)
    }
}

/// Effective access accumulated while walking down the levels.
#[derive(Clone, Copy)]
struct Access {
    user: bool,
    writable: bool,
    no_execute: bool,
}

impl Access {
    /// Nothing walked yet.
    const ROOT: Access = Access {
        user: true,
        writable: true,
        no_execute: false,
    };

    /// The access left after passing through entry `e`.
    fn through(self, e: u64) -> Access {
        Access {
            user: self.user && e & USER != 0,
            writable: self.writable && e & WRITABLE != 0,
            no_execute: self.no_execute || e & NO_EXECUTE != 0,
        }
    }

    /// Flags of a leaf `leaf` reached with this access (already passed through it).
    fn flags(self, leaf: u64) -> MapFlags {
        let mut f = MapFlags::empty();
        if self.writable {
            f = f | MapFlags::WRITABLE;
        }
        if self.user {
            f = f | MapFlags::USER;
        }
        if !self.no_execute {
            f = f | MapFlags::EXECUTABLE;
        }
        if leaf & CACHE_DISABLE != 0 {
            f = f | MapFlags::UNCACHED;
        }
        if leaf & GLOBAL != 0 {
            f = f | MapFlags::GLOBAL;
        }
        f
    }
}

/// Removes every entry `first..last` of `table` (at `level`, covering
/// virtual addresses from `va_base`), reporting 4 KiB leaves to `f` and
/// freeing child tables.
///
/// # Safety
///
/// As for [`PageTable::clear_user_half`].
#[allow(clippy::too_many_arguments)]
unsafe fn clear_table(
    mem: &impl PhysMem,
    fs: &mut impl FrameSource,
    table: u64,
    level: u32,
    va_base: u64,
    last: usize,
    access: Access,
    f: &mut impl FnMut(u64, u64, MapFlags),
) {
    for idx in 0..last {
        // SAFETY: `table` is a page table reachable through `mem`; idx < 512.
        let e = unsafe { read_entry(mem, table, idx) };
        if e & PRESENT == 0 {
            continue;
        }
        let va = va_base | ((idx as u64) << level_shift(level));
        let here = access.through(e);
        if level == 1 || (e & HUGE != 0 && level <= 3) {
            let size = level_size(level);
            let base = e & ADDR_MASK & !(size - 1);
            let flags = here.flags(e);
            for off in (0..size).step_by(PAGE_4K as usize) {
                f(va + off, base + off, flags);
            }
        } else {
            let child = e & ADDR_MASK;
            // SAFETY: `child` is a lower-half table this type built (contract).
            unsafe { clear_table(mem, fs, child, level - 1, va, ENTRIES, here, f) };
            fs.free_frame(child);
        }
        // SAFETY: as above.
        unsafe { write_entry(mem, table, idx, 0) };
    }
}

/// Checks alignment of both addresses to `size`, `va` canonical and `pa` < 2^52.
fn check_addrs(va: u64, pa: u64, size: u64) -> Result<(), MapError> {
    if !va.is_multiple_of(size) || !pa.is_multiple_of(size) {
        return Err(MapError::Misaligned);
    }
    if !is_canonical(va) || pa & !ADDR_MASK != 0 {
        return Err(MapError::NonCanonical);
    }
    Ok(())
}

/// Bits 48..64 must all equal bit 47.
fn is_canonical(va: u64) -> bool {
    let top = (va as i64) >> 47;
    top == 0 || top == -1
}

/// Hardware bits of a leaf with `flags` (without the address or `HUGE`).
fn leaf_bits(flags: MapFlags) -> u64 {
    let mut e = PRESENT;
    if flags.contains(MapFlags::WRITABLE) {
        e |= WRITABLE;
    }
    if flags.contains(MapFlags::USER) {
        e |= USER;
    }
    if !flags.contains(MapFlags::EXECUTABLE) {
        e |= NO_EXECUTE;
    }
    if flags.contains(MapFlags::UNCACHED) {
        e |= CACHE_DISABLE | WRITE_THROUGH;
    }
    if flags.contains(MapFlags::GLOBAL) {
        e |= GLOBAL;
    }
    e
}

/// Intermediate entry `e` widened so a leaf with `flags` below it gets its
/// full access.
fn widen(e: u64, flags: MapFlags) -> u64 {
    let mut w = e;
    if flags.contains(MapFlags::USER) {
        w |= USER;
    }
    if flags.contains(MapFlags::WRITABLE) {
        w |= WRITABLE;
    }
    if flags.contains(MapFlags::EXECUTABLE) {
        w &= !NO_EXECUTE;
    }
    w
}

/// Bit position of the index for `level` (4 = PML4 ... 1 = page table).
const fn level_shift(level: u32) -> u32 {
    12 + 9 * (level - 1)
}

/// Bytes one entry at `level` covers.
const fn level_size(level: u32) -> u64 {
    1 << level_shift(level)
}

/// Index of `va` in the table at `level`.
const fn index(va: u64, level: u32) -> usize {
    ((va >> level_shift(level)) as usize) % ENTRIES
}

/// # Safety
///
/// `table` must be a frame reachable through `mem` and `idx < 512`.
unsafe fn read_entry(mem: &impl PhysMem, table: u64, idx: usize) -> u64 {
    // SAFETY: the frame is 4096 valid, 8-byte-aligned bytes (PhysMem
    // contract), and idx < 512 keeps the read inside it.
    unsafe { mem.frame_ptr(table).cast::<u64>().add(idx).read_volatile() }
}

/// # Safety
///
/// As for [`read_entry`], and nobody may be holding a reference into the frame.
unsafe fn write_entry(mem: &impl PhysMem, table: u64, idx: usize, e: u64) {
    // SAFETY: as for `read_entry`.
    unsafe {
        mem.frame_ptr(table)
            .cast::<u64>()
            .add(idx)
            .write_volatile(e)
    }
}

/// # Safety
///
/// `pa` must be a frame reachable through `mem` that nothing else uses.
unsafe fn zero_frame(mem: &impl PhysMem, pa: u64) {
    // SAFETY: the frame is 4096 valid bytes (PhysMem contract), unused elsewhere.
    unsafe { mem.frame_ptr(pa).write_bytes(0, PAGE_4K as usize) }
}

#[cfg(test)]
mod tests;
