//! The three system calls: the raw `syscall` instruction and typed wrappers.
//!
//! [`syscall`] is the only place in user space that executes the `syscall`
//! instruction. It follows the register layout documented in the `abi` crate:
//! `rax` number, `rdi` handle, `rsi` tag, `rdx`/`r10`/`r8`/`r9` the four data
//! words, `r12` the out-of-line descriptor; on return `rax` status, `rdi`
//! badge, `rsi` tag and the four words. `rcx` and `r11` are clobbered.
//!
//! The typed wrappers ([`call`], [`recv`], [`reply`], [`reply_recv`]) decode
//! the status. A status the ABI does not define (which a correct kernel never
//! returns) decodes to [`Error::BadSyscall`], so a misbehaving kernel yields an
//! error value, never undefined behaviour. A reply tag with reserved bits set
//! decodes to [`Error::BadTag`] for the same reason.

use abi::{Error, Handle, MSG_WORDS, Message, Syscall, Tag};
use core::arch::asm;

/// Everything the kernel hands back from a system call, undecoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawReturn {
    /// `rax`: 0 or an [`Error`] code.
    pub status: u64,
    /// `rdi`: the sender's badge (Recv), otherwise whatever the kernel left.
    pub badge: u64,
    /// `rsi`: the reply or request tag.
    pub tag: u64,
    /// `rdx`, `r10`, `r8`, `r9`.
    pub words: [u64; MSG_WORDS],
}

/// Executes one `syscall` instruction with the given registers.
///
/// # Safety
///
/// The kernel does whatever the arguments ask, and some requests break the
/// program's memory safety: unmapping memory that Rust code still uses,
/// starting a thread at an arbitrary address, or ending the thread while
/// others borrow its stack. The caller must make sure the request is not one
/// of those. If the tag carries [`Tag::OOL`], `ool` must point to a valid
/// out-of-line descriptor whose buffers the kernel may read or write.
#[inline]
#[must_use]
pub unsafe fn syscall(
    nr: u64,
    handle: u64,
    tag: u64,
    words: [u64; MSG_WORDS],
    ool: u64,
) -> RawReturn {
    let (status, badge, rtag, w0, w1, w2, w3);
    // SAFETY: the register assignment is the one the ABI documents. The
    // kernel preserves every register except rax, rdi, rsi, rdx, r10, r8, r9
    // (all marked as outputs) and rcx, r11 (clobbered by syscall/sysret). It
    // runs on its own stack, so ours is untouched. Memory may be read or
    // written by the kernel, which is why `nomem`/`readonly` are absent; what
    // the kernel does with memory is the caller's contract.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr => status,
            inlateout("rdi") handle => badge,
            inlateout("rsi") tag => rtag,
            inlateout("rdx") words[0] => w0,
            inlateout("r10") words[1] => w1,
            inlateout("r8") words[2] => w2,
            inlateout("r9") words[3] => w3,
            in("r12") ool,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    RawReturn {
        status,
        badge,
        tag: rtag,
        words: [w0, w1, w2, w3],
    }
}

/// Decodes a status register. Codes the ABI does not define become
/// [`Error::BadSyscall`].
#[inline(always)]
pub fn decode_status(status: u64) -> Result<(), Error> {
    if status == 0 {
        Ok(())
    } else {
        Err(decode_error(status))
    }
}

#[cold]
fn decode_error(status: u64) -> Error {
    match Error::from_status(status) {
        Some(Err(e)) => e,
        _ => Error::BadSyscall,
    }
}

/// Decodes a full return into a message.
#[inline(always)]
fn decode_message(ret: &RawReturn) -> Result<Message, Error> {
    decode_status(ret.status)?;
    let tag = Tag::decode(ret.tag)?;
    Ok(Message::new(tag, ret.words))
}

