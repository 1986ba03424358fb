//! CPU feature detection (`raw-cpuid`) and the control-register set-up that
//! every CPU runs: NX, SMEP, SMAP, PCID, global pages, `syscall`.

use core::sync::atomic::{AtomicBool, Ordering};
use raw_cpuid::CpuId;
use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};

/// Features the kernel uses when present. Filled once by the bootstrap CPU;
/// QEMU gives every CPU of a machine the same model.
#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    /// No-execute pages (EFER.NXE).
    pub nx: bool,
    /// Supervisor-mode execution prevention.
    pub smep: bool,
    /// Supervisor-mode access prevention.
    pub smap: bool,
    /// Process-context identifiers (tagged TLB).
    pub pcid: bool,
    /// x2APIC mode.
    pub x2apic: bool,
    /// LAPIC timer TSC-deadline mode.
    pub tsc_deadline: bool,
}

static FEATURES: spin::Once<Features> = spin::Once::new();
static NX_ON: AtomicBool = AtomicBool::new(false);
static PCID_ON: AtomicBool = AtomicBool::new(false);

/// Reads CPUID once and remembers the result.
pub fn detect() -> Features {
    *FEATURES.call_once(|| {
        let id = CpuId::new();
        let f1 = id.get_feature_info();
        let ext = id.get_extended_feature_info();
        let ep = id.get_extended_processor_and_feature_identifiers();
        Features {
            nx: ep.as_ref().is_some_and(|e| e.has_execute_disable()),
            smep: ext.as_ref().is_some_and(|e| e.has_smep()),
            smap: ext.as_ref().is_some_and(|e| e.has_smap()),
            pcid: f1.as_ref().is_some_and(|f| f.has_pcid()),
            x2apic: f1.as_ref().is_some_and(|f| f.has_x2apic()),
            tsc_deadline: f1.as_ref().is_some_and(|f| f.has_tsc_deadline()),
        }
    })
}

/// The features found by [`detect`].
pub fn features() -> Features {
    detect()
}

/// Whether page-table entries may carry the NX bit.
pub fn nx_enabled() -> bool {
    NX_ON.load(Ordering::Relaxed)
}

/// The CPU model string, for the boot log.
pub fn brand() -> heapless_brand::Brand {
    heapless_brand::read()
}

/// Enables the protection features on the calling CPU.
pub fn enable_features() {
    let f = detect();
    // SAFETY: setting NXE/SCE only adds checks and enables `syscall`; the
    // kernel's page tables use NX only once NX_ON says NXE is on everywhere.
    unsafe {
        Efer::update(|e| {
            e.insert(EferFlags::SYSTEM_CALL_EXTENSIONS);
            if f.nx {
                e.insert(EferFlags::NO_EXECUTE_ENABLE);
            }
        });
    }
    NX_ON.store(f.nx, Ordering::Relaxed);
    // SAFETY: WP makes the kernel honour read-only pages; the kernel never
    // writes to its own read-only mappings. EM makes every x87, MMX and SSE
    // instruction fault: the kernel saves no FPU state on a switch, so a
    // domain using those registers could read another's (the kernel and
    // user programs are built soft-float and never use them).
    unsafe {
        Cr0::update(|c| {
            c.insert(
                Cr0Flags::WRITE_PROTECT
                    | Cr0Flags::EMULATE_COPROCESSOR
                    | Cr0Flags::MONITOR_COPROCESSOR,
            );
            c.remove(Cr0Flags::TASK_SWITCHED);
        })
    };
    // OSFXSR and OSXSAVE stay clear, so SSE and AVX raise #UD as well.
    let mut cr4 = Cr4Flags::PAGE_GLOBAL;
    if f.smep {
        cr4 |= Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION;
    }
    if f.smap {
        // The kernel never dereferences user pointers; it reads user memory
        // through the direct map after walking the page table (see usercopy).
        cr4 |= Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION;
    }
    if f.pcid {
        cr4 |= Cr4Flags::PCID;
        PCID_ON.store(true, Ordering::Relaxed);
    }
    // SAFETY: the flags enabled here are supported (checked above) and the
    // current CR3 has PCID 0, which CR4.PCIDE requires.
    unsafe { Cr4::update(|c| c.insert(cr4)) };
}

/// Whether CR4.PCIDE is on (every CPU turns it on the same way), read on
/// every address-space switch.
#[inline(always)]
pub fn pcid_enabled() -> bool {
    PCID_ON.load(Ordering::Relaxed)
}

/// Reads the time-stamp counter.
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects; CR4.TSD is never set.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Reads a model-specific register.
///
/// # Safety
/// The MSR must exist on this CPU.
pub unsafe fn rdmsr(msr: u32) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe { x86_64::registers::model_specific::Msr::new(msr).read() }
}

/// Writes a model-specific register.
///
/// # Safety
/// The MSR must exist and the value must not break memory safety.
pub unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: forwarded to the caller.
    unsafe { x86_64::registers::model_specific::Msr::new(msr).write(value) }
}

/// Halts forever with interrupts off.
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// Ends the QEMU process through the `isa-debug-exit` device at port 0xF4.
/// QEMU exits with status `(value << 1) | 1`: pass (0x10) gives 33 and
/// fail (0x11) gives 35. Without the device this is a no-op, and the CPU halts.
pub fn qemu_exit(pass: bool) -> ! {
    let value: u32 = if pass { 0x10 } else { 0x11 };
    // SAFETY: port 0xF4 is the debug-exit device in our QEMU configuration;
    // on a machine without it, the write is ignored.
    unsafe { x86_64::instructions::port::Port::<u32>::new(0xf4).write(value) };
    halt_forever()
}

/// Reads the CPU brand string without a heap.
pub mod heapless_brand {
    /// Up to 48 bytes of brand text.
    pub struct Brand {
        buf: [u8; 48],
        len: usize,
    }
    impl Brand {
        /// The text.
        pub fn as_str(&self) -> &str {
            core::str::from_utf8(&self.buf[..self.len])
                .unwrap_or("?")
                .trim()
        }
    }
    /// Reads CPUID leaves 0x8000_0002..4.
    pub fn read() -> Brand {
        let mut b = Brand {
            buf: [0; 48],
            len: 0,
        };
        if let Some(s) = raw_cpuid::CpuId::new().get_processor_brand_string() {
            let t = s.as_str().as_bytes();
            let n = t.len().min(48);
            b.buf[..n].copy_from_slice(&t[..n]);
            b.len = n;
        }
        b
    }
}
