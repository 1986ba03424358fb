//! Decoding: round trips, and `from_bytes` never panics on random or mutated
//! bytes (anything it accepts can be evaluated without panicking too).

use engine::tables::*;
use engine::{Event, EventKind, ModelState, Policy};
use proptest::prelude::*;

fn sample() -> Tables {
    Tables {
        audit_all: false,
        contexts: 3,
        methods: vec![
            MethodSig {
                iface: 1,
                method: 1,
                args: vec![FieldType::U64, FieldType::U8],
                results: vec![],
                args_ool: Ool::None,
                results_ool: Ool::None,
            },
            MethodSig {
                iface: 0x100,
                method: 2,
                args: vec![FieldType::I8, FieldType::Bool],
                results: vec![FieldType::U32],
                args_ool: Ool::Bytes,
                results_ool: Ool::None,
            },
            MethodSig {
                iface: 0x100,
                method: engine::ERROR_METHOD,
                args: vec![],
                results: vec![FieldType::U64],
                args_ool: Ool::None,
                results_ool: Ool::None,
            },
        ],
        machines: vec![Machine {
            states: 2,
            transitions: vec![Transition { from: 1, to: 1 }, Transition { from: 2, to: 0 }],
        }],
        rules: vec![
            Rule {
                kind: EventKind::Request,
                deny: false,
                audit: Some(true),
                src: Some(1),
                dst: None,
                iface: Some(0x100),
                method: Some(2),
                expr: vec![
                    Op::Cmp {
                        word: 0,
                        op: CmpOp::Lt,
                        lit: -3i64 as u64,
                    },
                    Op::Range {
                        word: 1,
                        lo: 0,
                        hi: 1,
                    },
                    Op::And,
                    Op::Not,
                ],
                guards: vec![Guard {
                    machine: 0,
                    states: 1,
                }],
                transitions: vec![TransitionRef {
                    machine: 0,
                    transition: 0,
                }],
            },
            Rule {
                kind: EventKind::Execute,
                deny: true,
                audit: None,
                src: None,
                dst: Some(2),
                iface: None,
                method: None,
                expr: vec![],
                guards: vec![],
                transitions: vec![],
            },
        ],
    }
}

#[test]
fn round_trip() {
    let t = sample();
    let b = t.encode();
    assert_eq!(Tables::decode(&b), Ok(t));
    let p = Policy::from_bytes(&b).unwrap();
    assert_eq!(p.context_count(), 3);
    assert_eq!(p.generation_base() & 0xffff_ffff, 0);
    assert_eq!(ModelState::new(&p).generation(), p.generation_base());
}

#[test]
fn specific_rejections() {
    let b = sample().encode();
    assert_eq!(Policy::from_bytes(&[]).err(), Some(EngineError::Truncated));
    assert_eq!(
        Policy::from_bytes(&b[..b.len() - 1]).err(),
        Some(EngineError::Truncated)
    );
    let mut x = b.clone();
    x.push(0);
    assert_eq!(
        Policy::from_bytes(&x).err(),
        Some(EngineError::TrailingBytes)
    );
    let mut x = b.clone();
    x[0] = b'X';
    assert_eq!(Policy::from_bytes(&x).err(), Some(EngineError::BadMagic));
    let mut x = b.clone();
    x[4] = 9;
    assert_eq!(Policy::from_bytes(&x).err(), Some(EngineError::BadVersion));
    // Unsorted methods.
    let mut t = sample();
    t.methods.swap(0, 1);
    assert_eq!(
        Policy::from_bytes(&t.encode()).err(),
        Some(EngineError::Unsorted)
    );
    // Predicate stack underflow.
    let mut t = sample();
    t.rules[0].expr = vec![Op::And];
    assert_eq!(
        Policy::from_bytes(&t.encode()).err(),
        Some(EngineError::BadExpression)
    );
    // Field index past the method's arguments.
    let mut t = sample();
    t.rules[0].expr = vec![Op::Cmp {
        word: 2,
        op: CmpOp::Eq,
        lit: 0,
    }];
    assert_eq!(
        Policy::from_bytes(&t.encode()).err(),
        Some(EngineError::BadExpression)
    );
    // Deny rules may not fire transitions.
    let mut t = sample();
    t.rules[0].deny = true;
    assert_eq!(
        Policy::from_bytes(&t.encode()).err(),
        Some(EngineError::BadValue)
    );
    // Context out of range.
    let mut t = sample();
    t.rules[0].src = Some(3);
    assert_eq!(
        Policy::from_bytes(&t.encode()).err(),
        Some(EngineError::BadIndex)
    );
}

fn poke(p: &Policy) {
    let mut st = ModelState::new(p);
    for kind in [EventKind::Request, EventKind::Response, EventKind::Execute] {
        for (iface, method) in [(1, 1), (0x100, 2), (0x100, engine::ERROR_METHOD), (7, 7)] {
            for src in 0..4 {
                let ev = Event {
                    kind,
                    src,
                    dst: 2,
                    iface,
                    method,
                    words: [1, 1, 0, 0],
                    ool: engine::tables::Ool::None,
                };
                let _ = p.evaluate(&mut st, &ev);
                let _ = p.static_verdict(kind, src, 2, iface, method);
            }
        }
    }
}

proptest! {
    #[test]
    fn from_bytes_never_panics_on_random_bytes(b in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(p) = Policy::from_bytes(&b) { poke(&p) }
    }

    #[test]
    fn from_bytes_never_panics_on_mutated_tables(
        muts in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut b = sample().encode();
        for (i, v) in muts {
            let i = i.index(b.len());
            b[i] = v;
        }
        if truncate {
            b.truncate(cut.index(b.len()));
        }
        if let Ok(p) = Policy::from_bytes(&b) {
            // Whatever decodes re-encodes to the same bytes (canonical).
            prop_assert_eq!(p.tables().encode(), b.clone());
            poke(&p);
        }
    }
}

/// Counts in the bytes decide how big the static verdict table is; a forged
/// count must be refused before anything that size is allocated (a fuzz run
/// once asked for 60 GB here).
#[test]
fn huge_static_tables_are_refused() {
    let mut t = sample();
    t.contexts = u16::MAX - 1; // u16::MAX itself means "any context"
    let b = t.encode();
    assert_eq!(Policy::from_bytes(&b).err(), Some(EngineError::TooLarge));
}
