//! `devprobe`: a driver domain that the solution gives the virtio-gpu
//! device. It checks the PCI, MMIO and DMA kernel endpoints against the
//! real device: identity, BAR sizing through the kernel's configuration
//! filter, a refused BAR move, the virtio common configuration read
//! through an MMIO mapping, and DMA blocks. Prints one line per failed
//! check and exits with the number of failures.

#![no_std]
#![no_main]

use rt::abi::{Error, PAGE_SIZE, dma, pci};
use rt::kernel;

rt::entry!(main);

struct Checks {
    passed: u32,
    failed: u32,
}

impl Checks {
    fn check(&mut self, what: &str, ok: bool) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
            rt::println!("devprobe: FAILED: {}", what);
        }
    }
}

/// The size of BAR `bar` found by the sizing protocol through the kernel,
/// as a driver (and virtio-drivers' `PciRoot::bar_info`) performs it.
fn sized(bar: u8, is64: bool) -> Result<u64, Error> {
    let reg = 0x10 + 4 * bar;
    let command = kernel::pci_config_read(0, 0x04)?;
    kernel::pci_config_write(0, 0x04, command & !0x3)?;
    let low = kernel::pci_config_read(0, reg)?;
    kernel::pci_config_write(0, reg, 0xffff_ffff)?;
    let mut mask = u64::from(kernel::pci_config_read(0, reg)? & !0xf);
    kernel::pci_config_write(0, reg, low)?;
    if is64 {
        let high = kernel::pci_config_read(0, reg + 4)?;
        kernel::pci_config_write(0, reg + 4, 0xffff_ffff)?;
        mask |= u64::from(kernel::pci_config_read(0, reg + 4)?) << 32;
        kernel::pci_config_write(0, reg + 4, high)?;
    } else {
        mask |= 0xffff_ffff_0000_0000;
    }
    kernel::pci_config_write(0, 0x04, command & 0xffff)?;
    Ok((!mask).wrapping_add(1))
}

/// The virtio common-configuration capability: (BAR, offset).
fn common_cfg() -> Option<(u8, u32)> {
    let status = kernel::pci_config_read(0, 0x04).ok()? >> 16;
    if status & 0x10 == 0 {
        return None;
    }
    let mut at = kernel::pci_config_read(0, 0x34).ok()? as u8 & 0xfc;
    for _ in 0..48 {
        if at < 0x40 {
            return None;
        }
        let head = kernel::pci_config_read(0, at).ok()?;
        // Vendor-specific capability, cfg_type 1 (common configuration).
        if head & 0xff == 0x09 && (head >> 24) & 0xff == 1 {
            let bar = kernel::pci_config_read(0, at + 4).ok()? as u8;
            let offset = kernel::pci_config_read(0, at + 8).ok()?;
            return Some((bar, offset));
        }
        at = (head >> 8) as u8 & 0xfc;
    }
    None
}

