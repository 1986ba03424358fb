//! `burner`: a CPU hog that never blocks or yields, for the
//! `desktop-spinner` scenario. Unlike `spinner` (1.5 s, then exit) it spins
//! for as long as its argument says, so a test can watch other programs for
//! as long as it likes while the hog holds their CPU.
//!
//! The argument's low 16 bits are the seconds of kernel time to spin (0:
//! forever); bits 16..32 are seconds to sleep before spinning (so that the
//! programs under test are running when the hog starts; `0x3_0005` sleeps
//! 3 s, then spins 5 s).
//!
//! It looks at the clock (`Time.now`, which returns at once) every
//! [`ROUND`] iterations, so the only way another thread of its priority
//! gets its CPU is the kernel's timer preemption.
//!
//! Log lines:
//! - `burner: spinning on cpu <n> forever` (or `for <s> s`) at start;
//! - `burner: <t> s, <r> rounds since the last line` about every
//!   [`HEARTBEAT_NS`] (how much CPU it got; a burner that gets no CPU logs
//!   nothing);
//! - `burner: done after <r> rounds` when the time is up; it then exits 0.

#![no_std]
#![no_main]

use core::hint::black_box;
use rt::kernel;

rt::entry!(main);

/// Iterations between two looks at the clock.
const ROUND: u32 = 20_000;
/// Time between two heartbeat lines.
const HEARTBEAT_NS: u64 = 5_000_000_000;
const SECOND_NS: u64 = 1_000_000_000;

fn main() -> i32 {
    let seconds = rt::arg() & 0xffff;
    let delay = (rt::arg() >> 16) & 0xffff;
    if delay != 0 {
        kernel::sleep_ns(delay * SECOND_NS);
    }
    let cpu = kernel::info().cpu;
    if seconds == 0 {
        rt::println!("burner: spinning on cpu {} forever", cpu);
    } else {
        rt::println!("burner: spinning on cpu {} for {} s", cpu, seconds);
    }
    let start = kernel::now_ns();
    let end = start.saturating_add(seconds.saturating_mul(SECOND_NS));
    let mut heartbeat = start + HEARTBEAT_NS;
    let (mut rounds, mut since_heartbeat) = (0u64, 0u64);
    loop {
        for i in 0..ROUND {
            black_box(i);
        }
        rounds += 1;
        since_heartbeat += 1;
        let now = kernel::now_ns();
        if seconds != 0 && now >= end {
            break;
        }
        if now >= heartbeat {
            rt::println!(
                "burner: {} s, {} rounds since the last line",
                (now - start) / SECOND_NS,
                since_heartbeat
            );
            since_heartbeat = 0;
            heartbeat = now + HEARTBEAT_NS;
        }
    }
    rt::println!("burner: done after {} rounds", rounds);
    0
}
