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

use rt::abi::{Error, Message, Tag};
use rt::{kernel, sys};

rt::entry!(main);

const ECHO: u16 = 0x100;

fn call(h: rt::abi::Handle, method: u16, words: [u64; 4]) -> Result<Message, Error> {
    sys::call(h, Message::new(Tag::new(ECHO, method), words))
}

fn main() -> i32 {
    let Ok(h) = kernel::channel("echo") else {
        rt::error!("polclient: no channel 'echo'");
        return 1;
    };
    let steps: [(&str, u16, [u64; 4], Option<Error>); 10] = [
        ("ping a=1", 1, [1, 2, 3, 4], None),
        ("ping a=13", 1, [13, 2, 3, 4], Some(Error::Denied)),
        ("slow while locked", 4, [1, 0, 0, 0], Some(Error::Denied)),
        ("who (unlocks)", 2, [0; 4], None),
        (
            "who again (already unlocked)",
            2,
            [0; 4],
            Some(Error::Denied),
        ),
        ("slow while unlocked (locks)", 4, [1, 0, 0, 0], None),
        ("slow again (locked)", 4, [1, 0, 0, 0], Some(Error::Denied)),
        ("who (unlocks again)", 2, [0; 4], None),
        (
            "slow with ms = 500 (predicate)",
            4,
            [500, 0, 0, 0],
            Some(Error::Denied),
        ),
        ("crash (no rule)", 3, [0; 4], Some(Error::Denied)),
    ];
    let mut ok = true;
    for (what, method, words, expect) in steps {
        let got = call(h, method, words).map(|_| ()).err();
        if got == expect {
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
    match call(h, 1, [7, 7, 7, 7]) {
        Ok(r) if r.words == [8, 8, 8, 8] => rt::println!("polclient: server still answers"),
        other => {
            rt::error!("polclient: FAILED: server after denials: {:?}", other);
            ok = false;
        }
    }
    if let Err(e) = call(h, 9, [0; 4]) {
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
