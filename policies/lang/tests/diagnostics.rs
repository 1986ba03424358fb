//! One test per diagnostic: message text and line/column, plus rendered
//! snapshots of a few (plain string compare).

mod common;
use common::{BASE, ifaces, solution};
use policy::diag::Severity;

/// The diagnostics of `src` (after BASE, so channels are satisfied) as
/// (severity, message, line, column, notes); lines count BASE's two.
fn diags(src: &str) -> Vec<(Severity, String, usize, usize, Vec<String>)> {
    let full = format!("{BASE}{src}");
    let c = policy::check(&full, &ifaces(), &solution());
    c.diagnostics
        .iter()
        .map(|d| {
            let (l, col) = d.line_col(&full);
            (d.severity, d.message.clone(), l, col, d.notes.clone())
        })
        .collect()
}

/// True when `src` checks without errors (warnings allowed).
fn no_errors(src: &str) -> bool {
    diags(src).iter().all(|d| d.0 != Severity::Error)
}

fn base_lines() -> usize {
    BASE.lines().count()
}

/// 1-based column of `needle` in `line`.
fn col(line: &str, needle: &str) -> usize {
    line.find(needle).expect("needle") + 1
}

/// The single error of `src`: message, line (1 = first line of `src`), column.
#[track_caller]
fn error(src: &str) -> (String, usize, usize, Vec<String>) {
    let d: Vec<_> = diags(src)
        .into_iter()
        .filter(|d| d.0 == Severity::Error)
        .collect();
    assert_eq!(d.len(), 1, "expected exactly one error, got {d:#?}");
    let (_, m, l, c, n) = d.into_iter().next().unwrap();
    (m, l - base_lines(), c, n)
}

#[test]
fn syntax_error_expected_token() {
    let (m, l, c, n) = error("allow request client -> echo Echo.ping wher a;");
    assert_eq!((m.as_str(), l, c), ("expected `;`, found `wher`", 1, 40));
    assert!(n.contains(&"help: did you mean `where`?".to_string()));
}

#[test]
fn syntax_error_bad_character_and_recovery() {
    let (m, l, c, _) = error("allow request client -> echo Echo.ping where a @ 1;");
    assert_eq!((m.as_str(), l, c), ("unexpected character `@`", 1, 48));
    // Recovery: two broken rules give two errors.
    let d = diags("allow request client > echo Echo.*;\nallow respons echo -> client;\n");
    let msgs: Vec<_> = d
        .iter()
        .map(|x| (x.1.as_str(), x.2 - base_lines()))
        .collect();
    assert_eq!(
        msgs,
        [
            ("expected `->`, found `>`", 1),
            (
                "expected `request`, `response` or `execute`, found `respons`",
                2
            )
        ]
    );
}

#[test]
fn integer_literal_too_large() {
    let (m, l, c, _) = error(
        "allow request client -> echo Echo.ping where a < 999999999999999999999999999999999999999999;",
    );
    assert_eq!((m.as_str(), l, c), ("integer literal is too large", 1, 50));
}

#[test]
fn unknown_context() {
    let (m, l, c, n) = error("allow request clint -> echo Echo.ping;");
    assert_eq!((m.as_str(), l, c), ("unknown context `clint`", 1, 15));
    assert_eq!(n[0], "help: did you mean `client`?");
}

#[test]
fn unknown_interface() {
    let (m, l, c, n) = error("allow request client -> echo Ecoh.ping;");
    assert_eq!((m.as_str(), l, c), ("unknown interface `Ecoh`", 1, 30));
    assert_eq!(n[0], "help: did you mean `Echo`?");
}

#[test]
fn unknown_interface_case_only() {
    let (_, _, _, n) = error("allow request client -> echo echo.ping;");
    assert_eq!(n[0], "help: did you mean `Echo`?");
}

#[test]
fn unknown_method() {
    let (m, l, c, n) = error("allow request client -> echo Echo.pong;");
    assert_eq!(
        (m.as_str(), l, c),
        ("interface `Echo` has no method `pong`", 1, 35)
    );
    assert_eq!(n[0], "help: did you mean `ping`?");
}

#[test]
fn unknown_field() {
    let (m, l, c, n) = error("allow request client -> echo Echo.slow where msx < 10;");
    assert_eq!((m.as_str(), l, c), ("unknown field `msx`", 1, 46));
    assert_eq!(
        n,
        [
            "help: did you mean `ms`?",
            "note: the request `Echo.slow` has the fields `ms`"
        ]
    );
}

