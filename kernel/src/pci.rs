//! PCI devices for user-space drivers.
//!
//! At start-up the kernel maps ECAM (its base from the ACPI MCFG table),
//! lists every function on the buses MCFG covers, and sizes their BARs
//! (`kcore::pci`, where the logic is tested on the host). The solution
//! description assigns devices to domains (`devices = ["1af4:1050"]`); a
//! device has at most one owner, and a domain reaches only its own devices
//! through the `Pci`, `Mmio` and `Dma` kernel endpoints. Configuration
//! writes go through `kcore::pci::ConfigFilter`, so a driver cannot move a
//! BAR over memory it does not own. When the owner ends, the kernel turns
//! off the device's bus mastering and memory decoding before the domain's
//! memory (its DMA blocks among it) is freed, and the device is free to be
//! assigned again.
//!
//! Without an IOMMU a bus-mastering device can still reach any physical
//! memory, so a driver domain that programs DMA is trusted with memory;
//! the kernel limits what it can map and configure, not what its device
//! writes.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use kcore::pci::{self as p, Bar, ConfigFilter, ConfigSpace, Header, Match, MsixInfo, Write};
use spin::{Mutex, Once};

/// One PCI function.
pub struct Device {
    /// Bus number.
    pub bus: u8,
    /// Device number (0..32).
    pub dev: u8,
    /// Function number (0..8).
    pub func: u8,
    /// Its header.
    pub header: Header,
    /// Its BARs as sized at start-up.
    pub bars: [Option<Bar>; 6],
    /// Where its MSI-X table and PBA are, if it has MSI-X.
    pub msix: Option<MsixInfo>,
    /// Kernel address of its 4 KiB configuration page.
    cfg: u64,
    /// What its owner may write.
    filter: Mutex<ConfigFilter>,
    /// Id of the owning domain; 0 while unassigned.
    owner: AtomicU64,
    /// Kernel address of its MSI-X table, once mapped (0 before).
    msix_table: AtomicU64,
}

/// MSI-X table entry layout (PCI Local Bus 3.0, 6.8.2): message address
/// low and high, message data, vector control (bit 0 masks the entry).
const MSIX_ENTRY_SIZE: u64 = 16;
const MSIX_VECTOR_CONTROL: u64 = 12;
/// Message control (upper half of the capability's first dword): MSI-X
/// enable and function mask.
const MSIX_ENABLE: u32 = 1 << 31;
const MSIX_FUNCTION_MASK: u32 = 1 << 30;
/// Command register: memory space decoding.
const COMMAND_MEMORY: u32 = 1 << 1;

impl Device {
    /// `bus:dev.func`, as PCI tools print it.
    pub fn location(&self) -> u64 {
        u64::from(self.bus) << 8 | u64::from(self.dev) << 3 | u64::from(self.func)
    }

    /// Whether `[offset, offset + len)` of BAR `bar` touches a page of the
    /// MSI-X table or pending-bit array. Those pages stay the kernel's: a
    /// driver that could write the table could aim interrupts at any
    /// vector of any CPU.
    pub fn reserved(&self, bar: usize, offset: u64, len: u64) -> bool {
        let Some(m) = self.msix else { return false };
        let page = abi::PAGE_SIZE;
        let end = offset.saturating_add(len);
        let hits = |b: u8, start: u64, bytes: u64| {
            let lo = start / page * page;
            let hi = start.saturating_add(bytes).div_ceil(page) * page;
            usize::from(b) == bar && offset < hi && lo < end
        };
        let entries = u64::from(m.table_size);
        hits(m.table_bar, u64::from(m.table_offset), entries * 16)
            || hits(m.pba_bar, u64::from(m.pba_offset), entries.div_ceil(64) * 8)
    }

    fn space(&self) -> Cfg {
        Cfg(self.cfg)
    }

    /// Number of MSI-X table entries (0 without MSI-X).
    pub fn msix_entries(&self) -> u16 {
        self.msix.map_or(0, |m| m.table_size)
    }

