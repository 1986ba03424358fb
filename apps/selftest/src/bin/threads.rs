//! `threads`: spawns three threads that each log their CPU, use the heap and
//! bump a shared counter; waits (at most 5 s) for all three; then grows the
//! heap past its initial size and checks that mapping and unmapping memory
//! moves `mem::STATS` up and back down. Exits 0 if all of that holds.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use rt::kernel;

rt::entry!(main);

const WORKERS: u32 = 3;
const STACK_SIZE: usize = 64 * 1024;
const WAIT_NS: u64 = 5_000_000_000;
const POLL_NS: u64 = 1_000_000;

static FINISHED: AtomicU32 = AtomicU32::new(0);

fn main() -> i32 {
    for i in 1..=WORKERS {
        if let Err(e) = rt::thread::spawn(move || worker(i), STACK_SIZE) {
            rt::error!("threads: spawning worker {} failed: {}", i, e);
            return 1;
        }
    }
    let deadline = kernel::now_ns() + WAIT_NS;
    while FINISHED.load(Ordering::Acquire) < WORKERS && kernel::now_ns() < deadline {
        kernel::sleep_ns(POLL_NS);
    }
    let finished = FINISHED.load(Ordering::Acquire);
    if finished < WORKERS {
        rt::error!(
            "threads: only {} of {} workers finished within 5 s",
            finished,
            WORKERS
        );
        return 1;
    }
    rt::println!("threads: all {} workers finished", WORKERS);

    if check_heap_growth() && check_map_accounting() {
        0
    } else {
        1
    }
}

/// A worker: allocate from the shared heap, log, count.
fn worker(i: u32) {
    let v: Vec<u64> = (0..1000).map(|k| k * u64::from(i)).collect();
    let sum: u64 = v.iter().sum();
    rt::println!(
        "threads: worker {} on cpu {} (sum {})",
        i,
        kernel::info().cpu,
        sum
    );
    FINISHED.fetch_add(1, Ordering::Release);
}

/// Allocates more than the initial heap, so the heap must grow.
fn check_heap_growth() -> bool {
    let before = rt::heap::usage();
    let big: Vec<u8> = alloc::vec![0xa5; 1024 * 1024];
    let ok = big.iter().all(|&b| b == 0xa5);
    let after = rt::heap::usage();
    drop(big);
    rt::println!(
        "threads: heap grew from {} KiB to {} KiB",
        before.mapped / 1024,
        after.mapped / 1024
    );
    if !ok || after.mapped <= before.mapped {
        rt::error!("threads: heap growth check FAILED");
        return false;
    }
    true
}

/// Maps and unmaps 64 KiB and checks `mapped` in mem STATS follows.
fn check_map_accounting() -> bool {
    const LEN: u64 = 64 * 1024;
    let rw = abi::mem::PROT_READ | abi::mem::PROT_WRITE;
    let stats = || kernel::mem_stats().map(|s| s.mapped);
    let (Ok(before), Ok(addr)) = (stats(), kernel::map(0, LEN, rw)) else {
        rt::error!("threads: mem STATS or MAP FAILED");
        return false;
    };
    // SAFETY: `addr` is a fresh 64 KiB read-write mapping that nothing else uses.
    unsafe { core::ptr::write_bytes(addr as *mut u8, 0x5a, LEN as usize) };
    let during = stats();
    // SAFETY: nothing refers to the mapping any more.
    let unmapped = unsafe { kernel::unmap(addr, LEN) };
    let after = stats();
    rt::println!(
        "threads: mapped bytes {} -> {:?} -> {:?}",
        before,
        during,
        after
    );
    if unmapped.is_err() || during != Ok(before + LEN) || after != Ok(before) {
        rt::error!("threads: map accounting FAILED (unmap: {:?})", unmapped);
        return false;
    }
    rt::println!("threads: map accounting ok");
    true
}
