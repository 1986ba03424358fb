//! Physical and kernel virtual memory.
//!
//! Owns the frame allocator, the kernel page table (the upper half shared by
//! every address space), the kernel heap, kernel stacks and MMIO windows.
//!
//! Kernel virtual layout (PML4 slots 256..512 are created at boot and never
//! change, so every user address space can share them by copying the slots):
//!
//! | range                         | use                                   |
//! |-------------------------------|---------------------------------------|
//! | `0xffff_8000_0000_0000 + pa`  | direct map of RAM and firmware tables |
//! | `0xffff_fd00_0000_0000 ..`    | MMIO windows (uncached)               |
//! | `0xffff_fe00_0000_0000 ..`    | kernel stacks with guard pages        |
//! | `0xffff_ffff_8000_0000 + pa`  | the kernel image                      |
//!
//! Lock order: a domain's address-space lock, then [`KERNEL_PT`], then the
//! frame allocator (a leaf).

pub mod heap;
pub mod space;
pub mod stack;

use crate::pvh::BootInfo;
use kcore::frame::{FrameAllocator, PhysRange};
use kcore::paging::{FrameSource, MapFlags, PageTable, PhysMem};
use spin::Mutex;

/// Start of the direct map of physical memory.
pub const HHDM: u64 = 0xffff_8000_0000_0000;
/// Start of the MMIO window area.
pub const MMIO_BASE: u64 = 0xffff_fd00_0000_0000;
/// Where the kernel image is linked (-2 GiB).
pub const KERNEL_VMA: u64 = 0xffff_ffff_8000_0000;
/// Largest physical address the frame allocator covers (16 GiB).
pub const MAX_PHYS: u64 = 16 << 30;
const PAGE: u64 = 4096;
const TWO_MIB: u64 = 2 << 20;

/// Hardware flags for a mapping: without NX support every page must be
/// executable, because the NX bit would be a reserved bit.
pub fn hw(flags: MapFlags) -> MapFlags {
    if crate::arch::cpu::nx_enabled() {
        flags
    } else {
        flags | MapFlags::EXECUTABLE
    }
}

/// Kernel virtual address of a physical address, through the direct map.
#[inline]
pub const fn phys_to_virt(pa: u64) -> u64 {
    HHDM + pa
}

/// Physical address of a kernel-image virtual address.
#[inline]
pub fn kimage_to_phys(va: u64) -> u64 {
    va - KERNEL_VMA
}

/// The direct map, as the page-table builder sees physical memory.
pub struct Hhdm;

impl PhysMem for Hhdm {
    fn frame_ptr(&self, pa: u64) -> *mut u8 {
        phys_to_virt(pa) as *mut u8
    }
}

const BITMAP_WORDS: usize = FrameAllocator::bitmap_words(MAX_PHYS);
static FRAMES: Mutex<Option<FrameAllocator<'static>>> = Mutex::new(None);

/// The kernel page table. Its upper half is shared by every address space.
pub static KERNEL_PT: Mutex<PageTable> = Mutex::new(PageTable::from_root(0));

/// Frame source backed by the global allocator.
pub struct Frames;

impl FrameSource for Frames {
    fn alloc_frame(&mut self) -> Option<u64> {
        alloc_frame()
    }
    fn free_frame(&mut self, pa: u64) {
        free_frame(pa);
    }
}

/// Allocates one zeroed 4 KiB frame.
pub fn alloc_frame() -> Option<u64> {
    let pa = FRAMES.lock().as_mut()?.alloc()?;
    zero_frames(pa, 1);
    Some(pa)
}

/// Allocates `n` physically contiguous zeroed frames.
pub fn alloc_contiguous(n: usize) -> Option<u64> {
    let pa = FRAMES.lock().as_mut()?.alloc_contiguous(n, 1)?;
    zero_frames(pa, n);
    Some(pa)
}

/// Returns `n` contiguous frames from [`alloc_contiguous`] to the
/// allocator. A bad range is logged, never fatal.
pub fn free_contiguous(pa: u64, n: usize) {
    if let Some(f) = FRAMES.lock().as_mut()
        && let Err(e) = f.free_contiguous(pa, n)
    {
        log::error!("free_contiguous({pa:#x}, {n}): {e:?}");
    }
}

/// Returns a frame to the allocator. A bad address is logged, never fatal.
pub fn free_frame(pa: u64) {
    if let Some(f) = FRAMES.lock().as_mut()
        && let Err(e) = f.free(pa)
    {
        log::error!("free_frame({pa:#x}): {e:?}");
    }
}

