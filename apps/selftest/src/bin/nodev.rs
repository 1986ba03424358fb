//! `nodev`: a domain without assigned devices asks for each device
//! resource. The policy lets it ask the PCI and IRQ endpoints (the kernel
//! then refuses, for lack of an assignment) and nothing else (the policy
//! refuses). Every request must fail, and the domain keeps running.

#![no_std]
#![no_main]

use rt::abi::Error;
use rt::kernel;

rt::entry!(main);

fn report(what: &str, r: Result<(), Error>, want: Error) -> bool {
    match r {
        Err(e) if e == want => {
            rt::println!("nodev: {}: refused ({})", what, e);
            true
        }
        Err(e) => {
            rt::println!("nodev: FAILED: {}: {} (expected {})", what, e, want);
            false
        }
        Ok(()) => {
            rt::println!("nodev: FAILED: {}: allowed", what);
            false
        }
    }
}

fn main() -> i32 {
    let results = [
        report(
            "PCI device info",
            kernel::pci_info(0).map(|_| ()),
            Error::NoRights,
        ),
        report(
            "PCI config read",
            kernel::pci_config_read(0, 0).map(|_| ()),
            Error::NoRights,
        ),
        report(
            "PCI config write",
            kernel::pci_config_write(0, 0x04, 0x6),
            Error::NoRights,
        ),
        report(
            "MMIO map",
            kernel::mmio_map(0, 0, 0, 4096).map(|_| ()),
            Error::Denied,
        ),
        report("DMA alloc", kernel::dma_alloc(1).map(|_| ()), Error::Denied),
        report("IRQ bind", kernel::irq_bind(0, 0, 0), Error::NoRights),
        report(
            "IRQ wait",
            kernel::irq_wait(1, 0).map(|_| ()),
            Error::NoRights,
        ),
    ];
    let refused = results.iter().filter(|&&ok| ok).count();
    rt::println!(
        "nodev: {} of {} device requests refused as expected; still running",
        refused,
        results.len()
    );
    if refused == results.len() { 0 } else { 1 }
}
