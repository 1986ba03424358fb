//! The Tessera microkernel.
//!
//! Tessera's kernel does only what needs privilege: scheduling (one
//! scheduler per CPU), memory, time, handles and the three IPC system calls.
//! Everything else runs in isolated user-space domains started from the
//! solution description packed into the boot image.
//!
//! Design principles:
//! - The kernel never panics on user input: every syscall argument is
//!   decoded and checked, and every error goes back to the caller as an
//!   `abi::Error`.
//! - Logic that does not touch hardware lives in host-tested crates
//!   (`kcore`, `smp`); this crate is the hardware glue around them.
//! - The kernel runs with interrupts disabled; only the idle loop enables
//!   them. There is no global lock: each CPU's scheduler has its own.
//! - `unsafe` is confined to hardware access and each use says why it is
//!   sound.
//!
//! Boot order (bootstrap CPU): serial console, CPU features, PVH start info,
//! TSC calibration, ACPI (MADT), memory (frames, kernel page table, heap),
//! per-CPU data, GDT/TSS/IDT, local APIC, then the application processors,
//! then the solution's domains.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

extern crate alloc;

mod acpi;
mod arch;
mod console;
mod endpoints;
mod fastpath;
mod irq;
mod loader;
mod mm;
mod obj;
mod pci;
mod percpu;
mod pvh;
mod rtc;
mod sched;
mod security;
mod syscall;
mod time;
mod tlb;
mod trap;

use crate::mm::stack::KernelStack;
use crate::obj::thread::Thread;
use core::sync::atomic::{AtomicU64, Ordering};

static BSP_IDLE_STACK: spin::Mutex<Option<KernelStack>> = spin::Mutex::new(None);
static BOOT_INFO: spin::Once<pvh::BootInfo> = spin::Once::new();
static TOPOLOGY: spin::Once<Option<acpi::Topology>> = spin::Once::new();
static BSP_APIC: AtomicU64 = AtomicU64::new(0);

/// This CPU's APIC id as CPUID reports it (x2APIC id when available).
fn cpuid_apic_id() -> u32 {
    let id = raw_cpuid::CpuId::new();
    if arch::cpu::features().x2apic
        && let Some(mut topo) = id.get_extended_topology_info()
        && let Some(level) = topo.next()
    {
        return level.x2apic_id();
    }
    id.get_feature_info()
        .map_or(0, |f| f.initial_local_apic_id() as u32)
}

/// Entry from the PVH boot code, on the boot stack, with the boot page
/// tables.
#[unsafe(no_mangle)]
pub extern "C" fn kmain(start_info: u32) -> ! {
    console::init();
    arch::cpu::enable_features();
    let f = arch::cpu::features();
    let boot = BOOT_INFO.call_once(|| {
        // SAFETY: `start_info` is the pointer QEMU passed in ebx, reachable
        // through the boot page tables' direct map.
        unsafe { pvh::parse(start_info as u64) }
            .expect("not started by a PVH loader (bad start-info magic)")
    });
    if let Some(level) = boot.option("log").and_then(|l| l.parse().ok()) {
        console::set_level(level);
    }
    log::info!("Tessera starting; command line '{}'", boot.cmdline());
    fastpath::init(boot.option("fastpath"));
    log::info!(
        "cpu: {}; nx={} smep={} smap={} pcid={} x2apic={} tsc-deadline={}",
        arch::cpu::brand().as_str(),
        f.nx,
        f.smep,
        f.smap,
        f.pcid,
        f.x2apic,
        f.tsc_deadline
    );
    time::calibrate();
    log::info!("tsc: {} MHz", time::tsc_hz() / 1_000_000);
    rtc::init();
    let topo = TOPOLOGY.call_once(|| acpi::discover(boot.rsdp));
    mm::init(boot);

    let bsp_apic = cpuid_apic_id();
    BSP_APIC.store(bsp_apic as u64, Ordering::Relaxed);
    let pc = percpu::create(0, bsp_apic);
    percpu::install(pc);
    let stack = KernelStack::new().expect("no memory for the idle stack");
    let top = stack.top();
    pc.set_tss(arch::gdt::init_cpu(top));
    arch::trap::load_idt();
    arch::apic::disable_pic();
    arch::apic::init_cpu();
    if topo.is_none() {
        log::warn!("no ACPI MADT: running on the bootstrap CPU only");
    }
    *BSP_IDLE_STACK.lock() = Some(stack);
    // SAFETY: switches to the idle thread's stack and never returns; the
    // boot stack is not used again.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "xor ebp, ebp",
            "call {next}",
            "ud2",
            top = in(reg) top,
            next = sym bsp_main,
            options(noreturn)
        )
    }
}

