//! Differential property tests: random policies, generated as syntax trees
//! and printed to source, against a reference interpreter written directly
//! over the tree.
//!
//! (a) `evaluate` (decision and machine states) matches the interpreter;
//! (b) whenever `static_verdict` is `Some` for a well-shaped message,
//!     `evaluate` gives the same decision and leaves the state alone;
//! (c) the IPC fast path's per-core verdict caches (`ipc-fastpath`), filled
//!     by the slow path and consulted first, give the same verdicts and
//!     the same model state as evaluation alone, event after event.

mod common;
use std::collections::HashMap;

use common::idl::{self, Type};
use engine::{Event, EventKind, ModelState, NO_RULE, Policy, Verdict};
use policy::Solution;
use policy::ast::Event as Kw;
use policy::ast::*;
use proptest::prelude::*;

const CONTEXTS: [&str; 5] = ["kernel", "client", "echo", "fs", "lonely"];

fn ifaces() -> Vec<idl::Interface> {
    common::ifaces()
}

fn sp() -> Span {
    0..0
}

fn range(t: Type) -> (i128, i128) {
    match t {
        Type::U8 => (0, 255),
        Type::U16 => (0, 65535),
        Type::U32 => (0, u32::MAX as i128),
        Type::U64 => (0, u64::MAX as i128),
        Type::I8 => (-128, 127),
        Type::I16 => (-32768, 32767),
        Type::I32 => (i32::MIN as i128, i32::MAX as i128),
        Type::I64 => (i64::MIN as i128, i64::MAX as i128),
        Type::Bool => (0, 1),
    }
}

/// The value a (well-shaped) word stands for.
fn value(t: Type, w: u64) -> i128 {
    match t {
        Type::I8 | Type::I16 | Type::I32 | Type::I64 => w as i64 as i128,
        _ => w as i128,
    }
}

fn accepts(t: Type, w: u64) -> bool {
    let (lo, hi) = range(t);
    let v = value(t, w);
    lo <= v && v <= hi
}

// ---------- generators ----------

/// Interesting literals for a type: bounds, neighbours, small values.
fn lit_for(t: Type) -> BoxedStrategy<i128> {
    let (lo, hi) = range(t);
    prop_oneof![
        Just(lo),
        Just(hi),
        Just(lo + 1),
        Just(hi - 1),
        Just(0i128.clamp(lo, hi)),
        (0i128..6).prop_map(move |v| v.clamp(lo, hi)),
        (-6i128..0).prop_map(move |v| v.clamp(lo, hi))
    ]
    .boxed()
}

fn mklit(t: Type, v: i128) -> Lit {
    if t == Type::Bool {
        Lit::Bool(v != 0, sp())
    } else {
        Lit::Int(v, sp())
    }
}

fn atom(fields: Vec<idl::Field>) -> BoxedStrategy<Expr> {
    let n = fields.len();
    (0..n, any::<u8>(), any::<bool>())
        .prop_flat_map(move |(i, opk, incl)| {
            let f = fields[i].clone();
            let t = f.ty;
            (lit_for(t), lit_for(t)).prop_map(move |(a, b)| {
                let id = Ident::new(&f.name);
                if t == Type::Bool {
                    return match opk % 3 {
                        0 => Expr::Flag(id),
                        1 => Expr::Cmp(id, CmpOp::Eq, mklit(t, a)),
                        _ => Expr::Cmp(id, CmpOp::Ne, mklit(t, a)),
                    };
                }
                let ops = [
                    CmpOp::Eq,
                    CmpOp::Ne,
                    CmpOp::Lt,
                    CmpOp::Le,
                    CmpOp::Gt,
                    CmpOp::Ge,
                ];
                if opk % 7 == 6 {
                    let (lo, hi) = (a.min(b), a.max(b));
                    if incl || lo == hi {
                        Expr::Range {
                            field: id,
                            lo: mklit(t, lo),
                            hi: mklit(t, hi),
                            inclusive: true,
                        }
                    } else {
                        Expr::Range {
                            field: id,
                            lo: mklit(t, lo),
                            hi: mklit(t, hi),
                            inclusive: false,
                        }
                    }
                } else {
                    Expr::Cmp(id, ops[usize::from(opk % 6)], mklit(t, a))
                }
            })
        })
        .boxed()
}

