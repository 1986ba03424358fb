//! Measurement helpers shared by the benchmark programs.
//!
//! A benchmark times each operation with `rdtsc` around it, subtracts the
//! cost of an empty measurement, and prints one machine-readable line:
//!
//! ```text
//! BENCH {"name": "null_kernel_call", "median": 123, "p99": 150, "unit": "tsc", "iterations": 2000}
//! ```
//!
//! The unit is TSC ticks. Under `-icount shift=0` the guest TSC advances by
//! one per instruction executed (by any CPU), so `cargo xtask bench` reports
//! those runs as instructions; for wall-clock runs it converts ticks to
//! nanoseconds with the rate each program measures (`BENCH_TSC` line).

#![no_std]

/// Reads the time-stamp counter.
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects; the kernel leaves it usable in user
    // mode (CR4.TSD clear).
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Samples kept per benchmark.
pub const SAMPLES: usize = 2000;
/// Untimed operations before sampling starts.
pub const WARMUP: usize = 200;

/// Median and 99th percentile of `samples` (sorted in place).
pub fn stats(samples: &mut [u64]) -> (u64, u64) {
    samples.sort_unstable();
    if samples.is_empty() {
        return (0, 0);
    }
    let p99 = ((samples.len() * 99).div_ceil(100)).clamp(1, samples.len()) - 1;
    (samples[samples.len() / 2], samples[p99])
}

/// Times `op` [`SAMPLES`] times after [`WARMUP`] untimed runs and returns
/// (median, p99) in TSC ticks minus the median cost of an empty
/// measurement, or the first error `op` returns.
pub fn measure<E>(mut op: impl FnMut() -> Result<(), E>) -> Result<(u64, u64), E> {
    let overhead = empty_overhead();
    for _ in 0..WARMUP {
        op()?;
    }
    let mut samples = [0u64; SAMPLES];
    for s in samples.iter_mut() {
        let t0 = rdtsc();
        op()?;
        let t1 = rdtsc();
        *s = (t1 - t0).saturating_sub(overhead);
    }
    Ok(stats(&mut samples))
}

fn empty_overhead() -> u64 {
    let mut samples = [0u64; 256];
    for s in samples.iter_mut() {
        let t0 = rdtsc();
        let t1 = rdtsc();
        *s = t1 - t0;
    }
    stats(&mut samples).0
}

/// Prints one result line.
pub fn report(name: &str, (median, p99): (u64, u64)) {
    rt::println!(
        "BENCH {{\"name\": \"{}\", \"median\": {}, \"p99\": {}, \"unit\": \"tsc\", \"iterations\": {}}}",
        name,
        median,
        p99,
        SAMPLES
    );
}