fn main() -> i32 {
    let mut c = Checks {
        passed: 0,
        failed: 0,
    };
    let info = match kernel::pci_info(0) {
        Ok(i) => i,
        Err(e) => {
            rt::println!("devprobe: FAILED: no device 0: {}", e);
            return 1;
        }
    };
    rt::println!(
        "devprobe: device 0 at {:02x}:{:02x}.{}: {:04x}:{:04x} class {:02x}.{:02x}, BARs {:#08b}",
        info.location >> 8,
        (info.location >> 3) & 0x1f,
        info.location & 7,
        info.vendor,
        info.device,
        info.class,
        info.subclass,
        info.bars
    );
    c.check(
        "device 0 is virtio-gpu (1af4:1050, display class)",
        info.vendor == 0x1af4 && info.device == 0x1050 && info.class == 0x03,
    );
    c.check(
        "only one device is assigned",
        kernel::pci_info(1) == Err(Error::NotFound),
    );
    c.check(
        "config dword 0 is the id",
        kernel::pci_config_read(0, 0) == Ok(0x1050_1af4),
    );
    c.check(
        "a misaligned config read is refused",
        kernel::pci_config_read(0, 2) == Err(Error::InvalidArgument),
    );
    // Every BAR: the sizing protocol through the filter gives the size the
    // kernel found, and a BAR cannot be moved.
    let mut memory_bars = 0;
    for bar in 0..6u8 {
        if info.bars & (1 << bar) == 0 {
            continue;
        }
        let Ok((base, size, flags)) = kernel::pci_bar(0, bar.into()) else {
            c.check("a present BAR has a description", false);
            continue;
        };
        if flags & pci::BAR_IO != 0 {
            continue;
        }
        memory_bars += 1;
        let is64 = flags & pci::BAR_64 != 0;
        c.check(
            "BAR sizing through the kernel",
            sized(bar, is64) == Ok(size),
        );
        let reg = 0x10 + 4 * bar;
        let before = kernel::pci_config_read(0, reg);
        c.check(
            "moving a BAR is refused",
            kernel::pci_config_write(0, reg, (base as u32).wrapping_add(0x10_0000))
                == Err(Error::InvalidArgument),
        );
        c.check(
            "a refused BAR move changes nothing",
            kernel::pci_config_read(0, reg) == before,
        );
        rt::println!(
            "devprobe: BAR {}: {:#x}, {} KiB{}{}",
            bar,
            base,
            size / 1024,
            if is64 { ", 64-bit" } else { "" },
            if flags & pci::BAR_PREFETCHABLE != 0 {
                ", prefetchable"
            } else {
                ""
            }
        );
    }
    c.check("virtio-gpu has a memory BAR", memory_bars > 0);
    c.check(
        "the expansion ROM register is not writable",
        kernel::pci_config_write(0, 0x30, 0xffff_f800) == Err(Error::InvalidArgument),
    );
    c.check(
        "BAR 6 does not exist",
        kernel::pci_bar(0, 6) == Err(Error::NotFound),
    );
    // Turn on memory decoding and bus mastering.
    let command = kernel::pci_config_read(0, 0x04).unwrap_or(0);
    c.check(
        "command register write",
        kernel::pci_config_write(0, 0x04, (command & 0xffff) | 0x6).is_ok(),
    );
    c.check(
        "memory decoding and bus mastering are on",
        kernel::pci_config_read(0, 0x04).is_ok_and(|v| v & 0x6 == 0x6),
    );
    // The virtio common configuration through MMIO: virtio-gpu has two
    // virtqueues (control and cursor).
    match common_cfg() {
        Some((bar, offset)) => {
            let page = u64::from(offset) & !(PAGE_SIZE - 1);
            match kernel::mmio_map(0, bar.into(), page, PAGE_SIZE) {
                Ok(va) => {
                    let at = va + (u64::from(offset) - page);
                    // SAFETY: `at` lies in the page just mapped; offset 0x12
                    // of the common configuration is `num_queues` (u16).
                    let queues = unsafe { core::ptr::read_volatile((at + 0x12) as *const u16) };
                    rt::println!(
                        "devprobe: virtio common config in BAR {} at {:#x}: {} queues",
                        bar,
                        offset,
                        queues
                    );
                    c.check("virtio-gpu reports two virtqueues", queues == 2);
                }
                Err(e) => {
                    rt::println!("devprobe: mmio_map: {}", e);
                    c.check("mapping the common configuration", false);
                }
            }
            let (_, size, _) = kernel::pci_bar(0, bar.into()).unwrap_or((0, 0, 0));
            c.check(
                "a mapping past the end of the BAR is refused",
                kernel::mmio_map(0, bar.into(), size, PAGE_SIZE) == Err(Error::InvalidArgument),
            );
            c.check(
                "a misaligned mapping is refused",
                kernel::mmio_map(0, bar.into(), 8, PAGE_SIZE) == Err(Error::Misaligned),
            );
        }
        None => c.check("virtio common configuration capability found", false),
    }
    // The MSI-X table stays the kernel's (capability 0x11; its BAR and
    // offset in the next dword).
    let mut at = kernel::pci_config_read(0, 0x34).unwrap_or(0) as u8 & 0xfc;
    let mut table = None;
    for _ in 0..48 {
        if at < 0x40 {
            break;
        }
        let head = kernel::pci_config_read(0, at).unwrap_or(0);
        if head & 0xff == 0x11 {
            table = kernel::pci_config_read(0, at + 4).ok();
            break;
        }
        at = (head >> 8) as u8 & 0xfc;
    }
    match table {
        Some(t) => {
            let (bar, offset) = (u64::from(t & 7), u64::from(t & !7));
            c.check(
                "the MSI-X table page cannot be mapped",
                kernel::mmio_map(0, bar, offset & !(PAGE_SIZE - 1), PAGE_SIZE)
                    == Err(Error::InvalidArgument),
            );
        }
        None => c.check("virtio-gpu has MSI-X", false),
    }
    // DMA blocks.
    match kernel::dma_alloc(4) {
        Ok((va, pa)) => {
            c.check(
                "a DMA block has a page-aligned, non-zero physical address",
                pa != 0 && pa.is_multiple_of(PAGE_SIZE),
            );
            // SAFETY: the kernel just mapped these four pages for us.
            let block = unsafe { core::slice::from_raw_parts_mut(va as *mut u64, 4 * 512) };
            c.check("a DMA block arrives zeroed", block.iter().all(|&w| w == 0));
            block
                .iter_mut()
                .enumerate()
                .for_each(|(i, w)| *w = i as u64);
            c.check(
                "a DMA block is usable",
                block.iter().enumerate().all(|(i, &w)| w == i as u64),
            );
            // SAFETY: the block is not used after this, and no device was
            // given its address.
            c.check(
                "freeing a DMA block",
                unsafe { kernel::dma_free(va) }.is_ok(),
            );
            // SAFETY: as above: nothing there any more.
            c.check(
                "a freed DMA block cannot be freed again",
                unsafe { kernel::dma_free(va) } == Err(Error::BadAddress),
            );
        }
        Err(e) => {
            rt::println!("devprobe: dma_alloc: {}", e);
            c.check("a DMA block of four pages", false);
        }
    }
    c.check(
        "an empty DMA block is refused",
        kernel::dma_alloc(0) == Err(Error::InvalidArgument),
    );
    c.check(
        "a DMA block over the limit is refused",
        kernel::dma_alloc(dma::MAX_PAGES + 1) == Err(Error::InvalidArgument),
    );
    irq_checks(&mut c);
    rt::println!("devprobe: {} checks passed, {} failed", c.passed, c.failed);
    c.failed as i32
}

