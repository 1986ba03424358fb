//! The Tessera policy language: parser, checker with rustc-style
//! diagnostics, and compiler to the decision tables that the kernel's engine
//! (`tessera-policy-engine`) loads.
//!
//! The pipeline is [`lexer`] → [`parser`] → [`mod@check`] (name resolution,
//! typing, solution-wide checks, lowering) → [`engine::tables::Tables::encode`].
//! The language itself is described in `docs/policy.md`.
//!
//! Security contexts are the solution's program names plus `kernel`;
//! [`Compiled::contexts`] fixes their numbering (`kernel` is always 0).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ast;
pub mod check;
pub mod diag;
pub mod interfaces;
pub mod lexer;
pub mod parser;

use diag::{Diag, Severity};

/// What the policy needs to know about the solution.
#[derive(Clone, Debug, Default)]
pub struct Solution {
    /// Program names, i.e. security contexts (instances share their program's).
    pub programs: Vec<String>,
    /// Static channels as (client context, server context).
    pub channels: Vec<(String, String)>,
}

/// A compiled policy.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The encoded decision tables ([`engine::Policy::from_bytes`] loads them).
    pub bytes: Vec<u8>,
    /// Context names in number order (`kernel` first).
    pub contexts: Vec<String>,
    /// Rendered warnings.
    pub warnings: Vec<String>,
}

/// Parses and checks a policy without rendering: the tables (if no error),
/// the contexts and every diagnostic. Tests and tools that want structured
/// diagnostics use this; [`compile`] renders them.
pub fn check(src: &str, interfaces: &[idl::Interface], solution: &Solution) -> check::Checked {
    let (file, syntax) = parser::parse(src);
    if !syntax.is_empty() {
        return check::Checked {
            tables: None,
            contexts: Vec::new(),
            diagnostics: syntax,
        };
    }
    let ifaces = interfaces::all_interfaces(interfaces);
    check::check(&file, &ifaces, solution)
}

/// Renders diagnostics with a closing summary line, rustc-style.
pub fn render(policy_file: &str, src: &str, diags: &[Diag]) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.render(policy_file, src));
    }
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if errors > 0 {
        let s = if errors == 1 { "" } else { "s" };
        out.push_str(&format!(
            "error: could not compile `{policy_file}` due to {errors} previous error{s}\n"
        ));
    }
    out
}

/// Checks and compiles; on error returns the rendered diagnostics (ANSI-free
/// text) ready to print.
pub fn compile(
    policy_file: &str,
    policy_src: &str,
    interfaces: &[idl::Interface],
    solution: &Solution,
) -> Result<Compiled, String> {
    let c = check(policy_src, interfaces, solution);
    match c.tables {
        Some(t) => Ok(Compiled {
            bytes: t.encode(),
            contexts: c.contexts,
            warnings: c
                .diagnostics
                .iter()
                .map(|d| d.render(policy_file, policy_src))
                .collect(),
        }),
        None => Err(render(policy_file, policy_src, &c.diagnostics)),
    }
}
