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
//! once. The program logs the largest and mean lateness for each length, and
//! exits 0 only if no sleep returned early, the mean lateness is below
//! [`MEAN_BOUND_NS`] and the largest below [`MAX_BOUND_NS`], else 1. The
//! bounds are generous because QEMU TCG's timing is noisy (single wake-ups
//! a few ms late happen when the host deschedules QEMU); the mean is what
//! tells priorities from round robin (about 0.1 ms against 8 ms for the
//! 2 ms sleeps).

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
/// Largest mean lateness accepted.
const MEAN_BOUND_NS: u64 = 2_000_000;
/// Largest single lateness accepted.
const MAX_BOUND_NS: u64 = 8_000_000;

fn main() -> i32 {
    kernel::sleep_ns(SETTLE_NS);
    rt::println!("latency: measuring on cpu {}", kernel::info().cpu);
    let mut ok = true;
    for sleep in SLEEPS_NS {
        let (mut max, mut total, mut early) = (0, 0, 0);
        for _ in 0..ROUNDS {
            let t0 = kernel::now_ns();
            kernel::sleep_ns(sleep);
            let slept = kernel::now_ns() - t0;
            if slept < sleep {
                early += 1;
            }
            let late = slept.saturating_sub(sleep);
            max = max.max(late);
            total += late;
        }
        rt::println!(
            "latency: {} sleeps of {} ms: lateness max {} us, mean {} us (bounds {} us, {} us) on cpu {}",
            ROUNDS,
            sleep / 1_000_000,
            max / 1000,
            total / ROUNDS / 1000,
            MAX_BOUND_NS / 1000,
            MEAN_BOUND_NS / 1000,
            kernel::info().cpu
        );
        if early > 0 {
            rt::error!("latency: {} sleeps returned early -- FAIL", early);
            ok = false;
        }
        if max >= MAX_BOUND_NS || total / ROUNDS >= MEAN_BOUND_NS {
            rt::error!(
                "latency: woke up {} us late on average, up to {} us -- FAIL",
                total / ROUNDS / 1000,
                max / 1000
            );
            ok = false;
        }
    }
    if ok { 0 } else { 1 }
}
