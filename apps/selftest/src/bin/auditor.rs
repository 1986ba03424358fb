//! `auditor`: the privileged reader of the audit ring. Reads every record
//! as it arrives and prints it; stops once it has seen the denial of
//! `snoop`'s attempt to read the ring (or after two seconds, failing).

#![no_std]
#![no_main]

use rt::abi::Error;
use rt::abi::audit::{Kind, Record};
use rt::kernel;

rt::entry!(main);

fn show(r: &Record) {
    let kind = match r.kind {
        Kind::Request => "request",
        Kind::Response => "response",
        Kind::Execute => "execute",
    };
    let verdict = if r.allowed { "allow" } else { "DENY" };
    rt::println!(
        "auditor: record {}: {} {} ctx {} -> ctx {} iface {:#x} method {} rule {}{}",
        r.seq,
        verdict,
        kind,
        r.src,
        r.dst,
        r.iface,
        r.method,
        if r.rule == u16::MAX {
            -1
        } else {
            i32::from(r.rule)
        },
        if r.malformed { " (malformed)" } else { "" }
    );
}

fn main() -> i32 {
    let deadline = kernel::now_ns() + 2_000_000_000;
    let mut after = 0;
    let mut records = 0u64;
    let mut gaps = 0u64;
    while kernel::now_ns() < deadline {
        match kernel::audit_read(after) {
            Ok(r) => {
                if r.seq != after + 1 {
                    gaps += r.seq - after - 1;
                }
                show(&r);
                records += 1;
                after = r.seq;
                let snooped = !r.allowed
                    && r.kind == Kind::Request
                    && r.iface == rt::abi::iface::AUDIT
                    && r.method == rt::abi::audit::READ;
                if snooped {
                    rt::println!(
                        "auditor: saw the denied audit read of ctx {} after {} record(s), {} lost",
                        r.src,
                        records,
                        gaps
                    );
                    return 0;
                }
            }
            Err(Error::NotFound) => kernel::sleep_ns(5_000_000),
            Err(e) => {
                rt::error!("auditor: reading the audit ring failed: {}", e);
                return 1;
            }
        }
    }
    rt::error!("auditor: no denied audit read within 2 s");
    1
}