fn expr(fields: Vec<idl::Field>) -> BoxedStrategy<Expr> {
    atom(fields)
        .prop_recursive(3, 8, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|a| Expr::Not(Box::new(a))),
            ]
        })
        .boxed()
}

/// Machines: `m0`, `m1` with 2..=3 states; a chain keeps every state reachable.
fn machines() -> impl Strategy<Value = Vec<Machine>> {
    prop::collection::vec(
        (
            2usize..=3,
            prop::collection::vec((any::<u8>(), any::<u8>()), 0..3),
        ),
        0..=2,
    )
    .prop_map(|ms| {
        ms.into_iter()
            .enumerate()
            .map(|(mi, (n, extra))| {
                let st = |i: usize| Ident::new(&format!("s{i}"));
                let mut transitions: Vec<TransitionDecl> = (0..n - 1)
                    .map(|i| TransitionDecl {
                        name: Ident::new(&format!("t{i}")),
                        from: vec![st(i)],
                        to: st(i + 1),
                    })
                    .collect();
                for (k, (f, t)) in extra.into_iter().enumerate() {
                    let f = usize::from(f) % n;
                    let g = (f + 1) % n;
                    transitions.push(TransitionDecl {
                        name: Ident::new(&format!("x{k}")),
                        from: if f == g {
                            vec![st(f)]
                        } else {
                            vec![st(f), st(g)]
                        },
                        to: st(usize::from(t) % n),
                    });
                }
                Machine {
                    name: Ident::new(&format!("m{mi}")),
                    states: (0..n).map(st).collect(),
                    transitions,
                }
            })
            .collect()
    })
}

fn pattern(names: &'static [&'static str]) -> impl Strategy<Value = Pattern> {
    prop_oneof![
        Just(Pattern::Any(sp())),
        prop::sample::select(names).prop_map(|n| Pattern::Name(Ident::new(n)))
    ]
}

fn rule(ms: Vec<Machine>) -> BoxedStrategy<Rule> {
    let ifs = ifaces();
    let user: &'static [&'static str] = &["client", "echo", "fs", "lonely"];
    (
        any::<bool>(),
        0u8..10,
        pattern(user),
        pattern(user),
        any::<u16>(),
        any::<u16>(),
        any::<u8>(),
        any::<u64>(),
    )
        .prop_flat_map(move |(deny, k, src, dst, ti, mi, au, seed)| {
            let event = match k {
                0 => Kw::Execute,
                1..=5 => Kw::Request,
                _ => Kw::Response,
            };
            let mut target = None;
            let mut fields = vec![];
            if event != Kw::Execute {
                let iface = &ifs[usize::from(ti) % ifs.len()];
                match ti % 4 {
                    0 => target = Some((Pattern::Any(sp()), Pattern::Any(sp()))),
                    1 => {
                        target = Some((Pattern::Name(Ident::new(&iface.name)), Pattern::Any(sp())))
                    }
                    _ => {
                        let m = &iface.methods[usize::from(mi) % iface.methods.len()];
                        target = Some((
                            Pattern::Name(Ident::new(&iface.name)),
                            Pattern::Name(Ident::new(&m.name)),
                        ));
                        fields = if event == Kw::Request {
                            m.args.clone()
                        } else {
                            m.results.clone()
                        };
                    }
                }
            }
            let pred: BoxedStrategy<Option<Expr>> = if fields.is_empty() {
                Just(None).boxed()
            } else {
                prop::option::weighted(0.6, expr(fields)).boxed()
            };
            let ms = ms.clone();
            pred.prop_map(move |predicate| {
                let mut guards = vec![];
                let mut transitions = vec![];
                let mut s = seed;
                for m in &ms {
                    let n = m.states.len() as u64;
                    if s % 3 == 0 {
                        let mask = (s >> 2) % ((1 << n) - 1) + 1;
                        let states = (0..n)
                            .filter(|i| mask & (1 << i) != 0)
                            .map(|i| m.states[i as usize].clone())
                            .collect();
                        guards.push(GuardDecl {
                            machine: m.name.clone(),
                            states,
                        });
                    }
                    s /= 7;
                    if !deny && s % 3 == 0 {
                        let t = &m.transitions[(s as usize >> 2) % m.transitions.len()];
                        transitions.push((m.name.clone(), t.name.clone()));
                    }
                    s /= 11;
                }
                let audit = match au % 4 {
                    0 => Some((true, sp())),
                    1 if !deny => Some((false, sp())),
                    _ => None,
                };
                Rule {
                    deny,
                    event,
                    event_span: sp(),
                    src: src.clone(),
                    dst: dst.clone(),
                    target: target.clone(),
                    predicate,
                    guards,
                    transitions,
                    audit,
                    span: sp(),
                }
            })
        })
        .boxed()
}

