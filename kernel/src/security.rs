//! The security module host: the compiled policy and the model state, and
//! the one function every request, response and program start goes through.
//!
//! The decision itself is made by the `engine` crate from tables that xtask
//! compiled from the solution's policy; the kernel only supplies the event
//! (contexts, interface, method, words) and enforces the verdict. Without a
//! valid policy in the boot image everything is denied.
//!
//! Audited decisions (every denial, and the allows the policy marks) go to
//! the audit ring, which the kernel's `Audit` endpoint reads out one record
//! at a time to domains the policy lets call `Audit.read`, and to the
//! console as `audit:` lines.
//!
//! Verdict cache: each CPU keeps the static, unaudited allows it has
//! computed (`fastpath::VerdictCache`), stamped with the generation of the
//! model state, which this module publishes in [`generation`]. A check
//! that hits the cache skips the evaluation; the IPC fast path requires a
//! hit. With `fastpath=off` the cache is neither filled nor read.

use abi::Error;
use abi::audit::{Kind, RING_SIZE, Record};
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use engine::tables::Ool;
use engine::{Decision, Event, EventKind, ModelState, Policy, Verdict};
use kcore::seqring::SeqRing;
use spin::Mutex;

/// The model state's generation, published after every evaluation (under
/// the state lock, so it only moves forward). Cached verdicts stamped with
/// another value no longer match.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The kernel's own context, copied out of the module at load time so the
/// kernel-call lane reads one word (0 without a policy, as before load).
static KERNEL_CONTEXT: AtomicU16 = AtomicU16::new(0);

/// The audit ring (see `abi::audit`).
static AUDIT: Mutex<SeqRing<Record, RING_SIZE>> = Mutex::new(SeqRing::new());

fn audit(d: &Decision, ev: &Event) {
    let (iface, method) = match ev.kind {
        EventKind::Execute => (0, 0),
        _ => (ev.iface, ev.method),
    };
    let time_ns = crate::time::now_ns();
    AUDIT.lock().push(|seq| Record {
        seq,
        time_ns,
        kind: match ev.kind {
            EventKind::Request => Kind::Request,
            EventKind::Response => Kind::Response,
            EventKind::Execute => Kind::Execute,
        },
        allowed: d.verdict == Verdict::Allow,
        malformed: d.malformed,
        src: ev.src,
        dst: ev.dst,
        iface,
        method,
        rule: d.rule,
    });
}

/// The oldest audit record after sequence number `after`.
pub fn audit_read(after: u64) -> Option<Record> {
    AUDIT.lock().read_after(after).map(|(_, r)| r)
}

/// The current policy generation, for verdict-cache lookups.
#[inline(always)]
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

struct Security {
    policy: Policy,
    state: Mutex<ModelState>,
    /// Context index of each program of the solution.
    programs: Vec<u16>,
    /// Context names, by index (for audit lines).
    names: Vec<String>,
}

static SECURITY: spin::Once<Option<Security>> = spin::Once::new();

/// Loads the policy and the domain-to-context table from the boot image.
/// A missing or invalid policy leaves the module in deny-everything mode.
pub fn init(policy: Option<&[u8]>, contexts: Option<&[u8]>) {
    SECURITY.call_once(|| {
        let (Some(bytes), Some(ctx)) = (policy, contexts) else {
            log::warn!("no policy in the boot image; every request is denied");
            return None;
        };
        let policy = match Policy::from_bytes(bytes) {
            Ok(p) => p,
            Err(e) => {
                log::error!("the policy does not decode ({e:?}); every request is denied");
                return None;
            }
        };
        let Some((kernel, programs, names)) = parse_contexts(ctx, policy.context_count()) else {
            log::error!("the context table does not match the policy; every request is denied");
            return None;
        };
        log::info!(
            "policy loaded: {} contexts ({}), {} bytes of tables",
            names.len(),
            names.join(", "),
            bytes.len()
        );
        let state = ModelState::new(&policy);
        GENERATION.store(state.generation(), Ordering::Release);
        KERNEL_CONTEXT.store(kernel, Ordering::Release);
        let state = Mutex::new(state);
        Some(Security {
            policy,
            state,
            programs,
            names,
        })
    });
}

/// Parses the `contexts` boot-image entry (see xtask's `image.rs`): the
/// kernel's context, each program's context, and the names. Every index must
/// be below `count`, the policy's number of contexts.
fn parse_contexts(b: &[u8], count: u16) -> Option<(u16, Vec<u16>, Vec<String>)> {
    let n = usize::from(u16::from_le_bytes([*b.first()?, *b.get(1)?]));
    let ids_end = 2 + 2 * n;
    let ids: Vec<u16> = b
        .get(2..ids_end)?
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    if ids.iter().any(|&c| c >= count) {
        return None;
    }
    let names: Vec<String> = core::str::from_utf8(b.get(ids_end..)?)
        .ok()?
        .split_terminator('\n')
        .map(String::from)
        .collect();
    if names.len() != usize::from(count) {
        return None;
    }
    let (&kernel, programs) = ids.split_first()?;
    Some((kernel, programs.to_vec(), names))
}

