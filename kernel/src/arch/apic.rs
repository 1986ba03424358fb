//! The local APIC through the `x2apic` crate, in x2APIC mode where CPUID
//! offers it and in xAPIC (MMIO) mode otherwise; the LAPIC timer in
//! TSC-deadline mode when present, else one-shot mode calibrated against the
//! TSC; and IPIs.

use crate::percpu;
use core::sync::atomic::{AtomicU64, Ordering};
use x2apic::lapic::{LocalApic, LocalApicBuilder, TimerDivide, TimerMode};

/// LAPIC timer vector.
pub const TIMER_VECTOR: u8 = 0x30;
/// IPI: reschedule / check for killed threads.
pub const RESCHED_VECTOR: u8 = 0xf0;
/// IPI: TLB shootdown.
pub const TLB_VECTOR: u8 = 0xf1;
/// LAPIC error vector.
pub const ERROR_VECTOR: u8 = 0xfe;
/// Spurious-interrupt vector.
pub const SPURIOUS_VECTOR: u8 = 0xff;

const XAPIC_PHYS: u64 = 0xfee0_0000;
const IA32_TSC_DEADLINE: u32 = 0x6e0;

static XAPIC_VIRT: AtomicU64 = AtomicU64::new(0);
static LAPIC_TICKS_PER_MS: AtomicU64 = AtomicU64::new(0);

/// Whether the LAPICs run in x2APIC mode.
pub fn x2apic_mode() -> bool {
    crate::arch::cpu::features().x2apic
}

fn deadline_mode() -> bool {
    crate::arch::cpu::features().tsc_deadline
}

/// Masks the legacy 8259 PICs so only the APICs deliver interrupts.
pub fn disable_pic() {
    // SAFETY: ports 0x21/0xA1 are the PIC mask registers; masking every line
    // has no other effect.
    unsafe {
        x86_64::instructions::port::Port::<u8>::new(0x21).write(0xff);
        x86_64::instructions::port::Port::<u8>::new(0xa1).write(0xff);
    }
}

/// Enables the calling CPU's local APIC and stores it in the per-CPU block.
pub fn init_cpu() {
    if !x2apic_mode() && XAPIC_VIRT.load(Ordering::Acquire) == 0 {
        XAPIC_VIRT.store(crate::mm::map_mmio(XAPIC_PHYS, 4096), Ordering::Release);
    }
    let mode = if deadline_mode() {
        TimerMode::TscDeadline
    } else {
        TimerMode::OneShot
    };
    let mut lapic = LocalApicBuilder::new()
        .timer_vector(TIMER_VECTOR as usize)
        .error_vector(ERROR_VECTOR as usize)
        .spurious_vector(SPURIOUS_VECTOR as usize)
        .timer_mode(mode)
        .timer_divide(TimerDivide::Div16)
        .timer_initial(0)
        .set_xapic_base(XAPIC_VIRT.load(Ordering::Acquire))
        .build()
        .expect("local APIC present");
    // SAFETY: enabling this CPU's own APIC; vectors are set above and the
    // timer starts disarmed (initial count 0 / no deadline).
    unsafe { lapic.enable() };
    percpu::this().set_lapic(lapic);
}

fn with_lapic<R>(f: impl FnOnce(&mut LocalApic) -> R) -> R {
    percpu::this().with_lapic(f)
}

/// This CPU's APIC id.
pub fn id() -> u32 {
    // SAFETY: reading the ID register.
    let raw = with_lapic(|l| unsafe { l.id() });
    if x2apic_mode() { raw } else { raw >> 24 }
}

/// Signals end of interrupt.
pub fn eoi() {
    // SAFETY: called at the end of an APIC-delivered interrupt handler.
    with_lapic(|l| unsafe { l.end_of_interrupt() });
}

fn dest(apic_id: u32) -> u32 {
    // The crate writes the destination into ICR bits 32..; xAPIC expects the
    // id in bits 56..63, i.e. bits 24..31 of the high word.
    if x2apic_mode() {
        apic_id
    } else {
        apic_id << 24
    }
}

