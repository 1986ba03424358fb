//! `cargo xtask`: everything a person types to build, run and test Tessera.
//!
//! | command | what it does |
//! |---|---|
//! | `build` | builds the kernel and user programs for `x86_64-unknown-none`, then the boot image `target/tessera/<solution>.img` from a solution file (default `policies/solution.toml`) |
//! | `run` | `build`, then boots it in QEMU (a window when a display exists, else the serial log on this terminal) |
//! | `screenshot FILE.png` | `build`, then boots headless and saves the screen once a serial line matches `--after` |
//! | `test` | host unit tests, then every QEMU scenario in `policies/tests/*.toml` |
//! | `bench` | boots the in-OS IPC benchmarks with and without icount and writes `target/bench/ipc.json` |
//! | `policy check [FILE]` | checks a policy against the interface descriptions and a solution |
//! | `lint` | rustfmt, clippy and rustdoc with warnings as errors |
//! | `ci` | `lint`, then `test`: exactly what `.ci/run` runs |
//!
//! Each concern lives in its own module: [`workspace`] (cargo metadata),
//! [`setup`] (toolchain target, QEMU install), [`build`] (cargo for bare
//! metal), [`solution`] (the TOML schema), [`image`] (the boot image),
//! [`qemu`] (command line and timed runs), [`qmp`] (QEMU's machine protocol:
//! screenshots and input), [`screen`] (PNG screenshots and pixel checks),
//! [`step`] (scenario steps: input and the lines it must cause),
//! [`judge`] (scenario checks), [`test`](mod@test) (the harness),
//! [`screenshot`] and [`lint`].

mod bench;
mod build;
mod guibench;
mod image;
mod judge;
mod lint;
mod policy;
mod qemu;
mod qmp;
mod screen;
mod screenshot;
mod setup;
mod solution;
mod step;
mod test;
mod workspace;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::build::{Artifacts, Profile};
use crate::judge::{STATUS_FAIL, STATUS_PASS};
use crate::qemu::{Display, QemuConfig};
use crate::solution::SolutionFile;
use crate::workspace::Workspace;

/// Build, run and test Tessera.
/// Options of `cargo xtask bench`.
#[derive(clap::Args, Debug)]
struct BenchArgs {
    /// Skip the host-side criterion benches (verdict cache, composition).
    #[arg(long)]
    no_criterion: bool,
    /// Run only the GUI benchmarks (boot to desktop, input to screen).
    #[arg(long)]
    gui_only: bool,
}

#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the kernel, the user programs and the boot image.
    Build(BuildArgs),
    /// Build, then boot Tessera in QEMU.
    Run(RunArgs),
    /// Build, boot headless, and save the screen as a PNG once a serial
    /// line matches --after.
    Screenshot(ScreenshotArgs),
    /// Run the host unit tests and the QEMU scenarios (both unless one is chosen).
    Test(TestArgs),
    /// Boot the in-OS IPC benchmarks (with and without icount), write
    /// target/bench/ipc.json, then run the host criterion benches.
    Bench(BenchArgs),
    /// Work with security policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Check formatting, clippy and rustdoc (warnings are errors).
    Lint,
    /// Lint, then test: what CI runs.
    Ci,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Check a policy file against the interface descriptions and a
    /// solution, with rustc-style diagnostics.
    Check {
        /// Policy file [default: policies/solution.policy].
        file: Option<PathBuf>,
        /// Solution description whose programs are the contexts [default: policies/solution.toml].
        #[arg(long, value_name = "FILE")]
        solution: Option<PathBuf>,
    },
}

#[derive(Args)]
struct BuildArgs {
    /// Build with the release profile.
    #[arg(long)]
    release: bool,
    /// Solution description [default: policies/solution.toml]; a bare NAME
    /// means policies/NAME.toml or policies/tests/NAME.toml.
    #[arg(long, value_name = "FILE")]
    solution: Option<PathBuf>,
}

/// The machine options `run` and `screenshot` share.
#[derive(Args)]
struct MachineArgs {
    /// Number of CPUs.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    smp: u32,
    /// QEMU CPU model.
    #[arg(long, default_value = "max", value_name = "MODEL")]
    cpu: String,
    /// Kernel command line.
    #[arg(
        long,
        default_value = "",
        value_name = "ARGS",
        allow_hyphen_values = true
    )]
    append: String,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    build: BuildArgs,
    /// No window, even if a display exists; opens a QMP socket (printed)
    /// at target/tessera/NAME.qmp (NAME: the solution name) unless --qmp names one.
    #[arg(long)]
    headless: bool,
    #[command(flatten)]
    machine: MachineArgs,
    /// Open a QMP socket at PATH (screendump, input injection).
    #[arg(long, value_name = "PATH")]
    qmp: Option<PathBuf>,
    /// Deterministic timing: the guest TSC counts instructions (single-threaded TCG).
    #[arg(long)]
    icount: bool,
}

#[derive(Args)]
struct ScreenshotArgs {
    /// Where to save the screen (a PNG).
    #[arg(value_name = "FILE.png")]
    file: PathBuf,
    #[command(flatten)]
    build: BuildArgs,
    #[command(flatten)]
    machine: MachineArgs,
    /// Take the screenshot once a serial line matches REGEX ({smp} and
    /// {last_cpu} as in scenarios).
    #[arg(long, value_name = "REGEX", default_value = screenshot::DEFAULT_AFTER)]
    after: String,
    /// Give up when no line has matched after SECS seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// After that line, wait until the serial log has been quiet for MS
    /// milliseconds (clients that start later have drawn by then).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    settle: u64,
}

