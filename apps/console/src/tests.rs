use crate::command::{self, Command, ParseError, Target, parse};
use crate::editor::{Edit, LineEditor, MAX_HISTORY, MAX_LINE, code};
use crate::report;
use crate::scrollback::{Scrollback, Style};
use abi::audit::{Kind, Record};
use proptest::prelude::*;

fn typed(e: &mut LineEditor, s: &str) {
    for c in s.chars() {
        e.apply(Edit::Insert(c));
    }
}

fn enter(e: &mut LineEditor) -> String {
    e.apply(Edit::Enter).0.expect("Enter returns the line")
}

#[test]
fn key_codes_map_to_edits() {
    assert_eq!(Edit::from_key_code(u32::from('a')), Some(Edit::Insert('a')));
    assert_eq!(Edit::from_key_code(u32::from(' ')), Some(Edit::Insert(' ')));
    assert_eq!(Edit::from_key_code(u32::from('~')), Some(Edit::Insert('~')));
    assert_eq!(Edit::from_key_code(0x08), Some(Edit::Backspace));
    assert_eq!(Edit::from_key_code(u32::from('\n')), Some(Edit::Enter));
    assert_eq!(Edit::from_key_code(code::LEFT), Some(Edit::Left));
    assert_eq!(Edit::from_key_code(code::RIGHT), Some(Edit::Right));
    assert_eq!(Edit::from_key_code(code::UP), Some(Edit::Up));
    assert_eq!(Edit::from_key_code(code::DOWN), Some(Edit::Down));
    assert_eq!(Edit::from_key_code(code::HOME), Some(Edit::Home));
    assert_eq!(Edit::from_key_code(code::END), Some(Edit::End));
    assert_eq!(Edit::from_key_code(code::DELETE), Some(Edit::Delete));
    // Tab, Esc, other control characters, non-ASCII, unknown keys.
    for ignored in [0x09, 0x1b, 0x00, 0x7e + 2, u32::from('é'), 0x1_0000 + 59] {
        assert_eq!(Edit::from_key_code(ignored), None, "{ignored:#x}");
    }
}

#[test]
fn insert_backspace_and_cursor_moves() {
    let mut e = LineEditor::new();
    typed(&mut e, "pz");
    assert_eq!(e.apply(Edit::Backspace), (None, true));
    typed(&mut e, "s");
    assert_eq!((e.line(), e.cursor()), ("ps", 2));
    // Insert in the middle: "pxs".
    e.apply(Edit::Left);
    typed(&mut e, "x");
    assert_eq!((e.line(), e.cursor()), ("pxs", 2));
    e.apply(Edit::Home);
    assert_eq!(e.apply(Edit::Left), (None, false), "nothing left of 0");
    assert_eq!(e.apply(Edit::Backspace), (None, false));
    e.apply(Edit::Delete);
    assert_eq!((e.line(), e.cursor()), ("xs", 0));
    e.apply(Edit::End);
    assert_eq!(
        e.apply(Edit::Right),
        (None, false),
        "nothing right of the end"
    );
    assert_eq!(e.apply(Edit::Delete), (None, false));
    assert_eq!(enter(&mut e), "xs");
    assert_eq!((e.line(), e.cursor()), ("", 0));
}

#[test]
fn the_line_is_bounded_and_ascii() {
    let mut e = LineEditor::new();
    for _ in 0..MAX_LINE + 50 {
        e.apply(Edit::Insert('a'));
    }
    assert_eq!(e.line().len(), MAX_LINE);
    assert_eq!(e.apply(Edit::Insert('b')), (None, false));
    let mut e = LineEditor::new();
    for c in ['\n', '\u{7f}', 'é', '\u{1b}'] {
        assert_eq!(e.apply(Edit::Insert(c)), (None, false), "{c:?}");
    }
    assert_eq!(e.line(), "");
}

