//! `cargo xtask policy check [FILE]`: checks a policy against the interface
//! descriptions in `policies/interfaces/*.idl` and a solution description,
//! and prints rustc-style diagnostics.
//!
//! The security contexts are the solution's program names (every instance
//! of a program shares its context), and each channel must be allowed by
//! some rule: the policy compiler fails otherwise.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::solution::SolutionFile;
use crate::workspace::Workspace;

/// The policy compiler's view of a solution: contexts and channels between
/// contexts, each listed once.
pub fn policy_solution(file: &SolutionFile) -> policy::Solution {
    let mut programs: Vec<String> = Vec::new();
    for c in &file.contexts {
        if !programs.contains(c) {
            programs.push(c.clone());
        }
    }
    let context_of = |domain: &str| {
        file.solution
            .programs
            .iter()
            .position(|p| p.name == domain)
            .and_then(|i| file.contexts.get(i))
            .cloned()
            .unwrap_or_else(|| domain.to_string())
    };
    let mut channels: Vec<(String, String)> = Vec::new();
    for ch in &file.solution.channels {
        let pair = (context_of(&ch.client), context_of(&ch.server));
        if !channels.contains(&pair) {
            channels.push(pair);
        }
    }
    policy::Solution { programs, channels }
}

/// Reads every `*.idl` file in `dir` (sorted by name).
pub fn load_interfaces(dir: &Path) -> Result<Vec<idl::Interface>> {
    idl::load_dir(dir, false)
        .map_err(|rendered| anyhow::anyhow!("interface descriptions have errors:\n{rendered}"))
}

/// `policy check`: returns an error (with the diagnostics) if the policy
/// does not compile.
pub fn check(ws: &Workspace, file: Option<PathBuf>, solution: Option<PathBuf>) -> Result<()> {
    let file = file.unwrap_or_else(|| ws.root.join("policies/solution.policy"));
    let solution = solution.unwrap_or_else(|| ws.root.join("policies/solution.toml"));
    let src = std::fs::read_to_string(&file)
        .with_context(|| format!("could not read policy {}", file.display()))?;
    let sol = SolutionFile::load(&solution)?;
    let ifaces = load_interfaces(&ws.root.join("policies/interfaces"))?;
    let shown = ws.show(&file).to_string();
    match policy::compile(&shown, &src, &ifaces, &policy_solution(&sol)) {
        Ok(compiled) => {
            for w in &compiled.warnings {
                println!("{w}");
            }
            println!(
                "{shown}: ok ({} contexts, {} interfaces, {} bytes of decision tables, {} warning(s))",
                compiled.contexts.len(),
                ifaces.len(),
                compiled.bytes.len(),
                compiled.warnings.len()
            );
            Ok(())
        }
        Err(diagnostics) => {
            eprintln!("{diagnostics}");
            bail!("{shown}: the policy has errors")
        }
    }
}