#[derive(Args)]
struct TestArgs {
    /// Run the host unit tests.
    #[arg(long)]
    host: bool,
    /// Run the QEMU scenarios.
    #[arg(long)]
    qemu: bool,
    /// Only scenarios whose name (or `<name>-smp<N>-<cpu>`) contains SUBSTR.
    #[arg(long, value_name = "SUBSTR")]
    filter: Option<String>,
    /// QEMUs to run at once.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// Build the kernel and programs with the release profile.
    #[arg(long)]
    release: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode> {
    let ws = Workspace::load()?;
    match command {
        Command::Build(args) => {
            build_solution(&ws, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run(&ws, &args),
        Command::Screenshot(args) => {
            let (file, artifacts, image) = build_solution(&ws, &args.build)?;
            setup::ensure_qemu()?;
            let opts = screenshot::Options {
                file: args.file,
                after: args.after,
                timeout: std::time::Duration::from_secs(args.timeout),
                settle: std::time::Duration::from_millis(args.settle),
                smp: args.machine.smp,
                cpu: args.machine.cpu,
                append: args.machine.append,
            };
            screenshot::screenshot(&ws, &file, &artifacts, &image, &opts)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Test(args) => {
            let opts = test::TestOptions {
                host: args.host,
                qemu: args.qemu,
                filter: args.filter,
                jobs: usize::from(args.jobs),
                release: args.release,
            };
            test::test(&ws, &opts)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => {
            bench::bench(&ws, !args.no_criterion, args.gui_only)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(PolicyCommand::Check { file, solution }) => {
            policy::check(&ws, file, solution)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Lint => {
            lint::lint(&ws)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ci => {
            lint::lint(&ws)?;
            test::test(
                &ws,
                &test::TestOptions {
                    jobs: 1,
                    ..Default::default()
                },
            )?;
            println!("ci: lint and tests passed");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The solution file `--solution` names: the path itself when it is a
/// file; otherwise a bare name (no `/`, no extension) is looked up as
/// `policies/NAME.toml`, then `policies/tests/NAME.toml`.
fn solution_path(ws: &Workspace, arg: &Path) -> PathBuf {
    let bare = arg.components().count() == 1 && arg.extension().is_none();
    if arg.is_file() || !bare {
        return arg.to_path_buf();
    }
    ["policies", "policies/tests"]
        .iter()
        .map(|dir| ws.root.join(dir).join(arg).with_extension("toml"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| arg.to_path_buf())
}

/// `build`: returns the solution, the artifacts and the image path.
fn build_solution(ws: &Workspace, args: &BuildArgs) -> Result<(SolutionFile, Artifacts, PathBuf)> {
    let path = match &args.solution {
        Some(arg) => solution_path(ws, arg),
        None => ws.root.join("policies/solution.toml"),
    };
    if !path.is_file() {
        let hint = if args.solution.is_none() {
            " (pass another with --solution FILE)"
        } else {
            ""
        };
        bail!("solution file {} does not exist{hint}", path.display());
    }
    // Parse first: a typo in the TOML should not wait for a build.
    let file = SolutionFile::load(&path)?;
    setup::ensure_target(ws)?;
    let artifacts = build::build(ws, Profile::from_release(args.release))?;
    let image = ws.out_dir().join(format!("{}.img", file.solution.name));
    image::write_image(&file, &artifacts, &image)?;
    println!("kernel {}", ws.show(&artifacts.kernel));
    print!("{}", image::summary(&file, &image, ws));
    Ok((file, artifacts, image))
}

/// `run`: build, then boot in QEMU and report how it ended.
fn run(ws: &Workspace, args: &RunArgs) -> Result<ExitCode> {
    let (file, artifacts, image) = build_solution(ws, &args.build)?;
    setup::ensure_qemu()?;
    let display = if args.headless {
        Display::None
    } else {
        qemu::detect_display()
    };
    if display == Display::None && !args.headless {
        println!("no display found: running headless, serial on this terminal");
    }
    let qmp = match &args.qmp {
        Some(path) => Some(path.clone()),
        None if display == Display::None => Some(qemu::qmp_socket_path(
            ws.out_dir().join(format!("{}.qmp", file.solution.name)),
        )),
        None => None,
    };
    let config = QemuConfig {
        kernel: artifacts.kernel,
        image,
        smp: args.machine.smp,
        cpu: args.machine.cpu.clone(),
        append: args.machine.append.clone(),
        display,
        qmp: qmp.clone(),
        icount: args.icount,
    };
    let mut cmd = config.command();
    println!("{}", qemu::shell_line(&cmd));
    if let Some(qmp) = &qmp {
        println!(
            "QMP socket: {} (for example `screendump` and `input-send-event`)",
            qmp.display()
        );
    }
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", qemu::QEMU))?;
    Ok(match qemu::outcome(status) {
        judge::Outcome::Exited(STATUS_PASS) => {
            println!("Tessera exited: pass");
            ExitCode::SUCCESS
        }
        judge::Outcome::Exited(STATUS_FAIL) => {
            println!("Tessera exited: failure");
            ExitCode::FAILURE
        }
        judge::Outcome::Exited(0) => {
            println!("{}", judge::describe_status(0));
            ExitCode::SUCCESS
        }
        other => {
            println!("{other}");
            ExitCode::FAILURE
        }
    })
}
