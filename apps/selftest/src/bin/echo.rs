//! `echo`: a test server on its inbox endpoint (`handles::INBOX`).
//!
//! Methods of interface `ECHO` (0x100), all register-only:
//! - 1 `PING(a, b, c, d)` -> `(a+1, b+1, c+1, d+1)`
//! - 2 `WHO()` -> `(badge, cpu)`: the caller's badge as the kernel saw it,
//!   and the server's CPU
//! - 3 `CRASH()`: the server faults on purpose while the caller waits
//! - 4 `SLOW(ms)`: sleeps `ms` before replying
//! - 9 `DONE()`: a client says it has finished; the server exits once
//!   `arg` clients have done so.
//!
//! Unknown methods are answered with method 0xffff and no data.

#![no_std]
#![no_main]

use rt::abi::{Message, Tag, handles};
use rt::{kernel, sys};

rt::entry!(main);

/// The interface number used by the IPC test programs.
const ECHO: u16 = 0x100;

fn main() -> i32 {
    let clients = rt::arg().max(1);
    let mut done = 0;
    let mut served = 0u64;
    let mut answer = Message::new(Tag::new(ECHO, 0), [0; 4]);
    rt::println!(
        "echo: serving {} client(s) on cpu {}",
        clients,
        kernel::info().cpu
    );
    loop {
        // The first reply_recv has no caller to answer: it only receives.
        let req = match sys::reply_recv(answer, handles::INBOX) {
            Ok(r) => r,
            Err(e) => {
                rt::error!("echo: receive failed: {}", e);
                return 1;
            }
        };
        served += 1;
        let w = req.msg.words;
        let (method, words) = match req.msg.tag.method() {
            1 => (1, [w[0] + 1, w[1] + 1, w[2] + 1, w[3] + 1]),
            2 => (2, [req.badge, kernel::info().cpu, 0, 0]),
            3 => {
                rt::println!("echo: crashing on request from badge {}", req.badge);
                // SAFETY: a deliberate fault; address 0 is never mapped.
                unsafe { core::ptr::write_volatile(core::ptr::null_mut::<u64>(), 1) };
                (3, [0; 4])
            }
            4 => {
                kernel::sleep_ns(w[0].saturating_mul(1_000_000));
                (4, [0; 4])
            }
            9 => {
                done += 1;
                if done == clients {
                    if let Err(e) = sys::reply(Message::new(Tag::new(ECHO, 9), [0; 4])) {
                        rt::error!("echo: final reply failed: {}", e);
                        return 1;
                    }
                    rt::println!(
                        "echo: all {} clients done after {} requests",
                        clients,
                        served
                    );
                    return 0;
                }
                (9, [0; 4])
            }
            _ => (0xffff, [0; 4]),
        };
        answer = Message::new(Tag::new(ECHO, method), words);
    }
}
