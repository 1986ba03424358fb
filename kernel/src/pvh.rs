//! The PVH `hvm_start_info` block: memory map, RSDP, command line, modules.
//!
//! Read once at boot through the early direct map; everything is copied into
//! [`BootInfo`] so nothing points into firmware memory afterwards.

use crate::mm::phys_to_virt;
use kcore::frame::PhysRange;

const MAGIC: u32 = 0x336e_c578;
/// Most memory-map entries kept.
pub const MAX_REGIONS: usize = 64;

#[repr(C)]
struct StartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct ModEntry {
    paddr: u64,
    size: u64,
    cmdline_paddr: u64,
    reserved: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct MemEntry {
    addr: u64,
    size: u64,
    kind: u32,
    reserved: u32,
}

/// One memory-map entry.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemRegion {
    /// Physical start.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// E820 type: 1 = usable RAM.
    pub kind: u32,
}

impl MemRegion {
    /// As a half-open physical range.
    pub fn range(&self) -> PhysRange {
        PhysRange {
            start: self.start,
            end: self.start.saturating_add(self.len),
        }
    }
}

/// What the loader told us.
pub struct BootInfo {
    /// Memory map (first [`MAX_REGIONS`] entries).
    pub regions: [MemRegion; MAX_REGIONS],
    /// Number of valid entries in `regions`.
    pub region_count: usize,
    /// Physical address of the ACPI RSDP (0 if absent).
    pub rsdp: u64,
    /// Kernel command line.
    pub cmdline: [u8; 256],
    /// Length of `cmdline`.
    pub cmdline_len: usize,
    /// The boot image (`-initrd`), if any.
    pub initrd: Option<PhysRange>,
    /// The start-info page itself and the tables it points to.
    pub start_info: PhysRange,
}

impl BootInfo {
    /// The memory map.
    pub fn regions(&self) -> &[MemRegion] {
        &self.regions[..self.region_count]
    }
    /// The command line as text.
    pub fn cmdline(&self) -> &str {
        core::str::from_utf8(&self.cmdline[..self.cmdline_len]).unwrap_or("")
    }
    /// Value of `key=value` on the command line.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.cmdline().split_ascii_whitespace().find_map(|w| {
            let (k, v) = w.split_once('=')?;
            (k == key).then_some(v)
        })
    }
}

/// Parses the start-info block at physical address `pa`.
///
/// # Safety
/// `pa` must be the pointer QEMU passed in `ebx`, reachable through the
/// direct map.
pub unsafe fn parse(pa: u64) -> Option<BootInfo> {
    // SAFETY: the caller guarantees `pa` points at a start-info block; all
    // reads are unaligned-safe copies.
    let si = unsafe { core::ptr::read_unaligned(phys_to_virt(pa) as *const StartInfo) };
    if si.magic != MAGIC {
        return None;
    }
    let mut info = BootInfo {
        regions: [MemRegion::default(); MAX_REGIONS],
        region_count: 0,
        rsdp: si.rsdp_paddr,
        cmdline: [0; 256],
        cmdline_len: 0,
        initrd: None,
        start_info: PhysRange {
            start: pa & !0xfff,
            end: (pa & !0xfff) + 0x1000,
        },
    };
    if si.version >= 1 && si.memmap_paddr != 0 {
        let n = (si.memmap_entries as usize).min(MAX_REGIONS);
        for i in 0..n {
            let p = phys_to_virt(si.memmap_paddr + (i * 24) as u64) as *const MemEntry;
            // SAFETY: the loader wrote `memmap_entries` entries there.
            let e = unsafe { core::ptr::read_unaligned(p) };
            info.regions[i] = MemRegion {
                start: e.addr,
                len: e.size,
                kind: e.kind,
            };
        }
        info.region_count = n;
    }
    if si.cmdline_paddr != 0 {
        let base = phys_to_virt(si.cmdline_paddr) as *const u8;
        let mut n = 0;
        // SAFETY: the command line is a NUL-terminated string; we stop at 255.
        while n < 255 && unsafe { *base.add(n) } != 0 {
            info.cmdline[n] = unsafe { *base.add(n) };
            n += 1;
        }
        info.cmdline_len = n;
    }
    if si.nr_modules > 0 && si.modlist_paddr != 0 {
        // SAFETY: there is at least one module entry.
        let m =
            unsafe { core::ptr::read_unaligned(phys_to_virt(si.modlist_paddr) as *const ModEntry) };
        if m.size > 0 {
            info.initrd = Some(PhysRange {
                start: m.paddr,
                end: m.paddr + m.size,
            });
        }
    }
    Some(info)
}
