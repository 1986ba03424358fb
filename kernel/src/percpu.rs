//! Per-CPU data, reached through the GS base.
//!
//! Each CPU owns one [`PerCpu`], leaked at start-up and never freed. The
//! first fields sit at fixed offsets because the `syscall` entry stub reads
//! them (`gs:8` kernel stack top, `gs:16` scratch). Fields in `UnsafeCell`s
//! are touched only by the owning CPU with interrupts disabled; fields other
//! CPUs use (`sched`, `sleepers`, `need_resched`, `apic_id`) are locks or
//! atomics. The scheduler state sits behind its own cache-padded lock per
//! CPU: there is no global scheduler lock.

use crate::obj::thread::ThreadRef;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use crossbeam_utils::CachePadded;
use smp::cpuset::MAX_CPUS;
use smp::sched::CoreSched;
use smp::sleepq::SleepQueue;
use spin::Mutex;
use x2apic::lapic::LocalApic;
use x86_64::structures::tss::TaskStateSegment;

/// Scheduler time slice.
pub const TIME_SLICE_NS: u64 = 10_000_000;
/// Number of PCIDs tracked per CPU.
pub const ASIDS: usize = 4096;

/// One CPU's private state.
#[repr(C)]
pub struct PerCpu {
    self_ptr: u64,
    kernel_rsp: UnsafeCell<u64>,
    user_rsp: u64,
    /// Dense CPU index (0 = bootstrap CPU).
    pub index: usize,
    /// Local APIC id.
    pub apic_id: u32,
    lapic: UnsafeCell<Option<LocalApic>>,
    tss: UnsafeCell<*mut TaskStateSegment>,
    /// Run queues and the current thread's slice.
    pub sched: CachePadded<Mutex<CoreSched<ThreadRef>>>,
    /// Threads sleeping on this CPU, by deadline.
    pub sleepers: Mutex<SleepQueue<ThreadRef>>,
    /// Set by wake-ups and the timer; checked before returning to user mode.
    pub need_resched: AtomicBool,
    current: UnsafeCell<Option<ThreadRef>>,
    idle: UnsafeCell<Option<ThreadRef>>,
    zombie: UnsafeCell<Option<ThreadRef>>,
    /// For each PCID, the generation of the address space whose entries this
    /// CPU may still cache under it (0 = must flush before use).
    asid_loaded: UnsafeCell<Vec<u64>>,
    /// PCID currently loaded in CR3 (0 = kernel).
    pub current_asid: UnsafeCell<u16>,
    /// Timer interrupts taken.
    pub timer_ticks: AtomicU64,
    /// Context switches the scheduler made (the fast path's direct
    /// switches are counted in `fast_taken`).
    pub switches: AtomicU64,
    /// Time spent halted in the idle thread.
    pub idle_time: IdleClock,
    /// This CPU's verdict cache (see `fastpath`).
    verdicts: UnsafeCell<fastpath::VerdictCache>,
    /// This CPU's kernel-call verdict pairs (see `fastpath::kernel_call`).
    kernel_pairs: UnsafeCell<fastpath::PairCache>,
    /// IPC operations the fast path completed.
    pub fast_taken: AtomicU64,
    /// Messages between domains the slow path checked (`abi::stats`).
    pub ipc_checked: AtomicU64,
    /// Verdicts the verdict cache gave the slow path (`abi::stats`; each
    /// fast-path operation is one more).
    pub verdict_hits: AtomicU64,
    /// Full policy evaluations (`abi::stats`).
    pub evaluations: AtomicU64,
    /// Fast-path attempts that fell to the slow path, by reason.
    pub fast_missed: [AtomicU64; fastpath::Miss::COUNT],
}

/// The idle time of one CPU, readable from any CPU at any moment, the
/// halt in progress included (a statistics reader would otherwise see a
/// CPU that halts for long as busy until it wakes). Only the CPU itself
/// writes, in its idle loop with interrupts off; readers use the sequence
/// number as a seqlock and retry while a write is in progress.
pub struct IdleClock {
    /// Odd while the CPU updates the two fields below.
    seq: AtomicU64,
    /// Idle nanoseconds of the halts that have ended.
    total: AtomicU64,
    /// When the halt in progress began (kernel ns), 0 if none.
    since: AtomicU64,
}

impl IdleClock {
    const fn new() -> IdleClock {
        IdleClock {
            seq: AtomicU64::new(0),
            total: AtomicU64::new(0),
            since: AtomicU64::new(0),
        }
    }

