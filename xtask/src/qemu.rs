//! The QEMU command line, and running QEMU with or without a time limit.
//!
//! One function, [`QemuConfig::args`], builds every command line xtask uses,
//! for `run` and for the test harness alike, so the machine a scenario is
//! judged on is the machine a person runs. The flags follow DESIGN.md: TCG
//! only (there is no usable KVM), PVH direct boot with `-kernel`, the boot
//! image as `-initrd`, isa-debug-exit for pass/fail, and the virtio devices
//! of the GUI stack.
//!
//! Timed runs put QEMU in its own process group and ask Linux to kill it if
//! xtask dies (`PR_SET_PDEATHSIG`), so neither a timeout nor a Ctrl-C leaves a
//! QEMU spinning in the background. [`Running`] is such a QEMU while it runs,
//! for callers that act during the run (screenshots through QMP), and
//! [`SerialFollower`] reads the serial log file line by line as it grows.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::judge::Outcome;

/// The QEMU binary.
pub const QEMU: &str = "qemu-system-x86_64";

/// How QEMU shows the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// No window (`-display none`).
    None,
    /// A GTK window.
    Gtk,
    /// An SDL window.
    Sdl,
}

impl Display {
    fn flag(self) -> &'static str {
        match self {
            Display::None => "none",
            Display::Gtk => "gtk",
            Display::Sdl => "sdl",
        }
    }
}

/// Everything that varies between QEMU runs.
#[derive(Clone, Debug)]
pub struct QemuConfig {
    /// The kernel ELF (`-kernel`).
    pub kernel: PathBuf,
    /// The boot image (`-initrd`).
    pub image: PathBuf,
    /// Number of CPUs.
    pub smp: u32,
    /// CPU model.
    pub cpu: String,
    /// Kernel command line.
    pub append: String,
    /// Screen.
    pub display: Display,
    /// QMP socket path, if any: adds `-qmp unix:PATH,server=on,wait=off`
    /// (QEMU creates the socket at start and does not wait for a client).
    pub qmp: Option<PathBuf>,
    /// Deterministic instruction counting (single-threaded TCG).
    pub icount: bool,
}

impl QemuConfig {
    /// The arguments after the program name. The serial port is always
    /// `stdio`: on the terminal for `run`, redirected to the log file for
    /// tests.
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |parts: &[&str]| a.extend(parts.iter().map(OsString::from));
        push(&["-M", "q35"]);
        if self.icount {
            push(&[
                "-accel",
                "tcg,thread=single",
                "-icount",
                "shift=0,align=off,sleep=off",
            ]);
        } else {
            push(&["-accel", "tcg"]);
        }
        push(&[
            "-cpu",
            &self.cpu,
            "-smp",
            &self.smp.to_string(),
            "-m",
            "512M",
        ]);
        push(&["-vga", "none", "-nic", "none", "-no-reboot"]);
        push(&["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        push(&[
            "-device",
            "virtio-gpu-pci",
            "-device",
            "virtio-keyboard-pci",
            "-device",
            "virtio-tablet-pci",
        ]);
        push(&["-display", self.display.flag()]);
        push(&["-serial", "stdio", "-monitor", "none"]);
        a.push("-kernel".into());
        a.push(self.kernel.clone().into());
        a.push("-initrd".into());
        a.push(self.image.clone().into());
        a.push("-append".into());
        a.push(self.append.clone().into());
        if let Some(qmp) = &self.qmp {
            let mut spec = OsString::from("unix:");
            spec.push(qmp);
            spec.push(",server=on,wait=off");
            a.push("-qmp".into());
            a.push(spec);
        }
        a
    }

    /// A ready-to-spawn command.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(QEMU);
        cmd.args(self.args());
        cmd
    }
}

/// Picks a window if one can be shown: a display server is reachable
/// (`$DISPLAY` or `$WAYLAND_DISPLAY`) and this QEMU has a GTK or SDL front
/// end. Otherwise headless.
pub fn detect_display() -> Display {
    let has_server = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    if !has_server {
        return Display::None;
    }
    let Ok(out) = Command::new(QEMU)
        .args(["-display", "help"])
        .stderr(Stdio::null())
        .output()
    else {
        return Display::None;
    };
    pick_display(&String::from_utf8_lossy(&out.stdout))
}

/// Chooses from the output of `qemu-system-x86_64 -display help`.
fn pick_display(help: &str) -> Display {
    let listed = |name: &str| help.lines().any(|l| l.trim() == name);
    if listed("gtk") {
        Display::Gtk
    } else if listed("sdl") {
        Display::Sdl
    } else {
        Display::None
    }
}

