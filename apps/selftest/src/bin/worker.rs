//! `worker`: a fixed amount of CPU work (tens of milliseconds under QEMU TCG),
//! then "worker: done" and exit 0. No system calls while it works, so it
//! never gives the CPU away by itself.

#![no_std]
#![no_main]

use core::hint::black_box;
use rt::kernel;

rt::entry!(main);

/// Rounds of an xorshift step: a few million instructions.
const ROUNDS: u32 = 3_000_000;

fn main() -> i32 {
    rt::println!("worker: starting on cpu {}", kernel::info().cpu);
    let start = kernel::now_ns();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..ROUNDS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = black_box(x);
    }
    let ms = (kernel::now_ns() - start) / 1_000_000;
    rt::println!("worker: done in {} ms (checksum {:#x})", ms, x);
    0
}
