//! Everything x86_64-specific: boot entry, descriptor tables, trap and
//! syscall entry, the local APIC, and AP start-up. The rest of the kernel
//! reaches hardware only through this module.

pub mod apic;
pub mod boot;
pub mod cpu;
pub mod gdt;
pub mod smpboot;
pub mod trap;

// Every `global_asm!` block in the kernel names its section at the start and
// returns to `.text` at the end: module-level assembly is concatenated, so a
// block that left `.rodata` current would put the next block's code there.