/// The context of program `index` of the solution (0 without a policy).
pub fn program_context(index: usize) -> u16 {
    module()
        .and_then(|s| s.programs.get(index).copied())
        .unwrap_or(0)
}

/// The kernel's own context.
#[inline(always)]
pub fn kernel_context() -> u16 {
    KERNEL_CONTEXT.load(Ordering::Relaxed)
}

fn module() -> Option<&'static Security> {
    SECURITY.get().and_then(|s| s.as_ref())
}

fn kind_name(k: EventKind) -> &'static str {
    match k {
        EventKind::Request => "request",
        EventKind::Response => "response",
        EventKind::Execute => "execute",
    }
}

/// Decides one event; `Err(Denied)` if the policy refuses it.
pub fn check(
    kind: EventKind,
    src: u16,
    dst: u16,
    iface: u16,
    method: u16,
    words: [u64; 4],
    ool: Ool,
) -> Result<(), Error> {
    let pc = crate::percpu::this();
    let kernel = kernel_context();
    if kind != EventKind::Execute && src != kernel && dst != kernel {
        pc.ipc_checked.fetch_add(1, Ordering::Relaxed);
    }
    // The cache holds register-only verdicts (its shape check covers words
    // only).
    if crate::fastpath::enabled()
        && ool == Ool::None
        && crate::fastpath::cached_allow(pc, kind, src, dst, iface, method, || words).is_ok()
    {
        pc.verdict_hits.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    }
    evaluate(
        pc,
        &Event {
            kind,
            src,
            dst,
            iface,
            method,
            words,
            ool,
        },
    )
}

/// Records a request the policy allowed but the kernel refuses for a
/// reason of its own (`why`): an audit record with rule
/// [`abi::audit::RULE_KERNEL`] and an `audit:` line.
pub fn refuse(src: u16, iface: u16, method: u16, why: &str) {
    let dst = kernel_context();
    let d = Decision {
        verdict: Verdict::Deny,
        rule: abi::audit::RULE_KERNEL,
        audit: true,
        cacheable: false,
        malformed: false,
    };
    let ev = Event {
        kind: EventKind::Request,
        src,
        dst,
        iface,
        method,
        words: [0; 4],
        ool: Ool::None,
    };
    audit(&d, &ev);
    let name = |c: u16| {
        module()
            .and_then(|m| m.names.get(usize::from(c)))
            .map_or("?", String::as_str)
    };
    log::info!(
        "audit: DENY request {} -> {} iface {iface:#x} method {method} (kernel: {why})",
        name(src),
        name(dst),
    );
}

/// The full decision: the engine's evaluation (filling this CPU's verdict
/// cache when the verdict may be cached), then the audit record.
#[inline(never)]
fn evaluate(pc: &crate::percpu::PerCpu, ev: &Event) -> Result<(), Error> {
    pc.evaluations.fetch_add(1, Ordering::Relaxed);
    let (kind, src, dst, iface, method) = (ev.kind, ev.src, ev.dst, ev.iface, ev.method);
    let cached = crate::fastpath::enabled();
    let Some(sec) = module() else {
        return Err(Error::Denied);
    };
    let d = {
        let mut st = sec.state.lock();
        let d = if cached {
            // SAFETY: as above; no other reference to the cache is live.
            fastpath::decide(&sec.policy, &mut st, unsafe { pc.verdicts() }, ev)
        } else {
            sec.policy.evaluate(&mut st, ev)
        };
        GENERATION.store(st.generation(), Ordering::Release);
        d
    };
    if d.audit || d.verdict == Verdict::Deny {
        audit(&d, ev);
        let name = |c: u16| sec.names.get(usize::from(c)).map_or("?", String::as_str);
        let why = if d.malformed {
            String::from("the message does not match the interface")
        } else if d.rule == engine::NO_RULE {
            String::from("no rule allows it")
        } else {
            alloc::format!("rule {}", d.rule)
        };
        log::info!(
            "audit: {} {} {} -> {} iface {:#x} method {} ({why})",
            if d.verdict == Verdict::Allow {
                "allow"
            } else {
                "DENY"
            },
            kind_name(kind),
            name(src),
            name(dst),
            iface,
            method,
        );
    }
    match d.verdict {
        Verdict::Allow => Ok(()),
        Verdict::Deny => Err(Error::Denied),
    }
}
