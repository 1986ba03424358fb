//! The IPC fast path: a register-only `Call` or `Reply`+receive between two
//! threads on the same CPU switches straight to the partner thread, with
//! the message going from one user frame to the other.
//!
//! The checklist (each item a function of the `ipc-fastpath` crate, where
//! the host tests it) runs first; on any miss the syscall takes the slow
//! path unchanged. On a hit the fast path makes exactly the changes to
//! endpoint and thread IPC state that the slow path makes (the differences
//! are only in how: no message struct, no run-queue traffic, no
//! `switch_stacks` into the partner's kernel stack), so either path may
//! pick up where the other left off:
//!
//! - A thread that blocks here is marked `resumable`: its kernel stack
//!   holds nothing owned between its user frame and the point where it
//!   switched away (`fast_switch`). The partner's fast path resumes it by
//!   writing the answer into that frame and returning to user mode; its
//!   kernel stack is simply abandoned, as nothing on it needs dropping.
//! - The scheduler may instead resume it like any blocked thread (a slow
//!   reply, a kill, a slow caller): `switch_to` clears `resumable`, and the
//!   thread continues after `fast_switch` into the slow path's wait
//!   (`endpoint::park_for_reply` or `park_for_request`). Threads waiting
//!   in the slow path's waits are resumable too, so either path can answer
//!   a waiter of the other.
//!
//! Lock order here: endpoint state, then the scheduler lock of this CPU,
//! then thread IPC locks (no other path holds an IPC lock while taking a
//! scheduler lock, or a scheduler lock while taking an endpoint's).

use crate::arch::trap::{KernelCallRegs, TrapFrame, fast_switch};
use crate::obj::domain::{Domain, Service};
use crate::obj::endpoint;
use crate::obj::endpoint::Endpoint;
use crate::obj::thread::{Remembered, State, Thread, ThreadRef};
use crate::percpu::{self, PerCpu};
use crate::syscall::{Reply, words};
use crate::{sched, security};
use abi::{Error, Handle, Tag, rights};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};
use engine::EventKind;
use fastpath::{Key, Miss, Pair, PartnerFacts, partner_ok, priority_allows, tag_ok};
use smp::sched::CoreSched;

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Reads the `fastpath=` boot option: `off` disables the fast path and the
/// verdict cache, so every message takes the slow path with a full policy
/// evaluation (the `slowpath_roundtrip` benchmark and the equivalence tests
/// use it).
pub fn init(option: Option<&str>) {
    match option {
        None | Some("on") => {}
        Some("off") => {
            ENABLED.store(false, Ordering::Relaxed);
            log::info!("IPC fast path and verdict cache disabled (fastpath=off)");
        }
        Some(other) => log::warn!("unknown fastpath={other} ignored (use on or off)"),
    }
}

/// Whether the fast path and the verdict cache are in use.
#[inline(always)]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Writes a successful result into a blocked thread's user frame.
///
/// # Safety
/// `t` is blocked on this CPU, so nothing else reads or writes its frame.
#[inline(always)]
unsafe fn deliver(t: &ThreadRef, tag: Tag, w: [u64; 4], badge: Option<u64>) {
    // SAFETY: as the caller promises.
    let f = unsafe { &mut *t.user_frame() };
    f.rax = 0;
    f.rsi = tag.raw();
    f.rdx = w[0];
    f.r10 = w[1];
    f.r8 = w[2];
    f.r9 = w[3];
    if let Some(b) = badge {
        f.rdi = b;
    }
}

/// The partner thread `t` as item 5 sees it from CPU `pc`, read fact by
/// fact as the checklist asks.
struct LivePartner<'a>(&'a PerCpu, &'a Thread);

impl PartnerFacts for LivePartner<'_> {
    #[inline(always)]
    fn same_core(&self) -> bool {
        self.1.cpu == self.0.index
    }
    #[inline(always)]
    fn resumable(&self) -> bool {
        self.1.resumable.load(Ordering::Relaxed)
    }
    #[inline(always)]
    fn blocked(&self) -> bool {
        self.1.state() == State::Blocked
    }
    #[inline(always)]
    fn killed(&self) -> bool {
        self.1.kill.load(Ordering::Acquire)
    }
}

