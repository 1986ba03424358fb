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
use crate::sched;
use abi::{Error, Handle, MSG_WORDS, Syscall, Tag, rights};
use alloc::sync::Arc;

/// What a successful syscall returns in registers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reply {
    /// Tag returned in `rsi`.
    pub tag: u64,
    /// Words returned in `rdx`, `r10`, `r8`, `r9`.
    pub words: [u64; MSG_WORDS],
}

impl Reply {
    /// A reply carrying only word 0.
    pub fn word(w: u64) -> Reply {
        Reply {
            tag: 0,
            words: [w, 0, 0, 0],
        }
    }
    /// An empty reply.
    pub fn empty() -> Reply {
        Reply::default()
    }
}

/// The message words of a request.
pub fn words(f: &TrapFrame) -> [u64; MSG_WORDS] {
    [f.rdx, f.r10, f.r8, f.r9]
}

/// Entry from `syscall_entry`.
pub extern "C" fn syscall_dispatch(frame: &mut TrapFrame) {
    let result = handle(frame);
    match result {
        Ok(r) => {
            frame.rax = 0;
            frame.rsi = r.tag;
            frame.rdx = r.words[0];
            frame.r10 = r.words[1];
            frame.r8 = r.words[2];
            frame.r9 = r.words[3];
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

fn handle(frame: &TrapFrame) -> Result<Reply, Error> {
    match Syscall::try_from(frame.rax)? {
        Syscall::Call => call(frame),
        Syscall::Recv => recv(frame),
        Syscall::Reply => reply(frame),
    }
}

fn call(frame: &TrapFrame) -> Result<Reply, Error> {
    let handle = Handle::decode(frame.rdi)?;
    let tag = Tag::decode(frame.rsi)?;
    let domain = caller_domain();
    let (obj, r) = domain.lookup(handle)?;
    if !r.contains(rights::CALL) {
        return Err(Error::NoRights);
    }
    match obj {
        KObject::Kernel(service) => {
            // Kernel endpoints take register-only messages.
            if tag.has(Tag::OOL) || tag.has(Tag::REPLY_RECV) {
                return Err(Error::BadTag);
            }
            if tag.interface() != service.interface() {
                return Err(Error::BadInterface);
            }
            endpoints::call(&domain, service, tag.method(), words(frame))
        }
    }
}

fn recv(frame: &TrapFrame) -> Result<Reply, Error> {
    let handle = Handle::decode(frame.rdi)?;
    let domain = caller_domain();
    let (obj, r) = domain.lookup(handle)?;
    if !r.contains(rights::RECV) {
        return Err(Error::NoRights);
    }
    match obj {
        // Kernel endpoints are served by the kernel; no handle to one carries
        // RECV, so this arm is reached only if that invariant breaks.
        KObject::Kernel(_) => Err(Error::NoRights),
    }
}

fn reply(frame: &TrapFrame) -> Result<Reply, Error> {
    Tag::decode(frame.rsi)?;
    // Inter-domain IPC is not there yet, so no thread ever has a caller
    // waiting for its reply.
    Err(Error::NoCaller)
}
