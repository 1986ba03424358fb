//! ACPI discovery with the `acpi` crate. The MADT gives the CPUs (local APIC
//! ids) and I/O APICs; it is parsed before the kernel page table exists,
//! through the boot page tables' 4 GiB direct map, into fixed-size arrays
//! (no heap yet). The MCFG gives the PCI ECAM window, read later.

use crate::mm::phys_to_virt;
use acpi::madt::{Madt, MadtEntry};
use acpi::mcfg::Mcfg;
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};
use core::ptr::NonNull;

/// Most I/O APICs recorded.
pub const MAX_IOAPICS: usize = 8;

#[derive(Clone, Copy)]
struct DirectMap;

impl AcpiHandler for DirectMap {
    unsafe fn map_physical_region<T>(&self, pa: usize, size: usize) -> PhysicalMapping<Self, T> {
        let va = NonNull::new(phys_to_virt(pa as u64) as *mut T).expect("direct map is never null");
        // SAFETY: the direct map covers the firmware tables; the mapping is
        // permanent, so "unmapping" is a no-op.
        unsafe { PhysicalMapping::new(pa, va, size, size, *self) }
    }
    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// One I/O APIC.
#[derive(Clone, Copy, Debug, Default)]
pub struct IoApic {
    /// Its id.
    pub id: u8,
    /// MMIO base.
    pub address: u32,
    /// First global system interrupt it handles.
    pub gsi_base: u32,
}

/// CPUs and interrupt controllers found in the MADT.
pub struct Topology {
    /// Local APIC ids of usable CPUs, in MADT order.
    pub apic_ids: [u32; smp::cpuset::MAX_CPUS],
    /// Number of valid `apic_ids`.
    pub cpu_count: usize,
    /// I/O APICs.
    pub ioapics: [IoApic; MAX_IOAPICS],
    /// Number of valid `ioapics`.
    pub ioapic_count: usize,
}

/// Reads the MADT. Returns `None` (and the caller runs on one CPU) when the
/// firmware gives no usable tables.
pub fn discover(rsdp: u64) -> Option<Topology> {
    if rsdp == 0 {
        return None;
    }
    // SAFETY: `rsdp` comes from the PVH start info and the direct map covers
    // the low 4 GiB where QEMU puts the tables.
    let tables = unsafe { AcpiTables::from_rsdp(DirectMap, rsdp as usize) }.ok()?;
    let madt = tables.find_table::<Madt>().ok()?;
    let mut t = Topology {
        apic_ids: [0; smp::cpuset::MAX_CPUS],
        cpu_count: 0,
        ioapics: [IoApic::default(); MAX_IOAPICS],
        ioapic_count: 0,
    };
    for e in madt.get().entries() {
        let (id, flags) = match e {
            MadtEntry::LocalApic(l) => (l.apic_id as u32, l.flags),
            MadtEntry::LocalX2Apic(l) => (l.x2apic_id, l.flags),
            MadtEntry::IoApic(io) => {
                if t.ioapic_count < MAX_IOAPICS {
                    t.ioapics[t.ioapic_count] = IoApic {
                        id: io.io_apic_id,
                        address: io.io_apic_address,
                        gsi_base: io.global_system_interrupt_base,
                    };
                    t.ioapic_count += 1;
                }
                continue;
            }
            _ => continue,
        };
        // Bit 0: enabled; bit 1: online-capable (may be started).
        if flags & 0b11 != 0
            && t.cpu_count < t.apic_ids.len()
            && !t.apic_ids[..t.cpu_count].contains(&id)
        {
            t.apic_ids[t.cpu_count] = id;
            t.cpu_count += 1;
        }
    }
    Some(t)
}

/// The ECAM window of PCI segment 0 from the MCFG table: (physical base,
/// first bus, last bus). `None` without MCFG (the machine has no PCIe, or
/// no ACPI).
pub fn ecam(rsdp: u64) -> Option<(u64, u8, u8)> {
    if rsdp == 0 {
        return None;
    }
    // SAFETY: as in `discover`; the kernel page table's direct map covers
    // the firmware's ACPI regions.
    let tables = unsafe { AcpiTables::from_rsdp(DirectMap, rsdp as usize) }.ok()?;
    let mcfg = tables.find_table::<Mcfg>().ok()?;
    let mcfg = mcfg.get();
    let e = mcfg.entries().iter().find(|e| e.pci_segment_group == 0)?;
    let (base, first, last) = (e.base_address, e.bus_number_start, e.bus_number_end);
    (first <= last).then_some((base, first, last))
}
