//! `statsprobe`: reads the kernel's statistics endpoint (`abi::stats`)
//! around a burst of calls to the `echo` server and checks that the
//! counters moved as the calls say they must.
//!
//! - Argument 0: reads every CPU's counters, makes `ROUNDS` `PING` calls
//!   (each a request and a response), reads again, and checks: the
//!   messages of all CPUs grew by at least `2 * ROUNDS`; every CPU's
//!   fast-path messages are a part of its messages; the verdicts (cache
//!   hits plus full evaluations) grew by at least the messages. It logs
//!   how many the fast path carried (the scenario checks the figure per
//!   run: all of them on one CPU, none with `fastpath=off`). Then the CPU
//!   counters: the CPU
//!   count matches `Task.info`, idle time never goes back, and a CPU that
//!   is not online is `InvalidArgument`.
//! - Argument 4: the policy gives this domain no `Stats` rule; reading must
//!   be `Denied`.

#![no_std]
#![no_main]

use rt::abi::Error;
use rt::kernel::{self, IpcStats};

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::EchoClient;

rt::entry!(main);

const ROUNDS: u64 = 200;

fn check(ok: &mut bool, what: &str, good: bool) {
    if !good {
        rt::error!("statsprobe: FAILED: {}", what);
        *ok = false;
    }
}

/// Every CPU's IPC counters.
fn sample(cpus: u64) -> Result<alloc::vec::Vec<IpcStats>, Error> {
    (0..cpus).map(kernel::ipc_stats).collect()
}

extern crate alloc;

fn main() -> i32 {
    let arg = rt::arg();
    if arg & 4 != 0 {
        return match kernel::ipc_stats(0) {
            Err(Error::Denied) => {
                rt::println!("statsprobe: reading statistics denied, as the policy says");
                0
            }
            other => {
                rt::error!("statsprobe: FAILED: expected Denied, got {:?}", other);
                1
            }
        };
    }
    let me = kernel::info();
    let echo = match kernel::channel("echo") {
        Ok(h) => EchoClient { handle: h },
        Err(e) => {
            rt::error!("statsprobe: no channel 'echo': {}", e);
            return 1;
        }
    };
    let mut ok = true;
    let before = match sample(me.cpus_online) {
        Ok(s) => s,
        Err(e) => {
            rt::error!("statsprobe: FAILED: reading statistics: {}", e);
            return 1;
        }
    };
    let idle_before = kernel::cpu_stats(me.cpu).map(|c| c.idle_ns);
    for i in 0..ROUNDS {
        if !matches!(echo.ping(i, 0, 0, 0), Ok(r) if r.a == i + 1) {
            check(&mut ok, "a ping answered", false);
            break;
        }
    }
    let after = sample(me.cpus_online).unwrap_or_default();
    check(&mut ok, "every CPU read twice", after.len() == before.len());
    let total = |s: &[IpcStats], f: fn(&IpcStats) -> u64| s.iter().map(f).sum::<u64>();
    let messages = total(&after, |s| s.messages) - total(&before, |s| s.messages);
    let fast = total(&after, |s| s.fast) - total(&before, |s| s.fast);
    let verdicts = total(&after, |s| s.verdict_hits + s.evaluations)
        - total(&before, |s| s.verdict_hits + s.evaluations);
    rt::println!(
        "statsprobe: {} round trips: {} messages, {} by the fast path, {} verdicts",
        ROUNDS,
        messages,
        fast,
        verdicts
    );
    check(&mut ok, "messages counted", messages >= 2 * ROUNDS);
    check(&mut ok, "a verdict for every message", verdicts >= messages);
    for (b, a) in before.iter().zip(&after) {
        check(&mut ok, "counters never go back", a.messages >= b.messages);
        check(
            &mut ok,
            "fast-path messages are messages",
            a.fast <= a.messages,
        );
    }
    match kernel::cpu_stats(me.cpu) {
        Ok(c) => {
            check(&mut ok, "CPU count", c.cpus == me.cpus_online);
            check(
                &mut ok,
                "idle time never goes back",
                idle_before.is_ok_and(|b| c.idle_ns >= b),
            );
        }
        Err(e) => {
            rt::error!("statsprobe: FAILED: CPU counters: {}", e);
            ok = false;
        }
    }
    check(
        &mut ok,
        "a CPU that is not online is refused",
        kernel::cpu_stats(me.cpus_online) == Err(Error::InvalidArgument)
            && kernel::ipc_stats(u64::MAX) == Err(Error::InvalidArgument),
    );
    let _ = echo.done();
    if ok {
        rt::println!("statsprobe: all checks passed");
        0
    } else {
        1
    }
}