/// The bootstrap CPU, now on its idle thread's stack.
extern "C" fn bsp_main() -> ! {
    let pc = percpu::this();
    let stack = BSP_IDLE_STACK.lock().take().expect("idle stack prepared");
    let idle = Thread::new_idle(0, stack);
    pc.set_kernel_stack(idle.kstack_top());
    pc.set_idle(idle.clone());
    // SAFETY: start-up on the owner CPU, interrupts off.
    unsafe { pc.set_current(idle) };
    tlb::init();
    arch::apic::calibrate_timer();
    log::info!(
        "cpu0 online (apic id {}, {} mode, {} timer)",
        arch::apic::id(),
        if arch::apic::x2apic_mode() {
            "x2APIC"
        } else {
            "xAPIC"
        },
        arch::apic::timer_description()
    );
    if let Some(Some(t)) = TOPOLOGY.get() {
        for io in &t.ioapics[..t.ioapic_count] {
            log::info!(
                "ioapic {} at {:#x}, GSI base {}",
                io.id,
                io.address,
                io.gsi_base
            );
        }
        let bsp = BSP_APIC.load(Ordering::Relaxed) as u32;
        arch::smpboot::start_aps(&t.apic_ids[..t.cpu_count], bsp);
    }
    log::info!("all {} cpus online", percpu::online());
    let boot = BOOT_INFO.get().expect("boot info parsed");
    pci::init(acpi::ecam(boot.rsdp));
    match boot.initrd {
        Some(r) => {
            // SAFETY: the boot image is reserved in the frame allocator and
            // mapped by the direct map; nothing writes to it.
            let image = unsafe {
                core::slice::from_raw_parts(
                    mm::phys_to_virt(r.start) as *const u8,
                    (r.end - r.start) as usize,
                )
            };
            loader::start_solution(image);
        }
        None => log::warn!("no boot image (-initrd): no programs to start"),
    }
    sched::idle_loop()
}

/// An application processor, entered from the trampoline on the stack the
/// bootstrap CPU prepared.
pub fn ap_main(index: usize) -> ! {
    mm::switch_to_kernel_table();
    arch::cpu::enable_features();
    let pc = percpu::get(index).expect("per-CPU block created before start-up");
    percpu::install(pc);
    let stack = arch::smpboot::take_ap_stack().expect("AP stack prepared");
    pc.set_tss(arch::gdt::init_cpu(stack.top()));
    arch::trap::load_idt();
    arch::apic::init_cpu();
    let idle = Thread::new_idle(index, stack);
    pc.set_kernel_stack(idle.kstack_top());
    pc.set_idle(idle.clone());
    // SAFETY: start-up on the owner CPU, interrupts off.
    unsafe { pc.set_current(idle) };
    log::info!("cpu{index} online (apic id {})", arch::apic::id());
    arch::smpboot::ap_online();
    sched::idle_loop()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    x86_64::instructions::interrupts::disable();
    console::force_unlock();
    console::write_raw(format_args!(
        "\nKERNEL PANIC on cpu{}: {}\n",
        percpu::cpu_index_or_boot(),
        info
    ));
    arch::cpu::qemu_exit(false)
}
