//! `polclient`: checks that the security module enforces the scenario's
//! policy (`policies/tests/policy.policy`) on calls to the `echo` server.
//!
//! 1. A field predicate: `ping` with `a = 1` passes, with `a = 13` it is
//!    `Denied`.
//! 2. A state machine gates a sequence: `slow` is denied until `who`
//!    unlocks the gate; one `slow` then passes and locks it again; a second
//!    `who` in a row is denied (the transition cannot fire).
//! 3. A method no rule allows (`crash`) is denied, and the server keeps
//!    serving afterwards.
//!
//! Every denial must come back as `Denied`, and the kernel logs an `audit:`
//! line for each.

#![no_std]
#![no_main]

use rt::abi::Error;
use rt::kernel;

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::EchoClient;

rt::entry!(main);

/// One step of the test: a call through the generated client stub.
enum Step {
    Ping(u64),
    Who,
    Slow(u32),
    Crash,
}

fn run(echo: &EchoClient, step: &Step) -> Result<(), Error> {
    match *step {
        Step::Ping(a) => echo.ping(a, 2, 3, 4).map(|_| ()),
        Step::Who => echo.who().map(|_| ()),
        Step::Slow(ms) => echo.slow(ms),
        Step::Crash => echo.crash(),
    }
}

fn main() -> i32 {
    let Ok(h) = kernel::channel("echo") else {
        rt::error!("polclient: no channel 'echo'");
        return 1;
    };
    let echo = EchoClient { handle: h };
    let steps: [(&str, Step, Option<Error>); 10] = [
        ("ping a=1", Step::Ping(1), None),
        ("ping a=13", Step::Ping(13), Some(Error::Denied)),
        ("slow while locked", Step::Slow(1), Some(Error::Denied)),
        ("who (unlocks)", Step::Who, None),
        (
            "who again (already unlocked)",
            Step::Who,
            Some(Error::Denied),
        ),
        ("slow while unlocked (locks)", Step::Slow(1), None),
        ("slow again (locked)", Step::Slow(1), Some(Error::Denied)),
        ("who (unlocks again)", Step::Who, None),
        (
            "slow with ms = 500 (predicate)",
            Step::Slow(500),
            Some(Error::Denied),
        ),
        ("crash (no rule)", Step::Crash, Some(Error::Denied)),
    ];
    let mut ok = true;
    for (what, step, expect) in &steps {
        let got = run(&echo, step).err();
        if got == *expect {
            rt::println!(
                "polclient: {}: {}",
                what,
                got.map_or("allowed", |e| e.name())
            );
        } else {
            rt::error!(
                "polclient: FAILED: {}: got {:?}, expected {:?}",
                what,
                got,
                expect
            );
            ok = false;
        }
    }
    // The server is still there after the denied crash request.
    match echo.ping(7, 7, 7, 7) {
        Ok(r) if [r.a, r.b, r.c, r.d] == [8, 8, 8, 8] => {
            rt::println!("polclient: server still answers")
        }
        other => {
            rt::error!("polclient: FAILED: server after denials: {:?}", other);
            ok = false;
        }
    }
    if let Err(e) = echo.done() {
        rt::error!("polclient: FAILED: done: {}", e);
        ok = false;
    }
    if ok {
        rt::println!("polclient: the policy held in every step");
        0
    } else {
        1
    }
}
