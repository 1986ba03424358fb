//! Every diagnostic the interface-file parser and checker can give: its
//! message, the text its span covers, and its hint.

use idl::Diagnostic;

/// Parses `src` and expects exactly one error.
fn one(src: &str) -> Diagnostic {
    let errors = idl::parse("t.idl", src).expect_err("should fail");
    assert_eq!(errors.len(), 1, "{}", idl::render_all(&errors, src));
    errors.into_iter().next().unwrap()
}

/// Expects exactly one error with this message, over this text, with a hint
/// containing `hint`.
#[track_caller]
fn check(src: &str, message: &str, covers: &str, hint: &str) {
    let d = one(src);
    assert_eq!(d.message, message, "{}", d.render(src));
    assert_eq!(&src[d.span.clone()], covers, "{}", d.render(src));
    let h = d.hint.clone().unwrap_or_default();
    assert!(
        h.contains(hint),
        "hint {h:?} lacks {hint:?}\n{}",
        d.render(src)
    );
    assert_eq!(d.file, "t.idl");
}

/// A valid method line, for wrapping tests of one method.
fn iface(body: &str) -> String {
    format!("interface E = 0x100 {{\n    {body}\n}}\n")
}

// ---------------------------------------------------------------- lexical

#[test]
fn lexical_errors() {
    check(
        &iface("method m(a: u8[]) = 1;"),
        "unexpected characters `[]`",
        "[]",
        "scalar",
    );
    check(
        &iface("method m(a: &u8) = 1;"),
        "unexpected character `&`",
        "&",
        "scalar",
    );
    check(
        &iface("method m(a: u8) = 1; $"),
        "unexpected character `$`",
        "$",
        "",
    );
    check(
        &iface("method m(a: u8) = 1; ü"),
        "name `ü` is not ASCII",
        "ü",
        "ASCII letters",
    );
    check(
        "interface E = 0x100 { method m() = 1; } /",
        "unexpected character `/`",
        "/",
        "`//`",
    );
    check(
        &iface("method m() - (a: u8) = 1;"),
        "unexpected character `-`",
        "-",
        "`->`",
    );
    check(
        &iface("method m(a: u8) = \"1\";"),
        "interface files have no string literals",
        "\"1\"",
        "bare",
    );
    check(
        &iface("/* no */ method m() = 1;"),
        "block comments are not supported",
        "/*",
        "`//`",
    );
    check(
        "interface E = 0x { method m() = 1; }",
        "number `0x` has no digits",
        "0x",
        "0x100",
    );
    check(
        "interface E = 1f0 { method m() = 1; }",
        "invalid digit `f` in decimal number `1f0`",
        "1f0",
        "start with `0x`",
    );
    check(
        "interface E = 0x1g0 { method m() = 1; }",
        "invalid digit `g` in hexadecimal number `0x1g0`",
        "0x1g0",
        "",
    );
    check(
        "interface E = 0x1_0000_0000_0000_0000 { method m() = 1; }",
        "number `0x1_0000_0000_0000_0000` is too large",
        "0x1_0000_0000_0000_0000",
        "0xffff",
    );
}

// ---------------------------------------------------------------- syntax

#[test]
fn syntax_errors_in_the_interface_header() {
    let hint = "interface Name = 0x100";
    check(
        "method m() = 1;",
        "expected `interface`, found `method`",
        "method",
        hint,
    );
    check(
        "interface = 0x100 {}",
        "expected an interface name, found `=`",
        "=",
        "",
    );
    check(
        "interface E 0x100 {}",
        "expected `=`, found number `256`",
        "0x100",
        "= 0x100 {",
    );
    check(
        "interface E = F {}",
        "expected an interface id, found `F`",
        "F",
        "= 0x100 {",
    );
    check(
        "interface E = 0x100 method",
        "expected `{`, found `method`",
        "method",
        "",
    );
    check(
        "interface E = 0x100",
        "expected `{`, found end of file",
        "",
        "",
    );
}

