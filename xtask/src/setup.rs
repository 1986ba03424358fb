//! Making sure the tools exist: the bare-metal Rust target and QEMU.
//!
//! Both checks are cheap when the tool is there. When the Rust target is
//! missing, `rustup target add` fixes it. When QEMU is missing and we are
//! root on a Debian machine, QEMU 10 is installed from bookworm-backports
//! without any question asked (DESIGN.md: QEMU 7.2, the plain bookworm
//! package, has no x2APIC under TCG). In every other case xtask stops and
//! prints the exact commands to run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::qemu::QEMU;
use crate::workspace::{BARE_TARGET, Workspace, run_step};

/// Debian's deb822 source list, where backports gets enabled.
const DEBIAN_SOURCES: &str = "/etc/apt/sources.list.d/debian.sources";

/// The oldest QEMU with x2APIC under TCG.
const QEMU_X2APIC_MAJOR: u32 = 10;

/// Installs the bare-metal target if the active toolchain lacks it.
pub fn ensure_target(ws: &Workspace) -> Result<()> {
    let out = Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(&ws.root)
        .output()
        .context("could not run `rustc --print sysroot`; is Rust installed (https://rustup.rs)?")?;
    if !out.status.success() {
        bail!(
            "`rustc --print sysroot` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if sysroot.join("lib/rustlib").join(BARE_TARGET).is_dir() {
        return Ok(());
    }
    println!("Rust target {BARE_TARGET} is missing: installing it with rustup");
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", BARE_TARGET])
        .current_dir(&ws.root);
    run_step(&mut cmd).with_context(|| {
        format!("could not install the {BARE_TARGET} target; run `rustup target add {BARE_TARGET}` yourself")
    })
}

/// Finds QEMU (installing it when we can), prints its version, and warns
/// when it is too old for the x2APIC scenarios.
pub fn ensure_qemu() -> Result<()> {
    let path = match find_in_path(QEMU) {
        Some(path) => path,
        None => {
            install_qemu()?;
            find_in_path(QEMU)
                .context("QEMU was installed but qemu-system-x86_64 is still not in PATH")?
        }
    };
    let out = Command::new(&path)
        .arg("--version")
        .output()
        .with_context(|| format!("could not run {} --version", path.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or("").trim();
    let version = parse_version(first);
    println!("QEMU: {} ({})", first, path.display());
    match version {
        Some((major, minor, _)) if major < QEMU_X2APIC_MAJOR => println!(
            "warning: QEMU {major}.{minor} has no x2APIC under TCG; the x2APIC scenarios need QEMU \
             {QEMU_X2APIC_MAJOR} (bookworm-backports)"
        ),
        None => println!("warning: could not read the QEMU version from {first:?}"),
        _ => {}
    }
    Ok(())
}

/// The commands that install QEMU 10 on Debian bookworm.
fn install_instructions() -> String {
    format!(
        "  # enable bookworm-backports: append it to the Suites: line of the deb.debian.org/debian \
         stanza in {DEBIAN_SOURCES}\n  \
         sed -i '0,/^Suites: bookworm bookworm-updates$/s//& bookworm-backports/' {DEBIAN_SOURCES}\n  \
         apt-get update\n  \
         DEBIAN_FRONTEND=noninteractive apt-get install -y -t bookworm-backports qemu-system-x86"
    )
}

fn install_qemu() -> Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || find_in_path("apt-get").is_none() {
        bail!(
            "{QEMU} not found in PATH. Install QEMU 10 (as root, on Debian bookworm):\n{}\n\
             (QEMU 7.2 from plain bookworm also works, without the x2APIC scenarios.)",
            install_instructions()
        );
    }
    println!(
        "QEMU not found: installing qemu-system-x86 with apt (bookworm-backports for QEMU 10)"
    );
    let sources = Path::new(DEBIAN_SOURCES);
    if sources.is_file() {
        let text = std::fs::read_to_string(sources)
            .with_context(|| format!("could not read {DEBIAN_SOURCES}"))?;
        if let Some(new) = enable_backports(&text) {
            std::fs::write(sources, new)
                .with_context(|| format!("could not write {DEBIAN_SOURCES}"))?;
            println!("added bookworm-backports to {DEBIAN_SOURCES}");
        }
    }
    let apt = |args: &[&str]| {
        let mut cmd = Command::new("apt-get");
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run_step(&mut cmd)
    };
    apt(&["update"])?;
    if apt(&[
        "install",
        "-y",
        "-t",
        "bookworm-backports",
        "qemu-system-x86",
    ])
    .is_err()
    {
        println!(
            "warning: QEMU from bookworm-backports did not install; falling back to the plain \
             package. QEMU 7.2 lacks x2APIC, so the x2APIC scenarios will fail."
        );
        apt(&["install", "-y", "qemu-system-x86"])?;
    }
    Ok(())
}

/// Adds `bookworm-backports` to the `Suites:` line of the first stanza whose
/// `URIs:` is the main Debian archive (not `debian-security`), if that line
/// names `bookworm` and not yet `bookworm-backports`. Returns the new text,
/// or `None` when nothing needs to change.
pub fn enable_backports(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut stanza_start = 0;
    while stanza_start < lines.len() {
        let stanza_end = (stanza_start..lines.len())
            .find(|&i| lines[i].trim().is_empty())
            .unwrap_or(lines.len());
        let stanza = &lines[stanza_start..stanza_end];
        let is_main_archive = stanza.iter().any(|l| {
            field(l, "URIs").is_some_and(|v| {
                v.split_whitespace().any(|uri| {
                    let uri = uri.trim_end_matches('/');
                    let host_path = uri.split_once("://").map_or(uri, |(_, rest)| rest);
                    host_path == "deb.debian.org/debian"
                })
            })
        });
        if is_main_archive {
            let at = stanza.iter().position(|l| field(l, "Suites").is_some())?;
            let suites: Vec<&str> = field(stanza[at], "Suites")?.split_whitespace().collect();
            if !suites.contains(&"bookworm") || suites.contains(&"bookworm-backports") {
                return None;
            }
            let line = stanza[at];
            let body = line.trim_end_matches(['\n', '\r']);
            let ending = &line[body.len()..];
            let new_line = format!("{} bookworm-backports{ending}", body.trim_end());
            let mut out = String::with_capacity(text.len() + 20);
            for (i, l) in lines.iter().enumerate() {
                out.push_str(if i == stanza_start + at { &new_line } else { l });
            }
            return Some(out);
        }
        stanza_start = stanza_end + 1;
    }
    None
}

/// The value of a `Name: value` line, if the line is that field.
fn field<'l>(line: &'l str, name: &str) -> Option<&'l str> {
    let (key, value) = line.split_once(':')?;
    (key.trim() == name).then(|| value.trim())
}

