//! Building the bare-metal half of the workspace: the kernel and every user
//! program, for `x86_64-unknown-none`.
//!
//! One `cargo build` covers the kernel and every package under `apps/` that
//! has binaries. The artifact paths come from cargo's own JSON messages, not
//! from guessing the layout of `target/`, so they are right whatever
//! `CARGO_TARGET_DIR` or profile is in force. Compiler diagnostics still reach
//! the terminal in their usual rendered form.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::qemu::shell_line;
use crate::workspace::{BARE_TARGET, KERNEL_PACKAGE, Workspace, add_packages};

/// The cargo profile to build with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `dev` (in `target/x86_64-unknown-none/debug`).
    Debug,
    /// `release` (in `target/x86_64-unknown-none/release`).
    Release,
}

impl Profile {
    /// From a `--release` flag.
    pub fn from_release(release: bool) -> Profile {
        if release {
            Profile::Release
        } else {
            Profile::Debug
        }
    }
}

/// What a bare-metal build produced.
#[derive(Clone, Debug)]
pub struct Artifacts {
    /// The kernel ELF.
    pub kernel: PathBuf,
    /// Every user program ELF, by binary name.
    pub bins: BTreeMap<String, PathBuf>,
}

impl Artifacts {
    /// The names of the user programs.
    pub fn bin_names(&self) -> Vec<&str> {
        self.bins.keys().map(String::as_str).collect()
    }
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    target: Option<MessageTarget>,
    executable: Option<PathBuf>,
}

#[derive(Deserialize)]
struct MessageTarget {
    name: String,
    kind: Vec<String>,
}

/// Builds the kernel and all user programs.
pub fn build(ws: &Workspace, profile: Profile) -> Result<Artifacts> {
    let packages = ws.bare_build_packages();
    let mut cmd = ws.cargo();
    cmd.args([
        "build",
        "--target",
        BARE_TARGET,
        "--message-format=json-render-diagnostics",
    ]);
    add_packages(&mut cmd, &packages);
    if profile == Profile::Release {
        cmd.arg("--release");
    }
    let line = shell_line(&cmd);
    println!("$ {line}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("could not start `{line}`"))?;
    let stdout = child
        .stdout
        .take()
        .context("cargo's stdout was not captured")?;
    let mut execs: Vec<(String, PathBuf)> = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("could not read cargo's output")?;
        // Rendered diagnostics go to stderr; stdout is one JSON object per
        // line. Anything else (a build script printing) is passed through.
        let Ok(msg) = serde_json::from_str::<Message>(&line) else {
            println!("{line}");
            continue;
        };
        if msg.reason != "compiler-artifact" {
            continue;
        }
        if let (Some(target), Some(exe)) = (msg.target, msg.executable)
            && target.kind.iter().any(|k| k == "bin")
        {
            execs.push((target.name, exe));
        }
    }
    let status = child.wait().context("could not wait for cargo")?;
    if !status.success() {
        bail!("building the kernel and user programs failed ({status}); see the errors above");
    }
    collect(ws, execs)
}

/// Sorts the built executables into kernel and user programs.
fn collect(ws: &Workspace, execs: Vec<(String, PathBuf)>) -> Result<Artifacts> {
    let mut kernel = None;
    let mut bins = BTreeMap::new();
    for (name, exe) in execs {
        if name == KERNEL_PACKAGE {
            kernel = Some(exe);
        } else if ws.apps.iter().any(|a| a.bins.contains(&name))
            && let Some(old) = bins.insert(name.clone(), exe)
        {
            bail!(
                "two packages under apps/ build a binary called `{name}` ({})",
                old.display()
            );
        }
    }
    let kernel = kernel.with_context(|| {
        format!(
            "cargo built no `{KERNEL_PACKAGE}` binary; is the kernel package still called that?"
        )
    })?;
    if !kernel.is_file() {
        bail!(
            "the kernel ELF {} is missing after the build",
            kernel.display()
        );
    }
    Ok(Artifacts { kernel, bins })
}
