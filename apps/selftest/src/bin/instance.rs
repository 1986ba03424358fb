//! `instance`: one instance of an on-demand program in the `launch`
//! scenario. It checks that it cannot reach the other instances of its
//! program, then serves nothing and waits to be stopped:
//!
//! - its requests reach `echo` through its own channel, with its own
//!   domain id as the badge;
//! - every other domain it finds (`Task.list`) cannot be stopped by it
//!   (`Denied`: the policy lets no instance execute anything), and it
//!   cannot start more instances;
//! - it asks for the labels of other domains: `Denied`;
//! - no handle slot beyond the kernel's and its channel's names anything
//!   (`BadHandle`), so it holds no way to send to another instance.
//!
//! Each check logs `instance <id>: <check>: ok` or `FAILED` (the kernel's
//! log prefix names the domain's label); then `instance <id>: ready`. It sleeps until it is stopped (exit code 1
//! if it ever wakes for good, after a minute).

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use rt::abi::{self, Error, Handle, Syscall, Tag};
use rt::kernel;

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::EchoClient;

rt::entry!(main);

fn main() -> i32 {
    let me = kernel::info();
    let check = |what: &str, good: bool| {
        if good {
            rt::println!("instance {}: {}: ok", me.domain, what);
        } else {
            rt::error!("instance {}: {}: FAILED", me.domain, what);
        }
    };
    let echo = kernel::channel("echo").map(|handle| EchoClient { handle });
    check(
        "echo sees my own domain id",
        matches!(echo.as_ref().map(|e| e.who()), Ok(Ok(r)) if r.badge == me.domain),
    );
    let mut others = Vec::new();
    let _ = kernel::for_each_domain(|d| {
        if d.id != me.domain {
            others.push(d.id)
        }
    });
    check("other domains are listed", !others.is_empty());
    check(
        "no other domain can be stopped",
        others
            .iter()
            .all(|&id| kernel::stop(id) == Err(Error::Denied)),
    );
    check(
        "no instance can be started",
        kernel::start("worker") == Err(Error::Denied),
    );
    check(
        "no other domain's label can be read",
        others
            .iter()
            .all(|&id| kernel::label(id) == Err(Error::Denied)),
    );
    // Every handle slot, with the generations a fresh table gives, that
    // is neither a kernel endpoint nor the echo channel.
    let mine: Vec<Handle> = abi::handles::KERNEL
        .iter()
        .copied()
        .chain(echo.as_ref().map(|e| e.handle))
        .collect();
    let mut reachable = 0;
    for index in 0..256u16 {
        for generation in 0..2u16 {
            let h = Handle::new(index, generation);
            if mine.contains(&h) {
                continue;
            }
            let tag = Tag::new(abi::iface::FIRST_USER, 1);
            // SAFETY: a register-only call; nothing is read or written in
            // this domain's memory.
            let ret =
                unsafe { rt::sys::syscall(Syscall::Call as u64, h.0.into(), tag.raw(), [0; 4], 0) };
            if rt::sys::decode_status(ret.status) != Err(Error::BadHandle) {
                reachable += 1;
            }
        }
    }
    check("no other handle names anything", reachable == 0);
    rt::println!("instance {}: ready", me.domain);
    kernel::sleep_ns(60_000_000_000);
    1
}