/// Reads `QEMU emulator version 10.0.2 (Debian ...)`.
pub fn parse_version(line: &str) -> Option<(u32, u32, u32)> {
    let rest = line.split("version").nth(1)?;
    let word = rest.split_whitespace().next()?;
    let mut nums = word.split('.').map(|n| n.parse::<u32>().ok());
    let major = nums.next()??;
    let minor = nums.next().flatten().unwrap_or(0);
    let patch = nums.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

/// Looks a program up in `$PATH`.
pub fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCES: &str = "\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

    #[test]
    fn backports_added_to_the_main_stanza_only() {
        let new = enable_backports(SOURCES).unwrap();
        assert!(new.contains("Suites: bookworm bookworm-updates bookworm-backports\n"));
        assert!(new.contains("Suites: bookworm-security\n"));
        assert_eq!(new.len(), SOURCES.len() + " bookworm-backports".len());
        // Idempotent.
        assert_eq!(enable_backports(&new), None);
    }

    #[test]
    fn backports_skips_other_releases_and_security_first() {
        let trixie = SOURCES.replace("bookworm", "trixie");
        assert_eq!(enable_backports(&trixie), None);
        // Security stanza first: still only the main archive's line changes.
        let (main, security) = SOURCES.split_once("\n\n").unwrap();
        let swapped = format!("{security}\n{main}\n");
        let new = enable_backports(&swapped).unwrap();
        assert!(new.contains("Suites: bookworm-security\n"));
        assert!(new.contains("Suites: bookworm bookworm-updates bookworm-backports\n"));
        assert_eq!(
            enable_backports("Types: deb\nURIs: http://example.org/x\nSuites: bookworm\n"),
            None
        );
    }

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)"),
            Some((10, 0, 2))
        );
        assert_eq!(
            parse_version("QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u16)"),
            Some((7, 2, 15))
        );
        assert_eq!(parse_version("QEMU emulator version 9.1"), Some((9, 1, 0)));
        assert_eq!(parse_version("something else"), None);
    }

    #[test]
    fn path_lookup() {
        assert!(find_in_path("sh").is_some());
        assert!(find_in_path("surely-no-such-program-xyz").is_none());
    }
}
