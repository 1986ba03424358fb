//! The scheduler glue: per-CPU [`smp::sched::CoreSched`] decisions applied to
//! real threads, context switches, sleeping, waking, thread exit and the
//! reaping of dead threads and domains.
//!
//! Rules that keep this correct:
//! - Everything here runs with interrupts disabled.
//! - A thread's state changes only under its home CPU's scheduler lock.
//! - Nothing that owns memory (an `Arc`, a `Vec`) may be alive on a stack
//!   frame that switches away for the last time: a dead thread's stack is
//!   never resumed, so such values would leak. Threads therefore exit only
//!   from [`return_to_user`], the last thing every kernel entry does, after
//!   all handler frames have returned.

use crate::arch::trap::TrapFrame;
use crate::obj::domain::{Domain, End};
use crate::obj::thread::{State, Thread, ThreadRef, switch_stacks};
use crate::percpu::{self, PerCpu};
use crate::time::now_ns;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

/// The thread running on this CPU.
pub fn current() -> ThreadRef {
    percpu::this().current()
}

/// Makes a new or woken thread runnable on its home CPU and kicks that CPU
/// if the thread should preempt what runs there.
fn make_ready(t: &ThreadRef, sched: &mut smp::sched::CoreSched<ThreadRef>) -> bool {
    t.set_state(State::Ready);
    sched.enqueue(t.clone(), t.priority)
}

fn kick(cpu: usize) {
    let me = percpu::this();
    if cpu == me.index {
        me.need_resched.store(true, Ordering::Release);
    } else if let Some(pc) = percpu::get(cpu) {
        pc.need_resched.store(true, Ordering::Release);
        crate::arch::apic::send_ipi(pc.apic_id, crate::arch::apic::RESCHED_VECTOR);
    }
}

/// The least-loaded CPU in `allowed` for a new thread: runnable threads per
/// CPU, plus `planned[i]` threads already placed on CPU i but not started.
pub fn place(allowed: smp::cpuset::CpuSet, planned: &[u32]) -> usize {
    let online = percpu::online().min(smp::cpuset::MAX_CPUS);
    let mut loads = [0u32; smp::cpuset::MAX_CPUS];
    for (i, l) in loads.iter_mut().enumerate().take(online) {
        let running = percpu::get(i).map_or(0, |pc| pc.sched.lock().runnable() as u32);
        *l = running + planned.get(i).copied().unwrap_or(0);
    }
    smp::cpuset::pick_cpu(allowed, &loads[..online]).unwrap_or(0)
}

/// Starts a thread that has never run.
pub fn start(t: &ThreadRef) {
    let Some(pc) = percpu::get(t.cpu) else { return };
    let preempt = make_ready(t, &mut pc.sched.lock());
    if preempt {
        kick(t.cpu);
    }
}

/// Wakes a blocked thread. A wake that arrives before the thread has
/// blocked is remembered and cancels the block.
pub fn wake(t: &ThreadRef) {
    let Some(pc) = percpu::get(t.cpu) else { return };
    let mut s = pc.sched.lock();
    match t.state() {
        State::Blocked => {
            let preempt = make_ready(t, &mut s);
            drop(s);
            if preempt {
                kick(t.cpu);
            }
        }
        State::Dead => {}
        State::Ready | State::Running => t.wake_pending.store(true, Ordering::Release),
    }
}

/// Blocks the current thread until [`wake`] (which may already have come).
pub fn block_current() {
    reschedule(true);
}

/// Sleeps until kernel time `deadline` (or until the thread is killed).
pub fn sleep_until(deadline: u64) {
    let pc = percpu::this();
    let me = pc.current();
    while now_ns() < deadline && !me.kill.load(Ordering::Acquire) {
        pc.sleepers.lock().insert(deadline, me.clone());
        block_current();
        pc.sleepers.lock().remove(&me);
    }
}

/// Gives up the CPU to the next runnable thread if any (current stays
/// runnable).
pub fn yield_now() {
    reschedule(false);
}

/// Picks the next thread and switches to it. With `block`, the current
/// thread stops being runnable unless a wake-up is already pending.
fn reschedule(block: bool) {
    let pc = percpu::this();
    pc.need_resched.store(false, Ordering::Relaxed);
    let cur = pc.current();
    let next = {
        let mut s = pc.sched.lock();
        let mut runnable = !cur.is_idle() && cur.state() == State::Running;
        if block && runnable {
            if cur.wake_pending.swap(false, Ordering::AcqRel) {
                // woken already: keep running
            } else {
                cur.set_state(State::Blocked);
                runnable = false;
            }
        }
        let next = s.schedule(now_ns(), runnable).map(|(t, _)| t);
        if let Some(n) = &next {
            n.set_state(State::Running);
        }
        arm_timer(pc, &s);
        next
    };
    let next = next.unwrap_or_else(|| pc.idle());
    if next == cur {
        return;
    }
    drop(cur);
    switch_to(pc, next);
}