    /// Kernel address of MSI-X table entry `entry`, mapping the table
    /// (uncached, kernel only) on first use.
    fn msix_entry(&self, entry: u16) -> Option<u64> {
        let m = self.msix?;
        if entry >= m.table_size {
            return None;
        }
        let mut table = self.msix_table.load(Ordering::Acquire);
        if table == 0 {
            let Some(Bar::Memory { base, .. }) = self.bars[usize::from(m.table_bar)] else {
                return None;
            };
            let pa = base + u64::from(m.table_offset);
            const TWO_MIB: u64 = 2 << 20;
            let lo = pa / TWO_MIB * TWO_MIB;
            let hi = (pa + u64::from(m.table_size) * MSIX_ENTRY_SIZE).div_ceil(TWO_MIB) * TWO_MIB;
            let va = crate::mm::map_kernel_device(lo, hi - lo)?;
            table = va + (pa - lo);
            self.msix_table.store(table, Ordering::Release);
        }
        Some(table + u64::from(entry) * MSIX_ENTRY_SIZE)
    }

    /// Aims MSI-X entry `entry` at `vector` on the CPU with local APIC id
    /// `apic_id`, masked. Also turns on memory decoding (the table is
    /// device memory) and MSI-X with the function unmasked, so the entry
    /// is all that gates the interrupt.
    pub fn msix_program(&self, entry: u16, apic_id: u32, vector: u8) -> bool {
        let (Some(m), Some(at), Ok(dest)) =
            (self.msix, self.msix_entry(entry), u8::try_from(apic_id))
        else {
            return false;
        };
        let mut cs = self.space();
        let command = cs.read32(0x04) & 0xffff;
        cs.write32(0x04, command | COMMAND_MEMORY);
        self.msix_mask(entry, true);
        // Intel SDM 11.11.1: address 0xfee << 20 | destination << 12,
        // physical destination mode; data: fixed delivery, edge, vector.
        let address = 0xfee0_0000u32 | u32::from(dest) << 12;
        // SAFETY: `at` is the kernel mapping (uncached) of a 16-byte entry
        // inside the MSI-X table of a device this kernel enumerated; the
        // table pages are never mapped for user space.
        unsafe {
            core::ptr::write_volatile(at as *mut u32, address);
            core::ptr::write_volatile((at + 4) as *mut u32, 0);
            core::ptr::write_volatile((at + 8) as *mut u32, u32::from(vector));
        }
        let cap = u16::from(m.cap_offset);
        let control = cs.read32(cap);
        cs.write32(cap, (control | MSIX_ENABLE) & !MSIX_FUNCTION_MASK);
        true
    }

    /// Masks or unmasks MSI-X entry `entry`.
    pub fn msix_mask(&self, entry: u16, masked: bool) {
        let Some(at) = self.msix_entry(entry) else {
            return;
        };
        let control = (at + MSIX_VECTOR_CONTROL) as *mut u32;
        // SAFETY: as in `msix_program`: the vector-control dword of a table
        // entry in the kernel's uncached mapping.
        unsafe {
            let v = core::ptr::read_volatile(control);
            core::ptr::write_volatile(control, if masked { v | 1 } else { v & !1 });
        }
    }

    /// Reads a configuration dword as the owner sees it.
    pub fn config_read(&self, offset: u16) -> Result<u32, abi::Error> {
        if !offset.is_multiple_of(4) || offset >= 256 {
            return Err(abi::Error::InvalidArgument);
        }
        let f = self.filter.lock();
        Ok(f.read(offset, self.space().read32(offset)))
    }

    /// Writes a configuration dword through the filter.
    pub fn config_write(&self, offset: u16, value: u32) -> Result<(), abi::Error> {
        let mut f = self.filter.lock();
        match f.write(offset, value) {
            Write::Pass(v) => {
                self.space().write32(offset, v);
                Ok(())
            }
            Write::Absorbed => Ok(()),
            Write::Denied => Err(abi::Error::InvalidArgument),
        }
    }
}

/// A function's configuration page in the kernel's ECAM mapping.
struct Cfg(u64);

impl ConfigSpace for Cfg {
    fn read32(&self, offset: u16) -> u32 {
        // SAFETY: `self.0` is the kernel mapping (uncached) of one 4 KiB
        // configuration page, and `offset` is below 4096 and aligned (the
        // trait's contract).
        unsafe { core::ptr::read_volatile((self.0 + u64::from(offset & 0xffc)) as *const u32) }
    }
    fn write32(&mut self, offset: u16, value: u32) {
        // SAFETY: as for `read32`.
        unsafe {
            core::ptr::write_volatile((self.0 + u64::from(offset & 0xffc)) as *mut u32, value)
        }
    }
}