/// A command as one line a POSIX shell would accept.
pub fn shell_line(cmd: &Command) -> String {
    let mut parts = Vec::new();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            parts.push(format!(
                "{}={}",
                k.to_string_lossy(),
                quote(&v.to_string_lossy())
            ));
        }
    }
    // `cargo` by the full path of the running toolchain is noise: show the
    // name a person would type.
    let program = Path::new(cmd.get_program());
    if program.file_name().is_some_and(|n| n == "cargo") {
        parts.push("cargo".to_string());
    } else {
        parts.push(quote(&program.to_string_lossy()));
    }
    parts.extend(cmd.get_args().map(|a| quote(&a.to_string_lossy())));
    parts.join(" ")
}

/// Quotes one word for a POSIX shell, only when needed.
pub fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The outcome of a finished QEMU.
pub fn outcome(status: ExitStatus) -> Outcome {
    match (status.code(), status.signal()) {
        (Some(code), _) => Outcome::Exited(code),
        (None, Some(sig)) => Outcome::Signaled(sig),
        (None, None) => Outcome::Exited(-1),
    }
}

/// A finished timed run.
#[derive(Clone, Copy, Debug)]
pub struct TimedRun {
    /// How it ended.
    pub outcome: Outcome,
    /// Wall-clock time it took.
    pub elapsed: Duration,
}

/// A QEMU started by [`Running::spawn`], in its own process group. Dropping
/// it kills QEMU if it is still running.
pub struct Running {
    child: Child,
    start: Instant,
    reaped: bool,
}