    /// Runs `f` as one write (owner CPU only, interrupts off).
    fn write(&self, f: impl FnOnce()) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s + 1, Ordering::Relaxed);
        core::sync::atomic::fence(Ordering::Release);
        f();
        self.seq.store(s + 2, Ordering::Release);
    }

    /// The CPU halts from `now` (kernel ns, never 0 after boot).
    pub fn halt(&self, now: u64) {
        self.write(|| self.since.store(now.max(1), Ordering::Relaxed));
    }

    /// The halt ended at `now`.
    pub fn wake(&self, now: u64) {
        self.write(|| {
            let since = self.since.swap(0, Ordering::Relaxed);
            if since != 0 {
                let d = now.saturating_sub(since);
                self.total.fetch_add(d, Ordering::Relaxed);
            }
        });
    }

    /// Idle nanoseconds up to `now`, the halt in progress included.
    pub fn read(&self, now: u64) -> u64 {
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 0 {
                let total = self.total.load(Ordering::Relaxed);
                let since = self.since.load(Ordering::Relaxed);
                core::sync::atomic::fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == s1 {
                    let current = if since == 0 {
                        0
                    } else {
                        now.saturating_sub(since)
                    };
                    return total + current;
                }
            }
            core::hint::spin_loop();
        }
    }
}

// SAFETY: the UnsafeCell fields are used only by the owning CPU with
// interrupts disabled (documented on each accessor); everything other CPUs
// touch is a lock or an atomic.
unsafe impl Sync for PerCpu {}
// SAFETY: as above; a PerCpu is created on the bootstrap CPU and handed to
// its owner before it is used.
unsafe impl Send for PerCpu {}

static CPUS: [AtomicPtr<PerCpu>; MAX_CPUS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS];
static ONLINE: AtomicUsize = AtomicUsize::new(0);
const IA32_GS_BASE: u32 = 0xc000_0101;
const IA32_KERNEL_GS_BASE: u32 = 0xc000_0102;

/// Creates the per-CPU block for CPU `index` (not yet installed).
pub fn create(index: usize, apic_id: u32) -> &'static PerCpu {
    let pc = Box::leak(Box::new(PerCpu {
        self_ptr: 0,
        kernel_rsp: UnsafeCell::new(0),
        user_rsp: 0,
        index,
        apic_id,
        lapic: UnsafeCell::new(None),
        tss: UnsafeCell::new(core::ptr::null_mut()),
        sched: CachePadded::new(Mutex::new(CoreSched::new(TIME_SLICE_NS))),
        sleepers: Mutex::new(SleepQueue::new()),
        need_resched: AtomicBool::new(false),
        current: UnsafeCell::new(None),
        idle: UnsafeCell::new(None),
        zombie: UnsafeCell::new(None),
        asid_loaded: UnsafeCell::new(vec![0; ASIDS]),
        current_asid: UnsafeCell::new(0),
        timer_ticks: AtomicU64::new(0),
        switches: AtomicU64::new(0),
        idle_time: IdleClock::new(),
        verdicts: UnsafeCell::new(fastpath::VerdictCache::new()),
        kernel_pairs: UnsafeCell::new(fastpath::PairCache::new()),
        fast_taken: AtomicU64::new(0),
        ipc_checked: AtomicU64::new(0),
        verdict_hits: AtomicU64::new(0),
        evaluations: AtomicU64::new(0),
        fast_missed: [const { AtomicU64::new(0) }; fastpath::Miss::COUNT],
    }));
    pc.self_ptr = pc as *const PerCpu as u64;
    CPUS[index].store(pc, Ordering::Release);
    pc
}

/// Points this CPU's GS base at its block. Kernel GS (swapped in by
/// `swapgs` on user entry) starts at 0 for user mode.
pub fn install(pc: &'static PerCpu) {
    // SAFETY: GS base MSRs exist on every x86_64 CPU; the block is 'static.
    unsafe {
        crate::arch::cpu::wrmsr(IA32_GS_BASE, pc as *const PerCpu as u64);
        crate::arch::cpu::wrmsr(IA32_KERNEL_GS_BASE, 0);
    }
    ONLINE.fetch_add(1, Ordering::AcqRel);
}

/// The calling CPU's block.
#[inline]
pub fn this() -> &'static PerCpu {
    let p: u64;
    // SAFETY: after `install`, gs:0 holds the block's own address; the kernel
    // only runs Rust code with the kernel GS base loaded.
    unsafe {
        core::arch::asm!("mov {}, gs:[0]", out(reg) p, options(nostack, readonly, preserves_flags))
    };
    // SAFETY: the block is leaked and never freed.
    unsafe { &*(p as *const PerCpu) }
}

/// CPU `i`'s block, if that CPU exists.
pub fn get(i: usize) -> Option<&'static PerCpu> {
    let p = CPUS.get(i)?.load(Ordering::Acquire);
    // SAFETY: non-null entries point at leaked blocks.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// Number of CPUs that have installed their block.
pub fn online() -> usize {
    ONLINE.load(Ordering::Acquire)
}

/// The CPU index for log lines; 0 before per-CPU data exists.
pub fn cpu_index_or_boot() -> usize {
    // SAFETY: reading GS base is always allowed in ring 0.
    let base = unsafe { crate::arch::cpu::rdmsr(IA32_GS_BASE) };
    if base == 0 { 0 } else { this().index }
}