static DEVICES: Once<Vec<Device>> = Once::new();

/// Every function found at start-up (empty without MCFG).
pub fn devices() -> &'static [Device] {
    DEVICES.get().map_or(&[], |d| d.as_slice())
}

/// Lists the PCI functions behind the ECAM window `ecam` (base, first bus,
/// last bus) and logs them. Runs once, on the bootstrap CPU.
pub fn init(ecam: Option<(u64, u8, u8)>) {
    DEVICES.call_once(|| {
        let Some((base, first, last)) = ecam else {
            log::info!("pci: no ACPI MCFG table, so no PCI devices for drivers");
            return Vec::new();
        };
        let buses = u64::from(last - first) + 1;
        let Some(va) = crate::mm::map_kernel_device(base, buses << 20) else {
            log::error!("pci: cannot map ECAM at {base:#x}");
            return Vec::new();
        };
        let mut found = Vec::new();
        for bus in first..=last {
            for dev in 0..32u8 {
                for func in 0..8u8 {
                    let cfg = va + p::ecam_offset(bus - first, dev, func);
                    let mut cs = Cfg(cfg);
                    let Some(header) = p::read_header(&cs) else {
                        if func == 0 {
                            break;
                        }
                        continue;
                    };
                    let bars = if header.header_type == 0 {
                        p::probe_bars(&mut cs)
                    } else {
                        [None; 6]
                    };
                    let msix = p::msix(&cs);
                    log::info!(
                        "pci {:02x}:{:02x}.{} {:04x}:{:04x} class {:02x}.{:02x}{}",
                        bus,
                        dev,
                        func,
                        header.vendor,
                        header.device,
                        header.class,
                        header.subclass,
                        if msix.is_some() { " msi-x" } else { "" }
                    );
                    found.push(Device {
                        bus,
                        dev,
                        func,
                        header,
                        bars,
                        msix,
                        cfg,
                        filter: Mutex::new(ConfigFilter::new(bars, msix.map(|m| m.cap_offset))),
                        owner: AtomicU64::new(0),
                        msix_table: AtomicU64::new(0),
                    });
                    if func == 0 && !header.multifunction {
                        break;
                    }
                }
            }
        }
        found
    });
}

/// Gives domain `owner` (named `name`) every unowned device that one of
/// `matches` selects, and returns their indices in [`devices`], in bus
/// order.
pub fn assign(owner: u64, name: &str, matches: &[Match]) -> Vec<usize> {
    let mut mine = Vec::new();
    for (i, d) in devices().iter().enumerate() {
        if matches.iter().any(|m| m.matches(&d.header))
            && d.owner
                .compare_exchange(0, owner, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            log::info!(
                "pci {:02x}:{:02x}.{} {:04x}:{:04x} assigned to {name}",
                d.bus,
                d.dev,
                d.func,
                d.header.vendor,
                d.header.device
            );
            mine.push(i);
        }
    }
    mine
}

/// The owner `owner` has ended: stops its devices' bus mastering and
/// memory decoding (so nothing it programmed can write into memory that is
/// about to be freed) and makes them assignable again.
pub fn release(owner: u64, indices: &[usize]) {
    for &i in indices {
        let Some(d) = devices().get(i) else { continue };
        if d.owner.load(Ordering::Acquire) != owner {
            continue;
        }
        let mut cs = d.space();
        let command = cs.read32(0x04);
        // Keep only INTx-disable; status bits are write-1-to-clear, so 0.
        cs.write32(0x04, command & 0x0400);
        if let Some(m) = d.msix {
            let cap = u16::from(m.cap_offset);
            let control = cs.read32(cap);
            cs.write32(cap, control & !(MSIX_ENABLE | MSIX_FUNCTION_MASK));
        }
        *d.filter.lock() = ConfigFilter::new(d.bars, d.msix.map(|m| m.cap_offset));
        d.owner.store(0, Ordering::Release);
    }
}