/// Item 4: this CPU's verdict cache allows the message (also the
/// security module's first step for every register-only check).
#[inline(always)]
pub fn cached_allow(
    pc: &PerCpu,
    kind: EventKind,
    src: u16,
    dst: u16,
    iface: u16,
    method: u16,
    w: impl FnOnce() -> [u64; 4],
) -> Result<(), Miss> {
    let key = Key {
        kind,
        src,
        dst,
        iface,
        method,
    };
    // SAFETY: owner CPU, interrupts off, reference dropped at once.
    if unsafe { pc.verdicts() }.allows_with(key, security::generation(), w) {
        Ok(())
    } else {
        Err(Miss::Verdict)
    }
}

/// Takes `m` with one compare-exchange when it is free, as the fast
/// path's locks nearly always are; `spin`'s waiting loop (out of line)
/// otherwise.
#[inline(always)]
fn lock<T>(m: &spin::Mutex<T>) -> spin::MutexGuard<'_, T> {
    match m.try_lock() {
        Some(g) => g,
        None => contended(m),
    }
}

#[cold]
#[inline(never)]
fn contended<T>(m: &spin::Mutex<T>) -> spin::MutexGuard<'_, T> {
    m.lock()
}

/// Item 2's handle lookup: `raw` names a domain endpoint with `right`.
/// Answered from the thread's remembered lookup `which` when it is for
/// `raw` (see `Remembered`: a lookup stays true for the thread's life);
/// otherwise looked up in the domain's handle table and remembered.
#[inline(always)]
fn endpoint_of<'a>(
    me: &'a Thread,
    dom: &Domain,
    raw: u64,
    which: usize,
    right: u32,
) -> Result<(&'a Arc<Endpoint>, u64), Miss> {
    // SAFETY: `me` is this CPU's current thread in its own system call,
    // interrupts off; the slot is not used again in this attempt.
    let slot = unsafe { me.remembered(which) };
    if slot.handle != raw {
        remember(slot, dom, raw, right)?;
    }
    let ep = slot.ep.as_ref().ok_or(Miss::Handle)?;
    Ok((ep, slot.badge))
}

/// Looks `raw` up for [`endpoint_of`] and remembers the result.
#[inline(never)]
fn remember(slot: &mut Remembered, dom: &Domain, raw: u64, right: u32) -> Result<(), Miss> {
    let handle = Handle::decode(raw).map_err(|_| Miss::Handle)?;
    let (ep, badge) = dom.endpoint(handle, right).ok_or(Miss::Handle)?;
    *slot = Remembered {
        handle: raw,
        ep: Some(ep),
        badge,
    };
    Ok(())
}

/// Items 5 and 6, under this CPU's scheduler lock `s`: the partner can be
/// switched to, no queued thread outranks it, and nothing is pending here.
#[inline(always)]
fn ready_to_switch(
    pc: &PerCpu,
    s: &CoreSched<ThreadRef>,
    me: &Thread,
    partner_thread: &Thread,
) -> Result<(), Missed> {
    partner_ok(&LivePartner(pc, partner_thread))?;
    if !priority_allows(partner_thread.priority, s.highest_queued()) {
        return Err(Miss::Priority.into());
    }
    Ok(nothing_pending(pc, me)?)
}

/// The scheduling half of a commit: the current thread blocks, resumable;
/// `next` (whose frame already holds its answer) becomes current.
#[inline(always)]
fn hand_over(s: &mut CoreSched<ThreadRef>, me: &Thread, next: &ThreadRef) {
    next.resumable.store(false, Ordering::Relaxed);
    me.resumable.store(true, Ordering::Relaxed);
    me.set_state(State::Blocked);
    next.set_state(State::Running);
    s.handoff(next.clone(), next.priority);
}

/// Item 6: nothing pending for the current thread or this CPU.
#[inline(always)]
fn nothing_pending(pc: &PerCpu, me: &Thread) -> Result<(), Miss> {
    if me.wake_pending.load(Ordering::Acquire)
        || me.kill.load(Ordering::Acquire)
        || pc.need_resched.load(Ordering::Acquire)
    {
        return Err(Miss::Pending);
    }
    Ok(())
}

/// What a commit leaves for [`switch_direct`]: the leaving thread's
/// saved-stack-pointer slot, the new current thread, and the leaving
/// thread's domain.
type Commit = (*mut u64, *const Thread, *const Domain);