#[test]
fn history_walks_and_restores_the_typed_line() {
    let mut e = LineEditor::new();
    typed(&mut e, "ps");
    enter(&mut e);
    typed(&mut e, "  ");
    assert_eq!(enter(&mut e), "  ", "blank lines run but are not kept");
    typed(&mut e, "cpu");
    enter(&mut e);
    typed(&mut e, "cpu");
    enter(&mut e);
    assert_eq!(e.history().collect::<Vec<_>>(), ["ps", "cpu"], "no repeats");
    typed(&mut e, "me");
    assert_eq!(e.apply(Edit::Up), (None, true));
    assert_eq!((e.line(), e.cursor()), ("cpu", 3));
    e.apply(Edit::Up);
    assert_eq!(e.line(), "ps");
    assert_eq!(e.apply(Edit::Up), (None, false), "no older entry");
    e.apply(Edit::Down);
    assert_eq!(e.line(), "cpu");
    e.apply(Edit::Down);
    assert_eq!((e.line(), e.cursor()), ("me", 2), "back to the typed line");
    assert_eq!(e.apply(Edit::Down), (None, false));
    // An edited recall is a new line: Down no longer restores "me".
    e.apply(Edit::Up);
    typed(&mut e, " 2");
    assert_eq!(e.apply(Edit::Down), (None, false));
    assert_eq!(enter(&mut e), "cpu 2");
    assert_eq!(e.history().last(), Some("cpu 2"));
}

#[test]
fn history_is_bounded() {
    let mut e = LineEditor::new();
    for i in 0..MAX_HISTORY + 10 {
        typed(&mut e, &format!("echo {i}"));
        enter(&mut e);
    }
    let h: Vec<_> = e.history().collect();
    assert_eq!(h.len(), MAX_HISTORY);
    assert_eq!(h[0], "echo 10");
}

#[test]
fn the_view_keeps_the_cursor_visible() {
    let mut e = LineEditor::new();
    typed(&mut e, "abcdefghij");
    assert_eq!(e.view(20), ("abcdefghij", 10));
    assert_eq!(e.view(5), ("ghij", 4), "room for the cursor past the end");
    e.apply(Edit::Home);
    assert_eq!(e.view(5), ("abcde", 0));
    e.apply(Edit::Right);
    e.apply(Edit::Right);
    assert_eq!(e.view(0), ("c", 0));
}

proptest! {
    #[test]
    fn any_keys_keep_the_editor_consistent(keys in prop::collection::vec(0u32..0x1_0080, 0..400)) {
        let mut e = LineEditor::new();
        for k in keys {
            if let Some(edit) = Edit::from_key_code(k) {
                e.apply(edit);
            }
            prop_assert!(e.line().len() <= MAX_LINE);
            prop_assert!(e.cursor() <= e.line().len());
            prop_assert!(e.line().bytes().all(|b| (0x20..=0x7e).contains(&b)));
            prop_assert!(e.history().count() <= MAX_HISTORY);
            let (shown, col) = e.view(55);
            prop_assert!(shown.len() <= 55 && col < 55);
        }
    }
}

#[test]
fn scrollback_wraps_and_keeps_the_last_rows() {
    let mut s = Scrollback::new(3, 4);
    assert!(s.is_empty());
    s.push("abcdefghij", Style::Output);
    let rows: Vec<_> = s.rows().map(|(r, _)| r).collect();
    assert_eq!(rows, ["abcd", "efgh", "ij"]);
    s.push("", Style::Command);
    s.push("x\u{7}é", Style::Error);
    let rows: Vec<_> = s.rows().collect();
    assert_eq!(
        rows,
        [
            ("ij", Style::Output),
            ("", Style::Command),
            ("x??", Style::Error)
        ]
    );
    s.clear();
    assert_eq!(s.len(), 0);
}

#[test]
fn commands_parse() {
    assert_eq!(parse("   "), Ok(Command::Nothing));
    assert_eq!(parse("help"), Ok(Command::Help));
    assert_eq!(parse(" ps "), Ok(Command::Ps));
    assert_eq!(parse("cpu"), Ok(Command::Cpu));
    assert_eq!(parse("mem"), Ok(Command::Mem));
    assert_eq!(parse("clear"), Ok(Command::Clear));
    assert_eq!(parse("audit"), Ok(Command::Audit(command::AUDIT_DEFAULT)));
    assert_eq!(parse("audit 3"), Ok(Command::Audit(3)));
    assert_eq!(parse("bench"), Ok(Command::Bench(command::BENCH_DEFAULT)));
    assert_eq!(parse("bench  50"), Ok(Command::Bench(50)));
    assert_eq!(parse("start hello"), Ok(Command::Start("hello".into())));
    assert_eq!(parse("stop 7"), Ok(Command::Stop(Target::Id(7))));
    assert_eq!(
        parse("stop hello-1"),
        Ok(Command::Stop(Target::Label("hello-1".into())))
    );
    assert_eq!(
        parse("stop 99999999999999999999"),
        Ok(Command::Stop(Target::Label("99999999999999999999".into())))
    );
    assert_eq!(parse("echo  a  b "), Ok(Command::Echo(" a  b".into())));
    assert_eq!(parse("echo"), Ok(Command::Echo(String::new())));
}