impl Running {
    /// Starts `cmd` with stdout to `stdout_file` and stderr to
    /// `stderr_file`, in its own process group, killed if xtask dies.
    pub fn spawn(mut cmd: Command, stdout_file: &Path, stderr_file: &Path) -> Result<Running> {
        let stdout = File::create(stdout_file)
            .with_context(|| format!("could not create {}", stdout_file.display()))?;
        let stderr = File::create(stderr_file)
            .with_context(|| format!("could not create {}", stderr_file.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0);
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs in the child between fork and exec, and only
        // makes async-signal-safe system calls (prctl, getppid, _exit).
        unsafe {
            cmd.pre_exec(move || {
                // Die with xtask: a Ctrl-C or kill of xtask must not leave QEMU
                // running. If xtask died before this took effect, leave now.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let start = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("could not start {QEMU}"))?;
        Ok(Running {
            child,
            start,
            reaped: false,
        })
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// How QEMU ended, or `None` while it runs.
    pub fn try_wait(&mut self) -> Result<Option<Outcome>> {
        let status = self.child.try_wait().context("could not wait for QEMU")?;
        if status.is_some() {
            self.reaped = true;
        }
        Ok(status.map(outcome))
    }

    /// Waits up to `limit` for QEMU to end.
    pub fn wait_for(&mut self, limit: Duration) -> Result<Option<Outcome>> {
        let start = Instant::now();
        loop {
            if let Some(outcome) = self.try_wait()? {
                return Ok(Some(outcome));
            }
            if start.elapsed() >= limit {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills QEMU's process group and reaps QEMU.
    pub fn kill(&mut self) {
        if self.reaped {
            return;
        }
        // QEMU leads its own process group (process_group(0) in spawn), so
        // the group id is its pid.
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill has no memory-safety preconditions; the group is ours
        // because the child has not been reaped yet.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
        self.reaped = true;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `cmd` with stdout to `stdout_file` and stderr to `stderr_file`,
/// killing its process group once `timeout` has passed.
pub fn run_timed(
    cmd: Command,
    stdout_file: &Path,
    stderr_file: &Path,
    timeout: Duration,
) -> Result<TimedRun> {
    let mut running = Running::spawn(cmd, stdout_file, stderr_file)?;
    loop {
        if let Some(outcome) = running.try_wait()? {
            return Ok(TimedRun {
                outcome,
                elapsed: running.elapsed(),
            });
        }
        if running.elapsed() >= timeout {
            running.kill();
            return Ok(TimedRun {
                outcome: Outcome::Timeout(timeout),
                elapsed: running.elapsed(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads a growing serial log file as whole lines, cleaned like the judge
/// sees them (see [`judge::log_lines`](crate::judge::log_lines)).
pub struct SerialFollower {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    lines: usize,
}

impl SerialFollower {
    /// Follows `path` from its start; the file need not exist yet.
    pub fn new(path: &Path) -> SerialFollower {
        SerialFollower {
            path: path.to_path_buf(),
            offset: 0,
            partial: Vec::new(),
            lines: 0,
        }
    }

    /// Number of lines returned so far; the next line returned is line
    /// `lines() + 1`.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// The complete lines written since the last call.
    pub fn poll(&mut self) -> Vec<String> {
        self.read_more();
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        let done: Vec<u8> = self.partial.drain(..=end).collect();
        self.split(&done)
    }

    /// Everything left, the last line even without its line end: for when
    /// the writer has exited.
    pub fn finish(&mut self) -> Vec<String> {
        let mut lines = self.poll();
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            lines.extend(self.split(&rest));
        }
        lines
    }

    fn read_more(&mut self) {
        let Ok(mut file) = File::open(&self.path) else {
            return;
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        if let Ok(n) = file.read_to_end(&mut self.partial) {
            self.offset += n as u64;
        }
    }

    fn split(&mut self, bytes: &[u8]) -> Vec<String> {
        let lines = crate::judge::log_lines(&String::from_utf8_lossy(bytes));
        self.lines += lines.len();
        lines
    }
}

/// A path for a QMP socket: `preferred` when it fits in a Unix socket
/// address (108 bytes with the final NUL), otherwise a short one in the
/// temporary directory. Removes any old file at the path, so a stale socket
/// is never mistaken for this run's.
pub fn qmp_socket_path(preferred: PathBuf) -> PathBuf {
    const SUN_PATH_MAX: usize = 107;
    let path = if preferred.as_os_str().len() <= SUN_PATH_MAX {
        preferred
    } else {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::env::temp_dir().join(format!("tessera-{}-{n}.qmp", std::process::id()))
    };
    let _ = std::fs::remove_file(&path);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> QemuConfig {
        QemuConfig {
            kernel: "target/k".into(),
            image: "target/i.img".into(),
            smp: 4,
            cpu: "max".into(),
            append: String::new(),
            display: Display::None,
            qmp: None,
            icount: false,
        }
    }

    fn line(c: &QemuConfig) -> String {
        shell_line(&c.command())
    }

    #[test]
    fn default_command_line() {
        assert_eq!(
            line(&config()),
            "qemu-system-x86_64 -M q35 -accel tcg -cpu max -smp 4 -m 512M -vga none -nic none \
             -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 -device virtio-gpu-pci \
             -device virtio-keyboard-pci -device virtio-tablet-pci -display none -serial stdio \
             -monitor none -kernel target/k -initrd target/i.img -append ''"
        );
    }

    #[test]
    fn options_reach_the_command_line() {
        let c = QemuConfig {
            smp: 1,
            cpu: "qemu64".into(),
            append: "log=debug x".into(),
            display: Display::Gtk,
            qmp: Some("/tmp/q.sock".into()),
            icount: true,
            ..config()
        };
        let l = line(&c);
        assert!(
            l.contains("-accel tcg,thread=single -icount shift=0,align=off,sleep=off"),
            "{l}"
        );
        assert!(l.contains("-cpu qemu64 -smp 1"), "{l}");
        assert!(l.contains("-display gtk"), "{l}");
        assert!(l.contains("-append 'log=debug x'"), "{l}");
        assert!(
            l.ends_with("-qmp unix:/tmp/q.sock,server=on,wait=off"),
            "{l}"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("plain-word_1.2"), "plain-word_1.2");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn display_choice() {
        let help = "Available display backend types:\nnone\ngtk\nsdl\negl-headless\ncurses\n";
        assert_eq!(pick_display(help), Display::Gtk);
        assert_eq!(
            pick_display("Available display backend types:\nnone\nsdl\n"),
            Display::Sdl
        );
        assert_eq!(
            pick_display("Available display backend types:\nnone\ncurses\n"),
            Display::None
        );
    }

    #[test]
    fn follower_returns_whole_lines() {
        let path = std::env::temp_dir().join(format!("xtask-follow-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut f = SerialFollower::new(&path);
        assert!(f.poll().is_empty());
        std::fs::write(&path, "one\r\ntw").unwrap();
        assert_eq!(f.poll(), ["one"]);
        assert_eq!(f.lines(), 1);
        assert!(f.poll().is_empty());
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut file, b"o\n\x1b[32mthree\x1b[0m\nfou").unwrap();
        assert_eq!(f.poll(), ["two", "three"]);
        assert_eq!(f.finish(), ["fou"]);
        assert_eq!(f.lines(), 4);
        assert!(f.finish().is_empty());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn socket_paths() {
        let short = std::env::temp_dir().join(format!("xtask-sock-{}.qmp", std::process::id()));
        std::fs::write(&short, "stale").unwrap();
        assert_eq!(qmp_socket_path(short.clone()), short);
        assert!(!short.exists());
        let long = PathBuf::from(format!("/{}/x.qmp", "d".repeat(120)));
        let other = qmp_socket_path(long);
        assert!(other.as_os_str().len() <= 107, "{}", other.display());
        assert!(other.starts_with(std::env::temp_dir()));
    }

    #[test]
    fn timed_run_kills_on_timeout() {
        let dir = std::env::temp_dir().join(format!("xtask-qemu-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let err = dir.join("err");

        let mut sleeper = Command::new("sh");
        sleeper.args(["-c", "echo started; sleep 30"]);
        let run = run_timed(sleeper, &out, &err, Duration::from_millis(300)).unwrap();
        assert_eq!(run.outcome, Outcome::Timeout(Duration::from_millis(300)));
        assert!(run.elapsed < Duration::from_secs(10));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "started\n");

        let mut quick = Command::new("sh");
        quick.args(["-c", "exit 33"]);
        let run = run_timed(quick, &out, &err, Duration::from_secs(30)).unwrap();
        assert_eq!(run.outcome, Outcome::Exited(33));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