/// Checks and commits a fast `Call`. On success the receiver is this
/// CPU's current thread (its frame holds the request) and the result is
/// the calling thread's saved-stack-pointer slot, for [`switch_direct`].
/// The caller has checked item 1 (the fast path is enabled).
fn try_call(pc: &PerCpu, frame: &TrapFrame) -> Result<Commit, Missed> {
    let (iface, method) = tag_ok(frame.rsi, 0, abi::iface::FIRST_USER)?;
    // SAFETY: owner CPU, interrupts off. The thread stays alive until this
    // function returns even after it stops being `current`: the commit
    // moves its reference into the receiver's `Ipc::caller`.
    let me = unsafe { pc.current_ref() };
    let dom = me.domain.as_ref().ok_or(Miss::Handle)?;
    let (ep, badge) = endpoint_of(me, dom, frame.rdi, 0, rights::CALL)?;
    let (src, dst) = (dom.context, ep.context);
    cached_allow(pc, EventKind::Request, src, dst, iface, method, || {
        words(frame)
    })?;
    let mut st = lock(ep.state_lock());
    if st.dead {
        return Err(Miss::NoPartner.into());
    }
    let mut s = lock(&pc.sched);
    // Taken from the queue at once (one queue operation on the hit path),
    // and put back, under the same lock, if a check fails.
    let r = st.receivers.pop_front().ok_or(Miss::NoPartner)?;
    if let Err(m) = ready_to_switch(pc, &s, me, &r) {
        st.receivers.push_front(r);
        return Err(m);
    }
    drop(st);
    // Commit: what `endpoint::send` does for a waiting receiver and the
    // receiver's `endpoint::park_for_request` does on waking, with the
    // request going straight into the receiver's frame. References move
    // rather than being cloned: the receiver's from the queue to `current`,
    // the caller's from `current` to the receiver's `Ipc::caller`.
    let slot = me.saved_rsp_slot();
    // SAFETY: `r` is blocked on this CPU (checked under its scheduler lock,
    // which we hold).
    unsafe { deliver(&r, Tag::new(iface, method), words(frame), Some(badge)) };
    hand_over(&mut s, me, &r);
    let next: *const Thread = &*r;
    // SAFETY: owner CPU, interrupts off; the switch follows at once.
    let caller = unsafe { pc.replace_current(r) };
    // SAFETY: `next` is the receiver, now held as this CPU's current.
    let next = unsafe { &*next };
    {
        let mut ipc = lock(&next.ipc);
        // A queued receiver holds no request (endpoint invariants), so
        // there is nothing to clear.
        debug_assert!(ipc.incoming.is_none());
        ipc.caller = Some(caller);
        ipc.waiting_on = None;
    }
    // A live caller has no reply waiting (one only arrives while it waits,
    // and is taken before it returns), so there is nothing to clear.
    debug_assert!(me.ipc.lock().reply.is_none());
    Ok((slot, next, &**dom))
}

/// Checks and commits a fast `Reply` with receive; as [`try_call`], the
/// caller being answered becomes current.
fn try_reply_recv(pc: &PerCpu, frame: &TrapFrame) -> Result<Commit, Missed> {
    let (iface, method) = tag_ok(frame.rsi, Tag::REPLY_RECV, abi::iface::FIRST_USER)?;
    // SAFETY: as in `try_call`; here the commit moves the server's
    // reference into the endpoint's receiver queue.
    let me = unsafe { pc.current_ref() };
    let dom = me.domain.as_ref().ok_or(Miss::Handle)?;
    let (ep, _) = endpoint_of(me, dom, frame.rdi, 1, rights::RECV)?;
    let mut st = lock(ep.state_lock());
    if st.dead || !st.callers.is_empty() {
        // A queued caller: the slow path hands it over.
        return Err(Miss::NoPartner.into());
    }
    let mut s = lock(&pc.sched);
    let mut ipc = lock(&me.ipc);
    let c = ipc.caller.as_ref().ok_or(Miss::NoPartner)?;
    let client = c.domain.as_ref().ok_or(Miss::NoPartner)?;
    let (src, dst) = (dom.context, client.context);
    cached_allow(pc, EventKind::Response, src, dst, iface, method, || {
        words(frame)
    })?;
    ready_to_switch(pc, &s, me, c)?;
    // Commit: what `endpoint::reply` and then `endpoint::try_recv` (finding no
    // caller queued) do, with the reply going straight into the caller's
    // frame instead of its `Ipc::reply`.
    // A running thread holds no undelivered request.
    debug_assert!(ipc.incoming.is_none());
    let caller = ipc.caller.take().ok_or(Miss::NoPartner)?;
    ipc.waiting_on = Some(ep.clone());
    drop(ipc);
    // SAFETY: `caller` is blocked on this CPU (checked under the scheduler
    // lock we hold).
    unsafe { deliver(&caller, Tag::new(iface, method), words(frame), None) };
    hand_over(&mut s, me, &caller);
    let slot = me.saved_rsp_slot();
    let next: *const Thread = &*caller;
    // SAFETY: owner CPU, interrupts off; the switch follows at once.
    let server = unsafe { pc.replace_current(caller) };
    st.receivers.push_back(server);
    Ok((slot, next, &**dom))
}

