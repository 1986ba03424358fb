//! `spinner`: burns the CPU for about 1.5 s of kernel time, then exits 0.
//!
//! It never blocks or yields: `time::NOW` returns at once. So on a CPU it
//! shares with another thread of the same priority, that thread runs only if
//! the kernel preempts the spinner on a timer tick. The preemption scenario
//! pins `spinner` and `worker` to one CPU and checks that the worker finishes
//! first.

#![no_std]
#![no_main]

use core::hint::black_box;
use rt::kernel;

rt::entry!(main);

/// How long to spin, in nanoseconds of kernel time.
const SPIN_NS: u64 = 1_500_000_000;
/// Iterations between two looks at the clock.
const ROUND: u32 = 20_000;

fn main() -> i32 {
    rt::println!(
        "spinner: spinning for {} ms on cpu {}",
        SPIN_NS / 1_000_000,
        kernel::info().cpu
    );
    let start = kernel::now_ns();
    let mut rounds: u64 = 0;
    loop {
        for i in 0..ROUND {
            black_box(i);
        }
        rounds += 1;
        if kernel::now_ns() >= start + SPIN_NS {
            break;
        }
    }
    rt::println!("spinner: done after {} rounds", rounds);
    0
}