fn policy_file() -> impl Strategy<Value = File> {
    (machines(), any::<bool>()).prop_flat_map(|(ms, all)| {
        let n = ms.len();
        (
            Just(ms.clone()),
            Just(all),
            prop::collection::vec(rule(ms), 0..12),
        )
            .prop_map(move |(ms, all, rules)| {
                let _ = n;
                let mut items = vec![];
                if all {
                    items.push(Item::Audit {
                        all: true,
                        span: sp(),
                    });
                }
                items.extend(ms.into_iter().map(Item::Machine));
                items.extend(rules.into_iter().map(|r| Item::Rule(Box::new(r))));
                File { items }
            })
    })
}

/// Events with mostly known methods and mostly well-shaped words (each
/// field's word drawn from boundary values of its type), so that rules get
/// exercised rather than the shape check.
fn event() -> impl Strategy<Value = Event> {
    let keys: Vec<(u16, u16)> = ifaces()
        .iter()
        .flat_map(|i| i.methods.iter().map(move |m| (i.id, m.id)))
        .chain([(0x100, 3), (0x100, engine::ERROR_METHOD), (0x200, 1)])
        .collect();
    let junk = prop_oneof![
        Just(0u64),
        Just(1),
        Just(128),
        Just(256),
        Just(u64::MAX),
        Just(-129i64 as u64),
        any::<u64>()
    ];
    (
        0u8..10,
        0u16..5,
        0u16..5,
        prop::sample::select(keys),
        prop::array::uniform4(junk),
        prop::array::uniform4(any::<u16>()),
        0u8..8,
    )
        .prop_map(|(k, src, dst, (iface, method), junk, picks, valid)| {
            let kind = match k {
                0 => EventKind::Execute,
                1..=5 => EventKind::Request,
                _ => EventKind::Response,
            };
            let fields: Vec<idl::Field> = ifaces()
                .iter()
                .find(|i| i.id == iface)
                .and_then(|i| i.methods.iter().find(|m| m.id == method))
                .map(|m| {
                    if kind == EventKind::Request {
                        m.args.clone()
                    } else {
                        m.results.clone()
                    }
                })
                .unwrap_or_default();
            let mut words = [0u64; 4];
            if valid == 0 {
                words = junk;
            } else if method == engine::ERROR_METHOD {
                words[0] = u64::from(picks[0] % 18);
            } else {
                for (i, f) in fields.iter().enumerate() {
                    let (lo, hi) = range(f.ty);
                    let cands = [
                        lo,
                        hi,
                        lo + 1,
                        hi - 1,
                        0i128.clamp(lo, hi),
                        1i128.clamp(lo, hi),
                        2i128.clamp(lo, hi),
                        (-1i128).clamp(lo, hi),
                        5i128.clamp(lo, hi),
                    ];
                    let v = cands[usize::from(picks[i]) % cands.len()];
                    words[i] = if v < 0 { v as i64 as u64 } else { v as u64 };
                }
            }
            Event {
                kind,
                src,
                dst,
                iface,
                method,
                words,
                ool: engine::tables::Ool::None,
            }
        })
}