/// Mapping counts of frames that more than one owner holds (shared-memory
/// grants; an out-of-line part in transit counts as an owner). A frame not
/// in the map has a single owner, which frees it. Kept apart from the frame
/// allocator because sharing is rare: while no frame is shared,
/// [`release_user_frame`] does not even take the lock.
static SHARED: spin::Mutex<alloc::collections::BTreeMap<u64, u32>> =
    spin::Mutex::new(alloc::collections::BTreeMap::new());
static SHARED_FRAMES: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Most frames that may be shared at once: bounds the map's share of the
/// kernel heap (about 50 bytes an entry), so sharing cannot exhaust it.
pub const MAX_SHARED_FRAMES: usize = 32 * 1024;

/// Adds an owner to the user frame `pa` (which has at least one).
/// `NoMemory` when [`MAX_SHARED_FRAMES`] frames are shared already.
pub fn share_frame(pa: u64) -> Result<(), abi::Error> {
    let mut m = SHARED.lock();
    if let Some(n) = m.get_mut(&pa) {
        *n += 1;
        return Ok(());
    }
    if m.len() >= MAX_SHARED_FRAMES {
        return Err(abi::Error::NoMemory);
    }
    m.insert(pa, 2);
    SHARED_FRAMES.store(m.len(), core::sync::atomic::Ordering::Release);
    Ok(())
}

/// Drops one owner of the user frame `pa`; frees it when that was the last.
/// Every path that gives up a user frame (unmap, address-space teardown,
/// an undelivered grant) goes through here.
pub fn release_user_frame(pa: u64) {
    if SHARED_FRAMES.load(core::sync::atomic::Ordering::Acquire) != 0 {
        let mut m = SHARED.lock();
        if let Some(n) = m.get_mut(&pa) {
            *n -= 1;
            if *n <= 1 {
                m.remove(&pa);
            }
            SHARED_FRAMES.store(m.len(), core::sync::atomic::Ordering::Release);
            // Another owner keeps it.
            return;
        }
    }
    free_frame(pa);
}

/// Frames with more than one owner right now.
pub fn shared_frames() -> usize {
    SHARED_FRAMES.load(core::sync::atomic::Ordering::Acquire)
}

/// (free, total) frame counts.
pub fn frame_stats() -> (usize, usize) {
    FRAMES
        .lock()
        .as_ref()
        .map_or((0, 0), |f| (f.free_frames(), f.total_frames()))
}

fn zero_frames(pa: u64, n: usize) {
    // SAFETY: the frames were just allocated, so nobody else uses them, and
    // the direct map covers all RAM the allocator hands out.
    unsafe { core::ptr::write_bytes(phys_to_virt(pa) as *mut u8, 0, n * PAGE as usize) };
}

unsafe extern "C" {
    static __boot_start: u8;
    static __text_start: u8;
    static __rodata_start: u8;
    static __data_start: u8;
    static __kernel_end: u8;
}

fn sym(s: &u8) -> u64 {
    s as *const u8 as u64
}

/// Builds the frame allocator from the memory map, then the kernel page
/// table, switches to it and starts the heap.
pub fn init(boot: &BootInfo) {
    static mut BITMAP: [u64; BITMAP_WORDS] = [0; BITMAP_WORDS];
    // SAFETY: `init` runs once, on the bootstrap CPU, before any other CPU
    // starts; the bitmap is handed to the allocator and never touched again.
    let bits: &'static mut [u64] = unsafe { &mut *core::ptr::addr_of_mut!(BITMAP) };
    let mut fa = FrameAllocator::new(bits);
    for r in boot.regions().iter().filter(|r| r.kind == 1) {
        let mut range = r.range();
        range.end = range.end.min(MAX_PHYS);
        if range.start < range.end {
            fa.add_free(range);
        }
    }
    // Low memory (BIOS data, AP trampoline), the kernel image, the boot
    // image and the start-info block stay out of the allocator.
    fa.reserve(PhysRange {
        start: 0,
        end: 0x10_0000,
    });
    // SAFETY: linker-defined symbols; only their addresses are used.
    let (boot_start, text, rodata, data, end) = unsafe {
        (
            sym(&__boot_start),
            sym(&__text_start),
            sym(&__rodata_start),
            sym(&__data_start),
            sym(&__kernel_end),
        )
    };
    fa.reserve(PhysRange {
        start: boot_start,
        end: kimage_to_phys(end),
    });
    if let Some(rd) = boot.initrd {
        fa.reserve(rd);
    }
    fa.reserve(boot.start_info);
    let total = fa.total_frames();
    *FRAMES.lock() = Some(fa);

    // The kernel page table. New table frames come from the low end of RAM,
    // which the boot page tables' 4 GiB direct map already covers.
    let mem = Hhdm;
    let mut pt = PageTable::new(&mem, &mut Frames).expect("no memory for the kernel page table");
    let g = MapFlags::GLOBAL;
    let rw = MapFlags::WRITABLE | g;
    for r in boot.regions() {
        let start = r.start & !(TWO_MIB - 1);
        let end = r
            .start
            .saturating_add(r.len)
            .min(MAX_PHYS)
            .div_ceil(TWO_MIB)
            * TWO_MIB;
        let mut pa = start;
        while pa < end {
            // SAFETY: building a fresh table that no CPU uses yet.
            match unsafe { pt.map_2m(&mem, &mut Frames, phys_to_virt(pa), pa, hw(rw)) } {
                Ok(()) | Err(kcore::paging::MapError::AlreadyMapped) => {}
                Err(e) => panic!("direct map of {pa:#x}: {e:?}"),
            }
            pa += TWO_MIB;
        }
    }
    let image = [
        (text, rodata, MapFlags::EXECUTABLE | g),
        (rodata, data, g),
        (data, end, rw),
    ];
    for (from, to, flags) in image {
        let mut va = from;
        while va < to {
            // SAFETY: as above.
            unsafe { pt.map(&mem, &mut Frames, va, kimage_to_phys(va), hw(flags)) }
                .expect("mapping the kernel image");
            va += PAGE;
        }
    }
    // Create every upper-half PML4 slot now so later kernel mappings show up
    // in all address spaces, which copy these slots when they are made.
    let pml4 = phys_to_virt(pt.root()) as *mut u64;
    for i in 256..512 {
        // SAFETY: `pml4` is the root frame we own; slot i is in bounds.
        unsafe {
            if *pml4.add(i) & 1 == 0 {
                let pdpt = alloc_frame().expect("no memory for kernel PML4 slots");
                *pml4.add(i) = pdpt | 0x3;
            }
        }
    }
    *KERNEL_PT.lock() = pt;
    switch_to_kernel_table();
    heap::init();
    log::info!(
        "memory: {} MiB usable, kernel image {:#x}..{:#x}",
        (total as u64 * PAGE) >> 20,
        text,
        end
    );
}