#[test]
fn response_fields_are_results() {
    // `ms` is an argument of slow, not a result.
    let (m, _, _, n) = error("allow response echo -> client Echo.slow where ms < 10;");
    assert_eq!(m, "unknown field `ms`");
    assert_eq!(n, ["note: the response `Echo.slow` has no fields"]);
    assert!(no_errors(
        "allow response echo -> client Echo.who where cpu < 4;"
    ));
}

#[test]
fn literal_out_of_range() {
    let (m, l, c, _) = error("allow request client -> echo Echo.slow where ms <= 4294967296;");
    assert_eq!(
        (m.as_str(), l, c),
        ("literal `4294967296` is out of range for `ms`", 1, 52)
    );
    let (m, _, _, _) = error("allow request client -> echo Echo.level where v > -129;");
    assert_eq!(m, "literal `-129` is out of range for `v`");
    assert!(no_errors(
        "allow request client -> echo Echo.level where v > -128 and v in -5..=127;"
    ));
    // An exclusive bound may be one past the maximum.
    assert!(no_errors(
        "allow request client -> echo Echo.slow where ms in 0..4294967296;"
    ));
}

#[test]
fn literal_wrong_type() {
    let (m, l, c, _) = error("allow request client -> echo Echo.level where on == 1;");
    assert_eq!((m.as_str(), l, c), ("expected a boolean, found `1`", 1, 53));
    let (m, _, _, _) = error("allow request client -> echo Echo.level where v == true;");
    assert_eq!(m, "expected an integer, found `true`");
    let (m, _, _, _) = error("allow request client -> echo Echo.level where on < true;");
    assert_eq!(m, "`<` cannot order booleans");
    let (m, _, _, _) = error("allow request client -> echo Echo.level where v;");
    assert_eq!(m, "`v` is not a boolean field");
    assert!(no_errors(
        "allow request client -> echo Echo.level where on and not v in 1..3;"
    ));
}

#[test]
fn empty_range() {
    let (m, l, c, _) = error("allow request client -> echo Echo.slow where ms in 5..5;");
    assert_eq!((m.as_str(), l, c), ("this range is empty", 1, 46));
}

#[test]
fn predicate_needs_one_method() {
    let (m, l, c, _) = error("allow request client -> echo Echo.* where a < 1;");
    assert_eq!(
        (m.as_str(), l, c),
        ("field predicates need a single method", 1, 43)
    );
}

#[test]
fn predicates_on_execute() {
    let (m, l, c, _) = error("allow execute kernel -> echo where a < 1;");
    assert_eq!(
        (m.as_str(), l, c),
        ("predicates on execute events make no sense", 1, 36)
    );
    let (m, _, _, _) = error("allow execute kernel -> echo Echo.ping;");
    assert_eq!(m, "execute events select no interface");
}

#[test]
fn kernel_interface_served_elsewhere() {
    let (m, l, c, _) = error("allow request client -> echo Memory.map;");
    assert_eq!(
        (m.as_str(), l, c),
        ("`Memory` is a kernel interface", 1, 30)
    );
    let (m, _, _, _) = error("allow request client -> kernel Echo.ping;");
    assert_eq!(m, "the kernel does not serve `Echo`");
    assert!(no_errors(
        "allow request client -> kernel Memory.map where prot <= 3;"
    ));
}

const FSM: &str = "machine file {\n    states closed, open;\n    open: closed -> open;\n    close: open -> closed;\n}\n";

#[test]
fn unknown_machine_state_transition() {
    let r = "allow request client -> fs Files.read if fiel in open;";
    let (m, l, c, n) = error(&format!("{FSM}{r}"));
    assert_eq!(
        (m.as_str(), l, c),
        ("unknown machine `fiel`", 6, col(r, "fiel"))
    );
    assert_eq!(n[0], "help: did you mean `file`?");
    let r = "allow request client -> fs Files.read if file in opne;";
    let (m, l, c, _) = error(&format!("{FSM}{r}"));
    assert_eq!(
        (m.as_str(), l, c),
        ("machine `file` has no state `opne`", 6, col(r, "opne"))
    );
    let r = "allow request client -> fs Files.open then file.opn;";
    let (m, l, c, n) = error(&format!("{FSM}{r}"));
    assert_eq!(
        (m.as_str(), l, c),
        ("machine `file` has no transition `opn`", 6, col(r, "opn"))
    );
    assert_eq!(n[0], "help: did you mean `open`?");
}

#[test]
fn duplicate_state_and_transition() {
    let (m, l, c, _) = error("machine m { states a, b, a; t: a -> b; }");
    assert_eq!((m.as_str(), l, c), ("duplicate state `a`", 1, 26));
    let (m, l, c, _) = error("machine m { states a, b; t: a -> b; t: b -> a; }");
    assert_eq!((m.as_str(), l, c), ("duplicate transition `t`", 1, 37));
    let (m, _, _, _) = error("machine m { states a; t: a -> z; }");
    assert_eq!(m, "machine `m` has no state `z`");
}