/// Whether a request, sent to a kernel endpoint, could break memory safety:
/// `mem::UNMAP` (memory still in use) and `task::THREAD_CREATE` (code at a raw
/// address). Kernel interface numbers are below [`abi::iface::FIRST_USER`], so
/// no user server can own such a tag; refusing it by tag alone is exact.
fn is_memory_unsafe(tag: Tag) -> bool {
    matches!(
        (tag.interface(), tag.method()),
        (abi::iface::MEMORY, abi::mem::UNMAP) | (abi::iface::TASK, abi::task::THREAD_CREATE)
    )
}

/// Sends `msg` on the endpoint `h` and waits for the reply.
///
/// Register-only messages only: a tag with [`Tag::OOL`] is refused with
/// [`Error::BadTag`] before the syscall. Requests that could break memory
/// safety (`mem::UNMAP`, `task::THREAD_CREATE`) are refused with
/// [`Error::Denied`]; use [`crate::kernel::unmap`] or [`crate::thread`], or
/// [`syscall`] directly.
#[inline]
pub fn call(h: Handle, msg: Message) -> Result<Message, Error> {
    if msg.tag.has(Tag::OOL) {
        return Err(Error::BadTag);
    }
    if is_memory_unsafe(msg.tag) {
        return Err(Error::Denied);
    }
    // SAFETY: no out-of-line part, and the two memory-unsafe kernel requests
    // were refused above; every other request leaves our memory alone.
    let ret = unsafe {
        syscall(
            Syscall::Call as u64,
            h.0.into(),
            msg.tag.raw(),
            msg.words,
            0,
        )
    };
    decode_message(&ret)
}

/// A handle to pass on with a message, and the rights to give with it (at
/// most `CALL | GRANT`, and at most what the handle has; it needs `GRANT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The handle.
    pub handle: Handle,
    /// The rights to pass.
    pub rights: u32,
}

/// Memory to share with the receiver: a page-aligned range this domain
/// mapped with `mem::MAP` (writable too if `writable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// Start address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u64,
    /// The receiver may write too.
    pub writable: bool,
}

/// Memory another domain shared with this one, mapped here by the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shared {
    /// Where the kernel mapped it in this domain.
    pub addr: u64,
    /// Length in bytes.
    pub len: u64,
    /// Mapped writable.
    pub writable: bool,
}

/// An out-of-line part to send with a message (see `abi::ool`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Send<'a> {
    /// Bytes the kernel copies (at most `abi::ool::MAX_BYTES`).
    Bytes(&'a [u8]),
    /// A handle passed on.
    Handle(Grant),
    /// Memory shared.
    Share(Share),
}

/// What arrived out of line with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received<'a> {
    /// Nothing: a register-only message.
    None,
    /// Bytes: those that fit in the receive buffer, and how many were sent
    /// (more than `data.len()` means the buffer was too small).
    Bytes {
        /// The bytes received.
        data: &'a [u8],
        /// The bytes sent.
        total: usize,
    },
    /// A handle, installed in this domain's table.
    Handle(Handle),
    /// Shared memory, mapped in this domain.
    Memory(Shared),
    /// Something was sent but could not be received (no descriptor, or
    /// the handle table is full).
    Lost,
}

impl Received<'_> {
    /// Whether the message was register-only.
    pub fn is_none(&self) -> bool {
        matches!(self, Received::None)
    }
}

/// A heap buffer of [`abi::ool::MAX_BYTES`] bytes to receive into, with
/// the descriptor that points the kernel at it (kept here so a receive
/// does not have to build one).
pub struct RecvBuffer {
    data: alloc::boxed::Box<[u8]>,
    desc: abi::ool::Descriptor,
}

impl RecvBuffer {
    /// A zeroed buffer of the largest size a message carries.
    pub fn new() -> RecvBuffer {
        let mut data = alloc::vec![0u8; abi::ool::MAX_BYTES as usize].into_boxed_slice();
        // The bytes are on the heap, so their address holds however the
        // buffer moves; the kernel writes only the descriptor's other
        // receive fields.
        let desc = abi::ool::Descriptor {
            recv_addr: data.as_mut_ptr() as u64,
            recv_cap: data.len() as u64,
            ..Default::default()
        };
        RecvBuffer { data, desc }
    }
}