fn arm_timer(pc: &PerCpu, s: &smp::sched::CoreSched<ThreadRef>) {
    // While a thread runs, the timer always fires at its slice end: a thread
    // of equal priority may be queued from another CPU at any time without
    // an IPI. A slice that has already ended (nobody was waiting) is checked
    // again one slice later.
    let now = now_ns();
    let slice = s.slice_end().map(|end| {
        if end > now {
            end
        } else {
            now + percpu::TIME_SLICE_NS
        }
    });
    let sleep = pc.sleepers.lock().next_deadline();
    let deadline = match (slice, sleep) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    crate::arch::apic::arm_timer(deadline);
}

/// Loads the address space `t` runs in (nothing if it is loaded already).
#[inline]
pub fn activate(pc: &PerCpu, t: &Thread) {
    let (root, asid) = match &t.domain {
        Some(d) => (d.root, d.asid),
        None => (crate::mm::kernel_root(), 0),
    };
    let (cur, _) = x86_64::registers::control::Cr3::read_raw();
    if cur.start_address().as_u64() == root
        && (!crate::arch::cpu::pcid_enabled() || {
            // SAFETY: owner CPU.
            unsafe { *pc.current_asid.get() == asid }
        })
    {
        // Loaded already (perhaps by a path that did not record it): this
        // CPU may hold its translations from now on all the same.
        if let Some(d) = &t.domain {
            mark_seen(pc, d);
        }
        return;
    }
    match &t.domain {
        Some(d) => enter_domain(pc, d),
        None => {
            // PCID 0 is the kernel's alone: its entries never go stale.
            let keep = if crate::arch::cpu::pcid_enabled() {
                1 << 63
            } else {
                0
            };
            // SAFETY: the kernel table maps the kernel half like every
            // domain's table.
            unsafe { load_cr3(pc, root | keep, 0) }
        }
    }
}

/// Loads `d`'s address space, which is not the one loaded now (the fast
/// path calls this directly when it switches between two domains: each
/// domain has its own table, so no test of CR3 is needed).
#[inline(always)]
pub fn enter_domain(pc: &PerCpu, d: &Domain) {
    mark_seen(pc, d);
    let mut value = d.root;
    if crate::arch::cpu::pcid_enabled() {
        value |= d.asid as u64;
        // SAFETY: owner CPU, interrupts off, reference not held across a switch.
        let loaded = unsafe { pc.asid_loaded() };
        if loaded[d.asid as usize] == d.asid_gen {
            value |= 1 << 63; // keep this PCID's TLB entries
        } else {
            loaded[d.asid as usize] = d.asid_gen;
        }
    }
    // SAFETY: `d.root` is a live PML4 sharing the kernel half (its domain
    // cannot be torn down while one of its threads is about to run).
    unsafe { load_cr3(pc, value, d.asid) };
}

/// Records that this CPU may hold translations of `d`'s address space
/// (`Domain::cpus_seen`, the targets of its TLB shootdowns).
#[inline(always)]
fn mark_seen(pc: &PerCpu, d: &Domain) {
    // Bits are never cleared, so a set bit needs no locked write.
    let bit = 1 << pc.index;
    if d.cpus_seen.load(Ordering::Acquire) & bit == 0 {
        d.cpus_seen.fetch_or(bit, Ordering::AcqRel);
    }
}

/// Writes CR3 and records the PCID now in use.
///
/// # Safety
/// `value` holds the root of a live page table that maps the kernel half.
#[inline(always)]
unsafe fn load_cr3(pc: &PerCpu, value: u64, asid: u16) {
    // SAFETY: as the caller promises; owner CPU for `current_asid`.
    unsafe {
        core::arch::asm!("mov cr3, {}", in(reg) value, options(nostack));
        *pc.current_asid.get() = asid;
    }
}

/// Switches from the current thread to `next`. Consumes `next`: no owned
/// values of the caller may remain on this stack if the current thread is
/// dead (see the module docs).
fn switch_to(pc: &PerCpu, next: ThreadRef) {
    activate(pc, &next);
    // Resumed through its kernel stack: the fast path must no longer
    // resume it by its user frame (see `fastpath`).
    next.resumable.store(false, Ordering::Relaxed);
    pc.set_kernel_stack(next.kstack_top());
    pc.switches.fetch_add(1, Ordering::Relaxed);
    // SAFETY: `next` is not running anywhere (it was dequeued from this CPU,
    // its only home), so its saved stack pointer is valid.
    let next_rsp = unsafe { *next.saved_rsp_slot() };
    // SAFETY: owner CPU, interrupts off, in the middle of a switch.
    let old = unsafe { pc.replace_current(next) };
    let prev_slot = old.saved_rsp_slot();
    // Keep the thread we leave alive somewhere other than this stack: a dead
    // one in the zombie slot until the next thread frees it; a live one is
    // held by its domain's thread list (or, for idle, by the per-CPU block).
    if old.state() == State::Dead {
        // SAFETY: owner CPU, interrupts off.
        unsafe { pc.set_zombie(old) };
    } else {
        drop(old);
    }
    // SAFETY: `prev_slot` belongs to the thread we leave, which stays alive
    // as argued above; `next_rsp` was saved by `switch_stacks` or built by
    // `Thread::new_user`.
    unsafe { switch_stacks(prev_slot, next_rsp) };
    finish_switch();
}

