//! Endpoints: where one domain's requests wait for another domain's
//! threads, and the slow-path IPC operations on them (Call, Recv, Reply).
//!
//! Each server domain owns one endpoint (its inbox). Clients hold handles to
//! it with the `CALL` right and a badge, the client's domain id, which the
//! kernel sets and the server sees with every request.
//!
//! Invariants:
//! - A calling thread is in exactly one of: an endpoint's `callers` queue
//!   (request in its `Ipc::send`), a receiver's `Ipc::incoming`, a server
//!   thread's `Ipc::caller`, or none (its reply is in `Ipc::reply`).
//! - Whoever takes a caller out of one of those places must eventually put a
//!   reply in it (or, on the fast path, in its user frame) and wake it; a
//!   server thread that exits does so with `PeerGone` (see
//!   [`thread_exiting`]).
//! - A thread in an endpoint's `receivers` queue, and a running thread,
//!   have no `Ipc::incoming`: a request is put there only for a receiver
//!   taken off the queue, and taken out before it returns to user mode.
//! - Lock order: endpoint state, then a CPU's scheduler lock, then a
//!   thread's `ipc`. Wake-ups (`sched::wake`) happen after the `ipc` lock is
//!   released, so no path takes a scheduler lock while holding an `ipc`
//!   lock; the fast path holds the scheduler lock while it takes `ipc`
//!   locks. No two `ipc` locks are held at once.
//! - Waits (`park_for_reply`, `park_for_request`) block with nothing owned
//!   on the kernel stack, so the fast path may resume the thread from its
//!   user frame (see `fastpath`).

use super::domain::KObject;
use super::thread::ThreadRef;
use crate::{sched, security};
use abi::{Error, Message};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use engine::EventKind;
use kcore::handle::Rights;
use spin::Mutex;

/// Bytes of out-of-line parts held by the kernel at any one time, at
/// most [`IN_FLIGHT_MAX`]: messages waiting for a receiver cannot eat the
/// kernel heap.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// See [`IN_FLIGHT`].
pub const IN_FLIGHT_MAX: usize = 4 << 20;

/// A kernel copy of out-of-line bytes, counted in [`IN_FLIGHT`] while it
/// lives.
pub struct OolBytes(Vec<u8>);

impl OolBytes {
    /// A zeroed buffer of `len` bytes; `NoMemory` if the in-flight budget
    /// or the heap cannot take it.
    pub fn new(len: usize) -> Result<OolBytes, Error> {
        let reserved = IN_FLIGHT
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                n.checked_add(len).filter(|&t| t <= IN_FLIGHT_MAX)
            })
            .is_ok();
        if !reserved {
            return Err(Error::NoMemory);
        }
        // From here on `Drop` gives the reservation back.
        let mut b = OolBytes(Vec::new());
        if b.0.try_reserve_exact(len).is_err() {
            IN_FLIGHT.fetch_sub(len, Ordering::AcqRel);
            return Err(Error::NoMemory);
        }
        b.0.resize(len, 0);
        Ok(b)
    }
}

impl Drop for OolBytes {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(self.0.len(), Ordering::AcqRel);
    }
}

impl core::ops::Deref for OolBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl core::ops::DerefMut for OolBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

/// An out-of-line part in transit (see `abi::ool`): taken from the
/// sender's memory or handle table when it sends, given to the receiver
/// when the receiver runs.
pub enum Payload {
    /// A register-only message.
    None,
    /// Bytes copied from the sender.
    Bytes(OolBytes),
    /// A handle object with the rights to install it with.
    Handle(KObject, Rights),
    /// Frames of the sender's memory to map for the receiver.
    Memory(SharedFrames),
}

/// Frames of a shared-memory grant in transit, each with an owner
/// reference (`mm::share_frame`) that goes to the receiver's mapping, or
/// back (`mm::release_user_frame`) if the grant is never delivered.
pub struct SharedFrames {
    /// The frames, in address order.
    pub frames: Vec<u64>,
    /// Map them writable.
    pub writable: bool,
}

impl SharedFrames {
    /// Hands the references over (to a mapping): dropping `self` releases
    /// nothing afterwards.
    pub fn handed_over(&mut self) {
        self.frames.clear();
    }
}

impl Drop for SharedFrames {
    fn drop(&mut self) {
        for &pa in &self.frames {
            crate::mm::release_user_frame(pa);
        }
    }
}

impl Payload {
    /// The kind the security module checks against the method.
    pub fn kind(&self) -> engine::tables::Ool {
        match self {
            Payload::None => engine::tables::Ool::None,
            Payload::Bytes(_) => engine::tables::Ool::Bytes,
            Payload::Handle(..) => engine::tables::Ool::Handle,
            Payload::Memory(_) => engine::tables::Ool::Memory,
        }
    }
}

/// A message and its out-of-line part.
pub struct Parcel {
    /// The register part.
    pub msg: Message,
    /// The out-of-line part.
    pub payload: Payload,
}

