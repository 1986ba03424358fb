//! Policy evaluation against a verdict-cache lookup, on the policy of the
//! `policy` QEMU scenario (a field predicate, a state machine, static rules).
//!
//! `cargo bench -p tessera-ipc-fastpath` (or `cargo xtask bench`, which
//! runs it after the in-OS benchmarks). Four figures:
//!
//! - `evaluate/predicate_rule`: the engine's full evaluation of a request a
//!   field predicate decides (shape check, rule scan, predicate);
//! - `evaluate/fsm_rule`: the same for a request a state machine guards;
//! - `evaluate/static_key`: the engine's evaluation of a key only static
//!   rules match (shape check, method lookup, precomputed table);
//! - `cache/hit`: the per-core verdict cache lookup the fast path does.

use criterion::{Criterion, criterion_group, criterion_main};
use engine::{Event, EventKind, ModelState, Policy};
use fastpath::{Key, VerdictCache, decide};
use std::hint::black_box;
use std::path::Path;

const POLICY: &str = include_str!("../../policies/tests/policy.policy");

fn load() -> (Policy, Vec<String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/interfaces");
    let ifaces = idl::load_dir(&dir, false).expect("interface files load");
    let solution = policy::Solution {
        programs: vec!["polclient".into(), "echo".into()],
        channels: vec![("polclient".into(), "echo".into())],
    };
    let c = policy::compile("policy.policy", POLICY, &ifaces, &solution).expect("policy compiles");
    (
        Policy::from_bytes(&c.bytes).expect("tables load"),
        c.contexts,
    )
}

fn bench(c: &mut Criterion) {
    let (policy, contexts) = load();
    let ctx = |n: &str| contexts.iter().position(|c| c == n).expect("context") as u16;
    let (client, echo) = (ctx("polclient"), ctx("echo"));
    let ev = |method: u16, words: [u64; 4]| Event {
        kind: EventKind::Request,
        src: client,
        dst: echo,
        iface: 0x100,
        method,
        words,
        ool: engine::tables::Ool::None,
    };
    let ping = ev(1, [1, 2, 3, 4]);
    let slow = ev(4, [5, 0, 0, 0]);
    let done = ev(9, [0; 4]);

    let mut g = c.benchmark_group("evaluate");
    let mut st = ModelState::new(&policy);
    g.bench_function("predicate_rule", |b| {
        b.iter(|| policy.evaluate(&mut st, black_box(&ping)))
    });
    // The gate is locked: the guard fails every time, so the state never
    // changes and every iteration does the same work.
    g.bench_function("fsm_rule", |b| {
        b.iter(|| policy.evaluate(&mut st, black_box(&slow)))
    });
    g.bench_function("static_key", |b| {
        b.iter(|| policy.evaluate(&mut st, black_box(&done)))
    });
    g.finish();

    let mut cache = VerdictCache::new();
    let d = decide(&policy, &mut st, &mut cache, &done);
    assert_eq!(d.verdict, engine::Verdict::Allow);
    let generation = st.generation();
    let key = Key::of(&done);
    assert!(cache.allows(key, generation, &done.words), "done is cached");
    c.bench_function("cache/hit", |b| {
        b.iter(|| {
            black_box(&cache).allows(
                black_box(key),
                black_box(generation),
                black_box(&done.words),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