/// Runs on the new thread right after every switch: frees the thread that
/// died on this CPU, and ends its domain if it was the last one.
pub extern "C" fn finish_switch() {
    let pc = percpu::this();
    // SAFETY: owner CPU, interrupts off, and we now run on another stack.
    let Some(z) = (unsafe { pc.take_zombie() }) else {
        return;
    };
    let Some(d) = z.domain.clone() else { return };
    let last = {
        let mut ts = d.threads.lock();
        ts.retain(|t| t != &z);
        ts.is_empty()
    };
    drop(z);
    if last {
        crate::loader::domain_finished(&d);
    }
}

/// The first thing a new thread runs (from `thread_start`, with its user
/// frame on the stack): the post-switch work, then the same exit and
/// reschedule checks as every return to user mode, so a thread killed
/// before it ever ran never reaches user mode.
pub extern "C" fn first_run(frame: &TrapFrame) {
    finish_switch();
    return_to_user(frame);
}

/// Ends the current thread. Call only from [`return_to_user`].
fn exit_current() -> ! {
    let pc = percpu::this();
    {
        let cur = pc.current();
        crate::obj::endpoint::thread_exiting(&cur);
        let mut s = pc.sched.lock();
        cur.set_state(State::Dead);
        s.remove(&cur);
    }
    reschedule(false);
    unreachable!("a dead thread was scheduled again");
}

/// The last step of every kernel entry: exits the thread if it was killed,
/// and switches if a reschedule is pending.
#[inline]
pub fn return_to_user(frame: &TrapFrame) {
    let pc = percpu::this();
    loop {
        // SAFETY: owner CPU, interrupts off; the borrow ends in this line.
        if frame.came_from_user() && unsafe { pc.current_ref() }.kill.load(Ordering::Acquire) {
            exit_current();
        }
        if !pc.need_resched.load(Ordering::Acquire) {
            return;
        }
        preempt_if_due();
    }
}

/// Acts on a pending reschedule request: switches only if the scheduler
/// says the current thread should give way (a higher priority is waiting,
/// or its slice is over and an equal priority is waiting, or the CPU is
/// idle). A request can be stale by the time it is seen, for example an IPI
/// sent while this CPU was still idle, and must not make a running thread
/// yield to an equal-priority one before its slice ends.
fn preempt_if_due() {
    let pc = percpu::this();
    pc.need_resched.store(false, Ordering::Relaxed);
    let due = {
        let s = pc.sched.lock();
        pc.current().is_idle() || s.should_preempt(now_ns())
    };
    if due {
        reschedule(false);
    }
}

/// Timer interrupt: wakes expired sleepers and preempts an expired slice.
pub fn timer_tick() {
    let pc = percpu::this();
    pc.timer_ticks.fetch_add(1, Ordering::Relaxed);
    let now = now_ns();
    loop {
        let t = pc.sleepers.lock().pop_expired(now);
        match t {
            Some(t) => wake(&t),
            None => break,
        }
    }
    let s = pc.sched.lock();
    if s.should_preempt(now) || (pc.current().is_idle() && s.runnable() > 0) {
        pc.need_resched.store(true, Ordering::Release);
    }
    arm_timer(pc, &s);
}

/// Marks every thread of `d` for exit and nudges them: sleepers are woken,
/// threads running elsewhere get an IPI. Records `end` if it is the first
/// reason.
pub fn kill_domain(d: &Arc<Domain>, end: End) {
    d.set_end(end);
    // Callers waiting on a dying server get `PeerGone` now, not at teardown.
    let inbox = d.inbox.lock().clone();
    if let Some(ep) = inbox {
        ep.kill();
    }
    let threads = d.threads.lock().clone();
    for t in threads {
        t.kill.store(true, Ordering::Release);
        if let Some(pc) = percpu::get(t.cpu) {
            pc.sleepers.lock().remove(&t);
        }
        wake(&t);
        kick(t.cpu);
    }
}

/// The idle loop: halt until an interrupt makes something runnable.
pub fn idle_loop() -> ! {
    let pc = percpu::this();
    loop {
        if pc.need_resched.load(Ordering::Acquire) || pc.sched.lock().runnable() > 0 {
            reschedule(false);
            continue;
        }
        pc.idle_time.halt(now_ns());
        // `sti; hlt` is atomic with respect to interrupts: one that arrives
        // after `sti` still wakes the `hlt`.
        x86_64::instructions::interrupts::enable_and_hlt();
        x86_64::instructions::interrupts::disable();
        pc.idle_time.wake(now_ns());
    }
}