#[test]
fn syntax_errors_in_the_interface_body() {
    let src = "interface E = 0x100 { method m() = 1; fn x() = 2; }";
    check(
        src,
        "expected `method` or `}`, found `fn`",
        "fn",
        "lacks `method`",
    );
    let src = "interface E = 0x100 { method m() = 1;";
    check(
        src,
        "expected `method` or `}`, found end of file",
        "",
        "not closed",
    );
}

#[test]
fn syntax_errors_in_methods() {
    let id_hint = "= 1;";
    check(
        &iface("method (a: u8) = 1;"),
        "expected a method name, found `(`",
        "(",
        "",
    );
    check(
        &iface("method m = 1;"),
        "expected `(`, found `=`",
        "=",
        "argument list",
    );
    check(
        &iface("method m(: u8) = 1;"),
        "expected argument name or `)`, found `:`",
        ":",
        "",
    );
    check(
        &iface("method m(a u8) = 1;"),
        "expected `:`, found `u8`",
        "u8",
        "`a: u64`",
    );
    check(
        &iface("method m(a: ) = 1;"),
        "expected a type, found `)`",
        ")",
        "u8 u16 u32 u64 i8",
    );
    check(
        &iface("method m(a: u8 b: u8) = 1;"),
        "expected `,` or `)`, found `b`",
        "b",
        "",
    );
    check(
        &iface("method m(a: u8) 1;"),
        "expected `->` or `=`, found number `1`",
        "1",
        id_hint,
    );
    check(
        &iface("method m() -> u8 = 1;"),
        "expected `(`, found `u8`",
        "u8",
        "in parentheses",
    );
    check(
        &iface("method m() -> (: u8) = 1;"),
        "expected result name or `)`, found `:`",
        ":",
        "",
    );
    check(
        &iface("method m() -> (a: u8);"),
        "expected `=`, found `;`",
        ";",
        id_hint,
    );
    check(
        &iface("method m() = ;"),
        "expected a method id, found `;`",
        ";",
        id_hint,
    );
    let src = iface("method m() = 1");
    check(&src, "expected `;`, found `}`", "", "ends with `;`");
    assert_eq!(
        one(&src).line_col(&src),
        (2, 19),
        "right after the id, as rustc does"
    );
}

#[test]
fn unknown_types() {
    check(
        &iface("method m(a: u128) = 1;"),
        "unknown type `u128`",
        "u128",
        "u8 u16 u32 u64 i8 i16 i32 i64 bool",
    );
    check(
        &iface("method m(a: U32) = 1;"),
        "unknown type `U32`",
        "U32",
        "did you mean `u32`?",
    );
    check(
        &iface("method m() -> (n: usize) = 1;"),
        "unknown type `usize`",
        "usize",
        "use u64 or i64",
    );
}

#[test]
fn misplaced_doc_comments() {
    let hint = "use `//` for a plain comment";
    let src = "interface E = 0x100 { method m() = 1; }\n/// orphan\n";
    check(
        src,
        "doc comment does not document an interface",
        "/// orphan",
        hint,
    );
    let src = "interface E = 0x100 { method m() = 1;\n/// orphan\n}";
    check(
        src,
        "doc comment does not document a method",
        "/// orphan",
        hint,
    );
    let src = &iface("method m(\n/// a\na: u8) = 1;");
    check(
        src,
        "expected argument name or `)`, found doc comment",
        "/// a",
        hint,
    );
}

#[test]
fn unclosed_interface_with_a_trailing_doc_reports_both() {
    let src = "interface E = 0x100 { method m() = 1;\n/// orphan";
    let errors = idl::parse("t.idl", src).unwrap_err();
    let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "doc comment does not document a method",
            "expected `method` or `}`, found end of file"
        ]
    );
}

// ---------------------------------------------------------------- checks

