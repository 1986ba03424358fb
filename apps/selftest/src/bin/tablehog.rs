//! `tablehog`: tries to exhaust physical memory through page tables alone.
//!
//! It maps and unmaps one page at a time, each at a new 1 GiB-aligned
//! address, so every mapping needs fresh page tables while the mapped
//! memory stays at one page. Page tables are charged to the domain's quota,
//! so the kernel must stop this with `QuotaExceeded` long before physical
//! memory runs out. Exits 0 if it does, 1 otherwise.

#![no_std]
#![no_main]

use rt::abi::{Error, mem};
use rt::kernel;

rt::entry!(main);

const BASE: u64 = 0x1000_0000_0000;
const STRIDE: u64 = 1 << 30;
const LIMIT: u64 = 1 << 20;

fn main() -> i32 {
    let Ok(before) = kernel::mem_stats() else {
        rt::error!("tablehog: mem STATS failed");
        return 1;
    };
    let mut maps = 0u64;
    let outcome = loop {
        if maps == LIMIT {
            break None;
        }
        let addr = BASE + maps * STRIDE;
        match kernel::map(addr, 4096, mem::PROT_READ | mem::PROT_WRITE) {
            Ok(_) => {}
            Err(e) => break Some(e),
        }
        // SAFETY: the page was just mapped by this loop and nothing refers
        // to it.
        if let Err(e) = unsafe { kernel::unmap(addr, 4096) } {
            rt::error!("tablehog: unmap failed: {}", e);
            return 1;
        }
        maps += 1;
    };
    let Ok(after) = kernel::mem_stats() else {
        rt::error!("tablehog: mem STATS failed");
        return 1;
    };
    rt::println!(
        "tablehog: {} maps, page tables {} KiB of quota {} KiB, mapped {} KiB, free memory {} MiB -> {} MiB",
        maps,
        after.tables / 1024,
        after.quota / 1024,
        after.mapped / 1024,
        before.free_phys >> 20,
        after.free_phys >> 20
    );
    match outcome {
        Some(Error::QuotaExceeded) if after.mapped == before.mapped => {
            rt::println!("tablehog: quota stopped page-table growth");
            0
        }
        other => {
            rt::error!(
                "tablehog: expected QuotaExceeded with nothing left mapped, got {:?}",
                other
            );
            1
        }
    }
}