/// Switches to the current thread, which a commit has just made current
/// and whose user frame holds its answer, leaving the thread whose saved
/// stack pointer lives in `slot` blocked and resumable. Returns only if
/// the scheduler resumes that thread later.
#[inline(always)]
fn switch_direct(pc: &PerCpu, slot: *mut u64, next: *const Thread, from: *const Domain) {
    // SAFETY: `next` is this CPU's current thread, held by `current`;
    // the reference is not used after the switch.
    let next = unsafe { &*next };
    // The address space: what `sched::activate` does, knowing that the
    // one loaded is `from`'s (the fast path runs at the start of the
    // leaving thread's system call).
    if let Some(to) = next.domain.as_deref()
        && !core::ptr::eq(to, from)
    {
        sched::enter_domain(pc, to);
    }
    pc.set_kernel_stack(next.kstack_top());
    pc.fast_taken.fetch_add(1, Ordering::Relaxed);
    let frame = next.user_frame();
    // SAFETY: `slot` belongs to the thread the commit left, which stays
    // alive without a reference on this stack: a caller is held by its
    // server's `Ipc::caller`, a receiver by its endpoint's queue, and both
    // by their domain's thread list. `frame` is the user frame of the new
    // current thread, which entered by `syscall` and was blocked in a
    // fast-path wait (it was `resumable`), with its answer now written in.
    // Nothing owned is left on this stack: every value of the fast path
    // was dropped when `try_call`/`try_reply_recv` returned.
    unsafe { fast_switch(slot, frame) };
    // Resumed by the scheduler's `switch_stacks`, which returns here rather
    // than into `switch_to`: do the post-switch work `switch_to` would.
    sched::finish_switch();
}

/// A fast-path attempt that fell to the slow path, counted already: each
/// checklist item's `?` converts its [`Miss`] at the point of the miss,
/// out of line, so the hit path carries no miss code along.
struct Missed;

impl From<Miss> for Missed {
    /// One out-of-line counter per reason, so that no miss code is set up
    /// ahead of the branches on the hit path.
    #[inline(always)]
    fn from(m: Miss) -> Missed {
        match m {
            Miss::Disabled => count::<{ Miss::Disabled as usize }>(),
            Miss::Tag => count::<{ Miss::Tag as usize }>(),
            Miss::Handle => count::<{ Miss::Handle as usize }>(),
            Miss::Verdict => count::<{ Miss::Verdict as usize }>(),
            Miss::NoPartner => count::<{ Miss::NoPartner as usize }>(),
            Miss::OtherCore => count::<{ Miss::OtherCore as usize }>(),
            Miss::NotResumable => count::<{ Miss::NotResumable as usize }>(),
            Miss::Priority => count::<{ Miss::Priority as usize }>(),
            Miss::Pending => count::<{ Miss::Pending as usize }>(),
        }
    }
}

#[cold]
#[inline(never)]
fn count<const M: usize>() -> Missed {
    percpu::this().fast_missed[M].fetch_add(1, Ordering::Relaxed);
    Missed
}

/// Item 1 failed: counted here, in line, as every syscall of a
/// `fastpath=off` boot takes this exit.
#[inline(always)]
fn disabled<T>(pc: &PerCpu) -> Option<T> {
    pc.fast_missed[Miss::Disabled as usize].fetch_add(1, Ordering::Relaxed);
    None
}

