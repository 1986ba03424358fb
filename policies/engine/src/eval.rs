//! Evaluation: the loaded [`Policy`], the state of its machines
//! ([`ModelState`]), the full (slow-path) [`Policy::evaluate`] and the
//! precomputed [`Policy::static_verdict`] that feeds the kernel's verdict cache.
//!
//! Invariants:
//! - A `Policy` only exists for validated tables, so evaluation indexes
//!   nothing it has not checked; out-of-range event fields give a deny, never
//!   a panic.
//! - `static_verdict` returns `Some` only when every rule whose selector could
//!   match the key is static; the value is then exactly what `evaluate`
//!   returns for any well-shaped message with that key, and `evaluate` leaves
//!   the model state alone for it (static rules have no transitions).
//!
//! # Precedence
//! 1. A message that fails the shape check is denied before any rule
//!    (`malformed`).
//! 2. The first `deny` rule (in source order) that matches (selector,
//!    predicate, guards) denies.
//! 3. Else the first `allow` rule that matches, and whose transitions can
//!    all fire, allows and fires its transitions.
//! 4. Else the default: deny.
//!
//! # Resources of the state machines
//! Each machine has one instance per (client context, server context) pair.
//! For a request the client is the source; for a response it is the
//! destination; for an execute event the starter is the "client" and the
//! started program the "server". So the request and the response of one
//! conversation see the same instance, and unrelated pairs never interfere.

use alloc::vec;
use alloc::vec::Vec;

use crate::tables::{EngineError, FieldType, MethodSig, Ool, Op, Rule, Tables};
use crate::{Decision, Event, EventKind, NO_RULE, Verdict};

const ENTRY_STATIC: u32 = 1 << 31;
const ENTRY_ALLOW: u32 = 1 << 16;
const ENTRY_AUDIT: u32 = 1 << 17;

/// A loaded, validated policy: immutable tables plus the precomputed static
/// verdict table.
#[derive(Clone, Debug)]
pub struct Policy {
    tables: Tables,
    /// Dense table for request/response keys:
    /// `((kind * C + src) * C + dst) * M + method_index`; then execute keys
    /// `src * C + dst` after `2 * C * C * M`.
    statics: Vec<u32>,
    generation_base: u64,
}

/// The current state of every machine instance, plus a generation counter
/// that changes whenever any state changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelState {
    /// `(machine * C + client) * C + server` -> state.
    states: Vec<u8>,
    contexts: usize,
    generation: u64,
}

impl ModelState {
    /// Every instance of every machine of `p` in its initial state. The
    /// resource is a (client context, server context) pair, so the size
    /// depends only on the policy.
    pub fn new(p: &Policy) -> Self {
        let c = usize::from(p.tables.contexts);
        ModelState {
            states: vec![0; p.tables.machines.len() * c * c],
            contexts: c,
            generation: p.generation_base,
        }
    }

    /// The generation stamp: starts at [`Policy::generation_base`] and is
    /// bumped by one on every state change. Verdict caches stamp entries with
    /// it.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Current state of `machine` for the (client, server) pair, if all
    /// indices are in range.
    pub fn state(&self, machine: u16, client: u16, server: u16) -> Option<u8> {
        self.slot(machine, client, server)
            .and_then(|i| self.states.get(i).copied())
    }

