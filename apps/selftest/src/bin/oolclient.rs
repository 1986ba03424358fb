//! `oolclient`: out-of-line message parts, end to end (`ool` scenario).
//!
//! Through the generated `Echo` stubs:
//! 1. `put` with 4 KiB, 64 KiB (the most a message carries) and 0 bytes:
//!    the server reports the length and sum it received;
//! 2. `put` with one byte too many: `InvalidArgument`;
//! 3. `adopt`: the client passes its channel to `back` (which has the
//!    `GRANT` right) to `front`; `front` calls `back` through it, and `back`
//!    must see `front`'s badge, not this client's;
//! 4. passing the channel to `front` (no `GRANT` right): `NoRights`; asking
//!    to pass a right the channel cannot give (`RECV`): `InvalidArgument`.
//!
//! Through the raw syscall, what generated code never sends:
//! 5. a descriptor at an unmapped address, and one naming unmapped bytes:
//!    `BadAddress`;
//! 6. bytes with `ping`, a register-only method: `Denied` (the security
//!    module finds the message malformed), and the server keeps serving.
//!
//! Shared memory (`view`):
//! 7. two pages shared read-only: the server sums them and cannot change
//!    them; shared writable: its write shows up here (same frames, no
//!    copy);
//! 8. sharing memory that is not `MAP`ped anonymous memory (the stack),
//!    an unaligned range, or a read-only mapping as writable: refused;
//! 9. a hostile receiver (`scribbler`) that writes to a read-only share
//!    faults and dies; the caller gets `PeerGone` and its memory is
//!    unchanged.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use rt::abi::{Error, Handle, Message, Syscall, Tag, ool, rights};
use rt::{kernel, sys};

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::{EchoClient, echo};

rt::entry!(main);

fn check(ok: &mut bool, what: &str, pass: bool) {
    if pass {
        rt::println!("oolclient: {}: ok", what);
    } else {
        rt::error!("oolclient: {}: FAILED", what);
        *ok = false;
    }
}

/// A `Call` with `Tag::OOL` and a hand-made descriptor address.
fn raw_ool_call(h: Handle, tag: Tag, descriptor: u64) -> Result<(), Error> {
    let tag = Tag::with_flags(tag.interface(), tag.method(), Tag::OOL);
    // SAFETY: the kernel only reads the descriptor and what it names; the
    // addresses given are unmapped or our own live data.
    let ret = unsafe {
        sys::syscall(
            Syscall::Call as u64,
            h.0.into(),
            tag.raw(),
            [0; 4],
            descriptor,
        )
    };
    sys::decode_status(ret.status)
}

/// A hostile receiver of a read-only share: its write must fault (the
/// scenario expects that domain to end by a fault) and leave this domain's
/// memory alone; the call then fails with `PeerGone`.
fn hostile_receiver(ok: &mut bool) {
    use rt::abi::mem::{PROT_READ, PROT_WRITE};
    let Ok(h) = kernel::channel("scribbler") else {
        check(ok, "channel to the scribbler", false);
        return;
    };
    let scribbler = EchoClient { handle: h };
    let Ok(addr) = kernel::map(0, rt::abi::PAGE_SIZE, PROT_READ | PROT_WRITE) else {
        check(ok, "map a page to share", false);
        return;
    };
    // SAFETY: freshly mapped and writable; used only here.
    unsafe { core::ptr::write_volatile(addr as *mut u8, 0x11) };
    let r = scribbler.scribble(sys::Share {
        addr,
        len: rt::abi::PAGE_SIZE,
        writable: false,
    });
    check(
        ok,
        "a receiver writing a read-only share dies: PeerGone",
        r == Err(Error::PeerGone),
    );
    // SAFETY: a volatile read of our own mapped byte.
    let first = unsafe { core::ptr::read_volatile(addr as *const u8) };
    check(ok, "the read-only share is unchanged", first == 0x11);
    // SAFETY: not used after this point.
    let _ = unsafe { kernel::unmap(addr, rt::abi::PAGE_SIZE) };
}

