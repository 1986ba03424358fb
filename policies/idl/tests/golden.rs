//! Snapshot tests of the Rust generator.
//!
//! `tests/golden/echo.rs` is generated from the solution's own
//! `policies/interfaces/echo.idl`, `tests/golden/kitchen.rs` from the
//! test-only `tests/golden/kitchen.idl`. After an intended change to the
//! generator or to those files, rewrite the snapshots with
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test -p tessera-idl --test golden
//! ```
//!
//! and review the diff. `tests/roundtrip.rs` compiles and runs the snapshots.

use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate(idl: &Path) -> String {
    let src = std::fs::read_to_string(idl).unwrap();
    let name = idl.display().to_string();
    match idl::parse(&name, &src) {
        Ok(ifaces) => idl::generate_rust(&ifaces),
        Err(errors) => panic!("{}", idl::render_all(&errors, &src)),
    }
}

fn check_golden(idl: &Path, golden: &str) {
    let out = generate(idl);
    let path = crate_dir().join("tests/golden").join(golden);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, &out).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == out,
        "{} is out of date; rerun with UPDATE_GOLDEN=1 and review the diff",
        path.display()
    );
}

#[test]
fn echo_matches_golden() {
    check_golden(&crate_dir().join("../interfaces/echo.idl"), "echo.rs");
}

#[test]
fn kitchen_matches_golden() {
    check_golden(&crate_dir().join("tests/golden/kitchen.idl"), "kitchen.rs");
}

/// Generated code runs in `no_std` user programs and must stay safe.
#[test]
fn generated_code_is_no_std_and_safe() {
    for golden in ["echo.rs", "kitchen.rs"] {
        let text = std::fs::read_to_string(crate_dir().join("tests/golden").join(golden)).unwrap();
        for banned in [
            "unsafe",
            "std::",
            "alloc::",
            "extern crate",
            "unwrap",
            "panic!",
        ] {
            assert!(!text.contains(banned), "{golden} contains `{banned}`");
        }
    }
}

/// The generator lays code out the way rustfmt does. Skipped (with a note)
/// where rustfmt is not installed.
#[test]
fn golden_files_are_rustfmt_clean() {
    for golden in ["echo.rs", "kitchen.rs"] {
        let path = crate_dir().join("tests/golden").join(golden);
        let status = std::process::Command::new("rustfmt")
            .args(["--edition", "2024", "--check"])
            .arg(&path)
            .status();
        match status {
            Ok(s) => assert!(s.success(), "{golden} is not rustfmt-clean"),
            Err(e) => eprintln!("skipping the rustfmt check: {e}"),
        }
    }
}

/// Every interface file of the solution loads, together.
#[test]
fn solution_interfaces_load() {
    let dir = crate_dir().join("../interfaces");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "idl") {
            let src = std::fs::read_to_string(&path).unwrap();
            files.push((path.display().to_string(), src));
        }
    }
    files.sort();
    assert!(!files.is_empty());
    match idl::load(&files) {
        Ok(ifaces) => assert!(ifaces.iter().any(|i| i.name == "Echo" && i.id == 0x100)),
        Err(errors) => {
            let text: Vec<String> = errors
                .iter()
                .map(|d| {
                    let src = &files.iter().find(|(f, _)| *f == d.file).unwrap().1;
                    d.render(src)
                })
                .collect();
            panic!("{}", text.join("\n"));
        }
    }
}

/// The echo interface matches the selftest server's method numbers.
#[test]
fn echo_interface_matches_the_selftest_server() {
    let src = std::fs::read_to_string(crate_dir().join("../interfaces/echo.idl")).unwrap();
    let ifaces = idl::parse("echo.idl", &src).unwrap();
    let echo = &ifaces[0];
    assert_eq!(echo.id, abi::iface::FIRST_USER);
    let ids: Vec<(&str, u16)> = echo
        .methods
        .iter()
        .map(|m| (m.name.as_str(), m.id))
        .collect();
    assert_eq!(
        ids,
        [
            ("ping", 1),
            ("who", 2),
            ("crash", 3),
            ("slow", 4),
            ("put", 5),
            ("adopt", 6),
            ("view", 7),
            ("scribble", 8),
            ("done", 9)
        ]
    );
    let ping = echo.method("ping").unwrap();
    assert_eq!((ping.args.len(), ping.results.len()), (4, 4));
    assert_eq!(echo.method("slow").unwrap().args[0].ty, idl::Type::U32);
}