/// A request handed straight to a waiting receiver.
pub struct Incoming {
    /// The message.
    pub msg: Parcel,
    /// The client's badge.
    pub badge: u64,
    /// Who waits for the reply.
    pub caller: ThreadRef,
}

/// Per-thread IPC state (see the module invariants).
#[derive(Default)]
pub struct Ipc {
    /// The request of a caller queued on an endpoint, with its badge.
    pub send: Option<(Parcel, u64)>,
    /// A request delivered to this receiving thread.
    pub incoming: Option<Incoming>,
    /// The caller this thread must reply to.
    pub caller: Option<ThreadRef>,
    /// The reply delivered to this calling thread.
    pub reply: Option<Result<Parcel, Error>>,
    /// The endpoint this thread waits on (as caller or receiver).
    pub waiting_on: Option<Arc<Endpoint>>,
}

/// The queues of an endpoint (behind its lock).
pub struct State {
    /// The server is gone; calls fail with `PeerGone`.
    pub dead: bool,
    /// Server threads waiting in `Recv`, first come first served.
    pub receivers: VecDeque<ThreadRef>,
    /// Callers waiting for a receiver. Highest priority first; FIFO within
    /// a priority.
    pub callers: Vec<ThreadRef>,
}

/// An endpoint.
pub struct Endpoint {
    /// Unique id.
    pub id: u64,
    /// Name of the serving domain (for logs).
    pub server: alloc::string::String,
    /// Security context of the serving domain.
    pub context: u16,
    state: Mutex<State>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn deliver_reply(caller: &ThreadRef, reply: Result<Parcel, Error>) {
    {
        let mut ipc = caller.ipc.lock();
        ipc.reply = Some(reply);
        ipc.waiting_on = None;
    }
    sched::wake(caller);
}

impl Endpoint {
    /// A new, live endpoint served by `server`.
    pub fn new(server: &str, context: u16) -> Arc<Endpoint> {
        Arc::new(Endpoint {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            server: alloc::string::String::from(server),
            context,
            state: Mutex::new(State {
                dead: false,
                receivers: VecDeque::new(),
                callers: Vec::new(),
            }),
        })
    }

    /// The server is going away: refuse new calls and answer every queued
    /// caller with `PeerGone`.
    pub fn kill(&self) {
        let callers = {
            let mut st = self.state.lock();
            st.dead = true;
            st.receivers.clear();
            core::mem::take(&mut st.callers)
        };
        if !callers.is_empty() {
            log::info!(
                "endpoint {} of {}: server gone, {} waiting caller(s) get PeerGone",
                self.id,
                self.server,
                callers.len()
            );
        }
        for c in callers {
            c.ipc.lock().send = None;
            deliver_reply(&c, Err(Error::PeerGone));
        }
    }

    /// The lock of the endpoint's queues (for the fast path, which makes
    /// the same changes as the functions below).
    pub fn state_lock(&self) -> &Mutex<State> {
        &self.state
    }

