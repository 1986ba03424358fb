//! Kernel time: the TSC, calibrated once against the PIT, gives monotonic
//! nanoseconds since boot on every CPU.

use crate::arch::cpu::rdtsc;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::instructions::port::Port;

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static TSC_BOOT: AtomicU64 = AtomicU64::new(0);

/// TSC ticks per second (0 before calibration).
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Nanoseconds per TSC tick as a 32.32 fixed-point number, so that reading
/// the time is a multiplication rather than a 128-bit division (which costs
/// as much as the rest of a kernel call).
static NS_PER_TICK_FP32: AtomicU64 = AtomicU64::new(0);

/// Nanoseconds since the TSC was calibrated (0 before).
pub fn now_ns() -> u64 {
    let mult = NS_PER_TICK_FP32.load(Ordering::Relaxed);
    let ticks = rdtsc().saturating_sub(TSC_BOOT.load(Ordering::Relaxed));
    ((ticks as u128 * mult as u128) >> 32) as u64
}

/// The TSC value at `ns` nanoseconds since boot (for TSC-deadline timers).
/// Saturates at `u64::MAX` (a deadline that never comes) rather than wrap.
pub fn ns_to_tsc(ns: u64) -> u64 {
    let hz = TSC_HZ.load(Ordering::Relaxed) as u128;
    let ticks = u64::try_from(ns as u128 * hz / 1_000_000_000).unwrap_or(u64::MAX);
    TSC_BOOT.load(Ordering::Relaxed).saturating_add(ticks)
}

/// Busy-waits for `ns` nanoseconds (after calibration).
pub fn spin_ns(ns: u64) {
    let end = now_ns().saturating_add(ns);
    while now_ns() < end {
        core::hint::spin_loop();
    }
}

/// Measures the TSC against PIT channel 2 over 20 ms. Runs once on the
/// bootstrap CPU with interrupts off.
pub fn calibrate() {
    const PIT_HZ: u64 = 1_193_182;
    const MS: u64 = 20;
    let count = (PIT_HZ * MS / 1000) as u16;
    // SAFETY: ports 0x42/0x43/0x61 are the PIT channel 2 and its gate on
    // every PC; nothing else in the kernel uses them.
    let ticks = unsafe {
        let mut gate = Port::<u8>::new(0x61);
        let mut cmd = Port::<u8>::new(0x43);
        let mut ch2 = Port::<u8>::new(0x42);
        let g = gate.read();
        gate.write((g & !0x02) | 0x01); // gate on, speaker off
        cmd.write(0b1011_0000); // channel 2, lo/hi, mode 0, binary
        ch2.write(count as u8);
        ch2.write((count >> 8) as u8);
        let start = rdtsc();
        // Output bit 5 of port 0x61 goes high when the count reaches zero.
        let mut guard = 0u64;
        while gate.read() & 0x20 == 0 {
            guard += 1;
            if guard > 1_000_000_000 {
                break;
            }
        }
        let end = rdtsc();
        gate.write(g);
        end - start
    };
    let hz = (ticks * 1000 / MS).max(1_000_000);
    TSC_HZ.store(hz, Ordering::Relaxed);
    let mult = ((1_000_000_000u128 << 32) / hz as u128) as u64;
    NS_PER_TICK_FP32.store(mult, Ordering::Relaxed);
    TSC_BOOT.store(rdtsc(), Ordering::Relaxed);
}
