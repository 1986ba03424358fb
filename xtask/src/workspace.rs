//! The workspace as xtask sees it: where it is, which packages build for the
//! host and which for bare metal, and which user programs exist.
//!
//! Everything here comes from `cargo metadata`, so the root `Cargo.toml` stays
//! the one source of truth: host crates are the workspace's
//! `default-members`, bare-metal crates are the other members, and user
//! programs are the `[[bin]]` targets of packages under `apps/`, `bench/`,
//! `display-server/` and `input-service/`. A default member under one of
//! those directories builds for both: it is tested and linted on the host
//! and also linted (and, with binaries, built) for bare metal. Adding a
//! crate to the workspace needs no change here.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The bare-metal target of the kernel and user programs.
pub const BARE_TARGET: &str = "x86_64-unknown-none";

/// The kernel package, and the name of its binary.
pub const KERNEL_PACKAGE: &str = "tessera-kernel";

/// The package of the test programs; it is always built.
pub const SELFTEST_PACKAGE: &str = "tessera-selftest";

/// A package of user programs (see the module docs) with at least one binary: its binaries are the
/// program images a solution can name.
#[derive(Clone, Debug)]
pub struct AppPackage {
    /// Package name (for `cargo -p`).
    pub name: String,
    /// Binary target names.
    pub bins: Vec<String>,
}

/// The facts about the workspace that the commands need.
#[derive(Clone, Debug)]
pub struct Workspace {
    /// Workspace root (where the root `Cargo.toml` lives).
    pub root: PathBuf,
    /// Cargo's target directory (honours `CARGO_TARGET_DIR`).
    pub target_dir: PathBuf,
    /// Packages built and tested for the host (the `default-members`).
    pub host_packages: Vec<String>,
    /// Packages linted for [`BARE_TARGET`]: every other member, and the
    /// default members under the user-program directories, which build for
    /// both.
    pub bare_packages: Vec<String>,
    /// Packages of user programs (see the module docs) that have binaries.
    pub apps: Vec<AppPackage>,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
    workspace_members: Vec<String>,
    workspace_default_members: Option<Vec<String>>,
    target_directory: PathBuf,
    workspace_root: PathBuf,
}

#[derive(Deserialize)]
struct MetaPackage {
    id: String,
    name: String,
    manifest_path: PathBuf,
    targets: Vec<MetaTarget>,
}

#[derive(Deserialize)]
struct MetaTarget {
    name: String,
    kind: Vec<String>,
}

impl Workspace {
    /// Reads the workspace through `cargo metadata`.
    pub fn load() -> Result<Workspace> {
        let root = default_root();
        let output = cargo(&root)
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .stderr(Stdio::inherit())
            .output()
            .context("could not run `cargo metadata`")?;
        if !output.status.success() {
            bail!("`cargo metadata` failed ({})", output.status);
        }
        let meta: Metadata = serde_json::from_slice(&output.stdout)
            .context("could not read the output of `cargo metadata`")?;
        Workspace::from_metadata(meta)
    }

    fn from_metadata(meta: Metadata) -> Result<Workspace> {
        let defaults = meta
            .workspace_default_members
            .context("this cargo is too old: `cargo metadata` lists no default members")?;
        let program_dirs = ["apps", "bench", "display-server", "input-service"]
            .map(|d| meta.workspace_root.join(d));
        let mut host_packages = Vec::new();
        let mut bare_packages = Vec::new();
        let mut apps = Vec::new();
        for pkg in &meta.packages {
            if !meta.workspace_members.contains(&pkg.id) {
                continue;
            }
            let user_program = program_dirs
                .iter()
                .any(|d| pkg.manifest_path.starts_with(d));
            let host = defaults.contains(&pkg.id);
            if host {
                host_packages.push(pkg.name.clone());
            }
            if !host || user_program {
                bare_packages.push(pkg.name.clone());
            }
            let bins: Vec<String> = pkg
                .targets
                .iter()
                .filter(|t| t.kind.iter().any(|k| k == "bin"))
                .map(|t| t.name.clone())
                .collect();
            if user_program && !bins.is_empty() {
                apps.push(AppPackage {
                    name: pkg.name.clone(),
                    bins,
                });
            }
        }
        host_packages.sort();
        bare_packages.sort();
        apps.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Workspace {
            root: meta.workspace_root,
            target_dir: meta.target_directory,
            host_packages,
            bare_packages,
            apps,
        })
    }

    /// A `cargo` command run in the workspace root.
    pub fn cargo(&self) -> Command {
        cargo(&self.root)
    }

    /// Where xtask puts what it makes (`target/tessera`).
    pub fn out_dir(&self) -> PathBuf {
        self.target_dir.join("tessera")
    }

    /// Packages to build for bare metal: the kernel and every app package
    /// with binaries (the self-test programs at least).
    pub fn bare_build_packages(&self) -> Vec<String> {
        let mut pkgs = vec![KERNEL_PACKAGE.to_string()];
        pkgs.extend(self.apps.iter().map(|a| a.name.clone()));
        if !pkgs.iter().any(|p| p == SELFTEST_PACKAGE) {
            pkgs.push(SELFTEST_PACKAGE.to_string());
        }
        pkgs
    }

    /// A path shown relative to the workspace root when it lies inside it.
    pub fn show<'p>(&self, path: &'p Path) -> std::path::Display<'p> {
        path.strip_prefix(&self.root).unwrap_or(path).display()
    }
}

