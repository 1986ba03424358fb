//! `client`: calls the `echo` server through its channel and checks every
//! answer, then checks that the channel cannot be misused.
//!
//! 1. `PING` a few hundred times with changing words; every reply must be
//!    the words plus one.
//! 2. `WHO` must report this domain's id as the badge: the kernel, not the
//!    client, sets it.
//! 3. The channel handle is call-only: `Recv` on it gets `NoRights`; a
//!    kernel interface number on it gets `BadInterface`; an unknown channel
//!    name gets `NotFound`.
//! 4. `DONE` tells the server this client has finished.
//!
//! With argument 1 it first asks the server to crash (`CRASH`) and expects
//! `PeerGone`, then checks that later calls also get `PeerGone`.
//!
//! Calls go through the `EchoClient` stubs generated from
//! `policies/interfaces/echo.idl`; only the misuse checks in step 3 build
//! raw messages, because misusing the ABI is their point.

#![no_std]
#![no_main]

use rt::abi::{Error, Message, Tag};
use rt::{kernel, sys};

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::EchoClient;

rt::entry!(main);

const ROUNDS: u64 = 300;

fn check(ok: &mut bool, what: &str, good: bool) {
    if !good {
        rt::error!("client: FAILED: {}", what);
        *ok = false;
    }
}

fn main() -> i32 {
    let me = kernel::info();
    let h = match kernel::channel("echo") {
        Ok(h) => h,
        Err(e) => {
            rt::error!("client: no channel 'echo': {}", e);
            return 1;
        }
    };
    let echo = EchoClient { handle: h };
    let mut ok = true;
    if rt::arg() == 1 {
        return crash_test(&echo);
    }
    for i in 0..ROUNDS {
        let words = [i, i * 2, u64::MAX - 1 - i, me.domain];
        match echo.ping(words[0], words[1], words[2], words[3]) {
            Ok(r) if [r.a, r.b, r.c, r.d] == words.map(|w| w + 1) => {}
            other => {
                rt::error!("client: PING {} answered {:?}", i, other);
                ok = false;
                break;
            }
        }
    }
    if ok {
        rt::println!(
            "client: {} calls answered correctly from cpu {}",
            ROUNDS,
            me.cpu
        );
    }
    match echo.who() {
        Ok(r) => {
            check(
                &mut ok,
                "the badge is the caller's domain id",
                r.badge == me.domain,
            );
            rt::println!(
                "client: server saw badge {} (domain {}) and ran on cpu {} (client on cpu {})",
                r.badge,
                me.domain,
                r.cpu,
                me.cpu
            );
        }
        Err(e) => {
            rt::error!("client: FAILED: WHO got {}", e);
            ok = false;
        }
    }
    check(
        &mut ok,
        "Recv on a client handle: NoRights",
        sys::recv(h).err() == Some(Error::NoRights),
    );
    let kernel_iface = sys::call(h, Message::new(Tag::new(rt::abi::iface::LOG, 1), [0; 4]));
    check(
        &mut ok,
        "a kernel interface on a channel: BadInterface",
        kernel_iface.err() == Some(Error::BadInterface),
    );
    check(
        &mut ok,
        "unknown channel: NotFound",
        kernel::channel("nosuch").err() == Some(Error::NotFound),
    );
    check(
        &mut ok,
        "over-long channel name: InvalidArgument",
        kernel::channel("a-channel-name-longer-than-32-bytes").err()
            == Some(Error::InvalidArgument),
    );
    if let Err(e) = echo.done() {
        rt::error!("client: DONE failed: {}", e);
        ok = false;
    }
    if ok {
        rt::println!("client: all checks passed");
        0
    } else {
        1
    }
}

fn crash_test(echo: &EchoClient) -> i32 {
    let r = echo.crash();
    rt::println!("client: CRASH answered {:?}", r);
    if r.err() != Some(Error::PeerGone) {
        rt::error!("client: FAILED: expected PeerGone from a crashing server");
        return 1;
    }
    let again = echo.ping(1, 2, 3, 4);
    if again.err() != Some(Error::PeerGone) {
        rt::error!("client: FAILED: a dead server answered {:?}", again);
        return 1;
    }
    rt::println!("client: dead server reported as PeerGone");
    0
}