#[test]
fn interface_names() {
    check(
        "interface echo_srv = 0x100 { method m() = 1; }",
        "interface name `echo_srv` is not UpperCamelCase",
        "echo_srv",
        "write `EchoSrv`",
    );
    check(
        "interface _ = 0x100 { method m() = 1; }",
        "interface name `_` is not UpperCamelCase",
        "_",
        "start with an uppercase letter",
    );
    check(
        "interface Type = 0x100 { method m() = 1; }",
        "interface name `Type` generates the Rust module `type`, which is a Rust keyword",
        "Type",
        "rename",
    );
    check(
        "interface Rt = 0x100 { method m() = 1; }",
        "interface name `Rt` generates the Rust module `rt`, which would hide the `rt` crate the generated code uses",
        "Rt",
        "rename",
    );
}

#[test]
fn interface_ids_and_methods() {
    let range = "0x100..=0xffff";
    check(
        "interface E = 0x10 { method m() = 1; }",
        "interface id 0x10 is reserved for the kernel",
        "0x10",
        range,
    );
    check(
        "interface E = 255 { method m() = 1; }",
        "interface id 255 is reserved for the kernel",
        "255",
        range,
    );
    check(
        "interface E = 0x1_0000 { method m() = 1; }",
        "interface id 0x1_0000 does not fit in 16 bits",
        "0x1_0000",
        range,
    );
    check(
        "interface E = 0x100 {}",
        "interface `E` has no methods",
        "E",
        "add at least one",
    );
    assert!(idl::parse("t", "interface E = 0xffff { method m() = 0xfffe; }").is_ok());
}

#[test]
fn method_names_and_ids() {
    check(
        &iface("method Ping() = 1;"),
        "method name `Ping` is not snake_case",
        "Ping",
        "write `ping`",
    );
    check(
        &iface("method setMode() = 1;"),
        "method name `setMode` is not snake_case",
        "setMode",
        "write `set_mode`",
    );
    check(
        &iface("method x__() = 1;"),
        "method name `x__` is not snake_case",
        "x__",
        "write `x`",
    );
    check(
        &iface("method _() = 1;"),
        "method name `_` is not snake_case",
        "_",
        "e.g. `set_mode`",
    );
    check(
        &iface("method type() = 1;"),
        "method name `type` is a Rust keyword",
        "type",
        "choose another",
    );
    check(
        &iface("method m() = 0;"),
        "method id 0 is reserved",
        "0",
        "1..=0xfffe",
    );
    check(
        &iface("method m() = 0xffff;"),
        "method id 0xffff is reserved for error replies",
        "0xffff",
        "1..=0xfffe",
    );
    check(
        &iface("method m() = 65536;"),
        "method id 65536 does not fit in 16 bits",
        "65536",
        "1..=0xfffe",
    );
}

#[test]
fn method_duplicates() {
    let src = iface("method m() = 1;\n    method m() = 2;");
    let d = one(&src);
    assert_eq!(d.message, "method `m` is defined twice in `E`");
    assert_eq!(d.span.start, src.rfind("m()").unwrap());
    assert_eq!(
        d.hint.as_deref(),
        Some("the first definition is at t.idl:2:12")
    );

    check(
        &iface("method a() = 1; method b() = 0x1;"),
        "method id 0x1 is already used by `a`",
        "0x1",
        "`a` is at t.idl:2:18; each method needs its own id",
    );
    check(
        &iface("method a_1() = 1; method a1() = 2;"),
        "methods `a_1` and `a1` both generate the Rust name `A1`",
        "a1",
        "rename one of them",
    );
}

#[test]
fn argument_and_result_counts() {
    let src = iface("method m(a: u8, b: u8, c: u8, d: u8, e: u8, f: u16) = 1;");
    check(
        &src,
        "method `E.m` has 6 arguments, but a request carries at most 4 words",
        "e: u8, f: u16",
        "one register word",
    );
    let src = iface("method m() -> (a: u8, b: u8, c: u8, d: u8, e: bool) = 1;");
    check(
        &src,
        "method `E.m` has 5 results, but a reply carries at most 4 words",
        "e: bool",
        "out-of-line",
    );
    let four = iface("method m(a: u8, b: u8, c: u8, d: u8,) -> (a: u8, b: u8, c: u8, d: u8) = 1;");
    assert!(idl::parse("t", &four).is_ok());
    // An out-of-line argument takes no word.
    let five = iface("method m(a: u8, b: u8, data: bytes, c: u8, d: u8) = 1;");
    let parsed = idl::parse("t", &five).unwrap();
    let m = &parsed[0].methods[0];
    assert_eq!(m.args.len(), 4);
    assert_eq!(
        m.args_ool,
        Some(idl::OolField {
            name: "data".into(),
            kind: idl::OolKind::Bytes
        })
    );
}