fn share_checks(front: &EchoClient, ok: &mut bool) {
    use rt::abi::mem::{PROT_READ, PROT_WRITE};
    let len = 2 * rt::abi::PAGE_SIZE;
    let Ok(addr) = kernel::map(0, len, PROT_READ | PROT_WRITE) else {
        check(ok, "map two pages to share", false);
        return;
    };
    // SAFETY: freshly mapped, readable and writable, used only here.
    let page = unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len as usize) };
    for (i, b) in page.iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    let sum: u64 = page.iter().map(|&b| u64::from(b)).sum();
    let share = |writable| sys::Share {
        addr,
        len,
        writable,
    };
    check(
        ok,
        "share two pages read-only: the server reads them",
        front.view(share(false)) == Ok(sum),
    );
    check(ok, "a read-only share stays unchanged", page[0] == 0);
    check(
        ok,
        "share writable: the server reads them",
        front.view(share(true)) == Ok(sum),
    );
    // SAFETY: a volatile read of our own mapped byte, which the server wrote.
    let first = unsafe { core::ptr::read_volatile(addr as *const u8) };
    check(
        ok,
        "share writable: the server's write shows here",
        first == 0xab,
    );
    let stack_var = 0u64;
    let stack_page = (&stack_var as *const u64 as u64) & !(rt::abi::PAGE_SIZE - 1);
    check(
        ok,
        "share the stack: BadAddress",
        front.view(sys::Share {
            addr: stack_page,
            len: rt::abi::PAGE_SIZE,
            writable: false,
        }) == Err(Error::BadAddress),
    );
    check(
        ok,
        "share an unaligned range: Misaligned",
        front.view(sys::Share {
            addr: addr + 1,
            len: rt::abi::PAGE_SIZE,
            writable: false,
        }) == Err(Error::Misaligned),
    );
    // SAFETY: `page` is not used after this point.
    let _ = unsafe { kernel::unmap(addr, len) };
    if let Ok(ro) = kernel::map(0, rt::abi::PAGE_SIZE, PROT_READ) {
        check(
            ok,
            "share read-only memory writable: BadAddress",
            front.view(sys::Share {
                addr: ro,
                len: rt::abi::PAGE_SIZE,
                writable: true,
            }) == Err(Error::BadAddress),
        );
        // SAFETY: never used.
        let _ = unsafe { kernel::unmap(ro, rt::abi::PAGE_SIZE) };
    }
}

fn main() -> i32 {
    let (Ok(f), Ok(b)) = (kernel::channel("front"), kernel::channel("back")) else {
        rt::error!("oolclient: channels front and back are missing");
        return 1;
    };
    let front = EchoClient { handle: f };
    let back = EchoClient { handle: b };
    let mut ok = true;

    for len in [4096usize, ool::MAX_BYTES as usize, 0] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let sum: u64 = data.iter().map(|&x| u64::from(x)).sum();
        let r = front.put(&data);
        check(
            &mut ok,
            &alloc::format!("put {len} bytes"),
            r == Ok(echo::PutReply {
                len: len as u64,
                sum,
            }),
        );
    }
    let too_big = alloc::vec![1u8; ool::MAX_BYTES as usize + 1];
    check(
        &mut ok,
        "put one byte over the limit: InvalidArgument",
        front.put(&too_big) == Err(Error::InvalidArgument),
    );

    let me = kernel::info().domain;
    match front.adopt(sys::Grant {
        handle: b,
        rights: rights::CALL,
    }) {
        Ok(badge) => {
            rt::println!(
                "oolclient: back saw badge {} through front (this client is {})",
                badge,
                me
            );
            check(
                &mut ok,
                "a passed handle carries the badge of its new holder",
                badge != me && badge != 0,
            );
        }
        Err(e) => check(&mut ok, &alloc::format!("adopt failed: {e}"), false),
    }
    check(
        &mut ok,
        "pass a channel without GRANT: NoRights",
        front.adopt(sys::Grant {
            handle: f,
            rights: rights::CALL,
        }) == Err(Error::NoRights),
    );
    check(
        &mut ok,
        "pass a right the handle cannot give: InvalidArgument",
        front.adopt(sys::Grant {
            handle: b,
            rights: rights::RECV,
        }) == Err(Error::InvalidArgument),
    );

    let put = Tag::new(echo::INTERFACE, echo::method::PUT);
    check(
        &mut ok,
        "descriptor at an unmapped address: BadAddress",
        raw_ool_call(f, put, 0x10) == Err(Error::BadAddress),
    );
    let bad_bytes = ool::Descriptor {
        send_kind: ool::BYTES,
        send_a: 0x7000_0000_0000,
        send_b: 64,
        ..ool::Descriptor::default()
    };
    check(
        &mut ok,
        "bytes at an unmapped address: BadAddress",
        raw_ool_call(f, put, &bad_bytes as *const ool::Descriptor as u64) == Err(Error::BadAddress),
    );
    let bytes = [1u8, 2, 3];
    let with_ping = sys::call_with(
        f,
        Message::new(Tag::new(echo::INTERFACE, echo::method::PING), [1, 2, 3, 4]),
        sys::Send::Bytes(&bytes),
    );
    check(
        &mut ok,
        "bytes with a register-only method: Denied",
        with_ping.err() == Some(Error::Denied),
    );
    check(
        &mut ok,
        "front still answers",
        front.ping(1, 2, 3, 4).is_ok(),
    );

    share_checks(&front, &mut ok);
    hostile_receiver(&mut ok);

    let _ = front.done();
    let _ = back.done();
    if ok {
        rt::println!("oolclient: all out-of-line checks passed");
        0
    } else {
        1
    }
}
