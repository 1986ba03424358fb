//! What happens on every trap: CPU exceptions, the LAPIC timer, IPIs.
//!
//! An exception in user mode ends only the faulting domain: the fault is
//! reported on the console and the domain is killed. An exception in kernel
//! mode is a kernel bug: it prints a full report and stops QEMU with the
//! failure exit code.

use crate::arch::apic;
use crate::arch::trap::TrapFrame;
use crate::obj::domain::End;
use crate::sched;

/// Mnemonic and name of an exception vector.
pub fn exception_name(v: u64) -> &'static str {
    match v {
        0 => "#DE divide error",
        1 => "#DB debug",
        2 => "NMI",
        3 => "#BP breakpoint",
        4 => "#OF overflow",
        5 => "#BR bound range",
        6 => "#UD invalid opcode",
        7 => "#NM device not available",
        8 => "#DF double fault",
        10 => "#TS invalid TSS",
        11 => "#NP segment not present",
        12 => "#SS stack fault",
        13 => "#GP general protection",
        14 => "#PF page fault",
        16 => "#MF x87 error",
        17 => "#AC alignment check",
        18 => "#MC machine check",
        19 => "#XM SIMD error",
        20 => "#VE virtualization",
        21 => "#CP control protection",
        _ => "reserved exception",
    }
}

fn cr2() -> u64 {
    x86_64::registers::control::Cr2::read_raw()
}

/// Entry from the assembly stubs for every vector except `syscall`.
pub extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    match frame.vector {
        0..=31 => exception(frame),
        v if v == apic::TIMER_VECTOR as u64 => {
            apic::eoi();
            sched::timer_tick();
        }
        v if v == apic::RESCHED_VECTOR as u64 => {
            apic::eoi();
            crate::percpu::this()
                .need_resched
                .store(true, core::sync::atomic::Ordering::Release);
        }
        v if v == apic::TLB_VECTOR as u64 => {
            apic::eoi();
            crate::tlb::service();
        }
        v if crate::irq::is_device_vector(v) => {
            crate::irq::deliver(v as u8);
            apic::eoi();
        }
        v if v == apic::SPURIOUS_VECTOR as u64 => {}
        v => {
            apic::eoi();
            log::warn!("unexpected interrupt vector {v:#x}");
        }
    }
    sched::return_to_user(frame);
}

fn exception(frame: &mut TrapFrame) {
    let addr = if frame.vector == 14 { cr2() } else { 0 };
    if !frame.came_from_user() {
        kernel_fault(frame, addr);
    }
    let cur = sched::current();
    let Some(d) = cur.domain.clone() else {
        kernel_fault(frame, addr)
    };
    log::warn!(
        "domain {} thread {}: {} at rip={:#x} addr={:#x} error={:#x} rsp={:#x}",
        d.name,
        cur.id,
        exception_name(frame.vector),
        frame.rip,
        addr,
        frame.error,
        frame.rsp
    );
    log::info!("  {}", Registers(frame));
    sched::kill_domain(
        &d,
        End::Fault {
            vector: frame.vector as u8,
            rip: frame.rip,
            addr,
            error: frame.error,
        },
    );
}

fn kernel_fault(frame: &TrapFrame, addr: u64) -> ! {
    crate::console::force_unlock();
    crate::console::write_raw(format_args!(
        "\nKERNEL PANIC: {} (vector {}) in kernel mode on cpu{}\n\
         error={:#x} rip={:#018x} cr2={:#018x} rflags={:#x}\n{}\n",
        exception_name(frame.vector),
        frame.vector,
        crate::percpu::cpu_index_or_boot(),
        frame.error,
        frame.rip,
        addr,
        frame.rflags,
        Registers(frame)
    ));
    crate::arch::cpu::qemu_exit(false)
}

/// The general registers of a frame, for fault reports.
struct Registers<'a>(&'a TrapFrame);

impl core::fmt::Display for Registers<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let r = self.0;
        let regs = [
            ("rax", r.rax),
            ("rbx", r.rbx),
            ("rcx", r.rcx),
            ("rdx", r.rdx),
            ("rsi", r.rsi),
            ("rdi", r.rdi),
            ("rbp", r.rbp),
            ("rsp", r.rsp),
            ("r8", r.r8),
            ("r9", r.r9),
            ("r10", r.r10),
            ("r11", r.r11),
            ("r12", r.r12),
            ("r13", r.r13),
            ("r14", r.r14),
            ("r15", r.r15),
        ];
        for (i, (name, v)) in regs.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{name}={v:#x}")?;
        }
        Ok(())
    }
}
