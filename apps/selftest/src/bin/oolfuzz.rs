//! `oolfuzz`: random out-of-line messages at a real server (`ool`
//! scenario). [`CALLS`] pseudo-random syscalls (xorshift, fixed seed) on
//! the `front` channel, mostly `Call`s with `Tag::OOL` and a descriptor
//! whose every field is drawn from valid values, limits, neighbours of
//! limits and garbage: kinds, addresses (its own scratch pages, unmapped
//! and kernel addresses), lengths, rights, handles, and the descriptor
//! pointer itself. Every status must be one the ABI defines, the server
//! must still answer afterwards, and (checked by the scenario) no frame
//! may stay shared once everything has ended.

#![no_std]
#![no_main]

use rt::abi::{Error, Handle, Tag, handles, ool};
use rt::{kernel, sys};

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::{EchoClient, echo};

rt::entry!(main);

const CALLS: u32 = 2000;
const PAGE: u64 = rt::abi::PAGE_SIZE;
/// Never mapped in this program.
const HOLE: u64 = 0x1000_0000;
const KERNEL_ADDR: u64 = 0xffff_8000_0000_0000;

fn main() -> i32 {
    let Ok(f) = kernel::channel("front") else {
        rt::error!("oolfuzz: no front channel");
        return 1;
    };
    let scratch_len = 4 * PAGE;
    let Ok(scratch) = kernel::map(
        0,
        scratch_len,
        rt::abi::mem::PROT_READ | rt::abi::mem::PROT_WRITE,
    ) else {
        rt::error!("oolfuzz: cannot map scratch pages");
        return 1;
    };
    let mut rng = rt::rand::XorShift::new(0x9e37_79b9_7f4a_7c15);
    let mut statuses = [0u32; Error::ALL.len() + 1];
    let mut unknown = 0u32;
    for _ in 0..CALLS {
        let addrs = [
            scratch,
            scratch + PAGE,
            scratch + 17,
            scratch + scratch_len - PAGE,
            scratch + scratch_len,
            HOLE,
            KERNEL_ADDR,
            0,
            rng.next_u64(),
        ];
        let lens = [
            0,
            1,
            PAGE,
            2 * PAGE,
            scratch_len,
            scratch_len + PAGE,
            ool::MAX_BYTES,
            ool::MAX_BYTES + 1,
            ool::MAX_GRANT + PAGE,
            rng.next_u64(),
        ];
        let handles_and_rights = [
            u64::from(f.0),
            u64::from(handles::INBOX.0),
            u64::from(handles::LOG.0),
            u64::from(Handle::new(999, 3).0),
            1,
            2,
            4,
            7,
        ];
        let noise = rng.next_u64();
        let kind = rng.pick(&[0, 1, 1, 2, 3, 3, 4, 4, 5, noise]);
        let (a, b) = if kind == ool::HANDLE {
            (rng.pick(&handles_and_rights), rng.pick(&handles_and_rights))
        } else {
            (rng.pick(&addrs), rng.pick(&lens))
        };
        let d = ool::Descriptor {
            send_kind: kind,
            send_a: a,
            send_b: b,
            recv_addr: rng.pick(&addrs),
            recv_cap: rng.pick(&lens),
            ..ool::Descriptor::default()
        };
        let bad_pointer = rng.pick(&[0, HOLE, KERNEL_ADDR, scratch + scratch_len - 8]);
        let r12 = match rng.next_u64() % 8 {
            0 => bad_pointer,
            _ => &d as *const ool::Descriptor as u64,
        };
        // Methods that answer at once; `crash`, `slow` and `done` are left
        // out (they would end the server or stall it).
        let method = rng.pick(&[
            u64::from(echo::method::PING),
            u64::from(echo::method::WHO),
            u64::from(echo::method::PUT),
            u64::from(echo::method::ADOPT),
            u64::from(echo::method::VIEW),
            77,
        ]) as u16;
        let flags = rng.pick(&[
            u64::from(Tag::OOL),
            u64::from(Tag::OOL),
            u64::from(Tag::OOL),
            u64::from(Tag::OOL | Tag::REPLY_RECV),
            0,
        ]) as u8;
        let tag = Tag::with_flags(echo::INTERFACE, method, flags).raw();
        let nr = rng.pick(&[0, 0, 0, 0, 0, 0, 1, 2]);
        let words = [rng.pick(&[0, 1, 13]), 0, 0, 0];
        // SAFETY: the kernel reads the descriptor and what it names, and
        // writes only into the scratch pages or the descriptor (its receive
        // fields); `view` makes the server write into the scratch pages at
        // most. Nothing this program relies on lives there.
        let ret = unsafe { sys::syscall(nr, u64::from(f.0), tag, words, r12) };
        match Error::from_status(ret.status) {
            Some(Ok(())) => statuses[0] += 1,
            Some(Err(e)) => statuses[e.code() as usize] += 1,
            None => unknown += 1,
        }
    }
    let front = EchoClient { handle: f };
    let alive = front.ping(1, 2, 3, 4).is_ok();
    rt::println!(
        "oolfuzz: {} calls, {} unknown statuses; ok {}, Denied {}, BadAddress {}, InvalidArgument {}, NoRights {}, BadTag {}",
        CALLS,
        unknown,
        statuses[0],
        statuses[Error::Denied.code() as usize],
        statuses[Error::BadAddress.code() as usize],
        statuses[Error::InvalidArgument.code() as usize],
        statuses[Error::NoRights.code() as usize],
        statuses[Error::BadTag.code() as usize],
    );
    // SAFETY: the scratch pages are not used after this point.
    let _ = unsafe { kernel::unmap(scratch, scratch_len) };
    let _ = front.done();
    if unknown == 0 && alive {
        rt::println!("oolfuzz: every call answered, server still alive");
        0
    } else {
        rt::error!(
            "oolfuzz: FAILED (unknown statuses {}, server alive {})",
            unknown,
            alive
        );
        1
    }
}
