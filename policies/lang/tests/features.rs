//! Compiler + engine, one feature at a time: wildcards, deny precedence,
//! predicates and their boundaries, FSM gating, audit flags, default deny,
//! malformed messages, static verdicts.

mod common;
use common::ifaces;
use engine::{Decision, Event, EventKind, ModelState, NO_RULE, Policy, Verdict};
use policy::Solution;

const KERNEL: u16 = 0;
const CLIENT: u16 = 1;
const ECHO: u16 = 2;
const FS: u16 = 3;
const LONELY: u16 = 4;

fn load(src: &str) -> Policy {
    let sol = Solution {
        programs: ["client", "echo", "fs", "lonely"]
            .map(String::from)
            .to_vec(),
        channels: vec![],
    };
    let c = policy::compile("t.policy", src, &ifaces(), &sol).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.contexts, ["kernel", "client", "echo", "fs", "lonely"]);
    Policy::from_bytes(&c.bytes).expect("compiled bytes load")
}

fn req(src: u16, dst: u16, iface: u16, method: u16, words: [u64; 4]) -> Event {
    Event {
        kind: EventKind::Request,
        src,
        dst,
        iface,
        method,
        words,
        ool: engine::tables::Ool::None,
    }
}

fn run(p: &Policy, st: &mut ModelState, ev: Event) -> Decision {
    let d = p.evaluate(st, &ev);
    if !d.malformed
        && let Some(s) = p.static_verdict(ev.kind, ev.src, ev.dst, ev.iface, ev.method)
    {
        assert_eq!(s, d, "static verdict disagrees for {ev:?}");
    }
    d
}

fn verdict(p: &Policy, ev: Event) -> Verdict {
    run(p, &mut ModelState::new(p), ev).verdict
}

const PING: (u16, u16) = (0x100, 1);
const WHO: (u16, u16) = (0x100, 2);
const SLOW: (u16, u16) = (0x100, 4);
const LEVEL: (u16, u16) = (0x100, 10);

#[test]
fn default_deny() {
    let p = load("");
    let mut st = ModelState::new(&p);
    let d = run(&p, &mut st, req(CLIENT, ECHO, PING.0, PING.1, [0; 4]));
    assert_eq!(
        d,
        Decision {
            verdict: Verdict::Deny,
            audit: true,
            cacheable: true,
            rule: NO_RULE,
            malformed: false
        }
    );
}

#[test]
fn wildcards() {
    let p = load(
        "allow request * -> echo Echo.ping;\nallow request client -> * Files.*;\nallow request lonely -> kernel *;",
    );
    assert_eq!(
        verdict(&p, req(CLIENT, ECHO, PING.0, PING.1, [0; 4])),
        Verdict::Allow
    );
    assert_eq!(
        verdict(&p, req(LONELY, ECHO, PING.0, PING.1, [0; 4])),
        Verdict::Allow
    );
    assert_eq!(
        verdict(&p, req(CLIENT, ECHO, WHO.0, WHO.1, [0; 4])),
        Verdict::Deny
    );
    assert_eq!(
        verdict(&p, req(CLIENT, FS, 0x101, 3, [0; 4])),
        Verdict::Allow
    );
    assert_eq!(
        verdict(&p, req(CLIENT, ECHO, 0x101, 3, [0; 4])),
        Verdict::Allow
    );
    assert_eq!(
        verdict(&p, req(LONELY, KERNEL, 4, 3, [0; 4])),
        Verdict::Allow
    );
    assert_eq!(
        verdict(&p, req(CLIENT, KERNEL, 4, 3, [0; 4])),
        Verdict::Deny
    );
    // Request rules never allow responses.
    let mut resp = req(ECHO, CLIENT, PING.0, PING.1, [0; 4]);
    resp.kind = EventKind::Response;
    assert_eq!(verdict(&p, resp), Verdict::Deny);
}

#[test]
fn deny_wins_over_allow_wherever_it_is() {
    let p = load("allow request client -> echo Echo.*;\ndeny request * -> echo Echo.done;");
    let d = run(
        &p,
        &mut ModelState::new(&p),
        req(CLIENT, ECHO, 0x100, 9, [0; 4]),
    );
    assert_eq!((d.verdict, d.rule, d.audit), (Verdict::Deny, 1, true));
    assert_eq!(
        verdict(&p, req(CLIENT, ECHO, PING.0, PING.1, [0; 4])),
        Verdict::Allow
    );
}