/// Entry from `syscall_entry` for a `Call` whose tag names a user
/// interface: the fast path, and the slow path if it does not apply
/// (which then decides everything afresh, the frame being unchanged).
pub extern "C" fn call_entry(frame: &mut TrapFrame) {
    let fast = call(frame);
    crate::syscall::complete(frame, fast);
}

/// Entry from `syscall_entry` for a `Reply` with receive; as
/// [`call_entry`].
pub extern "C" fn reply_recv_entry(frame: &mut TrapFrame) {
    let fast = reply_recv(frame);
    crate::syscall::complete(frame, fast);
}

/// `Call` through the fast path. `None`: not taken, run the slow path.
/// `Some`: the call was sent by the fast path and the thread was resumed
/// by the scheduler (the answer came through the slow path).
/// The caller has checked that the tag names a user interface.
#[inline(always)]
fn call(frame: &TrapFrame) -> Option<Result<Reply, Error>> {
    let pc = percpu::this();
    if !enabled() {
        return disabled(pc);
    }
    match try_call(pc, frame) {
        Ok((slot, next, from)) => switch_direct(pc, slot, next, from),
        Err(Missed) => return None,
    }
    Some(endpoint::park_for_reply().map(|p| crate::syscall::reply_of(frame, p)))
}

/// `Reply` with receive through the fast path; as [`call`].
#[inline(always)]
fn reply_recv(frame: &TrapFrame) -> Option<Result<Reply, Error>> {
    let pc = percpu::this();
    if !enabled() {
        return disabled(pc);
    }
    match try_reply_recv(pc, frame) {
        Ok((slot, next, from)) => switch_direct(pc, slot, next, from),
        Err(Missed) => return None,
    }
    Some(endpoint::park_for_request().map(|r| crate::syscall::request_of(frame, r)))
}

/// The kernel-call lane, entered from `syscall_entry` before any frame is
/// built: a `Call` on a kernel endpoint for one of the pure, non-blocking
/// kernel methods (`Time.now`, `Task.info`, `Memory.stats`), answered at
/// once when this CPU's [`fastpath::PairCache`] holds both its verdicts.
/// Returns whether it answered (the answer is in `regs`); otherwise the
/// general path runs and decides everything afresh, so the lane changes
/// nothing before it knows it answers.
///
/// It makes exactly the checks the general path makes for these methods,
/// in the same order of precedence: the handle must be the domain's fixed
/// kernel-endpoint handle for the tag's interface (kernel endpoints sit in
/// fixed slots from domain creation on and are never removed, see
/// `Domain::new`), the method must exist, the tag must have no flags; then
/// the two policy checks, each equal to full evaluation: the request
/// verdict and the request words' shape before the method runs, the
/// response verdict's shape on its answer after. And like every return to
/// user mode (`sched::return_to_user`) it leaves a thread that is killed,
/// or a CPU with a reschedule pending, to the general path.
pub extern "C" fn kernel_call(regs: &mut KernelCallRegs) -> bool {
    let Some((pc, dom, service, key)) = lane_call(regs) else {
        return false;
    };
    // SAFETY: owner CPU, interrupts off, and only this function and
    // `kernel_call_pairing` use the pair cache: the methods below never
    // reach it.
    let pairs = unsafe { pc.kernel_pairs() };
    // With `fastpath=off` the verdict cache stays empty, so no pair is
    // ever made and this never hits.
    let Some(pair) = pairs.request_allows(key, security::generation(), &regs.words) else {
        return kernel_call_pairing(regs);
    };
    if service != Service::Time {
        return answer_with(regs, dom, service, pair);
    }
    // `Time.now`, the method `endpoints::time` runs, without building a
    // `Result<Reply>` around one word.
    let answer = [crate::time::now_ns(), 0, 0, 0];
    if !pair.response_allows(&answer) {
        // Rare (a response rule with a predicate): the general path runs
        // the method again, which these pure methods allow.
        return false;
    }
    regs.tag = 0;
    regs.words = answer;
    true
}

/// The rest of a lane call for the methods other than `Time.now` (kept
/// out of line: nothing of the lane's own stays live across the method).
#[inline(never)]
fn answer_with(regs: &mut KernelCallRegs, dom: &Domain, service: Service, pair: Pair<'_>) -> bool {
    let Some(answer) = run_pure(dom, service, regs.tag as u16, &regs.words) else {
        return false;
    };
    if !pair.response_allows(&answer) {
        return false;
    }
    regs.tag = 0;
    regs.words = answer;
    true
}