#[test]
fn transition_from_unreachable_state() {
    let (m, l, c, n) =
        error("machine m {\n    states a, b, c;\n    go: a -> b;\n    back: c -> a;\n}");
    assert_eq!(
        (m.as_str(), l, c),
        (
            "transition `back` starts from state `c`, which can never be reached",
            4,
            11
        )
    );
    assert_eq!(
        n,
        ["note: no chain of transitions leads from the initial state `a` to `c`"]
    );
}

#[test]
fn deny_rule_restrictions() {
    let (m, l, c, _) = error(&format!(
        "{FSM}deny request client -> fs Files.open then file.open;"
    ));
    assert_eq!(
        (m.as_str(), l, c),
        ("deny rules cannot fire transitions", 6, 43)
    );
    let (m, l, c, _) = error("deny request client -> echo Echo.done no audit;");
    assert_eq!((m.as_str(), l, c), ("denials are always audited", 1, 39));
}

#[test]
fn audit_default_twice() {
    let (m, l, c, _) = error("audit all;\naudit denials;");
    assert_eq!((m.as_str(), l, c), ("the audit default is set twice", 2, 1));
}

#[test]
fn channel_without_rule_fails_the_build() {
    let c = policy::check(
        "allow request client -> echo Echo.*;",
        &ifaces(),
        &solution(),
    );
    assert!(c.tables.is_none());
    let d: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        d,
        ["channel `client -> fs` has no rule allowing any request from `client` to `fs`"]
    );
    // A wildcard rule satisfies every channel; a deny never does.
    assert!(
        policy::check("allow request * -> * *;", &ifaces(), &solution())
            .tables
            .is_some()
    );
    let c = policy::check(
        "deny request client -> * *;allow request client -> echo Echo.ping;",
        &ifaces(),
        &solution(),
    );
    assert!(c.tables.is_none());
}

#[test]
fn shadowed_rules_warn() {
    let d = diags(
        "deny request client -> echo Echo.who;\nallow request client -> echo Echo.who;\nallow request client -> fs Files.close;",
    );
    let w: Vec<_> = d
        .iter()
        .filter(|d| d.0 == Severity::Warning)
        .map(|d| (d.1.as_str(), d.2 - base_lines()))
        .collect();
    // Echo.who is denied by the static deny; Files.close is decided by BASE's Files.*.
    let m = "this rule can never decide anything";
    assert_eq!(w, [(m, 2), (m, 3)]);
}

#[test]
fn snapshot_unknown_interface() {
    let src = "allow request client -> echo Ecoh.ping;\n";
    let sol = policy::Solution {
        programs: vec!["client".into(), "echo".into()],
        channels: vec![],
    };
    let e = policy::compile("demo.policy", src, &ifaces(), &sol).unwrap_err();
    assert_eq!(
        e,
        "\
error: unknown interface `Ecoh`
  --> demo.policy:1:30
  |
1 | allow request client -> echo Ecoh.ping;
  |                              ^^^^ no interface file or kernel interface has this name
  |
  = help: did you mean `Echo`?

error: could not compile `demo.policy` due to 1 previous error
"
    );
}

#[test]
fn snapshot_unreachable_transition_and_channel() {
    let src = "machine m {\n    states a, b;\n    t: b -> a;\n}\n";
    let e = policy::compile("m.policy", src, &ifaces(), &solution()).unwrap_err();
    assert_eq!(
        e,
        "\
error: transition `t` starts from state `b`, which can never be reached
  --> m.policy:3:8
  |
3 |     t: b -> a;
  |        ^ unreachable state
  |
  = note: no chain of transitions leads from the initial state `a` to `b`

error: could not compile `m.policy` due to 1 previous error
"
    );
    let src = "allow request client -> echo *;\nallow response echo -> client *;";
    let e = policy::compile("c.policy", src, &ifaces(), &solution()).unwrap_err();
    assert_eq!(
        e,
        "\
error: channel `client -> fs` has no rule allowing any request from `client` to `fs`
 = note: the solution declares this channel, so the policy must allow something over it
 = help: add a rule such as `allow request client -> fs Iface.method;`

error: could not compile `c.policy` due to 1 previous error
"
    );
}

#[test]
fn negated_range_and_clause_order() {
    assert!(no_errors(
        "allow request client -> echo Echo.level where v not in -5..0;"
    ));
    let (m, l, c, _) = error("allow request client -> echo Echo.slow where ms < 3 where ms > 1;");
    assert_eq!((m.as_str(), l, c), ("a second `where` clause", 1, 53));
}