#[test]
fn first_matching_allow_decides() {
    let p = load(
        "allow request client -> echo Echo.slow where ms < 10 no audit;\nallow request client -> echo Echo.slow audit;",
    );
    let mut st = ModelState::new(&p);
    let d = run(&p, &mut st, req(CLIENT, ECHO, SLOW.0, SLOW.1, [5, 0, 0, 0]));
    assert_eq!((d.rule, d.audit, d.cacheable), (0, false, false));
    let d = run(
        &p,
        &mut st,
        req(CLIENT, ECHO, SLOW.0, SLOW.1, [50, 0, 0, 0]),
    );
    assert_eq!((d.rule, d.audit), (1, true));
    assert_eq!(
        p.static_verdict(EventKind::Request, CLIENT, ECHO, SLOW.0, SLOW.1),
        None
    );
}

#[test]
fn predicate_boundaries() {
    let p = load(
        "allow request client -> echo Echo.ping where a <= 10 and b in 3..5 and not c == 7 and (d > 1 or d == 0);\n\
         allow request client -> echo Echo.level where v >= -3 and v < 2 and on;\n\
         allow request client -> echo Echo.slow where ms in 1..=4294967295 and ms != 2;",
    );
    let ping = |w: [u64; 4]| verdict(&p, req(CLIENT, ECHO, PING.0, PING.1, w));
    assert_eq!(ping([10, 3, 0, 0]), Verdict::Allow);
    assert_eq!(ping([11, 3, 0, 0]), Verdict::Deny);
    assert_eq!(ping([0, 4, 0, 2]), Verdict::Allow);
    assert_eq!(ping([0, 5, 0, 0]), Verdict::Deny); // exclusive upper bound
    assert_eq!(ping([0, 2, 0, 0]), Verdict::Deny);
    assert_eq!(ping([0, 3, 7, 0]), Verdict::Deny);
    assert_eq!(ping([0, 3, 0, 1]), Verdict::Deny);
    let level = |v: i64, on: u64| {
        verdict(
            &p,
            req(CLIENT, ECHO, LEVEL.0, LEVEL.1, [v as u64, on, 0, 0]),
        )
    };
    assert_eq!(level(-3, 1), Verdict::Allow); // signed comparison
    assert_eq!(level(-4, 1), Verdict::Deny);
    assert_eq!(level(1, 1), Verdict::Allow);
    assert_eq!(level(2, 1), Verdict::Deny);
    assert_eq!(level(0, 0), Verdict::Deny);
    let slow = |ms: u64| verdict(&p, req(CLIENT, ECHO, SLOW.0, SLOW.1, [ms, 0, 0, 0]));
    assert_eq!(slow(0), Verdict::Deny);
    assert_eq!(slow(1), Verdict::Allow);
    assert_eq!(slow(2), Verdict::Deny);
    assert_eq!(slow(u32::MAX.into()), Verdict::Allow);
}

#[test]
fn malformed_rejected_before_rules() {
    let p = load("allow request * -> * *;\nallow response * -> * *;");
    let mut st = ModelState::new(&p);
    let bad = [
        req(CLIENT, ECHO, SLOW.0, SLOW.1, [1 << 32, 0, 0, 0]), // u32 overflow
        req(CLIENT, ECHO, SLOW.0, SLOW.1, [1, 1, 0, 0]),       // extra word
        req(CLIENT, ECHO, LEVEL.0, LEVEL.1, [128, 0, 0, 0]),   // i8 not sign-extended
        req(CLIENT, ECHO, LEVEL.0, LEVEL.1, [0, 2, 0, 0]),     // bool 2
        req(CLIENT, ECHO, 0x100, 3, [0; 4]),                   // no method 3
        req(CLIENT, ECHO, 0x999, 1, [0; 4]),                   // no interface
        req(CLIENT, ECHO, 0x100, engine::ERROR_METHOD, [0; 4]), // error method as request
    ];
    for ev in bad {
        let d = p.evaluate(&mut st, &ev);
        assert_eq!(
            d,
            Decision {
                verdict: Verdict::Deny,
                audit: true,
                cacheable: false,
                rule: NO_RULE,
                malformed: true
            },
            "{ev:?}"
        );
    }
    assert_eq!(
        verdict(
            &p,
            req(CLIENT, ECHO, LEVEL.0, LEVEL.1, [-128i64 as u64, 1, 0, 0])
        ),
        Verdict::Allow
    );
    // Error replies: an ABI error code in word 0, matched by `Iface.*` / `*`.
    let mut e = req(
        ECHO,
        CLIENT,
        0x100,
        engine::ERROR_METHOD,
        [abi::Error::Denied.code(), 0, 0, 0],
    );
    e.kind = EventKind::Response;
    assert_eq!(p.evaluate(&mut st, &e).verdict, Verdict::Allow);
    e.words[0] = 0;
    assert!(p.evaluate(&mut st, &e).malformed);
}