#[test]
fn out_of_line_parts() {
    check(
        &iface("method m(a: bytes, b: handle) = 1;"),
        "`m` has a second out-of-line argument `b`; a message carries at most one",
        "handle",
        "`a` at t.idl:2:17 is the first",
    );
    check(
        &iface("method m() -> (data: bytes) = 1;"),
        "method `E.m` returns an out-of-line value; only arguments can be out of line",
        "bytes",
        "generated code does not yet",
    );
    check(
        &iface("method m(a: byte) = 1;"),
        "unknown type `byte`",
        "byte",
        "out of line: bytes handle memory",
    );
}

#[test]
fn field_names() {
    check(
        &iface("method m(A: u8) = 1;"),
        "argument name `A` is not snake_case",
        "A",
        "write `a`",
    );
    check(
        &iface("method m() -> (Count: u8) = 1;"),
        "result name `Count` is not snake_case",
        "Count",
        "write `count`",
    );
    check(
        &iface("method m(fn: u8) = 1;"),
        "argument name `fn` is a Rust keyword",
        "fn",
        "choose another",
    );
    check(
        &iface("method m() -> (self: u8) = 1;"),
        "result name `self` is a Rust keyword",
        "self",
        "",
    );
    check(
        &iface("method m(caller: u64) = 1;"),
        "argument name `caller` is reserved",
        "caller",
        "`&Caller`",
    );
    assert!(idl::parse("t", &iface("method m() -> (caller: u64) = 1;")).is_ok());
    check(
        &iface("method m(a: u8, a: u16) = 1;"),
        "argument `a` is declared twice in `m`",
        "a",
        "the first is at t.idl:2:14",
    );
    check(
        &iface("method m() -> (a: u8, a: u16) = 1;"),
        "result `a` is declared twice in `m`",
        "a",
        "",
    );
    // The same name as argument and result is fine (and common).
    assert!(idl::parse("t", &iface("method m(a: u8) -> (a: u8) = 1;")).is_ok());
}

#[test]
fn interface_duplicates_in_one_file() {
    let src = "interface E = 0x100 { method m() = 1; }\ninterface E = 0x101 { method m() = 1; }";
    let d = one(src);
    assert_eq!(d.message, "interface `E` is defined twice");
    assert_eq!(
        d.hint.as_deref(),
        Some("the first definition is at t.idl:1:11")
    );

    let src = "interface E = 0x100 { method m() = 1; }\ninterface F = 256 { method m() = 1; }";
    check(
        src,
        "interface id 0x100 is already used by `E`",
        "256",
        "`E` is at t.idl:1:15",
    );

    let src =
        "interface Ab1C = 0x100 { method m() = 1; }\ninterface AB1C = 0x101 { method m() = 1; }";
    check(
        src,
        "interfaces `Ab1C` and `AB1C` both generate the Rust module `ab1_c`",
        "AB1C",
        "rename one",
    );
}

// ---------------------------------------------------------------- files

