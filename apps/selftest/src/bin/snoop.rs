//! `snoop`: an unprivileged domain that tries to read the audit ring. The
//! policy gives it no rule for `Audit.read`, so the kernel must refuse it
//! (and audit the refusal), and it must keep running afterwards.

#![no_std]
#![no_main]

use rt::abi::Error;
use rt::kernel;

rt::entry!(main);

fn main() -> i32 {
    // Give the auditor time to start reading first.
    kernel::sleep_ns(20_000_000);
    let mut ok = true;
    for after in [0, 1, u64::MAX] {
        match kernel::audit_read(after) {
            Err(Error::Denied) => {}
            other => {
                rt::error!(
                    "snoop: audit read after {} was not denied: {:?}",
                    after,
                    other
                );
                ok = false;
            }
        }
    }
    if ok {
        rt::println!("snoop: every audit read denied; still running");
        0
    } else {
        1
    }
}
