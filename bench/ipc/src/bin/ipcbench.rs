//! `ipcbench`: times kernel calls and IPC round trips and prints `BENCH`
//! lines (see the library docs for the format).
//!
//! - `null_kernel_call`: `time::NOW`, the cheapest kernel endpoint method.
//! - `<channel>_roundtrip` for each channel the solution gives it among
//!   `fastpath` (a server on the same CPU, static rules), `slowpath` (the
//!   same, booted with the fast path off), `uncached_policy` (a server whose
//!   rule tests a message field) and `cross_core` (a server on another CPU):
//!   `Echo.ping` through the generated client stub, a register-only `Call`,
//!   answered by the generated dispatch and `ReplyRecv`.
//! - `bulk_copy_4k_roundtrip` on the `fastpath` channel: `Echo.put` with
//!   4 KiB out of line (a slow-path call: the kernel copies the bytes in
//!   and out).
//! - On a `pair` channel: one timed window of round trips, started at a
//!   fixed kernel time so that the clients of all pairs run together
//!   (`BENCH_WINDOW` line; xtask adds the windows up).
//!
//! Program argument bits: 1 skips `null_kernel_call`; 2 selects the window
//! mode.

#![no_std]
#![no_main]

extern crate alloc;

use rt::abi::Error;
use rt::kernel;
use tessera_bench::{SAMPLES, WARMUP, measure, rdtsc, report};

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::EchoClient;

rt::entry!(main);

/// Kernel time at which every window starts (the pairs are started and
/// warmed up well before it, in icount and wall-clock runs alike).
const WINDOW_START_NS: u64 = 2_000_000_000;

/// Kernel time after every window has ended (a window lasts a few
/// milliseconds with and without icount), when the pairs report and end.
const REPORT_NS: u64 = WINDOW_START_NS + 500_000_000;

fn main() -> i32 {
    // The TSC rate, for converting wall-clock runs to nanoseconds.
    let (n0, t0) = (kernel::now_ns(), rdtsc());
    kernel::sleep_ns(20_000_000);
    let (n1, t1) = (kernel::now_ns(), rdtsc());
    rt::println!("BENCH_TSC {{\"ticks\": {}, \"ns\": {}}}", t1 - t0, n1 - n0);

    if rt::arg() & 2 != 0 {
        return window();
    }
    if rt::arg() & 1 == 0 {
        let null = measure(|| -> Result<(), Error> {
            core::hint::black_box(kernel::now_ns());
            Ok(())
        });
        match null {
            Ok(r) => report("null_kernel_call", r),
            Err(e) => rt::error!("ipcbench: null_kernel_call failed: {}", e),
        }
    }
    let mut failed = false;
    for name in ["fastpath", "slowpath", "uncached_policy", "cross_core"] {
        let Ok(h) = kernel::channel(name) else {
            continue;
        };
        let echo = EchoClient { handle: h };
        match measure(|| echo.ping(1, 2, 3, 4).map(|_| ())) {
            Ok(r) => report(&alloc::format!("{name}_roundtrip"), r),
            Err(e) => {
                rt::error!("ipcbench: {} round trip failed: {}", name, e);
                failed = true;
            }
        }
        if name == "fastpath" {
            // 4 KiB out of line: copied in from this domain and out to the
            // server's receive buffer by the kernel (the slow path).
            let page = [0x5au8; 4096];
            match measure(|| echo.put(&page).map(|_| ())) {
                Ok(r) => report("bulk_copy_4k_roundtrip", r),
                Err(e) => {
                    rt::error!("ipcbench: bulk copy failed: {}", e);
                    failed = true;
                }
            }
        }
        let _ = echo.done();
    }
    if failed { 1 } else { 0 }
}

/// One window of `SAMPLES` round trips on the `pair` channel.
fn window() -> i32 {
    let echo = match kernel::channel("pair") {
        Ok(h) => EchoClient { handle: h },
        Err(e) => {
            rt::error!("ipcbench: no pair channel: {}", e);
            return 1;
        }
    };
    let ping = || echo.ping(1, 2, 3, 4).map(|_| ());
    let run = (|| -> Result<(u64, u64), Error> {
        for _ in 0..WARMUP {
            ping()?;
        }
        let now = kernel::now_ns();
        if now < WINDOW_START_NS {
            kernel::sleep_ns(WINDOW_START_NS - now);
        } else {
            rt::warn!("ipcbench: window starts late, at {} ns", now);
        }
        let start = rdtsc();
        for _ in 0..SAMPLES {
            ping()?;
        }
        let end = rdtsc();
        // Nothing else until every window has ended: under icount the
        // CPUs take turns, and the exit of one pair (its log line, the
        // end of two domains) would otherwise fall inside another pair's
        // window and count as its round trips' instructions.
        let now = kernel::now_ns();
        if now < REPORT_NS {
            kernel::sleep_ns(REPORT_NS - now);
        }
        Ok((start, end))
    })();
    let _ = echo.done();
    match run {
        Ok((start, end)) => {
            rt::println!(
                "BENCH_WINDOW {{\"name\": \"fastpath_roundtrip_4pairs\", \"start\": {}, \"end\": {}, \"ops\": {}}}",
                start,
                end,
                SAMPLES
            );
            0
        }
        Err(e) => {
            rt::error!("ipcbench: pair round trip failed: {}", e);
            1
        }
    }
}
