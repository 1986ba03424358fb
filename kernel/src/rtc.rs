//! The CMOS real-time clock, read once at boot. `Time.wall` is that
//! reading plus the monotonic time since (`kcore::rtc` turns the
//! registers into Unix time).

use crate::time::now_ns;
use core::sync::atomic::{AtomicU64, Ordering};
use kcore::rtc::{Registers, unix_seconds};
use x86_64::instructions::port::Port;

/// Unix time in ns at monotonic time 0; 0 if the clock could not be read.
static UNIX_AT_ZERO_NS: AtomicU64 = AtomicU64::new(0);

fn cmos(reg: u8) -> u8 {
    // SAFETY: ports 0x70/0x71 are the CMOS index and data registers; the
    // boot CPU reads them once, before other CPUs start, with interrupts
    // off, so no other access interleaves. Bit 7 of the index stays clear
    // (NMIs stay enabled).
    unsafe {
        Port::<u8>::new(0x70).write(reg & 0x7f);
        Port::<u8>::new(0x71).read()
    }
}

fn registers() -> Registers {
    // Wait out an update in progress (status A bit 7), which lasts under
    // 2 ms.
    let deadline = now_ns() + 10_000_000;
    while cmos(0x0a) & 0x80 != 0 && now_ns() < deadline {
        core::hint::spin_loop();
    }
    Registers {
        second: cmos(0x00),
        minute: cmos(0x02),
        hour: cmos(0x04),
        day: cmos(0x07),
        month: cmos(0x08),
        year: cmos(0x09),
        century: cmos(0x32),
        status_b: cmos(0x0b),
    }
}

/// Reads the clock (twice the same, so no update fell between the
/// registers) and records the wall-clock time of monotonic zero.
pub fn init() {
    let mut r = registers();
    for _ in 0..5 {
        let again = registers();
        if again == r {
            break;
        }
        r = again;
    }
    match unix_seconds(&r) {
        Some(s) => {
            let unix_ns = s.saturating_mul(1_000_000_000);
            UNIX_AT_ZERO_NS.store(unix_ns.saturating_sub(now_ns()), Ordering::Relaxed);
            log::info!("rtc: {} s since 1970 (UTC)", s);
        }
        None => log::warn!("rtc: no valid time in the CMOS clock ({:?})", r),
    }
}

/// Nanoseconds since 1970-01-01 UTC, or 0 if the clock is unknown.
pub fn wall_ns() -> u64 {
    match UNIX_AT_ZERO_NS.load(Ordering::Relaxed) {
        0 => 0,
        base => base + now_ns(),
    }
}
