//! Out-of-line message parts (`abi::ool`): taking one from the sender when
//! it sends, and giving one to the receiver when it receives.
//!
//! Bytes travel through a kernel buffer: copied in from the sender's memory
//! at send time (so the sender may reuse its buffer at once) and out to the
//! receiver's memory when the receiver runs. All such buffers together are
//! bounded (`endpoint::IN_FLIGHT_MAX`); past that a send fails with
//! `NoMemory` rather than exhaust the kernel heap. A handle travels as the
//! kernel object it names and is installed in the receiver's table on
//! receipt; an endpoint handle is re-badged with the receiver's domain id,
//! so a server always sees who really calls, whoever passed the handle on.
//! Shared memory travels as the sender's frames, each with an extra owner
//! reference, and is mapped into the receiver's mmap area on receipt; a
//! frame is freed when its last owner lets it go (`mm::release_user_frame`).

use crate::obj::domain::{Domain, KObject};
use crate::obj::endpoint::{OolBytes, Payload, SharedFrames};
use crate::sched;
use abi::ool::{self, DESCRIPTOR_SIZE, Descriptor};
use abi::{Error, Handle, Tag, rights};
use kcore::handle::Rights;

fn read_descriptor(domain: &Domain, addr: u64) -> Result<Descriptor, Error> {
    if addr == 0 {
        return Err(Error::BadAddress);
    }
    let mut b = [0u8; DESCRIPTOR_SIZE];
    domain.space.lock().copy_from_user(addr, &mut b)?;
    Ok(Descriptor::from_bytes(&b))
}

/// The send part of the sender's descriptor at `addr`, taken: bytes copied
/// into the kernel, the handle's object looked up and its rights checked,
/// or the shared range's frames given an owner reference each.
pub fn take(domain: &Domain, addr: u64) -> Result<Payload, Error> {
    let d = read_descriptor(domain, addr)?;
    match d.send_kind {
        ool::BYTES => {
            if d.send_b > ool::MAX_BYTES {
                return Err(Error::InvalidArgument);
            }
            let len = d.send_b as usize;
            let mut data = OolBytes::new(len)?;
            if len > 0 {
                domain.space.lock().copy_from_user(d.send_a, &mut data)?;
            }
            Ok(Payload::Bytes(data))
        }
        ool::HANDLE => {
            let h = Handle::decode(d.send_a)?;
            let passable = rights::CALL | rights::GRANT;
            let want = u32::try_from(d.send_b).map_err(|_| Error::InvalidArgument)?;
            if want == 0 || want & !passable != 0 {
                return Err(Error::InvalidArgument);
            }
            let (obj, has) = domain.lookup(h)?;
            if !has.contains(rights::GRANT) || !has.contains(want) {
                return Err(Error::NoRights);
            }
            match obj {
                KObject::Endpoint { .. } => Ok(Payload::Handle(obj, Rights(want))),
                // Every domain has its own kernel-endpoint handles already.
                KObject::Kernel(_) => Err(Error::InvalidArgument),
            }
        }
        ool::MEMORY_READ | ool::MEMORY_WRITE => {
            if d.send_b > ool::MAX_GRANT {
                return Err(Error::InvalidArgument);
            }
            let writable = d.send_kind == ool::MEMORY_WRITE;
            let frames = domain
                .space
                .lock()
                .share_range(d.send_a, d.send_b, writable)?;
            Ok(Payload::Memory(SharedFrames { frames, writable }))
        }
        _ => Err(Error::InvalidArgument),
    }
}

/// Gives `payload` to the current thread, which has just received a
/// message with tag `tag`, through its descriptor at `descriptor` (0: none).
/// Returns the tag to hand over: with `Tag::OOL` set when the message had
/// an out-of-line part, whether or not it could be delivered. The message
/// itself is never refused here: a receiver without a descriptor, with a
/// bad one, or with too small a buffer loses (part of) the extra data and
/// can tell from `recv_kind` and `recv_len`.
pub fn receive(descriptor: u64, tag: Tag, payload: Payload) -> Tag {
    if matches!(payload, Payload::None) {
        return tag;
    }
    let flagged = Tag::with_flags(tag.interface(), tag.method(), Tag::OOL);
    let me = sched::current();
    let Some(domain) = me.domain.as_ref() else {
        return flagged;
    };
    let Ok(mut d) = read_descriptor(domain, descriptor) else {
        return flagged;
    };
    d.recv_kind = ool::NONE;
    d.recv_len = 0;
    d.recv_handle = 0;
    match payload {
        Payload::None => {}
        Payload::Bytes(data) => {
            let n = data
                .len()
                .min(usize::try_from(d.recv_cap).unwrap_or(usize::MAX));
            let copied = n == 0
                || domain
                    .space
                    .lock()
                    .copy_to_user(d.recv_addr, &data[..n])
                    .is_ok();
            if copied {
                d.recv_kind = ool::BYTES;
                d.recv_len = data.len() as u64;
            }
        }
        Payload::Handle(obj, r) => {
            let obj = match obj {
                KObject::Endpoint { ep, .. } => KObject::Endpoint {
                    ep,
                    badge: domain.id,
                },
                other => other,
            };
            if let Ok(h) = domain.handles.lock().insert(obj, r) {
                d.recv_kind = ool::HANDLE;
                d.recv_handle = u64::from(h.0);
            }
        }
        Payload::Memory(mut grant) => {
            use abi::mem::{PROT_READ, PROT_WRITE};
            let prot = if grant.writable {
                PROT_READ | PROT_WRITE
            } else {
                PROT_READ
            };
            let mapped = domain.space.lock().map_shared(&grant.frames, prot);
            match mapped {
                Ok(addr) => {
                    d.recv_kind = if grant.writable {
                        ool::MEMORY_WRITE
                    } else {
                        ool::MEMORY_READ
                    };
                    d.recv_len = grant.frames.len() as u64 * abi::PAGE_SIZE;
                    d.recv_handle = addr;
                    grant.handed_over();
                }
                Err((_, Some((start, pages)))) => {
                    // Mapped for a moment: another CPU running this domain
                    // may hold the translations. Flush them before the
                    // references (and perhaps the frames) go.
                    crate::tlb::shootdown(domain, start, pages);
                }
                Err((_, None)) => {}
            }
        }
    }
    // A receiver that unmapped its descriptor meanwhile just learns less.
    let _ = domain.space.lock().copy_to_user(descriptor, &d.to_bytes());
    flagged
}
