//! The three system calls.
//!
//! Every syscall has one shape: a function from the caller's saved
//! registers to `Result<Reply, Error>`. One wrapper writes the result back,
//! so handlers have no side paths, and one hook ([`sched::return_to_user`])
//! runs last on every path. Register arguments are untrusted: every value is
//! decoded and checked before use ([`abi::Tag::decode`],
//! [`abi::Handle::decode`], the endpoint's own checks).

use crate::arch::trap::TrapFrame;
use crate::endpoints;
use crate::obj::domain::{Domain, KObject};
use crate::obj::endpoint::{self, Parcel, Payload};
use crate::sched;
use crate::security;
use abi::{Error, Handle, MSG_WORDS, Message, Syscall, Tag, rights};
use alloc::sync::Arc;
use engine::EventKind;
use engine::tables::Ool;

mod ool;

/// What a successful syscall returns in registers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reply {
    /// Tag returned in `rsi`.
    pub tag: u64,
    /// Words returned in `rdx`, `r10`, `r8`, `r9`.
    pub words: [u64; MSG_WORDS],
    /// Badge returned in `rdi` (`Recv` only).
    pub badge: Option<u64>,
}

impl Reply {
    /// A reply carrying only word 0.
    pub fn word(w: u64) -> Reply {
        Reply {
            tag: 0,
            words: [w, 0, 0, 0],
            badge: None,
        }
    }
    /// An empty reply.
    pub fn empty() -> Reply {
        Reply::default()
    }
}

/// The message words of a request (also the fast path's, hence inline).
#[inline(always)]
pub fn words(f: &TrapFrame) -> [u64; MSG_WORDS] {
    [f.rdx, f.r10, f.r8, f.r9]
}

/// Entry from `syscall_entry` for every system call but the fast-path
/// candidates, which the entry sends to [`crate::fastpath::call_entry`] and
/// [`crate::fastpath::reply_recv_entry`] (kernel calls had their lane in the
/// entry already, see `fastpath::kernel_call`).
pub extern "C" fn syscall_dispatch(frame: &mut TrapFrame) {
    complete(frame, None);
}

/// The rest of every syscall: the slow path unless a fast path gave the
/// result, writing the result back, and the return to user mode.
#[inline(never)]
pub fn complete(frame: &mut TrapFrame, fast: Option<Result<Reply, Error>>) {
    let result = match fast {
        Some(r) => r,
        None => handle(frame),
    };
    match result {
        Ok(r) => {
            frame.rax = 0;
            frame.rsi = r.tag;
            frame.rdx = r.words[0];
            frame.r10 = r.words[1];
            frame.r8 = r.words[2];
            frame.r9 = r.words[3];
            if let Some(b) = r.badge {
                frame.rdi = b;
            }
        }
        Err(e) => frame.rax = e.code(),
    }
    sched::return_to_user(frame);
}

fn caller_domain() -> Arc<Domain> {
    sched::current()
        .domain
        .clone()
        .expect("syscalls come from user threads")
}

/// Where a slow-path IPC syscall stands when its handler returns.
enum Step {
    /// Finished.
    Done(Reply),
    /// A request arrived at once (it may carry an out-of-line part).
    Received((Parcel, u64)),
    /// The request is sent; wait for the reply.
    AwaitReply,
    /// Queued as a receiver; wait for a request.
    AwaitRequest,
}

fn handle(frame: &TrapFrame) -> Result<Reply, Error> {
    let step = match Syscall::try_from(frame.rax)? {
        Syscall::Call => call(frame)?,
        Syscall::Recv => recv(frame)?,
        Syscall::Reply => reply(frame)?,
    };
    // The handlers have returned, so nothing owned is left on this stack:
    // the thread may wait where the fast path can resume it.
    match step {
        Step::Done(r) => Ok(r),
        Step::Received(req) => Ok(request_of(frame, req)),
        Step::AwaitReply => endpoint::park_for_reply().map(|p| reply_of(frame, p)),
        Step::AwaitRequest => endpoint::park_for_request().map(|r| request_of(frame, r)),
    }
}

/// The registers of a received reply, after its out-of-line part (if any)
/// went where the caller's descriptor says. `r12` names a descriptor only
/// if the call itself had `Tag::OOL` (the frame still holds the call's
/// tag); after a register-only call it is whatever the program left there,
/// and the kernel must not write through it.
pub fn reply_of(frame: &TrapFrame, p: Parcel) -> Reply {
    let called_with_ool = (frame.rsi >> 32) & u64::from(Tag::OOL) != 0;
    let descriptor = if called_with_ool { frame.r12 } else { 0 };
    Reply {
        tag: ool::receive(descriptor, p.msg.tag, p.payload).raw(),
        words: p.msg.words,
        badge: None,
    }
}