// ---------- the reference interpreter ----------

struct Reference<'a> {
    file: &'a File,
    ifs: Vec<idl::Interface>,
    /// (machine index, client, server) -> state index.
    states: HashMap<(usize, u16, u16), usize>,
}

#[derive(Debug, PartialEq)]
struct RefDecision {
    verdict: Verdict,
    rule: u16,
    audit: bool,
    malformed: bool,
}

impl Reference<'_> {
    fn machines(&self) -> Vec<&Machine> {
        self.file
            .items
            .iter()
            .filter_map(|i| {
                if let Item::Machine(m) = i {
                    Some(m)
                } else {
                    None
                }
            })
            .collect()
    }
    fn rules(&self) -> Vec<&Rule> {
        self.file
            .items
            .iter()
            .filter_map(|i| {
                if let Item::Rule(r) = i {
                    Some(&**r)
                } else {
                    None
                }
            })
            .collect()
    }
    fn audit_all(&self) -> bool {
        self.file
            .items
            .iter()
            .any(|i| matches!(i, Item::Audit { all: true, .. }))
    }

    fn eval_expr(e: &Expr, fields: &[idl::Field], words: &[u64; 4]) -> bool {
        let get = |id: &Ident| {
            let i = fields.iter().position(|f| f.name == id.name).unwrap();
            value(fields[i].ty, words[i])
        };
        let litv = |l: &Lit| match l {
            Lit::Int(v, _) => *v,
            Lit::Bool(b, _) => i128::from(*b),
        };
        match e {
            Expr::And(a, b) => {
                Self::eval_expr(a, fields, words) && Self::eval_expr(b, fields, words)
            }
            Expr::Or(a, b) => {
                Self::eval_expr(a, fields, words) || Self::eval_expr(b, fields, words)
            }
            Expr::Not(a) => !Self::eval_expr(a, fields, words),
            Expr::Flag(f) => get(f) == 1,
            Expr::Cmp(f, op, l) => {
                let (v, l) = (get(f), litv(l));
                match op {
                    CmpOp::Eq => v == l,
                    CmpOp::Ne => v != l,
                    CmpOp::Lt => v < l,
                    CmpOp::Le => v <= l,
                    CmpOp::Gt => v > l,
                    CmpOp::Ge => v >= l,
                }
            }
            Expr::Range {
                field,
                lo,
                hi,
                inclusive,
            } => {
                let v = get(field);
                litv(lo) <= v
                    && if *inclusive {
                        v <= litv(hi)
                    } else {
                        v < litv(hi)
                    }
            }
        }
    }

    fn decide(&mut self, ev: &Event) -> RefDecision {
        let malformed = RefDecision {
            verdict: Verdict::Deny,
            rule: NO_RULE,
            audit: true,
            malformed: true,
        };
        let mut method: Option<(idl::Interface, idl::Method)> = None;
        let mut fields: Vec<idl::Field> = vec![];
        if ev.kind != EventKind::Execute {
            let Some(i) = self.ifs.iter().find(|i| i.id == ev.iface) else {
                return malformed;
            };
            if ev.method == engine::ERROR_METHOD {
                let ok = ev.kind == EventKind::Response
                    && (1..=16).contains(&ev.words[0])
                    && ev.words[1..] == [0; 3];
                if !ok {
                    return malformed;
                }
            } else {
                let Some(m) = i.methods.iter().find(|m| m.id == ev.method) else {
                    return malformed;
                };
                fields = if ev.kind == EventKind::Request {
                    m.args.clone()
                } else {
                    m.results.clone()
                };
                let ok = (0..4).all(|k| {
                    fields
                        .get(k)
                        .map_or(ev.words[k] == 0, |f| accepts(f.ty, ev.words[k]))
                });
                if !ok {
                    return malformed;
                }
                method = Some((i.clone(), m.clone()));
            }
        }
        let (client, server) = if ev.kind == EventKind::Response {
            (ev.dst, ev.src)
        } else {
            (ev.src, ev.dst)
        };
        let machines: Vec<Machine> = self.machines().into_iter().cloned().collect();
        let midx = |name: &str| machines.iter().position(|m| m.name.name == name).unwrap();
        let sidx = |m: &Machine, s: &str| m.states.iter().position(|x| x.name == s).unwrap();
        let ctx = |p: &Pattern, v: u16| match p {
            Pattern::Any(_) => true,
            Pattern::Name(n) => CONTEXTS[usize::from(v)] == n.name,
        };
        let rules: Vec<Rule> = self.rules().into_iter().cloned().collect();
        let holds = |r: &Rule, states: &HashMap<(usize, u16, u16), usize>| -> bool {
            let kind = match r.event {
                Kw::Request => EventKind::Request,
                Kw::Response => EventKind::Response,
                Kw::Execute => EventKind::Execute,
            };
            if kind != ev.kind || !ctx(&r.src, ev.src) || !ctx(&r.dst, ev.dst) {
                return false;
            }
            if let Some((Pattern::Name(i), m)) = &r.target {
                let iface = self.ifs.iter().find(|x| x.name == i.name).unwrap();
                if iface.id != ev.iface {
                    return false;
                }
                if let Pattern::Name(m) = m
                    && iface.methods.iter().find(|x| x.name == m.name).unwrap().id != ev.method
                {
                    return false;
                }
            }
            if let Some(p) = &r.predicate
                && !Self::eval_expr(p, &fields, &ev.words)
            {
                return false;
            }
            r.guards.iter().all(|g| {
                let mi = midx(&g.machine.name);
                let cur = *states.get(&(mi, client, server)).unwrap_or(&0);
                g.states.iter().any(|s| sidx(&machines[mi], &s.name) == cur)
            })
        };
        let _ = &method;
        for (i, r) in rules.iter().enumerate() {
            if r.deny && holds(r, &self.states) {
                return RefDecision {
                    verdict: Verdict::Deny,
                    rule: i as u16,
                    audit: true,
                    malformed: false,
                };
            }
        }
        for (i, r) in rules.iter().enumerate() {
            if r.deny || !holds(r, &self.states) {
                continue;
            }
            let mut fire = vec![];
            let mut ok = true;
            for (m, t) in &r.transitions {
                let mi = midx(&m.name);
                let cur = *self.states.get(&(mi, client, server)).unwrap_or(&0);
                let td = machines[mi]
                    .transitions
                    .iter()
                    .find(|x| x.name.name == t.name)
                    .unwrap();
                if td.from.iter().any(|s| sidx(&machines[mi], &s.name) == cur) {
                    fire.push((mi, sidx(&machines[mi], &td.to.name)));
                } else {
                    ok = false;
                }
            }
            if !ok {
                continue;
            }
            for (mi, to) in fire {
                self.states.insert((mi, client, server), to);
            }
            let audit = r.audit.as_ref().map_or(self.audit_all(), |a| a.0);
            return RefDecision {
                verdict: Verdict::Allow,
                rule: i as u16,
                audit,
                malformed: false,
            };
        }
        RefDecision {
            verdict: Verdict::Deny,
            rule: NO_RULE,
            audit: true,
            malformed: false,
        }
    }
}