impl Default for RecvBuffer {
    fn default() -> Self {
        Self::new()
    }
}

/// A request taken off an endpoint by [`recv`] or [`reply_recv`] (or
/// their `_into` forms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The badge the kernel attaches to the sender's handle.
    pub badge: u64,
    /// The request itself.
    pub msg: Message,
    /// Its out-of-line part.
    pub ool: Received<'a>,
}

/// Sends `msg` with an out-of-line part on the endpoint `h` and waits for
/// the reply. The reply's own out-of-line part, if any, is not received
/// (its tag still shows [`Tag::OOL`]).
pub fn call_with(h: Handle, msg: Message, send: Send<'_>) -> Result<Message, Error> {
    if msg.tag.flags() != 0 {
        return Err(Error::BadTag);
    }
    let mut d = abi::ool::Descriptor::default();
    match send {
        Send::Bytes(b) => {
            d.send_kind = abi::ool::BYTES;
            d.send_a = b.as_ptr() as u64;
            d.send_b = b.len() as u64;
        }
        Send::Handle(g) => {
            d.send_kind = abi::ool::HANDLE;
            d.send_a = g.handle.0.into();
            d.send_b = g.rights.into();
        }
        Send::Share(m) => {
            d.send_kind = if m.writable {
                abi::ool::MEMORY_WRITE
            } else {
                abi::ool::MEMORY_READ
            };
            d.send_a = m.addr;
            d.send_b = m.len;
        }
    }
    let tag = Tag::with_flags(msg.tag.interface(), msg.tag.method(), Tag::OOL);
    // SAFETY: the kernel reads the descriptor and the bytes it names, which
    // live until the call returns; it writes only the descriptor's receive
    // fields (receive capacity 0: no bytes).
    let ret = unsafe {
        syscall(
            Syscall::Call as u64,
            h.0.into(),
            tag.raw(),
            msg.words,
            &mut d as *mut abi::ool::Descriptor as u64,
        )
    };
    decode_message(&ret)
}

/// The out-of-line part named by a filled-in receive descriptor.
#[cold]
fn received<'a>(d: &abi::ool::Descriptor, buf: &'a [u8]) -> Received<'a> {
    match d.recv_kind {
        abi::ool::BYTES => {
            let total = usize::try_from(d.recv_len).unwrap_or(usize::MAX);
            Received::Bytes {
                data: &buf[..total.min(buf.len())],
                total,
            }
        }
        abi::ool::HANDLE => match u32::try_from(d.recv_handle) {
            Ok(h) => Received::Handle(Handle(h)),
            Err(_) => Received::Lost,
        },
        abi::ool::MEMORY_READ | abi::ool::MEMORY_WRITE => Received::Memory(Shared {
            addr: d.recv_handle,
            len: d.recv_len,
            writable: d.recv_kind == abi::ool::MEMORY_WRITE,
        }),
        _ => Received::Lost,
    }
}

/// One receiving syscall (`Recv`, or `Reply` with receive) with an
/// optional receive buffer.
#[inline(always)]
fn receive<'a>(
    nr: Syscall,
    h: Handle,
    tag: u64,
    words: [u64; MSG_WORDS],
    mut buf: Option<&'a mut RecvBuffer>,
) -> Result<Request<'a>, Error> {
    let ptr = match buf.as_deref_mut() {
        // `RecvBuffer::new` pointed the descriptor at the bytes.
        Some(b) => &mut b.desc as *mut abi::ool::Descriptor as u64,
        None => 0,
    };
    // SAFETY: the kernel writes at most `recv_cap` bytes at `recv_addr`
    // (our buffer, borrowed mutably for the call) and the descriptor's
    // receive fields; it reads nothing else of ours.
    let ret = unsafe { syscall(nr as u64, h.0.into(), tag, words, ptr) };
    let msg = decode_message(&ret)?;
    let ool = match buf {
        _ if !msg.tag.has(Tag::OOL) => Received::None,
        Some(b) => received(&b.desc, &b.data),
        None => Received::Lost,
    };
    Ok(Request {
        badge: ret.badge,
        msg,
        ool,
    })
}

