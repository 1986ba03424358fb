//! `latency`: proves that strict priorities hold against a CPU hog: a
//! high-priority thread that sleeps keeps waking on time while a
//! lower-priority thread spins on the same CPU.
//!
//! The priority scenario pins this program (priority 20) and `spinner`
//! (priority 8, never blocks or yields) to one CPU. After [`SETTLE_NS`], so
//! that the spinner is surely spinning, this program sleeps [`ROUNDS`] times
//! for each length in [`SLEEPS_NS`] and measures how late each wake-up is
//! (time `NOW` after the sleep minus the time asked for).
//!
//! Without priorities the woken thread would have to wait for the spinner's
//! 10 ms time slice to end. A 10 ms sleep alone cannot show that, since the
//! spinner's slice starts when this thread goes to sleep and so ends just as
//! the sleep does; the 2 ms sleeps wake early in the spinner's slice and would
//! be about 8 ms late. With priorities every wake-up preempts the spinner at
//! once. The program logs the largest, mean and median lateness for each
//! length, and exits 0 only if no sleep returned early and the median
//! lateness is below [`MEDIAN_BOUND_NS`], else 1. The median is what tells
//! priorities from round robin (about 0.1 ms against 8 ms for the 2 ms
//! sleeps), and unlike the mean or the largest value it does not move when
//! the host deschedules QEMU for a few ms during one or two of the sleeps,
//! which happens under TCG on a loaded machine.

#![no_std]
#![no_main]

use rt::kernel;

rt::entry!(main);

/// Wait before measuring, so that the spinner has started spinning.
const SETTLE_NS: u64 = 50_000_000;
/// The sleep lengths tried, [`ROUNDS`] times each.
const SLEEPS_NS: [u64; 2] = [10_000_000, 2_000_000];
/// Sleeps of each length.
const ROUNDS: u64 = 20;
/// Largest median lateness accepted.
const MEDIAN_BOUND_NS: u64 = 2_000_000;

fn main() -> i32 {
    kernel::sleep_ns(SETTLE_NS);
    rt::println!("latency: measuring on cpu {}", kernel::info().cpu);
    let mut ok = true;
    for sleep in SLEEPS_NS {
        let (mut max, mut total, mut early) = (0, 0, 0);
        let mut lates = [0u64; ROUNDS as usize];
        for slot in lates.iter_mut() {
            let t0 = kernel::now_ns();
            kernel::sleep_ns(sleep);
            let slept = kernel::now_ns() - t0;
            if slept < sleep {
                early += 1;
            }
            let late = slept.saturating_sub(sleep);
            max = max.max(late);
            total += late;
            *slot = late;
        }
        lates.sort_unstable();
        let median = lates[lates.len() / 2];
        rt::println!(
            "latency: {} sleeps of {} ms: lateness max {} us, mean {} us, median {} us (bound {} us) on cpu {}",
            ROUNDS,
            sleep / 1_000_000,
            max / 1000,
            total / ROUNDS / 1000,
            median / 1000,
            MEDIAN_BOUND_NS / 1000,
            kernel::info().cpu
        );
        if early > 0 {
            rt::error!("latency: {} sleeps returned early -- FAIL", early);
            ok = false;
        }
        if median >= MEDIAN_BOUND_NS {
            rt::error!(
                "latency: median wake-up {} us late (mean {} us, up to {} us) -- FAIL",
                median / 1000,
                total / ROUNDS / 1000,
                max / 1000
            );
            ok = false;
        }
    }
    if ok { 0 } else { 1 }
}