#[test]
fn cross_file_duplicates_point_at_the_other_file() {
    let files = vec![
        (
            "a.idl".to_string(),
            "interface E = 0x100 { method m() = 1; }".to_string(),
        ),
        (
            "b.idl".to_string(),
            "// b\ninterface E = 0x200 { method m() = 1; }".to_string(),
        ),
        (
            "c.idl".to_string(),
            "interface F = 0x200 { method m() = 1; }".to_string(),
        ),
    ];
    let errors = idl::load(&files).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].file, "b.idl");
    assert_eq!(errors[0].message, "interface `E` is defined twice");
    assert_eq!(
        errors[0].hint.as_deref(),
        Some("the first definition is at a.idl:1:11")
    );
    assert_eq!(errors[1].file, "c.idl");
    assert_eq!(
        errors[1].message,
        "interface id 0x200 is already used by `E`"
    );
    assert!(errors[1].hint.as_deref().unwrap().contains("b.idl:2:15"));

    let ok = vec![
        (
            "a.idl".to_string(),
            "interface A = 0x100 { method m() = 1; }".to_string(),
        ),
        (
            "b.idl".to_string(),
            "interface B = 0x101 { method m() = 1; }".to_string(),
        ),
    ];
    let ifaces = idl::load(&ok).unwrap();
    assert_eq!(
        ifaces.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
        ["A", "B"]
    );
}

#[test]
fn errors_in_several_files_are_all_reported() {
    let files = vec![
        (
            "a.idl".to_string(),
            "interface A = 1 { method m() = 1; }".to_string(),
        ),
        (
            "b.idl".to_string(),
            "interface B = 0x101 { method m() = 0; }".to_string(),
        ),
    ];
    let errors = idl::load(&files).unwrap_err();
    let got: Vec<(&str, &str)> = errors
        .iter()
        .map(|d| (d.file.as_str(), d.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("a.idl", "interface id 1 is reserved for the kernel"),
            ("b.idl", "method id 0 is reserved")
        ]
    );
}

// ---------------------------------------------------------------- recovery

#[test]
fn recovery_reports_every_mistake_once() {
    let src = "\
interface E = 0x100 {
    method a(x: u8 = 1;
    method b() = 0;
    method c(y: u99) = 3;
    method d() = 0xfffff;
}
interface 2 = 0x101 { method m() = 1; }
interface F = 0x10 { method m() = 1; }
";
    let errors = idl::parse("t.idl", src).unwrap_err();
    let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "expected `,` or `)`, found `=`",
            "method id 0 is reserved",
            "unknown type `u99`",
            "method id 0xfffff does not fit in 16 bits",
            "expected an interface name, found number `2`",
            "interface id 0x10 is reserved for the kernel",
        ],
        "{}",
        idl::render_all(&errors, src)
    );
    // Spans are in order and line numbers are right.
    let lines: Vec<usize> = errors.iter().map(|d| d.line_col(src).0).collect();
    assert_eq!(lines, [2, 3, 4, 5, 7, 8]);
}

#[test]
fn a_bad_number_is_one_error_not_two() {
    let src = "interface E = 0xzz { method m() = 1; }";
    let errors = idl::parse("t.idl", src).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let src = &iface("method m() = 12q;");
    assert_eq!(idl::parse("t.idl", src).unwrap_err().len(), 1);
}

// ---------------------------------------------------------------- rendering

#[test]
fn rendering_is_rustc_style() {
    let src =
        "// Über-service: ∑ of everything\n/// Doc\ninterface Über = 0x100 { method m() = 1; }\n";
    let d = one(src);
    assert_eq!(
        d.render(src),
        "error: name `Über` is not ASCII\n \
         --> t.idl:3:11\n  \
         |\n\
         3 | interface Über = 0x100 { method m() = 1; }\n  \
         |           ^^^^\n  \
         |\n  \
         = hint: names use ASCII letters, digits and `_`\n"
    );
}

#[test]
fn rendering_a_multibyte_line_puts_the_caret_under_the_span() {
    let src = "interface E = 0x100 { /* ünïcödé */ method m() = 0; }";
    let errors = idl::parse("t.idl", src).unwrap_err();
    let out = idl::render_all(&errors, src);
    assert!(out.contains(" --> t.idl:1:23\n"), "{out}");
    // The `0` of `= 0;` is the line's 50th character (and 56th byte).
    assert!(out.contains(" --> t.idl:1:50\n"), "{out}");
    let caret_line = out.lines().filter(|l| l.contains('^')).nth(1).unwrap();
    assert_eq!(caret_line.find('^').unwrap() - "  | ".len(), 49, "{out}");
}