/// The interrupt endpoint: binding rules, and waiting with a timeout (the
/// device is not told to use the vector, so nothing arrives).
fn irq_checks(c: &mut Checks) {
    c.check(
        "MSI-X entry 0 binds to bit 0",
        kernel::irq_bind(0, 0, 0).is_ok(),
    );
    c.check(
        "the same entry cannot be bound twice",
        kernel::irq_bind(0, 0, 1) == Err(Error::InvalidArgument),
    );
    c.check(
        "a bound bit cannot be bound again",
        kernel::irq_bind(0, 1, 0) == Err(Error::InvalidArgument),
    );
    c.check(
        "an entry beyond the MSI-X table is refused",
        kernel::irq_bind(0, 2048, 1) == Err(Error::InvalidArgument),
    );
    c.check(
        "bit 64 does not exist",
        kernel::irq_bind(0, 1, 64) == Err(Error::InvalidArgument),
    );
    c.check(
        "another device index is not ours",
        kernel::irq_bind(1, 0, 1) == Err(Error::NotFound),
    );
    c.check(
        "waiting for an unbound bit is refused",
        kernel::irq_wait(1 << 1, 0) == Err(Error::InvalidArgument),
    );
    c.check(
        "waiting for no bit is refused",
        kernel::irq_wait(0, 0) == Err(Error::InvalidArgument),
    );
    c.check(
        "a zero-timeout wait returns at once",
        kernel::irq_wait(1, 0) == Ok(0),
    );
    let start = kernel::now_ns();
    let r = kernel::irq_wait(1, 2_000_000);
    let waited = kernel::now_ns().saturating_sub(start);
    c.check(
        "a wait without interrupts times out after its timeout",
        r == Ok(0) && waited >= 2_000_000,
    );
    // A thread that waits without limit. It never wakes with a result: the
    // domain's exit must end it (or the domain never finishes, and the
    // scenario fails).
    let waiter = rt::thread::spawn(
        || {
            let r = kernel::irq_wait(1, u64::MAX);
            rt::println!("devprobe: waiter woke: {:?}", r);
        },
        16 * 1024,
    );
    c.check("a thread starts waiting without limit", waiter.is_ok());
    kernel::sleep_ns(20_000_000);
    c.check(
        "a second waiter is refused while one waits",
        kernel::irq_wait(1, 0) == Err(Error::AddressInUse),
    );
}