/// The workspace root this xtask was built from (`xtask/..`).
pub fn default_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `cargo` (the one that runs us, if known) with the given working directory.
pub fn cargo(dir: &Path) -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.current_dir(dir);
    cmd
}

/// Adds `-p NAME` for each package.
pub fn add_packages<S: AsRef<OsStr>>(cmd: &mut Command, packages: &[S]) {
    for p in packages {
        cmd.arg("-p").arg(p);
    }
}

/// Prints a command the way a shell would take it, then runs it to
/// completion with inherited stdio. Fails if it cannot start or exits
/// non-zero.
pub fn run_step(cmd: &mut Command) -> Result<()> {
    let line = crate::qemu::shell_line(cmd);
    println!("$ {line}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_split() {
        let json = r#"{
            "packages": [
                {"id": "k", "name": "tessera-kernel", "manifest_path": "/w/kernel/Cargo.toml",
                 "targets": [{"name": "tessera-kernel", "kind": ["bin"]}]},
                {"id": "x", "name": "xtask", "manifest_path": "/w/xtask/Cargo.toml",
                 "targets": [{"name": "xtask", "kind": ["bin"]}]},
                {"id": "rt", "name": "tessera-rt", "manifest_path": "/w/apps/rt/Cargo.toml",
                 "targets": [{"name": "rt", "kind": ["lib"]}]},
                {"id": "st", "name": "tessera-selftest", "manifest_path": "/w/apps/selftest/Cargo.toml",
                 "targets": [{"name": "hello", "kind": ["bin"]}, {"name": "build-script-build", "kind": ["custom-build"]}]}
            ],
            "workspace_members": ["k", "x", "rt", "st"],
            "workspace_default_members": ["x"],
            "target_directory": "/w/target",
            "workspace_root": "/w"
        }"#;
        let ws = Workspace::from_metadata(serde_json::from_str(json).unwrap()).unwrap();
        assert_eq!(ws.host_packages, ["xtask"]);
        assert_eq!(
            ws.bare_packages,
            ["tessera-kernel", "tessera-rt", "tessera-selftest"]
        );
        assert_eq!(ws.apps.len(), 1);
        assert_eq!(ws.apps[0].bins, ["hello"]);
        assert_eq!(
            ws.bare_build_packages(),
            ["tessera-kernel", "tessera-selftest"]
        );
        assert_eq!(ws.out_dir(), Path::new("/w/target/tessera"));
    }

    #[test]
    fn user_program_default_members_build_for_both() {
        let json = r#"{
            "packages": [
                {"id": "k", "name": "tessera-kernel", "manifest_path": "/w/kernel/Cargo.toml",
                 "targets": [{"name": "tessera-kernel", "kind": ["bin"]}]},
                {"id": "x", "name": "xtask", "manifest_path": "/w/xtask/Cargo.toml",
                 "targets": [{"name": "xtask", "kind": ["bin"]}]},
                {"id": "ds", "name": "tessera-display-server", "manifest_path": "/w/display-server/Cargo.toml",
                 "targets": [{"name": "display", "kind": ["lib"]}, {"name": "display-server", "kind": ["bin"]},
                             {"name": "compose", "kind": ["bench"]}]},
                {"id": "gui", "name": "tessera-gui", "manifest_path": "/w/apps/gui/Cargo.toml",
                 "targets": [{"name": "gui", "kind": ["lib"]}]},
                {"id": "st", "name": "tessera-selftest", "manifest_path": "/w/apps/selftest/Cargo.toml",
                 "targets": [{"name": "hello", "kind": ["bin"]}]},
                {"id": "pl", "name": "tessera-policy", "manifest_path": "/w/policies/lang/Cargo.toml",
                 "targets": [{"name": "policy", "kind": ["lib"]}]}
            ],
            "workspace_members": ["k", "x", "ds", "gui", "st", "pl"],
            "workspace_default_members": ["x", "ds", "gui", "pl"],
            "target_directory": "/w/target",
            "workspace_root": "/w"
        }"#;
        let ws = Workspace::from_metadata(serde_json::from_str(json).unwrap()).unwrap();
        assert_eq!(
            ws.host_packages,
            [
                "tessera-display-server",
                "tessera-gui",
                "tessera-policy",
                "xtask"
            ]
        );
        // Host crates outside the program directories stay host-only.
        assert_eq!(
            ws.bare_packages,
            [
                "tessera-display-server",
                "tessera-gui",
                "tessera-kernel",
                "tessera-selftest"
            ]
        );
        let apps: Vec<&str> = ws.apps.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(apps, ["tessera-display-server", "tessera-selftest"]);
        assert_eq!(ws.apps[0].bins, ["display-server"]);
        assert_eq!(
            ws.bare_build_packages(),
            [
                "tessera-kernel",
                "tessera-display-server",
                "tessera-selftest"
            ]
        );
    }
}