/// Waits for a request on the endpoint `h`, which this domain serves. An
/// out-of-line part is not received ([`Received::Lost`]); use
/// [`recv_into`] for servers of methods that take one.
pub fn recv(h: Handle) -> Result<Request<'static>, Error> {
    receive(Syscall::Recv, h, 0, [0; MSG_WORDS], None)
}

/// Waits for a request on `h`; out-of-line bytes land in `buf`.
pub fn recv_into(h: Handle, buf: &mut RecvBuffer) -> Result<Request<'_>, Error> {
    receive(Syscall::Recv, h, 0, [0; MSG_WORDS], Some(buf))
}

/// Answers the request this thread received last.
pub fn reply(msg: Message) -> Result<(), Error> {
    if msg.tag.flags() != 0 {
        return Err(Error::BadTag);
    }
    // SAFETY: a register-only reply touches no memory of ours.
    let ret = unsafe { syscall(Syscall::Reply as u64, 0, msg.tag.raw(), msg.words, 0) };
    decode_status(ret.status)
}

/// Answers the request this thread received last, then waits for the next
/// request on `h` in the same system call (an out-of-line part of it is
/// not received; see [`reply_recv_into`]).
#[inline]
pub fn reply_recv(msg: Message, h: Handle) -> Result<Request<'static>, Error> {
    if msg.tag.flags() != 0 {
        return Err(Error::BadTag);
    }
    let tag = Tag::with_flags(msg.tag.interface(), msg.tag.method(), Tag::REPLY_RECV);
    receive(Syscall::Reply, h, tag.raw(), msg.words, None)
}

/// As [`reply_recv`], with out-of-line bytes of the next request landing
/// in `buf`.
#[inline]
pub fn reply_recv_into(
    msg: Message,
    h: Handle,
    buf: &mut RecvBuffer,
) -> Result<Request<'_>, Error> {
    if msg.tag.flags() != 0 {
        return Err(Error::BadTag);
    }
    let tag = Tag::with_flags(msg.tag.interface(), msg.tag.method(), Tag::REPLY_RECV);
    receive(Syscall::Reply, h, tag.raw(), msg.words, Some(buf))
}

/// Unmaps the shared memory of `request` if `reply` refuses it (see
/// [`serve`]).
#[inline(always)]
fn release_refused(request: &Request<'_>, reply: &Message) {
    let Received::Memory(shared) = &request.ool else {
        return;
    };
    let accepted = reply.tag.interface() == request.msg.tag.interface()
        && reply.tag.method() == request.msg.tag.method();
    if !accepted {
        // SAFETY: the request was refused, so by `serve`'s rule the server
        // kept nothing that refers to the mapping.
        let _ = unsafe { crate::kernel::unmap(shared.addr, shared.len) };
    }
}

/// A server loop on `inbox`: receives a request (out-of-line bytes into a
/// [`RecvBuffer`]), lets `answer` build the reply, and sends it with
/// [`reply_recv_into`] so the next request comes in the same system call.
/// When `answer` says to stop, its reply is sent with a plain [`reply`] and
/// the loop returns. A failed receive or final reply ends the loop with
/// that error.
///
/// Shared memory that came with a request the reply refuses (any reply
/// whose tag is not the request's interface and method: an error, also
/// for a request malformed before a handler ran) is unmapped by the loop,
/// so a server keeps shared memory only by accepting the request, and a
/// client cannot fill a server's address space with refused shares.
pub fn serve(
    inbox: Handle,
    mut answer: impl FnMut(&Request<'_>) -> (Message, bool),
) -> Result<(), Error> {
    let mut buf = RecvBuffer::new();
    let mut request = recv_into(inbox, &mut buf)?;
    loop {
        let (msg, stop) = answer(&request);
        release_refused(&request, &msg);
        if stop {
            return reply(msg);
        }
        request = reply_recv_into(msg, inbox, &mut buf)?;
    }
}