#[test]
fn audit_flags() {
    let p = load(
        "allow request client -> echo Echo.ping;\nallow request client -> echo Echo.who audit;",
    );
    let a = |m: u16| {
        run(
            &p,
            &mut ModelState::new(&p),
            req(CLIENT, ECHO, 0x100, m, [0; 4]),
        )
        .audit
    };
    assert!(!a(1)); // default: only denials
    assert!(a(2));
    assert!(a(9)); // default deny
    let p = load(
        "audit all;\nallow request client -> echo Echo.ping;\nallow request client -> echo Echo.who no audit;",
    );
    let a = |m: u16| {
        run(
            &p,
            &mut ModelState::new(&p),
            req(CLIENT, ECHO, 0x100, m, [0; 4]),
        )
        .audit
    };
    assert!(a(1));
    assert!(!a(2));
}

const FILE_FSM: &str = "machine file {\n  states closed, open;\n  open: closed -> open;\n  close: open -> closed;\n}\n\
allow request client -> fs Files.open then file.open;\n\
allow request client -> fs Files.read if file in open;\n\
allow request client -> fs Files.close then file.close;\n";

#[test]
fn fsm_gates_a_sequence() {
    let p = load(FILE_FSM);
    let mut st = ModelState::new(&p);
    let g0 = st.generation();
    assert_eq!(g0, p.generation_base());
    let call = |st: &mut ModelState, m: u16| run(&p, st, req(CLIENT, FS, 0x101, m, [0; 4])).verdict;
    let (open, read, close) = (1, 2, 3);
    assert_eq!(call(&mut st, read), Verdict::Deny); // closed
    assert_eq!(call(&mut st, close), Verdict::Deny); // close needs open
    assert_eq!(st.generation(), g0);
    assert_eq!(call(&mut st, open), Verdict::Allow);
    assert_eq!(st.generation(), g0 + 1);
    assert_eq!(call(&mut st, open), Verdict::Deny); // already open
    assert_eq!(call(&mut st, read), Verdict::Allow);
    assert_eq!(call(&mut st, read), Verdict::Allow);
    assert_eq!(st.generation(), g0 + 1); // reads change nothing
    // Another pair has its own instance.
    assert_eq!(
        run(&p, &mut st, req(LONELY, FS, 0x101, read, [0; 4])).verdict,
        Verdict::Deny
    );
    assert_eq!(call(&mut st, close), Verdict::Allow);
    assert_eq!(call(&mut st, read), Verdict::Deny);
    assert_eq!(st.generation(), g0 + 2);
    // Every FSM-touched key is dynamic.
    for m in [open, read, close] {
        assert_eq!(
            p.static_verdict(EventKind::Request, CLIENT, FS, 0x101, m),
            None
        );
    }
}

#[test]
fn responses_share_the_request_pairs_instance() {
    let p = load(&format!(
        "{FILE_FSM}allow response fs -> client Files.read if file in open;"
    ));
    let mut st = ModelState::new(&p);
    let mut r = req(FS, CLIENT, 0x101, 2, [0; 4]);
    r.kind = EventKind::Response;
    assert_eq!(p.evaluate(&mut st, &r).verdict, Verdict::Deny);
    run(&p, &mut st, req(CLIENT, FS, 0x101, 1, [0; 4]));
    assert_eq!(p.evaluate(&mut st, &r).verdict, Verdict::Allow);
}