/// The lane's checks before the policy: the call, its handle and the
/// return to user mode; then the request's verdict key. The domain it
/// returns is the current thread's, valid for the rest of the lane call
/// (`'a`), which neither blocks nor switches.
#[inline(always)]
fn lane_call<'a>(regs: &KernelCallRegs) -> Option<(&'static PerCpu, &'a Domain, Service, Key)> {
    use abi::{handles, iface, mem, task, time};
    const TIME_NOW: u64 = Tag::new(iface::TIME, time::NOW).raw();
    const TASK_INFO: u64 = Tag::new(iface::TASK, task::INFO).raw();
    const MEMORY_STATS: u64 = Tag::new(iface::MEMORY, mem::STATS).raw();
    // The whole tag: no flags, and one of the lane's methods.
    let (handle, service) = match regs.tag {
        TIME_NOW => (handles::TIME, Service::Time),
        TASK_INFO => (handles::TASK, Service::Task),
        MEMORY_STATS => (handles::MEMORY, Service::Memory),
        _ => return None,
    };
    if regs.handle != u64::from(handle.0) {
        return None;
    }
    let pc = percpu::this();
    // SAFETY: owner CPU, interrupts off; nothing in the lane blocks or
    // switches, so the current thread (and its domain) outlive the lane
    // call, the only use of what this returns.
    let me = unsafe { pc.current_ref() };
    if me.kill.load(Ordering::Acquire) || pc.need_resched.load(Ordering::Acquire) {
        return None;
    }
    let dom = me.domain.as_ref()?;
    let key = Key {
        kind: EventKind::Request,
        src: dom.context,
        dst: security::kernel_context(),
        iface: (regs.tag >> 16) as u16,
        method: regs.tag as u16,
    };
    Some((pc, dom, service, key))
}

/// One of the lane's pure methods, `None` if it fails (the general path
/// then reports the error).
#[inline(always)]
fn run_pure(dom: &Domain, service: Service, method: u16, words: &[u64; 4]) -> Option<[u64; 4]> {
    if service == Service::Time {
        // `Time.now`, the method `endpoints::time` runs, without building
        // a `Result<Reply>` around one word.
        Some([crate::time::now_ns(), 0, 0, 0])
    } else {
        crate::endpoints::call(dom, service, method, *words)
            .ok()
            .map(|r| r.words)
    }
}

/// The lane without a pair: both verdicts from the verdict cache, one
/// lookup each; when both hit, the pair is made for the next call.
#[inline(never)]
fn kernel_call_pairing(regs: &mut KernelCallRegs) -> bool {
    if !enabled() {
        return false;
    }
    let Some((pc, dom, service, key)) = lane_call(regs) else {
        return false;
    };
    let (src, kernel, ifc, method) = (key.src, key.dst, key.iface, key.method);
    let request = EventKind::Request;
    if cached_allow(pc, request, src, kernel, ifc, method, || regs.words).is_err() {
        return false;
    }
    let Some(answer) = run_pure(dom, service, method, &regs.words) else {
        return false;
    };
    let response = EventKind::Response;
    if cached_allow(pc, response, kernel, src, ifc, method, || answer).is_err() {
        return false;
    }
    // SAFETY: owner CPU, interrupts off; the two references are to
    // different caches, and neither outlives this statement.
    unsafe { pc.kernel_pairs() }.insert_from(unsafe { pc.verdicts() }, key, security::generation());
    regs.tag = 0;
    regs.words = answer;
    true
}

/// One log line per CPU with fast-path use, for test and benchmark logs.
pub fn report() {
    for i in 0..percpu::online() {
        let Some(pc) = percpu::get(i) else { continue };
        let taken = pc.fast_taken.load(Ordering::Relaxed);
        let mut line = alloc::string::String::new();
        for m in Miss::ALL {
            let n = pc.fast_missed[m as usize].load(Ordering::Relaxed);
            if n > 0 {
                line.push_str(&alloc::format!(" {}={n}", m.name()));
            }
        }
        if taken > 0 || !line.is_empty() {
            log::info!("fastpath: cpu{i} taken {taken}, missed:{line}");
        }
    }
}