/// Maps the device memory `[pa, pa + len)` (2 MiB aligned) into the
/// kernel half at its direct-map address, uncached, and returns that
/// address. Ranges the direct map already covers (firmware marked them
/// reserved) stay as they are. For ECAM, at start-up.
pub fn map_kernel_device(pa: u64, len: u64) -> Option<u64> {
    if !pa.is_multiple_of(TWO_MIB) || !len.is_multiple_of(TWO_MIB) {
        return None;
    }
    let end = pa.checked_add(len)?;
    let mut pt = KERNEL_PT.lock();
    let flags = hw(MapFlags::WRITABLE | MapFlags::GLOBAL | MapFlags::UNCACHED);
    let mut at = pa;
    while at < end {
        // SAFETY: a kernel-half mapping of device memory at its direct-map
        // address, where no RAM is mapped; the upper-half tables are
        // shared by every address space, so all CPUs see it.
        match unsafe { pt.map_2m(&Hhdm, &mut Frames, phys_to_virt(at), at, flags) } {
            Ok(()) | Err(kcore::paging::MapError::AlreadyMapped) => {}
            Err(_) => return None,
        }
        at += TWO_MIB;
    }
    Some(phys_to_virt(pa))
}

/// Loads the kernel page table on the calling CPU (PCID 0).
pub fn switch_to_kernel_table() {
    let root = KERNEL_PT.lock().root();
    // SAFETY: the kernel table maps the kernel image, the direct map and the
    // current stack exactly as the table it replaces.
    unsafe { core::arch::asm!("mov cr3, {}", in(reg) root, options(nostack)) };
}

/// The kernel page table's root.
pub fn kernel_root() -> u64 {
    KERNEL_PT.lock().root()
}

static MMIO_NEXT: Mutex<u64> = Mutex::new(MMIO_BASE);

/// Maps `len` bytes of device memory at physical `pa` uncached and returns
/// the kernel virtual address of `pa`.
pub fn map_mmio(pa: u64, len: u64) -> u64 {
    let first = pa & !(PAGE - 1);
    let pages = (pa + len - first).div_ceil(PAGE);
    let mut next = MMIO_NEXT.lock();
    let base = *next;
    *next += (pages + 1) * PAGE; // one unmapped page between windows
    let mut pt = KERNEL_PT.lock();
    for i in 0..pages {
        let flags = MapFlags::WRITABLE | MapFlags::UNCACHED | MapFlags::GLOBAL;
        // SAFETY: the window is fresh kernel address space; the shared PML4
        // slot exists, so every address space sees the mapping.
        unsafe {
            pt.map(
                &Hhdm,
                &mut Frames,
                base + i * PAGE,
                first + i * PAGE,
                hw(flags),
            )
        }
        .expect("mapping MMIO");
    }
    base + (pa - first)
}
