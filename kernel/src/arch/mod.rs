//! Everything x86_64-specific: boot entry, descriptor tables, trap and
//! syscall entry, the local APIC, and AP start-up. The rest of the kernel
//! reaches hardware only through this module.

pub mod apic;
pub mod boot;
pub mod cpu;
pub mod gdt;
pub mod smpboot;
pub mod trap;
