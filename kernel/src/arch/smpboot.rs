//! Application-processor start-up: the real-mode trampoline and the
//! INIT-SIPI-SIPI sequence.
//!
//! The trampoline is copied to physical page [`TRAMPOLINE_PAGE`] (below
//! 1 MiB, as SIPI requires). It switches from real mode to protected mode to
//! long mode using a temporary page table that is the kernel's upper half
//! plus an identity map of the first 2 MiB, then jumps to [`ap_entry`] on a
//! kernel stack prepared by the bootstrap CPU. APs start one at a time.

use crate::mm::stack::KernelStack;
use crate::mm::{Frames, Hhdm, KERNEL_PT, phys_to_virt};
use core::sync::atomic::{AtomicUsize, Ordering};
use kcore::paging::{MapFlags, PageTable};
use spin::Mutex;

/// Physical page of the trampoline (SIPI vector 0x08).
pub const TRAMPOLINE_PAGE: u64 = 0x8000;
const DATA: u64 = 0xf00; // offset of the parameter block in the page

core::arch::global_asm!(
    r#"
    .section .rodata.ap_trampoline, "a"
    .global ap_trampoline_start, ap_trampoline_end
    .code16
ap_trampoline_start:
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    lgdtl (0x8000 + (tr_gdtr - ap_trampoline_start))
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x08, $(0x8000 + (tr_pm32 - ap_trampoline_start))

    .code32
tr_pm32:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr4, %eax
    or $(1 << 5), %eax                         /* PAE */
    mov %eax, %cr4
    mov (0x8000 + 0xf00), %eax                 /* CR3 (below 4 GiB) */
    mov %eax, %cr3
    mov $0xC0000080, %ecx
    mov (0x8000 + 0xf20), %eax                 /* EFER low word: LME, NXE, SCE */
    xor %edx, %edx
    wrmsr
    mov %cr0, %eax
    or $0x80010000, %eax                       /* PG | WP */
    mov %eax, %cr0
    ljmpl $0x18, $(0x8000 + (tr_lm64 - ap_trampoline_start))

    .code64
tr_lm64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov (0x8000 + 0xf08), %rsp
    mov (0x8000 + 0xf18), %rdi
    mov (0x8000 + 0xf10), %rax
    xor %ebp, %ebp
    call *%rax
1:  hlt
    jmp 1b

    .balign 8
tr_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF                   /* 0x08: 32-bit code */
    .quad 0x00CF92000000FFFF                   /* 0x10: data */
    .quad 0x00AF9A000000FFFF                   /* 0x18: 64-bit code */
tr_gdt_end:
tr_gdtr:
    .word tr_gdt_end - tr_gdt - 1
    .long 0x8000 + (tr_gdt - ap_trampoline_start)
ap_trampoline_end:
    .code64
    .text
"#,
    options(att_syntax)
);

unsafe extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
}

#[repr(C)]
struct Params {
    cr3: u64,
    stack: u64,
    entry: u64,
    arg: u64,
    efer: u64,
}

/// Stack handed to the AP being started; its idle thread adopts it.
static AP_STACK: Mutex<Option<KernelStack>> = Mutex::new(None);
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// Takes the stack the bootstrap CPU prepared for the AP now starting.
pub fn take_ap_stack() -> Option<KernelStack> {
    AP_STACK.lock().take()
}

/// Called by a started AP once it is fully up.
pub fn ap_online() {
    STARTED.fetch_add(1, Ordering::AcqRel);
}

extern "C" fn ap_entry(index: u64) -> ! {
    crate::ap_main(index as usize)
}

/// Starts every AP in `apic_ids` (excluding the caller). Returns how many
/// came online.
pub fn start_aps(apic_ids: &[u32], bsp_apic: u32) -> usize {
    // SAFETY: linker symbols bracketing the trampoline bytes.
    let (start, end) = unsafe {
        (
            &ap_trampoline_start as *const u8,
            &ap_trampoline_end as *const u8,
        )
    };
    let len = end as usize - start as usize;
    assert!(
        len as u64 <= DATA,
        "trampoline overlaps its parameter block"
    );
    // SAFETY: physical page 0x8000 is reserved from the frame allocator and
    // reached through the direct map; nothing else uses it.
    unsafe { core::ptr::copy_nonoverlapping(start, phys_to_virt(TRAMPOLINE_PAGE) as *mut u8, len) };

    let mut pt = PageTable::new(&Hhdm, &mut Frames).expect("no memory for the AP page table");
    assert!(pt.root() < 1 << 32, "AP page table must be below 4 GiB");
    // SAFETY: a fresh table; the identity map covers the trampoline page.
    unsafe {
        pt.share_kernel_half(&Hhdm, &KERNEL_PT.lock());
        pt.map_2m(
            &Hhdm,
            &mut Frames,
            0,
            0,
            MapFlags::WRITABLE | MapFlags::EXECUTABLE,
        )
        .expect("identity map for the trampoline");
    }
    // SAFETY: reading EFER.
    let efer = unsafe { crate::arch::cpu::rdmsr(0xc000_0080) };

    let mut index = 1;
    for &apic in apic_ids.iter().filter(|&&a| a != bsp_apic) {
        if index >= smp::cpuset::MAX_CPUS {
            log::warn!(
                "more than {} CPUs; ignoring APIC {apic}",
                smp::cpuset::MAX_CPUS
            );
            break;
        }
        let Some(stack) = KernelStack::new() else {
            log::error!("no memory for CPU {index}'s stack");
            break;
        };
        let params = Params {
            cr3: pt.root(),
            stack: stack.top(),
            entry: ap_entry as *const () as u64,
            arg: index as u64,
            efer,
        };
        *AP_STACK.lock() = Some(stack);
        crate::percpu::create(index, apic);
        // SAFETY: the parameter block lies in the reserved trampoline page.
        unsafe {
            core::ptr::write_volatile(phys_to_virt(TRAMPOLINE_PAGE + DATA) as *mut Params, params)
        };
        let before = STARTED.load(Ordering::Acquire);
        crate::arch::apic::send_init(apic);
        crate::time::spin_ns(10_000_000);
        let page = (TRAMPOLINE_PAGE >> 12) as u8;
        crate::arch::apic::send_sipi(apic, page);
        crate::time::spin_ns(200_000);
        if STARTED.load(Ordering::Acquire) == before {
            crate::arch::apic::send_sipi(apic, page);
        }
        let deadline = crate::time::now_ns() + 2_000_000_000;
        while STARTED.load(Ordering::Acquire) == before && crate::time::now_ns() < deadline {
            core::hint::spin_loop();
        }
        if STARTED.load(Ordering::Acquire) == before {
            log::error!("CPU with APIC id {apic} did not start");
            continue;
        }
        index += 1;
    }
    // The start-up table (three frames) is kept: freeing a table that maps
    // a 2 MiB page needs care the page-table builder does not take, and the
    // cost is 12 KiB once.
    index - 1
}
