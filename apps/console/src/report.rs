//! Turning kernel figures into the terminal's lines: sizes, busy
//! percentages, medians, kernel method names and audit records.

use abi::audit::{Kind, RULE_KERNEL, Record};
use abi::kernel_ifaces;
use alloc::format;
use alloc::string::String;

/// `bytes` for a person: `512 B`, `12 KiB`, `3.4 MiB` (rounded down).
#[must_use]
pub fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    if bytes < KIB {
        format!("{bytes} B")
    } else if bytes < 10 * MIB {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{}.{} MiB", bytes / MIB, bytes % MIB * 10 / MIB)
    }
}

/// The share of `elapsed_ns` a CPU was busy, in percent, from its idle
/// time at two moments (`idle_before`, `idle_after`): 0..=100, 0 over no
/// time. Idle time that seems to exceed the interval (the two reads are
/// not one atomic moment) counts as fully idle.
#[must_use]
pub fn busy_pct(idle_before: u64, idle_after: u64, elapsed_ns: u64) -> u64 {
    if elapsed_ns == 0 {
        return 0;
    }
    let idle = idle_after.saturating_sub(idle_before).min(elapsed_ns);
    let busy = u128::from(elapsed_ns - idle) * 100 / u128::from(elapsed_ns);
    busy as u64
}

/// `count` events over `ns` nanoseconds, per second (0 over no time).
#[must_use]
pub fn per_s(count: u64, ns: u64) -> u64 {
    (u128::from(count) * 1_000_000_000)
        .checked_div(u128::from(ns))
        .map_or(0, |r| r.min(u128::from(u64::MAX)) as u64)
}

/// The median of `values` (sorted in place; the upper one of the two
/// middle values for an even count), 0 for none.
pub fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

/// A kernel method's name as policies write it (`Task.list`), or the
/// numbers for an interface or method the kernel does not have (a user
/// server's, for instance): `iface 0x200 method 3`.
#[must_use]
pub fn method_name(iface: u16, method: u16) -> String {
    let known = kernel_ifaces::ALL
        .iter()
        .find(|i| i.id == iface)
        .and_then(|i| {
            i.methods
                .iter()
                .find(|m| m.id == method)
                .map(|m| (i.name, m.name))
        });
    match known {
        Some((i, m)) => format!("{i}.{m}"),
        None => format!("iface {iface:#x} method {method}"),
    }
}

/// One audit record on one line: sequence number, time since boot,
/// verdict, event, contexts (by index, as the kernel's `policy loaded`
/// line lists them), method and deciding rule:
/// `#12 3.140s DENY ctx4->ctx0 request Audit.read rule -`.
#[must_use]
pub fn record(r: &Record) -> String {
    let verdict = if r.allowed { "allow" } else { "DENY" };
    let ms = r.time_ns / 1_000_000;
    let what = match r.kind {
        Kind::Execute => String::from("execute"),
        Kind::Request => format!("request {}", method_name(r.iface, r.method)),
        Kind::Response => format!("response {}", method_name(r.iface, r.method)),
    };
    let rule = match r.rule {
        u16::MAX => String::from("-"),
        RULE_KERNEL => String::from("kernel"),
        n => format!("{n}"),
    };
    format!(
        "#{} {}.{:03}s {} ctx{}->ctx{} {} rule {}{}",
        r.seq,
        ms / 1000,
        ms % 1000,
        verdict,
        r.src,
        r.dst,
        what,
        rule,
        if r.malformed { " malformed" } else { "" }
    )
}
