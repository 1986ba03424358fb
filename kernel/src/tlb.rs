//! TLB shootdown glue: applies the `smp::tlb` mailbox protocol with real
//! `invlpg`, CR3 reloads and IPIs.
//!
//! After a domain's page table loses a mapping, every CPU that may cache
//! translations for that domain's PCID (`Domain::cpus_seen`) must drop them
//! before the frames are reused. A CPU running the domain invalidates the
//! pages; a CPU that merely cached them forgets the PCID's generation, so
//! its next switch to the domain flushes the PCID.

use crate::obj::domain::Domain;
use crate::percpu;
use smp::cpuset::CpuSet;
use smp::tlb::{Flush, Mailboxes};

static MAILBOXES: spin::Once<Mailboxes> = spin::Once::new();

/// Sets up one mailbox per possible CPU.
pub fn init() {
    MAILBOXES.call_once(|| Mailboxes::new(smp::cpuset::MAX_CPUS));
}

fn invlpg(va: u64) {
    // SAFETY: INVLPG only drops a TLB entry.
    unsafe { core::arch::asm!("invlpg [{}]", in(reg) va, options(nostack, preserves_flags)) };
}

fn reload_cr3() {
    let (frame, flags) = x86_64::registers::control::Cr3::read_raw();
    // SAFETY: reloading the current CR3 without the no-flush bit flushes the
    // current PCID's non-global entries and changes nothing else.
    unsafe {
        core::arch::asm!("mov cr3, {}", in(reg) frame.start_address().as_u64() | flags as u64, options(nostack))
    };
}

fn apply(f: Flush) {
    let pc = percpu::this();
    // SAFETY: owner CPU, interrupts off.
    let current = unsafe { *pc.current_asid.get() };
    // SAFETY: as above; not held across a switch.
    let loaded = unsafe { pc.asid_loaded() };
    match f {
        Flush::Range { asid, start, pages } => {
            if asid == current {
                if pages > 64 {
                    reload_cr3();
                } else {
                    for i in 0..pages {
                        invlpg(start + i * abi::PAGE_SIZE);
                    }
                }
            } else if let Some(g) = loaded.get_mut(asid as usize) {
                *g = 0;
            }
        }
        Flush::Asid(asid) => {
            if asid == current {
                reload_cr3();
            } else if let Some(g) = loaded.get_mut(asid as usize) {
                *g = 0;
            }
        }
        Flush::All => {
            loaded.iter_mut().for_each(|g| *g = 0);
            reload_cr3();
        }
    }
}

/// IPI handler: applies every pending request for this CPU.
pub fn service() {
    if let Some(m) = MAILBOXES.get() {
        m.service(percpu::this().index, apply);
    }
}

/// Invalidates `pages` pages from `start` in `d` on every CPU, waiting until
/// all have done so. Call after the page table changed and before freeing
/// the frames, without holding locks other CPUs might spin on.
pub fn shootdown(d: &Domain, start: u64, pages: u64) {
    // Order the page-table writes before reading which CPUs to notify: a CPU
    // that joins `cpus_seen` afterwards loads CR3 after our writes and sees
    // the new entries.
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    let me = percpu::this();
    let flush = Flush::Range {
        asid: d.asid,
        start,
        pages,
    };
    apply(flush);
    let mut targets = CpuSet(d.cpus_seen.load(core::sync::atomic::Ordering::Acquire));
    targets.remove(me.index);
    if targets.is_empty() {
        return;
    }
    let Some(m) = MAILBOXES.get() else { return };
    let ticket = m.post(targets, flush);
    for cpu in targets.iter() {
        if let Some(pc) = percpu::get(cpu) {
            crate::arch::apic::send_ipi(pc.apic_id, crate::arch::apic::TLB_VECTOR);
        }
    }
    m.wait(&ticket, me.index, apply);
}