#[test]
fn execute_events() {
    let p =
        load("allow execute kernel -> client;\ndeny execute * -> lonely;\nallow execute * -> *;");
    let ex = |src, dst| Event {
        kind: EventKind::Execute,
        src,
        dst,
        iface: 7,
        method: 7,
        words: [9; 4],
        ool: engine::tables::Ool::None,
    };
    assert_eq!(verdict(&p, ex(KERNEL, CLIENT)), Verdict::Allow);
    assert_eq!(verdict(&p, ex(KERNEL, LONELY)), Verdict::Deny);
    assert_eq!(verdict(&p, ex(KERNEL, ECHO)), Verdict::Allow);
    assert_eq!(
        p.static_verdict(EventKind::Execute, KERNEL, LONELY, 0, 0)
            .map(|d| d.rule),
        Some(1)
    );
}

#[test]
fn static_verdict_table() {
    let p = load(
        "allow request client -> echo Echo.*;\nallow request client -> echo Echo.slow where ms < 3;\ndeny request client -> echo Echo.done;",
    );
    let sv = |m| p.static_verdict(EventKind::Request, CLIENT, ECHO, 0x100, m);
    assert_eq!(
        sv(1).map(|d| (d.verdict, d.rule, d.cacheable)),
        Some((Verdict::Allow, 0, true))
    );
    // The static allow comes first, so Echo.slow is static too.
    assert_eq!(sv(4).map(|d| d.rule), Some(0));
    assert_eq!(sv(9).map(|d| (d.verdict, d.rule)), Some((Verdict::Deny, 2)));
    assert_eq!(sv(3), None); // no such method
    assert_eq!(
        p.static_verdict(EventKind::Request, 99, ECHO, 0x100, 1),
        None
    );
    // Out-of-range contexts in an event deny, never panic.
    let d = p.evaluate(
        &mut ModelState::new(&p),
        &req(99, ECHO, PING.0, PING.1, [0; 4]),
    );
    assert_eq!(d.verdict, Verdict::Deny);
}

#[test]
fn kernel_interface_predicates() {
    let p = load(
        "allow request * -> kernel Memory.map where prot <= 3;\nallow request * -> kernel Task.exit where code >= -1;",
    );
    assert_eq!(
        verdict(&p, req(CLIENT, KERNEL, 4, 1, [0, 4096, 3, 0])),
        Verdict::Allow
    );
    assert_eq!(
        verdict(&p, req(CLIENT, KERNEL, 4, 1, [0, 4096, 7, 0])),
        Verdict::Deny
    );
    assert_eq!(
        verdict(&p, req(CLIENT, KERNEL, 2, 1, [-1i64 as u64, 0, 0, 0])),
        Verdict::Allow
    );
    assert_eq!(
        verdict(&p, req(CLIENT, KERNEL, 2, 1, [-2i64 as u64, 0, 0, 0])),
        Verdict::Deny
    );
}

#[test]
fn engine_shape_check_agrees_with_idl() {
    use engine::tables::FieldType;
    let pairs = [
        (idl::Type::U8, FieldType::U8),
        (idl::Type::U16, FieldType::U16),
        (idl::Type::U32, FieldType::U32),
        (idl::Type::U64, FieldType::U64),
        (idl::Type::I8, FieldType::I8),
        (idl::Type::I16, FieldType::I16),
        (idl::Type::I32, FieldType::I32),
        (idl::Type::I64, FieldType::I64),
        (idl::Type::Bool, FieldType::Bool),
    ];
    let mut words = vec![0, 1, 2, u64::MAX];
    for b in [7u32, 8, 15, 16, 31, 32, 63] {
        let p = 1u64 << b;
        words.extend([p - 1, p, p + 1, p.wrapping_neg(), p.wrapping_neg() - 1]);
    }
    for (t, f) in pairs {
        for w in &words {
            assert_eq!(t.accepts(*w), f.accepts(*w), "{t:?} {w:#x}");
        }
    }
    // Whole-message shape: the engine's verdict on malformedness matches idl.
    let p = load("");
    let echo = common::echo();
    for m in &echo.methods {
        for w0 in &words {
            for w1 in [0, 1, 2] {
                let ws = [*w0, w1, 0, 0];
                let d = p.evaluate(
                    &mut ModelState::new(&p),
                    &req(CLIENT, ECHO, 0x100, m.id, ws),
                );
                assert_eq!(
                    !d.malformed,
                    idl::request_shape_ok(m, &ws),
                    "{} {ws:?}",
                    m.name
                );
            }
        }
    }
}