#[test]
fn bad_command_lines_say_why() {
    let msg = |line: &str| parse(line).unwrap_err().to_string();
    assert_eq!(msg("sl"), "sl: unknown command (try 'help')");
    assert_eq!(msg("echoes"), "echoes: unknown command (try 'help')");
    assert_eq!(msg("start"), "start: missing program name");
    assert_eq!(msg("stop"), "stop: missing domain id or label");
    assert_eq!(msg("ps aux"), "ps: too many arguments");
    assert_eq!(msg("start a b"), "start: too many arguments");
    assert_eq!(msg("audit x"), "audit: bad number 'x' (1..=64)");
    assert_eq!(msg("audit 0"), "audit: bad number '0' (1..=64)");
    assert_eq!(msg("audit 65"), "audit: bad number '65' (1..=64)");
    assert_eq!(msg("audit -1"), "audit: bad number '-1' (1..=64)");
    assert_eq!(msg("bench 20001"), "bench: bad number '20001' (1..=20000)");
    assert!(matches!(
        parse("bench 99999999999999999999999"),
        Err(ParseError::BadNumber { .. })
    ));
}

proptest! {
    #[test]
    fn parsing_never_panics_and_bounds_counts(line in "[ -~]{0,130}") {
        match parse(&line) {
            Ok(Command::Audit(n)) => prop_assert!((1..=command::AUDIT_MAX).contains(&n)),
            Ok(Command::Bench(n)) => prop_assert!((1..=command::BENCH_MAX).contains(&n)),
            _ => {}
        }
    }
}

#[test]
fn sizes_and_rates() {
    assert_eq!(report::size(0), "0 B");
    assert_eq!(report::size(1023), "1023 B");
    assert_eq!(report::size(1024), "1 KiB");
    assert_eq!(report::size(10 * 1024 * 1024 - 1), "10239 KiB");
    assert_eq!(report::size(10 * 1024 * 1024 + 512 * 1024), "10.5 MiB");
    assert_eq!(report::busy_pct(100, 100, 1000), 100);
    assert_eq!(report::busy_pct(100, 850, 1000), 25);
    assert_eq!(
        report::busy_pct(0, 5000, 1000),
        0,
        "idle beyond the interval"
    );
    assert_eq!(
        report::busy_pct(500, 100, 1000),
        100,
        "a counter that went back"
    );
    assert_eq!(report::busy_pct(0, 0, 0), 0);
    assert_eq!(report::per_s(50, 250_000_000), 200);
    assert_eq!(report::per_s(5, 0), 0);
    assert_eq!(report::median(&mut []), 0);
    assert_eq!(report::median(&mut [5, 1, 9]), 5);
    assert_eq!(report::median(&mut [4, 1, 9, 7]), 7);
}

#[test]
fn kernel_methods_and_audit_records_in_words() {
    use abi::iface;
    assert_eq!(
        report::method_name(iface::TASK, abi::task::LIST),
        "Task.list"
    );
    assert_eq!(
        report::method_name(iface::STATS, abi::stats::CPU),
        "Stats.cpu"
    );
    assert_eq!(
        report::method_name(iface::AUDIT, abi::audit::READ),
        "Audit.read"
    );
    assert_eq!(report::method_name(0x200, 3), "iface 0x200 method 3");
    assert_eq!(report::method_name(iface::TASK, 63), "iface 0x2 method 63");
    let r = Record {
        seq: 12,
        time_ns: 3_140_500_000,
        kind: Kind::Request,
        allowed: false,
        malformed: false,
        src: 4,
        dst: 0,
        iface: iface::AUDIT,
        method: abi::audit::READ,
        rule: u16::MAX,
    };
    assert_eq!(
        report::record(&r),
        "#12 3.140s DENY ctx4->ctx0 request Audit.read rule -"
    );
    let r = Record {
        kind: Kind::Execute,
        allowed: true,
        iface: 0,
        method: 0,
        rule: 7,
        ..r
    };
    assert_eq!(
        report::record(&r),
        "#12 3.140s allow ctx4->ctx0 execute rule 7"
    );
}
