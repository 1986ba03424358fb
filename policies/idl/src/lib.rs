//! `idl`: Tessera's interface-description language.
//!
//! An interface file describes what a server's endpoint understands: its
//! interfaces, their methods, and the typed arguments and results of each.
//! It is the single source of truth for three consumers:
//!
//! - the **policy compiler** (`tessera-policy`) resolves interface and method
//!   names in rules, and the security module rejects any message whose words
//!   do not match the method's shape ([`request_shape_ok`],
//!   [`reply_shape_ok`]) before a rule runs;
//! - the **code generator** ([`generate_rust`]) writes client stubs, a server
//!   trait and a dispatch loop, so no program packs message words by hand;
//! - people, through the `///` doc comments that travel into both.
//!
//! # The format
//!
//! ```text
//! /// Echo service used by the IPC tests.
//! interface Echo = 0x100 {
//!     /// Adds one to each word.
//!     method ping(a: u64, b: u64, c: u64, d: u64) -> (a: u64, b: u64, c: u64, d: u64) = 1;
//!     method who() -> (badge: u64, cpu: u64) = 2;
//!     method crash() = 3;
//!     method slow(ms: u32) = 4;
//!     method done() = 9;
//! }
//! ```
//!
//! - A file holds any number of `interface Name = ID { ... }` blocks. `ID` is
//!   the interface number in the message tag, decimal or `0x` hex (`_`
//!   allowed between digits), in `0x100..=0xffff`: numbers below
//!   `0x100` ([`abi::iface::FIRST_USER`]) are the kernel's. Names and ids are
//!   unique across all the files of a solution.
//! - `method name(args) -> (results) = ID;` declares a method. The results
//!   part is optional (no results). Method ids are `1..=0xfffe` and unique
//!   within the interface; `0xffff` is [`ERROR_METHOD`]. Method names are
//!   unique within the interface.
//! - Arguments and results are `name: type` lists (a trailing comma is fine),
//!   at most [`abi::MSG_WORDS`] word values each: every value travels in one
//!   register word. Names are unique within the list.
//! - Types: `u8 u16 u32 u64 i8 i16 i32 i64 bool`. On the wire, unsigned values
//!   are zero-extended, signed values sign-extended, and `bool` is 0 or 1
//!   ([`Type::accepts`]); unused words are zero.
//! - Out of line: one argument of type `bytes` (a buffer of at most
//!   `abi::ool::MAX_BYTES` the kernel copies) or `handle` (a handle passed
//!   on with the rights the sender gives) may join the words; it takes no
//!   word ([`Method::args_ool`]). The security module treats a message whose
//!   out-of-line part does not match its method as malformed. Results
//!   cannot be out of line yet: the kernel can carry a reply buffer, but
//!   the generated code cannot. In generated Rust the out-of-line argument
//!   comes last: `&[u8]` or `rt::sys::Grant` for the client, `&[u8]` or the
//!   installed `abi::Handle` for the server.
//! - Names: interfaces UpperCamelCase, methods and fields snake_case, none a
//!   Rust keyword, and no argument named `caller` (the generated server
//!   methods' own parameter). Generated Rust names must not collide.
//! - `//` starts a comment; `///` (exactly three slashes) is a doc comment
//!   for the `interface` or `method` right after it.
//!
//! # Use
//!
//! ```
//! let src = "interface Echo = 0x100 { method ping(a: u64) -> (a: u64) = 1; }";
//! let ifaces = idl::parse("echo.idl", src).unwrap();
//! let ping = ifaces[0].method("ping").unwrap();
//! assert!(idl::request_shape_ok(ping, &[7, 0, 0, 0]));
//! assert!(!idl::request_shape_ok(ping, &[7, 1, 0, 0]));
//!
//! let bad = "interface Echo = 0x10 { method ping() = 1; }";
//! let errors = idl::parse("echo.idl", bad).unwrap_err();
//! assert_eq!(errors[0].message, "interface id 0x10 is reserved for the kernel");
//! assert!(errors[0].render(bad).contains("echo.idl:1:18"));
//! ```
//!
//! Errors are [`Diagnostic`]s with a byte span; [`Diagnostic::render`] prints
//! them the way rustc does (file, line, column, the source line, a caret and a
//! hint). The parser recovers after a syntax error, so one run reports every
//! mistake it can.
//!
//! The generated code's wire convention (including error replies) is
//! described in [`generate_rust`]'s module, [`rust`].

