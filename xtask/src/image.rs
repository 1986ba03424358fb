//! Writing the boot image: the encoded solution (programs and channels) plus
//! one ELF per program image, packed with [`kcore::bootimage::build_image`] (the same code the
//! kernel's parser is tested against).
//!
//! The archive holds the entry `solution` first, then one entry per distinct
//! image name in order of first use. The file is written under a temporary
//! name and renamed into place, so QEMU never reads a half-written image, and
//! is parsed back once as a self-check.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use kcore::bootimage::{BootImage, Expect, SOLUTION_ENTRY, build_image};

use crate::build::Artifacts;
use crate::solution::SolutionFile;
use crate::workspace::Workspace;

/// Writes the boot image of `file` to `out`, creating its directory.
pub fn write_image(file: &SolutionFile, artifacts: &Artifacts, out: &Path) -> Result<()> {
    let names: Vec<&str> = artifacts.bin_names();
    file.check_images(&names)?;
    let encoded = file
        .solution
        .encode()
        .with_context(|| format!("{}: could not encode the solution", file.path.display()))?;
    let mut blobs: Vec<(&str, Vec<u8>)> = Vec::new();
    for image in file.images() {
        let path = artifacts
            .bins
            .get(image)
            .with_context(|| format!("no built binary for image `{image}`"))?;
        let elf =
            std::fs::read(path).with_context(|| format!("could not read {}", path.display()))?;
        if !elf.starts_with(b"\x7fELF") {
            bail!("{} (image `{image}`) is not an ELF file", path.display());
        }
        blobs.push((image, elf));
    }
    let policy = compile_policy(file)?;
    let mut entries: Vec<(&str, &[u8])> = vec![(SOLUTION_ENTRY, &encoded)];
    if let Some((p, c)) = &policy {
        entries.push((POLICY_ENTRY, p));
        entries.push((CONTEXTS_ENTRY, c));
    }
    entries.extend(blobs.iter().map(|(n, d)| (*n, d.as_slice())));
    let bytes = build_image(&entries)
        .map_err(|e| anyhow::anyhow!("could not build the boot image: {e}"))?;
    BootImage::parse(&bytes)
        .map_err(|e| anyhow::anyhow!("the boot image does not parse back: {e}"))?;

    let dir = out.parent().context("image path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let tmp = tmp_path(out);
    std::fs::write(&tmp, &bytes).with_context(|| format!("could not write {}", tmp.display()))?;
    std::fs::rename(&tmp, out)
        .with_context(|| format!("could not move the image to {}", out.display()))?;
    Ok(())
}

/// Boot-image entry holding the compiled policy (`engine::Policy` bytes).
pub const POLICY_ENTRY: &str = "policy";
/// Boot-image entry mapping domains to contexts: a `u16` count N, the
/// `kernel` context's index, one index per program of the solution (N - 1
/// of them), all `u16` LE, then the context names in index order, each
/// followed by `\n` (for audit lines).
pub const CONTEXTS_ENTRY: &str = "contexts";

/// Compiles the solution's policy against `policies/interfaces/*.idl`.
/// Without a policy there is nothing to add: the kernel then denies
/// everything, and `build` says so.
fn compile_policy(file: &SolutionFile) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    let Some(path) = &file.policy else {
        return Ok(None);
    };
    let src = std::fs::read_to_string(path).with_context(|| {
        format!(
            "{}: could not read policy {}",
            file.path.display(),
            path.display()
        )
    })?;
    let root = crate::workspace::default_root();
    let ifaces = crate::policy::load_interfaces(&root.join("policies/interfaces"))?;
    let shown = path
        .strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string();
    let compiled = policy::compile(&shown, &src, &ifaces, &crate::policy::policy_solution(file))
        .map_err(|diagnostics| {
            anyhow::anyhow!(
                "{diagnostics}
{shown}: the policy has errors"
            )
        })?;
    let index = |name: &str| {
        compiled
            .contexts
            .iter()
            .position(|c| c == name)
            .and_then(|i| u16::try_from(i).ok())
            .with_context(|| format!("{shown}: the compiled policy has no context `{name}`"))
    };
    let count = u16::try_from(file.contexts.len() + 1).context("too many programs")?;
    let mut contexts = Vec::new();
    contexts.extend_from_slice(&count.to_le_bytes());
    contexts.extend_from_slice(&index("kernel")?.to_le_bytes());
    for c in &file.contexts {
        contexts.extend_from_slice(&index(c)?.to_le_bytes());
    }
    for name in &compiled.contexts {
        contexts.extend_from_slice(name.as_bytes());
        contexts.push(b'\n');
    }
    Ok(Some((compiled.bytes, contexts)))
}

fn tmp_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    out.with_file_name(name)
}