fn solution() -> Solution {
    Solution {
        programs: CONTEXTS[1..].iter().map(|s| s.to_string()).collect(),
        channels: vec![],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn evaluate_matches_reference_and_static_verdicts_agree(file in policy_file(), events in prop::collection::vec(event(), 1..40)) {
        let src = file.to_string();
        let compiled = policy::compile("gen.policy", &src, &ifaces(), &solution())
            .unwrap_or_else(|e| panic!("generated policy failed to compile:\n{src}\n{e}"));
        prop_assert_eq!(&compiled.contexts[..], &CONTEXTS[..]);
        let p = Policy::from_bytes(&compiled.bytes).unwrap();
        let mut st = ModelState::new(&p);
        let mut reference = Reference { file: &file, ifs: ifaces(), states: HashMap::new() };
        let n_machines = reference.machines().len();
        for ev in &events {
            let before = st.clone();
            let d = p.evaluate(&mut st, ev);
            let r = reference.decide(ev);
            prop_assert_eq!(
                (d.verdict, d.rule, d.audit, d.malformed),
                (r.verdict, r.rule, r.audit, r.malformed),
                "policy:\n{}\nevent {:?}", src, ev
            );
            // (b) static verdicts agree and imply no state change.
            if !d.malformed {
                let sv = p.static_verdict(ev.kind, ev.src, ev.dst, ev.iface, ev.method);
                prop_assert_eq!(d.cacheable, sv.is_some());
                if let Some(s) = sv {
                    prop_assert_eq!(s, d, "policy:\n{}\nevent {:?}", src, ev);
                    prop_assert_eq!(&st, &before);
                }
            }
            if st.generation() == before.generation() {
                prop_assert_eq!(&st, &before);
            }
            // Machine states match the reference after every event.
            for m in 0..n_machines {
                for c in 0..5u16 {
                    for s in 0..5u16 {
                        let want = *reference.states.get(&(m, c, s)).unwrap_or(&0) as u8;
                        prop_assert_eq!(st.state(m as u16, c, s), Some(want));
                    }
                }
            }
        }
    }

    #[test]
    fn verdict_caches_change_no_verdict_and_no_state(
        file in policy_file(),
        events in prop::collection::vec((event(), 0usize..2), 1..60),
    ) {
        let src = file.to_string();
        let compiled = policy::compile("gen.policy", &src, &ifaces(), &solution())
            .unwrap_or_else(|e| panic!("generated policy failed to compile:\n{src}\n{e}"));
        let p = Policy::from_bytes(&compiled.bytes).unwrap();
        // Reference: the slow path alone.
        let mut slow = ModelState::new(&p);
        // Under test: two cores, each with its own cache, one shared state.
        let mut st = ModelState::new(&p);
        let mut caches = [fastpath::VerdictCache::new(), fastpath::VerdictCache::new()];
        // Every event comes again on the same core (where an allow the first
        // one cached is found) and then on the other core.
        let repeated = events
            .iter()
            .flat_map(|(ev, core)| [(ev, *core), (ev, *core), (ev, 1 - *core)]);
        for (ev, core) in repeated {
            let want = p.evaluate(&mut slow, ev);
            let key = fastpath::Key::of(ev);
            let got = if caches[core].allows(key, st.generation(), &ev.words) {
                (Verdict::Allow, false)
            } else {
                let d = fastpath::decide(&p, &mut st, &mut caches[core], ev);
                (d.verdict, d.audit)
            };
            prop_assert_eq!(got, (want.verdict, want.audit), "policy:\n{}\nevent {:?}", src, ev);
            prop_assert_eq!(&st, &slow, "policy:\n{}\nevent {:?}", src, ev);
        }
    }

    #[test]
    fn printed_policies_reparse_to_the_same_text(file in policy_file()) {
        let src = file.to_string();
        let (again, errs) = policy::parser::parse(&src);
        prop_assert!(errs.is_empty());
        prop_assert_eq!(again.to_string(), src);
    }
}