mod check;
mod diag;
mod lexer;
mod model;
mod names;
mod parser;
pub mod rust;

pub use diag::{Diagnostic, render_all};
pub use model::{
    ERROR_METHOD, Field, Interface, Method, OolField, OolKind, Type, error_reply_shape_ok,
    reply_shape_ok, request_shape_ok,
};
pub use rust::generate_rust;

/// Parses one file.
pub fn parse(file: &str, src: &str) -> Result<Vec<Interface>, Vec<Diagnostic>> {
    load_all(&[(file, src)])
}

/// Parses several files and checks cross-file rules (unique interface names
/// and ids). Files are `(name, source)` pairs; the result keeps file order,
/// then declaration order.
pub fn load(files: &[(String, String)]) -> Result<Vec<Interface>, Vec<Diagnostic>> {
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(f, s)| (f.as_str(), s.as_str()))
        .collect();
    load_all(&files)
}

fn load_all(files: &check::Files) -> Result<Vec<Interface>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut all = Vec::new();
    for (index, &(file, src)) in files.iter().enumerate() {
        let (tokens, mut file_errors) = lexer::lex(file, src);
        let (ast, parse_errors) = parser::parse_tokens(file, src.len(), tokens);
        file_errors.extend(parse_errors);
        for iface in ast {
            all.push(check::check_interface(
                files,
                index,
                iface,
                &mut file_errors,
            ));
        }
        file_errors.sort_by_key(|d| d.span.start);
        errors.extend(file_errors);
    }
    check::check_unique_interfaces(files, &all, &mut errors);
    if errors.is_empty() {
        Ok(all.into_iter().map(|l| l.iface).collect())
    } else {
        Err(errors)
    }
}

/// Loads every `*.idl` file in `dir` (sorted by path) with [`load`];
/// diagnostics come back rendered, ready to print. With `rerun`, also tells
/// cargo to rerun a build script when the directory or a file changes.
pub fn load_dir(dir: &std::path::Path, rerun: bool) -> Result<Vec<Interface>, String> {
    if rerun {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in entries {
        let path = e.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.extension().is_some_and(|x| x == "idl") {
            if rerun {
                println!("cargo:rerun-if-changed={}", path.display());
            }
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
    }
    files.sort();
    load(&files).map_err(|diags| {
        diags
            .iter()
            .map(|d| {
                let src = files
                    .iter()
                    .find(|(f, _)| *f == d.file)
                    .map_or("", |(_, s)| s.as_str());
                d.render(src)
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The whole `build.rs` of a Tessera user crate whose directory is `root`
/// (relative, e.g. `"../.."` for `apps/demo`) below the workspace root:
/// generates the interface stubs from `policies/interfaces` (see
/// [`generate_for_build`]) and, for a crate with programs (`link`) built
/// for Tessera (`target_os = "none"`), links its binaries with
/// `apps/rt/user.ld`. On the host there is nothing to link specially.
/// Panics with the rendered diagnostics if an interface file is wrong.
pub fn build_script(root: &str, link: bool) {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = std::path::Path::new(&dir).join(root);
    println!("cargo:rerun-if-changed=build.rs");
    if link {
        let script = root.join("apps/rt/user.ld");
        if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
            println!("cargo:rustc-link-arg-bins=-T{}", script.display());
        }
        println!("cargo:rerun-if-changed={}", script.display());
    }
    if let Err(e) = generate_for_build(&root.join("policies/interfaces")) {
        panic!("interface descriptions:\n{e}");
    }
}

/// For a user program's `build.rs`: generates Rust for every `*.idl` file in
/// `dir` into `$OUT_DIR/interfaces.rs` (include it with
/// `include!(concat!(env!("OUT_DIR"), "/interfaces.rs"))`), and tells cargo
/// to rerun when the files change. Errors are rendered and returned.
pub fn generate_for_build(dir: &std::path::Path) -> Result<(), String> {
    let ifaces = load_dir(dir, true)?;
    let out = std::env::var("OUT_DIR")
        .map_err(|_| "OUT_DIR is not set (not in a build script?)".to_string())?;
    let path = std::path::Path::new(&out).join("interfaces.rs");
    std::fs::write(&path, generate_rust(&ifaces)).map_err(|e| format!("{}: {e}", path.display()))
}