    fn slot(&self, machine: u16, client: u16, server: u16) -> Option<usize> {
        let (c, s) = (usize::from(client), usize::from(server));
        if c >= self.contexts || s >= self.contexts {
            return None;
        }
        let i = (usize::from(machine) * self.contexts + c) * self.contexts + s;
        (i < self.states.len()).then_some(i)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn cmp_words(ty: FieldType, a: u64, b: u64) -> core::cmp::Ordering {
    if ty.signed() {
        (a as i64).cmp(&(b as i64))
    } else {
        a.cmp(&b)
    }
}

fn shape_ok(fields: &[FieldType], words: &[u64; 4]) -> bool {
    words.iter().enumerate().all(|(i, w)| match fields.get(i) {
        Some(t) => t.accepts(*w),
        None => *w == 0,
    })
}

/// Most entries the static verdict table may have (4 bytes each: 16 MiB).
pub const MAX_STATIC_ENTRIES: usize = 1 << 22;
/// Most (entry, rule) pairs computing that table may take.
pub const MAX_STATIC_WORK: usize = 1 << 27;

impl Policy {
    /// Decodes and validates compiled tables, and precomputes the static
    /// verdict table. Never panics, whatever the bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Policy, EngineError> {
        let tables = Tables::decode(b)?;
        // Counts come from the bytes: bound the table they imply before
        // allocating or computing it.
        let c = usize::from(tables.contexts);
        let entries = c
            .checked_mul(c)
            .and_then(|cc| {
                cc.checked_mul(tables.methods.len())?
                    .checked_mul(2)?
                    .checked_add(cc)
            })
            .ok_or(EngineError::TooLarge)?;
        let work = entries
            .checked_mul(tables.rules.len().max(1))
            .ok_or(EngineError::TooLarge)?;
        if entries > MAX_STATIC_ENTRIES || work > MAX_STATIC_WORK {
            return Err(EngineError::TooLarge);
        }
        Ok(Policy::from_tables(tables, fnv1a(b) & !0xffff_ffff))
    }

    fn from_tables(tables: Tables, generation_base: u64) -> Policy {
        let mut p = Policy {
            tables,
            statics: Vec::new(),
            generation_base,
        };
        p.statics = p.build_statics();
        p
    }

    /// The decoded tables.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Number of security contexts (valid `src`/`dst` are below it).
    pub fn context_count(&self) -> u16 {
        self.tables.contexts
    }

    /// Where generation stamps of this policy start: derived from the policy
    /// bytes (low 32 bits clear), so stamps from another policy differ.
    pub fn generation_base(&self) -> u64 {
        self.generation_base
    }

    fn build_statics(&self) -> Vec<u32> {
        let c = usize::from(self.tables.contexts);
        let m = self.tables.methods.len();
        let mut out = Vec::with_capacity(2 * c * c * m + c * c);
        for kind in [EventKind::Request, EventKind::Response] {
            for src in 0..c {
                for dst in 0..c {
                    for sig in &self.tables.methods {
                        out.push(self.compute_static(kind, src as u16, dst as u16, Some(sig)));
                    }
                }
            }
        }
        for src in 0..c {
            for dst in 0..c {
                out.push(self.compute_static(EventKind::Execute, src as u16, dst as u16, None));
            }
        }
        out
    }

    fn compute_static(&self, kind: EventKind, src: u16, dst: u16, sig: Option<&MethodSig>) -> u32 {
        let (iface, method) = sig.map_or((0, 0), |s| (s.iface, s.method));
        let matching = || {
            self.tables
                .rules
                .iter()
                .enumerate()
                .filter(move |(_, r)| selects(r, kind, src, dst, iface, method))
        };
        if let Some((i, r)) = matching().find(|(_, r)| r.deny) {
            return if r.is_static() {
                ENTRY_STATIC | ENTRY_AUDIT | i as u32
            } else {
                0
            };
        }
        if let Some((i, r)) = matching().find(|(_, r)| !r.deny) {
            return if r.is_static() {
                let audit = r.audit.unwrap_or(self.tables.audit_all);
                ENTRY_STATIC | ENTRY_ALLOW | if audit { ENTRY_AUDIT } else { 0 } | i as u32
            } else {
                0
            };
        }
        ENTRY_STATIC | ENTRY_AUDIT | u32::from(NO_RULE)
    }

    fn static_entry(&self, kind: EventKind, src: u16, dst: u16, iface: u16, method: u16) -> u32 {
        let c = usize::from(self.tables.contexts);
        let (s, d) = (usize::from(src), usize::from(dst));
        if s >= c || d >= c {
            return 0;
        }
        let m = self.tables.methods.len();
        let idx = match kind {
            EventKind::Execute => 2 * c * c * m + s * c + d,
            EventKind::Request if method == crate::ERROR_METHOD => return 0,
            EventKind::Request | EventKind::Response => {
                let Some(mi) = self.tables.method_index(iface, method) else {
                    return 0;
                };
                let k = usize::from(kind == EventKind::Response);
                ((k * c + s) * c + d) * m + mi
            }
        };
        self.statics.get(idx).copied().unwrap_or(0)
    }

    /// The static verdict for (kind, src, dst, iface, method), if every rule
    /// that could match it is static; `None` otherwise, and also for unknown
    /// methods or contexts (the slow path then rejects them). O(log methods).
    /// For execute events `iface` and `method` are ignored.
    pub fn static_verdict(
        &self,
        kind: EventKind,
        src: u16,
        dst: u16,
        iface: u16,
        method: u16,
    ) -> Option<Decision> {
        let e = self.static_entry(kind, src, dst, iface, method);
        if e & ENTRY_STATIC == 0 {
            return None;
        }
        Some(Decision {
            verdict: if e & ENTRY_ALLOW != 0 {
                Verdict::Allow
            } else {
                Verdict::Deny
            },
            audit: e & ENTRY_AUDIT != 0,
            cacheable: true,
            rule: e as u16,
            malformed: false,
        })
    }

    /// The full evaluation (slow path): the shape check against the method
    /// signature, then the rules in precedence order; fires the transitions
    /// of the allowing rule.
    pub fn evaluate(&self, st: &mut ModelState, ev: &Event) -> Decision {
        let deny = |rule: u16, malformed: bool, cacheable: bool| Decision {
            verdict: Verdict::Deny,
            audit: true,
            cacheable,
            rule,
            malformed,
        };
        let c = self.tables.contexts;
        if ev.src >= c || ev.dst >= c || st.contexts != usize::from(c) {
            return deny(NO_RULE, false, false);
        }
        let fields: &[FieldType] = match ev.kind {
            EventKind::Execute => &[],
            EventKind::Request | EventKind::Response => {
                let Some(sig) = self
                    .tables
                    .method_index(ev.iface, ev.method)
                    .and_then(|i| self.tables.methods.get(i))
                else {
                    return deny(NO_RULE, true, false);
                };
                let (f, ok) = match (ev.kind, ev.method) {
                    // An error reply carries an ABI error code in word 0.
                    (EventKind::Response, crate::ERROR_METHOD) => (
                        &[][..],
                        matches!(abi::Error::from_status(ev.words[0]), Some(Err(_)))
                            && ev.words[1..] == [0; 3]
                            && ev.ool == Ool::None,
                    ),
                    (EventKind::Request, crate::ERROR_METHOD) => (&[][..], false),
                    (EventKind::Request, _) => (
                        &sig.args[..],
                        shape_ok(&sig.args, &ev.words) && ev.ool == sig.args_ool,
                    ),
                    _ => (
                        &sig.results[..],
                        shape_ok(&sig.results, &ev.words) && ev.ool == sig.results_ool,
                    ),
                };
                if !ok {
                    return deny(NO_RULE, true, false);
                }
                f
            }
        };
        let entry = self.static_entry(ev.kind, ev.src, ev.dst, ev.iface, ev.method);
        let cacheable = entry & ENTRY_STATIC != 0;
        if cacheable {
            // Every rule that could match is static: the precomputed verdict
            // is the answer (built by running these same rules once, at load
            // time), and static rules fire no transitions. The differential
            // tests check this against a reference interpreter.
            return Decision {
                verdict: if entry & ENTRY_ALLOW != 0 {
                    Verdict::Allow
                } else {
                    Verdict::Deny
                },
                audit: entry & ENTRY_AUDIT != 0,
                cacheable: true,
                rule: entry as u16,
                malformed: false,
            };
        }
        let (client, server) = match ev.kind {
            EventKind::Response => (ev.dst, ev.src),
            _ => (ev.src, ev.dst),
        };
        let holds = |r: &Rule, st: &ModelState| {
            selects(r, ev.kind, ev.src, ev.dst, ev.iface, ev.method)
                && eval_expr(&r.expr, fields, &ev.words)
                && r.guards.iter().all(|g| {
                    st.state(g.machine, client, server)
                        .is_some_and(|s| g.states & (1u64 << s) != 0)
                })
        };
        for (i, r) in self.tables.rules.iter().enumerate() {
            if r.deny && holds(r, st) {
                return deny(i as u16, false, cacheable);
            }
        }
        for (i, r) in self.tables.rules.iter().enumerate() {
            if r.deny || !holds(r, st) {
                continue;
            }
            let fire: Option<Vec<(usize, u8)>> = r
                .transitions
                .iter()
                .map(|t| {
                    let slot = st.slot(t.machine, client, server)?;
                    let cur = *st.states.get(slot)?;
                    let tr = self
                        .tables
                        .machines
                        .get(usize::from(t.machine))?
                        .transitions
                        .get(usize::from(t.transition))?;
                    (tr.from & (1u64 << cur) != 0).then_some((slot, tr.to))
                })
                .collect();
            let Some(fire) = fire else { continue };
            for (slot, to) in fire {
                if let Some(s) = st.states.get_mut(slot)
                    && *s != to
                {
                    *s = to;
                    st.generation = st.generation.wrapping_add(1);
                }
            }
            return Decision {
                verdict: Verdict::Allow,
                audit: r.audit.unwrap_or(self.tables.audit_all),
                cacheable,
                rule: i as u16,
                malformed: false,
            };
        }
        deny(NO_RULE, false, cacheable)
    }
}

/// Whether a rule's selector matches the key (predicates and guards aside).
fn selects(r: &Rule, kind: EventKind, src: u16, dst: u16, iface: u16, method: u16) -> bool {
    r.kind == kind
        && r.src.is_none_or(|s| s == src)
        && r.dst.is_none_or(|d| d == dst)
        && (kind == EventKind::Execute
            || (r.iface.is_none_or(|i| i == iface) && r.method.is_none_or(|m| m == method)))
}

/// Evaluates a validated postfix predicate. Validation guarantees the stack
/// never under- or overflows and fields are in range; the checks here only
/// keep a broken invariant from turning into a panic.
fn eval_expr(expr: &[Op], fields: &[FieldType], words: &[u64; 4]) -> bool {
    if expr.is_empty() {
        return true;
    }
    let mut stack = [false; crate::tables::MAX_STACK];
    let mut sp = 0usize;
    let field = |w: u8| {
        let i = usize::from(w);
        Some((*fields.get(i)?, *words.get(i)?))
    };
    for op in expr {
        let v = match *op {
            Op::Cmp { word, op, lit } => {
                let Some((ty, val)) = field(word) else {
                    return false;
                };
                let o = cmp_words(ty, val, lit);
                match op {
                    crate::tables::CmpOp::Eq => o.is_eq(),
                    crate::tables::CmpOp::Ne => o.is_ne(),
                    crate::tables::CmpOp::Lt => o.is_lt(),
                    crate::tables::CmpOp::Le => o.is_le(),
                    crate::tables::CmpOp::Gt => o.is_gt(),
                    crate::tables::CmpOp::Ge => o.is_ge(),
                }
            }
            Op::Range { word, lo, hi } => {
                let Some((ty, val)) = field(word) else {
                    return false;
                };
                cmp_words(ty, val, lo).is_ge() && cmp_words(ty, val, hi).is_le()
            }
            Op::And | Op::Or => {
                if sp < 2 {
                    return false;
                }
                sp -= 2;
                let (a, b) = (stack[sp], stack[sp + 1]);
                if *op == Op::And { a && b } else { a || b }
            }
            Op::Not => {
                if sp < 1 {
                    return false;
                }
                sp -= 1;
                !stack[sp]
            }
        };
        let Some(slot) = stack.get_mut(sp) else {
            return false;
        };
        *slot = v;
        sp += 1;
    }
    sp == 1 && stack[0]
}
