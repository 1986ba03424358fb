//! Kernel stacks: 32 KiB each, in their own slots of the stack area with an
//! unmapped 32 KiB guard below, so an overflow faults instead of corrupting
//! a neighbour. Freed stacks are kept for reuse and never unmapped, so no
//! TLB shootdown is ever needed for them.

use super::{Frames, Hhdm, KERNEL_PT};
use alloc::vec::Vec;
use kcore::paging::MapFlags;
use spin::Mutex;

/// Base of the stack area.
pub const STACK_AREA: u64 = 0xffff_fe00_0000_0000;
/// Usable bytes per stack.
pub const STACK_SIZE: u64 = 32 * 1024;
const SLOT: u64 = 2 * STACK_SIZE;

struct Pool {
    next_slot: u64,
    free: Vec<u64>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    next_slot: 0,
    free: Vec::new(),
});

/// A kernel stack. Dropping it returns the slot to the pool.
pub struct KernelStack {
    top: u64,
}

impl KernelStack {
    /// Allocates a stack; `None` if memory is exhausted.
    pub fn new() -> Option<KernelStack> {
        let mut pool = POOL.lock();
        if let Some(top) = pool.free.pop() {
            return Some(KernelStack { top });
        }
        let base = STACK_AREA + pool.next_slot * SLOT + (SLOT - STACK_SIZE);
        let mut pt = KERNEL_PT.lock();
        // Pages an earlier, failed attempt mapped in this slot are kept and
        // reused, so running out of memory half-way leaks nothing and does
        // not block the slot for later attempts.
        let mut offset = 0;
        while offset < STACK_SIZE {
            let va = base + offset;
            offset += 4096;
            // SAFETY: reading the kernel table under its lock.
            if unsafe { pt.translate(&Hhdm, va) }.is_some() {
                continue;
            }
            let pa = super::alloc_frame()?;
            let flags = super::hw(MapFlags::WRITABLE | MapFlags::GLOBAL);
            // SAFETY: the slot is kernel address space in a shared PML4 slot
            // that only this function maps into, and `va` is not mapped yet.
            if unsafe { pt.map(&Hhdm, &mut Frames, va, pa, flags) }.is_err() {
                super::free_frame(pa);
                return None;
            }
        }
        pool.next_slot += 1;
        Some(KernelStack {
            top: base + STACK_SIZE,
        })
    }

    /// The initial stack pointer (16-byte aligned).
    pub fn top(&self) -> u64 {
        self.top
    }
}

/// Bytes of stacks in the pool, kept for reuse.
pub fn pooled_bytes() -> u64 {
    POOL.lock().free.len() as u64 * STACK_SIZE
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        POOL.lock().free.push(self.top);
    }
}