    fn forget(&self, t: &ThreadRef) {
        let mut st = self.state.lock();
        st.receivers.retain(|r| r != t);
        st.callers.retain(|c| c != t);
    }
}

/// `Call`, first half: sends `msg` with `badge` on `ep`, handing it to a
/// waiting receiver or queueing it. The caller then waits with
/// [`park_for_reply`] once nothing owned is left on its stack.
pub fn send(me: &ThreadRef, ep: &Arc<Endpoint>, badge: u64, msg: Parcel) -> Result<(), Error> {
    let mut st = ep.state.lock();
    if st.dead {
        return Err(Error::PeerGone);
    }
    me.ipc.lock().reply = None;
    if let Some(r) = st.receivers.pop_front() {
        {
            let mut ipc = r.ipc.lock();
            ipc.incoming = Some(Incoming {
                msg,
                badge,
                caller: me.clone(),
            });
            ipc.waiting_on = None;
        }
        drop(st);
        sched::wake(&r);
    } else {
        {
            let mut ipc = me.ipc.lock();
            ipc.send = Some((msg, badge));
            ipc.waiting_on = Some(ep.clone());
        }
        let at = st
            .callers
            .iter()
            .position(|c| c.priority < me.priority)
            .unwrap_or(st.callers.len());
        st.callers.insert(at, me.clone());
    }
    Ok(())
}

/// Blocks the current thread so that either the scheduler or the IPC fast
/// path may resume it. The fast path resumes a thread by returning to user
/// mode with its user frame and abandons its kernel stack, so callers of
/// this function must hold nothing owned (no `Arc`, no lock guard) in any
/// frame between the syscall entry and here.
fn block_resumable() {
    let pc = crate::percpu::this();
    // SAFETY: owner CPU, interrupts off; the borrow ends before the switch.
    unsafe { pc.current_ref() }
        .resumable
        .store(true, Ordering::Relaxed);
    sched::block_current();
    // Here only if the scheduler resumed us (or a wake-up was pending and
    // we never blocked): our kernel stack is live again.
    // SAFETY: as above.
    unsafe { pc.current_ref() }
        .resumable
        .store(false, Ordering::Relaxed);
}

/// `Call`, second half: waits for the reply. Holds nothing owned while
/// blocked (see [`block_resumable`]), so a fast-path reply can resume the
/// thread directly.
pub fn park_for_reply() -> Result<Parcel, Error> {
    loop {
        {
            let me = sched::current();
            if let Some(reply) = me.ipc.lock().reply.take() {
                return reply;
            }
            if me.kill.load(Ordering::Acquire) {
                // Dying: `thread_exiting` takes this thread off the endpoint.
                return Err(Error::PeerGone);
            }
        }
        block_resumable();
    }
}

/// `Recv`, first half: takes a queued caller's request if there is one;
/// otherwise queues this thread as a receiver and returns `None`, and the
/// thread waits with [`park_for_request`].
pub fn try_recv(me: &ThreadRef, ep: &Arc<Endpoint>) -> Result<Option<(Parcel, u64)>, Error> {
    let old = me.ipc.lock().caller.take();
    if let Some(old) = old {
        deliver_reply(&old, Err(Error::PeerGone));
    }
    let mut st = ep.state.lock();
    if st.dead {
        return Err(Error::PeerGone);
    }
    if !st.callers.is_empty() {
        let c = st.callers.remove(0);
        let sent = {
            let mut ipc = c.ipc.lock();
            ipc.waiting_on = None;
            ipc.send.take()
        };
        drop(st);
        let Some((msg, badge)) = sent else {
            // Cannot happen (a queued caller always has its request);
            // answer it rather than leave it waiting forever.
            deliver_reply(&c, Err(Error::PeerGone));
            return Err(Error::PeerGone);
        };
        me.ipc.lock().caller = Some(c);
        return Ok(Some((msg, badge)));
    }
    {
        let mut ipc = me.ipc.lock();
        ipc.incoming = None;
        ipc.waiting_on = Some(ep.clone());
    }
    st.receivers.push_back(me.clone());
    Ok(None)
}

/// `Recv`, second half: waits for a request. Holds nothing owned while
/// blocked, like [`park_for_reply`].
pub fn park_for_request() -> Result<(Parcel, u64), Error> {
    loop {
        {
            let me = sched::current();
            let incoming = me.ipc.lock().incoming.take();
            if let Some(inc) = incoming {
                let (msg, badge) = (inc.msg, inc.badge);
                me.ipc.lock().caller = Some(inc.caller);
                return Ok((msg, badge));
            }
            if me.kill.load(Ordering::Acquire) {
                return Err(Error::PeerGone);
            }
        }
        block_resumable();
    }
}

/// `Reply`: answers the request this thread last received. The reply is a
/// `response` event for the security module; a denied reply reaches the
/// caller as `Denied`, and the server learns it too.
pub fn reply(me: &ThreadRef, parcel: Parcel) -> Result<(), Error> {
    let caller = me.ipc.lock().caller.take().ok_or(Error::NoCaller)?;
    if caller.kill.load(Ordering::Acquire) {
        // The caller's domain is ending; it no longer waits for an answer.
        deliver_reply(&caller, Err(Error::PeerGone));
        return Err(Error::PeerGone);
    }
    let src = me.domain.as_ref().map_or(0, |d| d.context);
    let dst = caller.domain.as_ref().map_or(0, |d| d.context);
    let tag = parcel.msg.tag;
    if let Err(e) = security::check(
        EventKind::Response,
        src,
        dst,
        tag.interface(),
        tag.method(),
        parcel.msg.words,
        parcel.payload.kind(),
    ) {
        deliver_reply(&caller, Err(e));
        return Err(e);
    }
    deliver_reply(&caller, Ok(parcel));
    Ok(())
}

/// Called for a thread that is about to exit: leaves any endpoint queue and
/// answers any caller it holds with `PeerGone`.
pub fn thread_exiting(me: &ThreadRef) {
    // Leave the endpoint first: deliveries to this thread happen under the
    // endpoint's lock, so once `forget` has taken and released it, nothing
    // new can arrive, and what has arrived is in `incoming`.
    let ep = me.ipc.lock().waiting_on.clone();
    if let Some(ep) = ep {
        ep.forget(me);
    }
    let (incoming, caller) = {
        let mut ipc = me.ipc.lock();
        ipc.send = None;
        ipc.reply = None;
        ipc.waiting_on = None;
        (ipc.incoming.take(), ipc.caller.take())
    };
    if let Some(inc) = incoming {
        deliver_reply(&inc.caller, Err(Error::PeerGone));
    }
    if let Some(c) = caller {
        deliver_reply(&c, Err(Error::PeerGone));
    }
}