/// A short, human table of what the image starts.
pub fn summary(file: &SolutionFile, image: &Path, ws: &Workspace) -> String {
    let s = &file.solution;
    let size = std::fs::metadata(image).map(|m| m.len()).unwrap_or(0);
    let mut out = format!(
        "solution `{}` ({}): {} program(s), {} image(s), {} channel(s), exit when done: {}\n\
         policy: {}\n\
         image {} ({} KiB)\n",
        s.name,
        ws.show(&file.path),
        s.programs.len(),
        file.images().len(),
        s.channels.len(),
        if s.exit_when_done { "yes" } else { "no" },
        file.policy.as_ref().map_or_else(
            || "none: the kernel will deny every request and start nothing".to_string(),
            |p| ws.show(p).to_string()
        ),
        ws.show(image),
        size.div_ceil(1024),
    );
    out.push_str(&format!(
        "  {:<24} {:<20} {:>4}  {:<12} {}\n",
        "domain", "image", "prio", "cpus", "expect"
    ));
    for p in &s.programs {
        let expect = match p.expect {
            Expect::Any => "any".to_string(),
            Expect::Exit(code) => format!("exit {code}"),
            Expect::Fault => "fault".to_string(),
        };
        out.push_str(&format!(
            "  {:<24} {:<20} {:>4}  {:<12} {}\n",
            p.name,
            p.image,
            p.priority,
            cpus(p.affinity),
            expect
        ));
    }
    if !s.channels.is_empty() {
        out.push_str(&format!(
            "  {:<24} {:<24} {}\n",
            "channel", "client", "server"
        ));
        for c in &s.channels {
            out.push_str(&format!("  {:<24} {:<24} {}\n", c.name, c.client, c.server));
        }
    }
    out
}

/// An affinity mask as a CPU list: `any`, `1`, `0,2`.
fn cpus(mask: u64) -> String {
    if mask == 0 {
        return "any".into();
    }
    (0..64)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn writes_a_parsable_image() {
        let dir = std::env::temp_dir().join(format!("xtask-image-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let elf_a = dir.join("hello");
        let elf_b = dir.join("spinner");
        std::fs::write(&elf_a, b"\x7fELF hello").unwrap();
        std::fs::write(&elf_b, b"\x7fELF spinner").unwrap();
        let artifacts = Artifacts {
            kernel: dir.join("kernel"),
            bins: BTreeMap::from([("hello".to_string(), elf_a), ("spinner".to_string(), elf_b)]),
        };
        let file = SolutionFile::parse(
            Path::new("s.toml"),
            "[solution]\nname = \"s\"\n[[program]]\nname = \"h\"\nimage = \"hello\"\ninstances = 2\n\
             [[program]]\nname = \"sp\"\nimage = \"spinner\"\ncpus = [0, 2]\n\
             [[channel]]\nname = \"spin-chan\"\nclient = \"h\"\nserver = \"sp\"\n",
        )
        .unwrap();
        let out = dir.join("out/s.img");
        write_image(&file, &artifacts, &out).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        let image = BootImage::parse(&bytes).unwrap();
        let names: Vec<_> = image.entries().map(|(n, _)| n).collect();
        assert_eq!(names, [SOLUTION_ENTRY, "hello", "spinner"]);
        assert_eq!(image.get("hello"), Some(&b"\x7fELF hello"[..]));
        let decoded =
            kcore::bootimage::Solution::decode(image.get(SOLUTION_ENTRY).unwrap()).unwrap();
        assert_eq!(decoded, file.solution);
        let chans: Vec<_> = decoded
            .channels
            .iter()
            .map(|c| (c.name.as_str(), c.client.as_str(), c.server.as_str()))
            .collect();
        assert_eq!(
            chans,
            [("spin-chan", "h-1", "sp"), ("spin-chan", "h-2", "sp")]
        );
        let ws = Workspace {
            root: dir.clone(),
            target_dir: dir.join("target"),
            host_packages: Vec::new(),
            bare_packages: Vec::new(),
            apps: Vec::new(),
        };
        let text = summary(&file, &out, &ws);
        assert!(text.contains("image out/s.img"), "{text}");
        assert!(text.contains("h-2") && text.contains("0,2"), "{text}");
        assert!(text.contains("2 channel(s)"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().eq(["spin-chan", "h-2", "sp"])),
            "{text}"
        );

        // A missing image is a clear error, and a non-ELF file too.
        let mut missing = artifacts.clone();
        missing.bins.remove("spinner");
        let e = write_image(&file, &missing, &out).unwrap_err().to_string();
        assert!(e.contains("image `spinner`"), "{e}");
        std::fs::write(dir.join("spinner"), b"not elf").unwrap();
        let e = write_image(&file, &artifacts, &out)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an ELF"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(cpus(0), "any");
        assert_eq!(cpus(0b101), "0,2");
        assert_eq!(cpus(1 << 63), "63");
    }
}