impl PerCpu {
    /// Stores this CPU's local APIC.
    pub fn set_lapic(&self, l: LocalApic) {
        // SAFETY: owner CPU only, interrupts off.
        unsafe { *self.lapic.get() = Some(l) };
    }

    /// Runs `f` on this CPU's local APIC.
    pub fn with_lapic<R>(&self, f: impl FnOnce(&mut LocalApic) -> R) -> R {
        // SAFETY: owner CPU only (`this()`), interrupts off, and `f` cannot
        // re-enter because no interrupt can run meanwhile.
        let l = unsafe { &mut *self.lapic.get() };
        f(l.as_mut().expect("local APIC initialised"))
    }

    /// Records the TSS so `rsp0` can follow the current thread.
    pub fn set_tss(&self, tss: &'static mut TaskStateSegment) {
        // SAFETY: owner CPU only.
        unsafe { *self.tss.get() = tss };
    }

    /// Sets the kernel stack used on the next entry from user mode.
    #[inline]
    pub fn set_kernel_stack(&self, top: u64) {
        // SAFETY: owner CPU only, interrupts off; the TSS pointer was set
        // by `set_tss` when the CPU started, before its first call here
        // (`kmain` and `ap_main`), and the CPU reads rsp0 only on a
        // privilege change. A kernel stack top is canonical, as
        // `new_unsafe` asks.
        unsafe {
            *self.kernel_rsp.get() = top;
            let tss = *self.tss.get();
            debug_assert!(!tss.is_null());
            (*tss).privilege_stack_table[0] = x86_64::VirtAddr::new_unsafe(top);
        }
    }

    /// The running thread.
    #[inline]
    pub fn current(&self) -> ThreadRef {
        // SAFETY: owner CPU only; `current` is set before interrupts are
        // first enabled.
        unsafe { (*self.current.get()).clone().expect("current thread set") }
    }

    /// The running thread, borrowed: no reference count traffic, for the
    /// IPC fast path.
    ///
    /// # Safety
    /// Owner CPU only, interrupts off, and the reference must not be used
    /// after the current thread is replaced (by a switch).
    pub unsafe fn current_ref(&self) -> &crate::obj::thread::Thread {
        // SAFETY: forwarded; `current` is set before user threads run.
        unsafe { (*self.current.get()).as_ref().expect("current thread set") }
    }

    /// This CPU's verdict cache.
    ///
    /// # Safety
    /// Owner CPU only, interrupts off; do not hold the reference across a
    /// context switch or another call of this function.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn verdicts(&self) -> &mut fastpath::VerdictCache {
        // SAFETY: forwarded.
        unsafe { &mut *self.verdicts.get() }
    }

    /// This CPU's kernel-call verdict pairs.
    ///
    /// # Safety
    /// Owner CPU only, interrupts off; do not hold the reference across a
    /// context switch or another call of this function.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn kernel_pairs(&self) -> &mut fastpath::PairCache {
        // SAFETY: forwarded.
        unsafe { &mut *self.kernel_pairs.get() }
    }

    /// Replaces the running thread.
    ///
    /// # Safety
    /// Owner CPU only, interrupts off, as part of a context switch.
    pub unsafe fn set_current(&self, t: ThreadRef) {
        // SAFETY: forwarded.
        unsafe { *self.current.get() = Some(t) };
    }

    /// Replaces the running thread and returns the previous one.
    ///
    /// # Safety
    /// Owner CPU only, interrupts off, as part of a context switch.
    pub unsafe fn replace_current(&self, t: ThreadRef) -> ThreadRef {
        // SAFETY: forwarded.
        unsafe {
            (*self.current.get())
                .replace(t)
                .expect("current thread set")
        }
    }

    /// This CPU's idle thread.
    pub fn idle(&self) -> ThreadRef {
        // SAFETY: owner CPU only.
        unsafe { (*self.idle.get()).clone().expect("idle thread set") }
    }

    /// Sets the idle thread (start-up).
    pub fn set_idle(&self, t: ThreadRef) {
        // SAFETY: owner CPU only, during start-up.
        unsafe { *self.idle.get() = Some(t) };
    }

    /// Parks a thread that has exited until the next thread runs and can
    /// free its stack.
    ///
    /// # Safety
    /// Owner CPU only, interrupts off.
    pub unsafe fn set_zombie(&self, t: ThreadRef) {
        // SAFETY: forwarded.
        unsafe { *self.zombie.get() = Some(t) };
    }

    /// Takes the parked thread, if any.
    ///
    /// # Safety
    /// Owner CPU only, interrupts off, after the switch away from it.
    pub unsafe fn take_zombie(&self) -> Option<ThreadRef> {
        // SAFETY: forwarded.
        unsafe { (*self.zombie.get()).take() }
    }

    /// The PCID generation table.
    ///
    /// # Safety
    /// Owner CPU only, interrupts off; do not hold the reference across a
    /// context switch.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn asid_loaded(&self) -> &mut Vec<u64> {
        // SAFETY: forwarded.
        unsafe { &mut *self.asid_loaded.get() }
    }
}