/// The registers of a received request (see [`reply_of`]). For `Recv` and
/// `Reply` with receive, `r12` is the receive descriptor or 0, as the ABI
/// says.
pub fn request_of(frame: &TrapFrame, (p, badge): (Parcel, u64)) -> Reply {
    Reply {
        tag: ool::receive(frame.r12, p.msg.tag, p.payload).raw(),
        words: p.msg.words,
        badge: Some(badge),
    }
}

fn call(frame: &TrapFrame) -> Result<Step, Error> {
    let handle = Handle::decode(frame.rdi)?;
    let tag = Tag::decode(frame.rsi)?;
    let domain = caller_domain();
    let (obj, r) = domain.lookup(handle)?;
    if !r.contains(rights::CALL) {
        return Err(Error::NoRights);
    }
    // `REPLY_RECV` means nothing on a Call.
    if tag.has(Tag::REPLY_RECV) {
        return Err(Error::BadTag);
    }
    match obj {
        // Kernel endpoints take register messages only.
        KObject::Kernel(_) if tag.has(Tag::OOL) => Err(Error::BadTag),
        KObject::Kernel(service) => {
            if tag.interface() != service.interface() {
                return Err(Error::BadInterface);
            }
            if !endpoints::has_method(service, tag.method()) {
                return Err(Error::BadMethod);
            }
            // Kernel endpoints are checked like any other: the request, then
            // the response.
            let (iface, method, w) = (tag.interface(), tag.method(), words(frame));
            let kernel = security::kernel_context();
            let none = Ool::None;
            security::check(
                EventKind::Request,
                domain.context,
                kernel,
                iface,
                method,
                w,
                none,
            )?;
            let reply = endpoints::call(&domain, service, method, w)?;
            security::check(
                EventKind::Response,
                kernel,
                domain.context,
                iface,
                method,
                reply.words,
                none,
            )?;
            Ok(Step::Done(reply))
        }
        KObject::Endpoint { ep, badge } => {
            if tag.interface() < abi::iface::FIRST_USER {
                return Err(Error::BadInterface);
            }
            let w = words(frame);
            let payload = if tag.has(Tag::OOL) {
                ool::take(&domain, frame.r12)?
            } else {
                Payload::None
            };
            security::check(
                EventKind::Request,
                domain.context,
                ep.context,
                tag.interface(),
                tag.method(),
                w,
                payload.kind(),
            )?;
            drop(domain);
            let me = sched::current();
            // The receiver sees `OOL` only if it gets a part (`ool::receive`).
            let msg = Message::new(Tag::new(tag.interface(), tag.method()), w);
            endpoint::send(&me, &ep, badge, Parcel { msg, payload })?;
            Ok(Step::AwaitReply)
        }
    }
}

fn recv(frame: &TrapFrame) -> Result<Step, Error> {
    let handle = Handle::decode(frame.rdi)?;
    receive_on(handle)
}

fn receive_on(handle: Handle) -> Result<Step, Error> {
    let domain = caller_domain();
    let (obj, r) = domain.lookup(handle)?;
    drop(domain);
    if !r.contains(rights::RECV) {
        return Err(Error::NoRights);
    }
    match obj {
        // Kernel endpoints are served by the kernel; no handle to one carries
        // RECV, so this arm is reached only if that invariant breaks.
        KObject::Kernel(_) => Err(Error::NoRights),
        KObject::Endpoint { ep, .. } => {
            let me = sched::current();
            Ok(match endpoint::try_recv(&me, &ep)? {
                Some(req) => Step::Received(req),
                None => Step::AwaitRequest,
            })
        }
    }
}

fn reply(frame: &TrapFrame) -> Result<Step, Error> {
    let tag = Tag::decode(frame.rsi)?;
    let me = sched::current();
    let payload = if tag.has(Tag::OOL) {
        let domain = me.domain.as_ref().ok_or(Error::BadSyscall)?;
        ool::take(domain, frame.r12)?
    } else {
        Payload::None
    };
    // Clear the flags: the reply itself carries only the message.
    let msg = Message::new(Tag::new(tag.interface(), tag.method()), words(frame));
    let replied = endpoint::reply(&me, Parcel { msg, payload });
    drop(me);
    if !tag.has(Tag::REPLY_RECV) {
        return replied.map(|()| Step::Done(Reply::empty()));
    }
    // Reply-then-receive: a server loop starts with no caller, and a caller
    // that has gone is the caller's problem, so neither stops the receive.
    match replied {
        Ok(()) | Err(Error::NoCaller) | Err(Error::PeerGone) => {
            receive_on(Handle::decode(frame.rdi)?)
        }
        Err(e) => Err(e),
    }
}
