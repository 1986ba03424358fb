//! The cache filled by the slow path, on the `policy` QEMU scenario's
//! policy: static allows are cached and hit, dynamic rules never are, and
//! a state-machine transition invalidates every entry.

use engine::{Event, EventKind, ModelState, Policy, Verdict};
use fastpath::{Key, VerdictCache, decide};
use std::path::Path;

fn load() -> (Policy, Vec<String>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ifaces = idl::load_dir(&root.join("policies/interfaces"), false).expect("interfaces");
    let src = std::fs::read_to_string(root.join("policies/tests/policy.policy")).expect("policy");
    let solution = policy::Solution {
        programs: vec!["polclient".into(), "echo".into()],
        channels: vec![("polclient".into(), "echo".into())],
    };
    let c = policy::compile("policy.policy", &src, &ifaces, &solution).expect("compiles");
    (Policy::from_bytes(&c.bytes).expect("loads"), c.contexts)
}

#[test]
fn static_allows_hit_dynamic_rules_never_and_transitions_invalidate() {
    let (p, contexts) = load();
    let ctx = |n: &str| contexts.iter().position(|c| c == n).unwrap() as u16;
    let (client, echo) = (ctx("polclient"), ctx("echo"));
    let req = |method: u16, words: [u64; 4]| Event {
        kind: EventKind::Request,
        src: client,
        dst: echo,
        iface: 0x100,
        method,
        words,
        ool: engine::tables::Ool::None,
    };
    let mut st = ModelState::new(&p);
    let mut cache = VerdictCache::new();
    let lookup = |cache: &VerdictCache, st: &ModelState, ev: &Event| {
        cache.allows(Key::of(ev), st.generation(), &ev.words)
    };

    // `done` is a static allow: the first decision caches it.
    let done = req(9, [0; 4]);
    assert!(!lookup(&cache, &st, &done));
    assert_eq!(
        decide(&p, &mut st, &mut cache, &done).verdict,
        Verdict::Allow
    );
    assert!(lookup(&cache, &st, &done));
    // A malformed `done` (a word where the method has none) misses.
    assert!(!lookup(&cache, &st, &req(9, [1, 0, 0, 0])));

    // `ping` has a field predicate (deny when a == 13): never cached.
    let ping = req(1, [1, 2, 3, 4]);
    assert_eq!(
        decide(&p, &mut st, &mut cache, &ping).verdict,
        Verdict::Allow
    );
    assert!(!lookup(&cache, &st, &ping));

    // `who` fires the gate's unlock transition: the generation moves on
    // and the cached `done` no longer matches.
    let g = st.generation();
    assert_eq!(
        decide(&p, &mut st, &mut cache, &req(2, [0; 4])).verdict,
        Verdict::Allow
    );
    assert_ne!(st.generation(), g);
    assert!(!lookup(&cache, &st, &done));
    // The slow path caches it again under the new generation.
    decide(&p, &mut st, &mut cache, &done);
    assert!(lookup(&cache, &st, &done));

    // Denials are never cached (`crash` has no rule).
    let crash = req(3, [0; 4]);
    assert_eq!(
        decide(&p, &mut st, &mut cache, &crash).verdict,
        Verdict::Deny
    );
    assert!(!lookup(&cache, &st, &crash));
}
