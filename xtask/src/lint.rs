//! `cargo xtask lint`: formatting, clippy and rustdoc, all with warnings as
//! errors, for the host crates and the bare-metal crates alike.
//!
//! The package lists come from the workspace (see `workspace.rs`): host
//! crates are the `default-members`, bare-metal crates the other members,
//! linted with `--target x86_64-unknown-none`. Every step runs even when an
//! earlier one failed, so one CI run reports every problem.

use std::process::Command;

use anyhow::{Result, bail};

use crate::setup;
use crate::workspace::{BARE_TARGET, Workspace, add_packages, run_step};

/// Runs every lint step; fails if any failed.
pub fn lint(ws: &Workspace) -> Result<()> {
    setup::ensure_target(ws)?;
    let mut steps: Vec<(&str, Command)> = Vec::new();

    let mut fmt = ws.cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    steps.push(("rustfmt", fmt));

    let mut clippy_host = ws.cargo();
    clippy_host.arg("clippy");
    add_packages(&mut clippy_host, &ws.host_packages);
    clippy_host.args(["--all-targets", "--", "-D", "warnings"]);
    steps.push(("clippy (host crates)", clippy_host));

    let mut clippy_bare = ws.cargo();
    clippy_bare.args(["clippy", "--target", BARE_TARGET]);
    add_packages(&mut clippy_bare, &ws.bare_packages);
    clippy_bare.args(["--", "-D", "warnings"]);
    steps.push(("clippy (bare-metal crates)", clippy_bare));

    let mut doc_host = ws.cargo();
    doc_host
        .env("RUSTDOCFLAGS", "-D warnings")
        .args(["doc", "--no-deps"]);
    add_packages(&mut doc_host, &ws.host_packages);
    steps.push(("rustdoc (host crates)", doc_host));

    let mut doc_bare = ws.cargo();
    doc_bare
        .env("RUSTDOCFLAGS", "-D warnings")
        .args(["doc", "--no-deps", "--target", BARE_TARGET]);
    add_packages(&mut doc_bare, &ws.bare_packages);
    steps.push(("rustdoc (bare-metal crates)", doc_bare));

    let mut failed = Vec::new();
    for (name, mut cmd) in steps {
        println!("== {name}");
        if let Err(e) = run_step(&mut cmd) {
            eprintln!("error: {e:#}");
            failed.push(name);
        }
    }
    if !failed.is_empty() {
        bail!("lint failed: {}", failed.join(", "));
    }
    println!("lint: all steps passed");
    Ok(())
}
