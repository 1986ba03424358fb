//! `ipcbench`: times kernel calls and IPC round trips and prints `BENCH`
//! lines (see the library docs for the format).
//!
//! - `null_kernel_call`: `time::NOW`, the cheapest kernel endpoint method.
//! - `<channel>_roundtrip` for each channel the solution gives it among
//!   `slowpath` (a server on the same CPU) and `cross_core` (a server on
//!   another CPU): `Echo.ping` through the generated client stub, a
//!   register-only `Call`, answered by the generated dispatch and `ReplyRecv`.
//!
//! With program argument 1 it skips `null_kernel_call` (measured once, in
//! the one-CPU solution).

#![no_std]
#![no_main]

extern crate alloc;

use rt::abi::Error;
use rt::kernel;
use tessera_bench::{measure, rdtsc, report};

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::EchoClient;

rt::entry!(main);

fn main() -> i32 {
    // The TSC rate, for converting wall-clock runs to nanoseconds.
    let (n0, t0) = (kernel::now_ns(), rdtsc());
    kernel::sleep_ns(20_000_000);
    let (n1, t1) = (kernel::now_ns(), rdtsc());
    rt::println!("BENCH_TSC {{\"ticks\": {}, \"ns\": {}}}", t1 - t0, n1 - n0);

    if rt::arg() != 1 {
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
    for name in ["slowpath", "cross_core"] {
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
        let _ = echo.done();
    }
    if failed { 1 } else { 0 }
}
