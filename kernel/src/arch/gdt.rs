//! Per-CPU GDT and TSS, and the `syscall` MSRs.
//!
//! Selector layout (fixed by `sysret`, which derives user CS/SS from STAR):
//! 0x08 kernel code, 0x10 kernel data, 0x18 user data, 0x20 user code,
//! 0x28 TSS. The TSS holds `rsp0` (the current thread's kernel stack top,
//! rewritten on every switch) and IST stacks for double fault, NMI and MCE.

use super::trap::{IST_DOUBLE_FAULT, IST_MCE, IST_NMI};
use alloc::boxed::Box;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::registers::model_specific::{LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

const IST_STACK: usize = 16 * 1024;

/// Builds and loads this CPU's GDT and TSS; returns the TSS so the scheduler
/// can update `rsp0`.
pub fn init_cpu(rsp0: u64) -> &'static mut TaskStateSegment {
    let mut tss = Box::new(TaskStateSegment::new());
    for ist in [IST_DOUBLE_FAULT, IST_NMI, IST_MCE] {
        let stack: &'static mut [u8] = Box::leak(alloc::vec![0u8; IST_STACK].into_boxed_slice());
        let top = (stack.as_ptr() as u64 + IST_STACK as u64) & !0xf;
        tss.interrupt_stack_table[ist as usize - 1] = VirtAddr::new(top);
    }
    tss.privilege_stack_table[0] = VirtAddr::new(rsp0);
    let tss: &'static mut TaskStateSegment = Box::leak(tss);
    // SAFETY: the TSS is leaked, so it lives forever; the GDT only needs a
    // shared reference while this function keeps the mutable one for rsp0
    // updates, which the CPU reads only on privilege changes.
    let tss_ref: &'static TaskStateSegment = unsafe { &*(tss as *const TaskStateSegment) };

    let mut gdt = GlobalDescriptorTable::new();
    let kcode = gdt.append(Descriptor::kernel_code_segment());
    let kdata = gdt.append(Descriptor::kernel_data_segment());
    let udata = gdt.append(Descriptor::user_data_segment());
    let ucode = gdt.append(Descriptor::user_code_segment());
    let tss_sel = gdt.append(Descriptor::tss_segment(tss_ref));
    let gdt: &'static GlobalDescriptorTable = Box::leak(Box::new(gdt));
    gdt.load();
    // SAFETY: the selectors index the GDT just loaded.
    unsafe {
        CS::set_reg(kcode);
        SS::set_reg(kdata);
        DS::set_reg(SegmentSelector(0));
        ES::set_reg(SegmentSelector(0));
        load_tss(tss_sel);
    }
    Star::write(ucode, udata, kcode, kdata).expect("GDT layout fits sysret");
    LStar::write(VirtAddr::new(
        super::trap::syscall_entry as *const () as u64,
    ));
    // Mask IF (the kernel runs with interrupts off), DF, TF and AC on entry.
    SFMask::write(
        RFlags::INTERRUPT_FLAG
            | RFlags::DIRECTION_FLAG
            | RFlags::TRAP_FLAG
            | RFlags::ALIGNMENT_CHECK
            | RFlags::NESTED_TASK,
    );
    tss
}