/// Sends a fixed IPI.
pub fn send_ipi(apic_id: u32, vector: u8) {
    // SAFETY: a fixed-mode IPI to a vector with a handler.
    with_lapic(|l| unsafe { l.send_ipi(vector, dest(apic_id)) });
}

/// Sends INIT (AP start-up).
pub fn send_init(apic_id: u32) {
    // SAFETY: INIT resets only the target, which is an AP not yet started.
    with_lapic(|l| unsafe { l.send_init_ipi(dest(apic_id)) });
}

/// Sends a start-up IPI pointing at physical page `page`.
pub fn send_sipi(apic_id: u32, page: u8) {
    // SAFETY: the trampoline is in place at `page << 12`.
    with_lapic(|l| unsafe { l.send_sipi(page, dest(apic_id)) });
}

/// Whether the timer vector is pending in this CPU's IRR.
fn timer_pending() -> bool {
    let reg = TIMER_VECTOR as u32 / 32;
    let bit = TIMER_VECTOR as u32 % 32;
    let value = if x2apic_mode() {
        // SAFETY: IRR registers are readable x2APIC MSRs (0x820 + n).
        unsafe { crate::arch::cpu::rdmsr(0x820 + reg) as u32 }
    } else {
        let base = XAPIC_VIRT.load(Ordering::Acquire);
        // SAFETY: the xAPIC page is mapped uncached at `base`; IRR n is at
        // offset 0x200 + 0x10 * n.
        unsafe { core::ptr::read_volatile((base + 0x200 + 0x10 * reg as u64) as *const u32) }
    };
    value & (1 << bit) != 0
}

/// Measures the one-shot timer rate against the TSC (only needed without
/// TSC-deadline). Runs on the bootstrap CPU with interrupts off.
///
/// It counts how long a known count takes to expire by watching the timer
/// vector turn up in the IRR, rather than reading the current-count
/// register: under `-icount`, QEMU aborts on a current-count read through
/// the x2APIC MSR. The interrupt stays pending and is taken harmlessly once
/// the idle loop enables interrupts.
pub fn calibrate_timer() {
    if deadline_mode() {
        return;
    }
    const COUNT: u32 = 1 << 20;
    let start = with_lapic(|l| {
        // SAFETY: programming this CPU's own timer, which nothing uses yet.
        unsafe {
            l.set_timer_mode(TimerMode::OneShot);
            l.set_timer_divide(TimerDivide::Div16);
            l.set_timer_initial(COUNT);
        }
        crate::time::now_ns()
    });
    let limit = start + 1_000_000_000;
    while !timer_pending() && crate::time::now_ns() < limit {
        core::hint::spin_loop();
    }
    let elapsed = (crate::time::now_ns() - start).max(1);
    let per_ms = (COUNT as u64 * 1_000_000 / elapsed).max(1);
    LAPIC_TICKS_PER_MS.store(per_ms, Ordering::Relaxed);
    log::info!("lapic timer: {per_ms} ticks/ms (divide by 16)");
}

/// Describes the timer for the boot log.
pub fn timer_description() -> &'static str {
    if deadline_mode() {
        "TSC-deadline"
    } else {
        "one-shot"
    }
}

/// Arms this CPU's timer to fire at `deadline_ns` (kernel time), or disarms
/// it with `None`.
pub fn arm_timer(deadline_ns: Option<u64>) {
    if deadline_mode() {
        let tsc = deadline_ns
            .map_or(0, crate::time::ns_to_tsc)
            .max(u64::from(deadline_ns.is_some()));
        // SAFETY: IA32_TSC_DEADLINE exists when CPUID reports TSC-deadline;
        // 0 disarms it.
        unsafe { crate::arch::cpu::wrmsr(IA32_TSC_DEADLINE, tsc) };
        return;
    }
    let count = match deadline_ns {
        None => 0,
        Some(d) => {
            let delta = d.saturating_sub(crate::time::now_ns()).max(10_000);
            let per_ms = LAPIC_TICKS_PER_MS.load(Ordering::Relaxed);
            ((delta as u128 * per_ms as u128) / 1_000_000).clamp(1, u32::MAX as u128) as u32
        }
    };
    // SAFETY: programming this CPU's own timer.
    with_lapic(|l| unsafe { l.set_timer_initial(count) });
}
