//! Solution description files: the TOML that says which programs a boot
//! image starts, and (for test scenarios) how to judge a QEMU run.
//!
//! This module owns the schema and all of its validation; it turns a file into
//! the kernel's [`Solution`] (the form encoded into the boot image) plus an
//! optional [`TestSpec`]. Every error names the file. Unknown fields are
//! errors, so a typo never silently falls back to a default.
//!
//! ```toml
//! [solution]
//! name = "preempt"            # [a-z0-9_-], at most 32 bytes; names the image file
//! exit_when_done = false      # exit QEMU (pass 33 / fail 35) when every domain ended
//! from = "../solution.toml"   # a scenario only: boot the programs, channels and policy of
//!                             # that solution file as they are (this file then has none)
//!
//! [[program]]
//! name = "spinner"            # domain label, [a-z0-9_-], at most 24 chars
//! image = "spinner"           # a [[bin]] of a crate under apps/
//! priority = 8                # 1..=31
//! cpu = 1                     # pin to CPU 1 (or `cpus = [0, 2]`; neither: any CPU)
//! instances = 1               # >1: domains "spinner-1", "spinner-2", ... on cpu, cpu+1, ...
//! devices = ["1af4:1050"]     # PCI devices to assign: "vendor:device", "vendor:*" (hex),
//!                             # "class:03" or "class:03.00"; each at most one owner
//! arg = 0                     # u64 in rdi (an integer >= 0, or a string such as "0xffff0000")
//! expect = "exit 0"           # "exit N", "fault" or "any"
//! restart = 0                 # 0..=8: start it again after a fault or non-zero exit, this
//!                             # many times at most (not for programs that serve a channel)
//! start = "boot"              # or "on-demand": not started at boot but by a domain's
//!                             # Task.start, as the policy's `execute` rules allow; then
//!                             # `instances` (1..=8) bounds the live instances, labelled
//!                             # "name-1", "name-2", ... (just "name" if 1), `expect` is
//!                             # "any" and the program may not serve a channel or own devices
//!
//! [[channel]]                 # a static IPC channel, set up before the programs start
//! name = "echo"               # what the client looks it up by: [a-z0-9_-], at most 24 chars,
//!                             # unique among the channels of one client
//! client = "hello"            # a domain ("hello-2") or a program name (every instance of it)
//! server = "echo"             # exactly one domain: a single-instance program or "echo-1"
//! grant = false               # true: the client may pass the channel on (GRANT right)
//!
//! [test]                      # makes the file a QEMU scenario for `cargo xtask test`
//! description = "..."
//! timeout_secs = 60
//! append = ""                 # kernel command line
//! runs = [{ smp = 4, cpu = "max" }, { smp = 1, cpu = "max" }, { smp = 4, cpu = "qemu64" }]
//!                             # a run may add `append = "..."` (kernel options for that
//!                             # run), `expect = ["regex"]` (checks for that run only) and
//!                             # `icount = true` (the guest clock follows its instructions,
//!                             # not the host's clock: timings independent of host load)
//! expect = ["regex"]          # see judge.rs for the checks and placeholders
//! expect_smp = ["regex"]
//! forbid = ["regex"]
//! order = [["regex a", "regex b"]]
//!
//! [[test.screen]]             # a screenshot, taken through QMP while the run goes on
//! after = 'frame \d+ presented' # regex (placeholders as above): take it when a serial line
//!                             # matches, after the line that triggered the previous entry
//! name = "desktop"            # [a-z0-9_-], unique; saved as target/qemu-tests/<job>-<name>.png
//! pixels = [{ x = 10, y = 10, rgb = "#203040", tolerance = 8 }]
//!                             # pixels the screen must show; tolerance per channel (default 0)
//! keys = ["a", "ret", "shift-a"] # QEMU key codes (qcodes) to send after the screenshot;
//!                             # a chord joins codes with `-`
//!
//! [[test.step]]               # one step of input and checks (see step.rs); steps run in order
//! after = 'window \d+ presented' # regex: wait for a line matching it, after the line that
//!                             # finished the previous step (needed on the first step; without
//!                             # it a step is due when the previous one finished)
//! screen = "focus"            # take a screenshot: [a-z0-9_-], unique among screens and steps;
//!                             # saved as target/qemu-tests/<job>-<name>.png
//! pixels = [{ x = 38, y = 150, rgb = "#ffffff" }] # as in [[test.screen]]; needs `screen`
//! windows = ["alpha", "beta"] # needs `screen`: the screenshot shows each label's window
//!                             # where the display server logged it placed it, title bar in
//!                             # the label's colour, label written, content drawn
//! click = { x = 200, y = 160, button = "left" } # after the screenshot: move the pointer to
//!                             # this screen pixel (QMP abs axes, scaled to 0..=32767 of the
//!                             # screen's size), then press and release the button
//!                             # ("left" unless given); with `window = "alpha"`, x and y are
//!                             # inside that label's window content, wherever it was placed
//! drag = [[100, 120], [150, 140], [200, 140]] # after the click: move the pointer to the
//!                             # first screen pixel, press the left button, move through each
//!                             # further pixel in turn, release (2 to 32 points, scaled as
//!                             # `click`; the events go 25 ms apart so the guest sees each)
//! keys = ["a", "ctrl-alt-tab"] # after the click and the drag, as in [[test.screen]]
//! expect = ['left: .*key a$'] # each must match a line read after the input; the line that
//!                             # matches the last of them finishes the step
//! forbid = ['right: .*key a$'] # none may match a line read after the input, to the end of
//!                             # the log
//! within_ms = 2000            # optional, with `expect`: the step fails unless its `expect`
//!                             # lines have all matched within this many ms (1..=600000)
//!                             # after it acted
//! ```
//!
//! A `[[test.screen]]` entry is a step with `after`, `screen`, `pixels` and
//! `keys`; a scenario has one kind of entry or the other, not both. A step
//! must do or check something (`after` alone is a wait).
//!
//! A scenario needs `exit_when_done = true` unless it has `[[test.screen]]`
//! or `[[test.step]]` entries. With steps and no `exit_when_done`, the
//! harness itself stops QEMU (QMP `quit`) once every step is done and every
//! `expect`, `expect_smp`, run `expect` and `order` regex has matched, and
//! the run can pass without the kernel's isa-debug-exit status (see
//! `test.rs`).
//!
//! A CPU pin becomes an affinity mask with bit `cpu` set; the kernel takes the
//! bit index modulo the number of CPUs online, so a scenario written for four
//! CPUs still runs with one.
//!
//! A channel end names domains after instance expansion. A name stands for
//! every domain whose name it is or whose `[[program]]` it names, so with
//! `instances = 3`, `client = "hello"` gives three channels (from `hello-1`,
//! `hello-2` and `hello-3`), while `client = "hello-2"` gives one. The server
//! must come to exactly one domain, and a domain can have no channel to
//! itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use kcore::bootimage::{
    CHANNEL_NAME_LEN, ChannelSpec, DeviceSpec, Expect, MAX_CHANNELS, MAX_ON_DEMAND_INSTANCES,
    MAX_PRIORITY, MAX_RESTARTS, MIN_PRIORITY, NAME_LEN, ProgramSpec, SOLUTION_ENTRY, Solution,
};
use serde::Deserialize;

mod test_table;

use test_table::{RawTest, convert_test};
pub use test_table::{RunSpec, TestSpec};

/// Longest program (domain) name before instance expansion.
pub const PROGRAM_NAME_LEN: usize = 24;

/// Most instances one `[[program]]` may expand to.
pub const MAX_INSTANCES: u64 = 64;

/// Highest CPU index a pin may name (the affinity mask has 64 bits).
pub const MAX_CPU: u64 = 63;

/// Most CPUs a test run may ask QEMU for.
pub const MAX_SMP: u64 = 64;

/// Default priority of a program.
pub const DEFAULT_PRIORITY: u8 = 8;

/// Default timeout of one QEMU test run.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// A parsed and validated solution file.
#[derive(Clone, Debug)]
pub struct SolutionFile {
    /// Where it came from.
    pub path: PathBuf,
    /// The programs, instances expanded, as the kernel will see them.
    pub solution: Solution,
    /// The security context of each domain in `solution.programs`: the
    /// name of the `[[program]]` table it came from.
    pub contexts: Vec<String>,
    /// The policy file (`[solution] policy`, relative to this file), if any.
    pub policy: Option<PathBuf>,
    /// The `[test]` table, if the file is a QEMU scenario.
    pub test: Option<TestSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    solution: RawSolution,
    #[serde(default)]
    program: Vec<RawProgram>,
    #[serde(default)]
    channel: Vec<RawChannel>,
    test: Option<RawTest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSolution {
    name: String,
    #[serde(default)]
    exit_when_done: bool,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    from: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgram {
    name: String,
    image: String,
    priority: Option<i64>,
    cpu: Option<i64>,
    cpus: Option<Vec<i64>>,
    instances: Option<i64>,
    arg: Option<toml::Value>,
    expect: Option<String>,
    #[serde(default)]
    devices: Vec<String>,
    restart: Option<i64>,
    start: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    name: String,
    client: String,
    server: String,
    #[serde(default)]
    grant: bool,
}

impl SolutionFile {
    /// Reads, parses and validates a solution file.
    pub fn load(path: &Path) -> Result<SolutionFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("could not read solution file {}", path.display()))?;
        SolutionFile::parse(path, &text)
    }

    /// Parses and validates solution text; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<SolutionFile> {
        let mut raw: RawFile = toml::from_str(text)
            .map_err(|e| anyhow!("{}: {}", path.display(), e.to_string().trim_end()))?;
        let in_file = |e: String| anyhow!("{}: {e}", path.display());
        let dir = path.parent().unwrap_or(Path::new("."));
        // Where `policy` is relative to: this file, or the one it boots.
        let mut policy_dir = dir.to_path_buf();
        if let Some(from) = raw.solution.from.take() {
            let base_path = dir.join(&from);
            policy_dir = base_path.parent().unwrap_or(Path::new(".")).to_path_buf();
            let base = read_base(&raw, &base_path).map_err(in_file)?;
            raw.program = base.program;
            raw.channel = base.channel;
            raw.solution.policy = base.solution.policy;
        }
        let (solution, contexts) = convert_solution(&raw).map_err(in_file)?;
        let test = raw
            .test
            .as_ref()
            .map(convert_test)
            .transpose()
            .map_err(in_file)?;
        if test.as_ref().is_some_and(|t| t.steps.is_empty()) && !solution.exit_when_done {
            return Err(in_file(
                "a [test] scenario needs `exit_when_done = true` in [solution]: the harness \
                 waits for the kernel to exit QEMU (only a scenario with [[test.screen]] or \
                 [[test.step]] entries may leave it out; the harness then stops QEMU itself)"
                    .into(),
            ));
        }
        // The kernel-side rules (lengths, priorities, duplicates) once more,
        // so nothing reaches the image that the kernel would reject.
        solution
            .encode()
            .map_err(|e| in_file(format!("solution cannot be encoded: {e}")))?;
        let policy = raw.solution.policy.as_ref().map(|p| policy_dir.join(p));
        Ok(SolutionFile {
            path: path.to_path_buf(),
            solution,
            contexts,
            policy,
            test,
        })
    }

    /// The distinct program images, in order of first use.
    pub fn images(&self) -> Vec<&str> {
        let mut seen = BTreeSet::new();
        self.solution
            .programs
            .iter()
            .map(|p| p.image.as_str())
            .filter(|i| seen.insert(*i))
            .collect()
    }

    /// Checks that every image names a built user program; `known` lists them.
    pub fn check_images(&self, known: &[&str]) -> Result<()> {
        for p in &self.solution.programs {
            if !known.contains(&p.image.as_str()) {
                bail!(
                    "{}: program `{}` uses image `{}`, which is not a binary of any crate under \
                     apps/ (known: {})",
                    self.path.display(),
                    p.name,
                    p.image,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                );
            }
        }
        Ok(())
    }
}

/// The solution file a scenario's `from` names, at `base_path`, checked:
/// the scenario may not add programs, channels or a policy of its own, and
/// the base must be a plain solution (no `[test]`, no `from` of its own).
fn read_base(scenario: &RawFile, base_path: &Path) -> Result<RawFile, String> {
    if !scenario.program.is_empty() || !scenario.channel.is_empty() {
        return Err("a scenario with `from` boots that solution as it is: \
                    it may not have [[program]] or [[channel]] entries"
            .into());
    }
    if scenario.solution.policy.is_some() {
        return Err("a scenario with `from` uses that solution's policy: \
                    it may not name a `policy` of its own"
            .into());
    }
    if scenario.test.is_none() {
        return Err("`from` is for QEMU scenarios: the file needs a [test] table".into());
    }
    let text = std::fs::read_to_string(base_path)
        .map_err(|e| format!("could not read `from` file {}: {e}", base_path.display()))?;
    let base: RawFile = toml::from_str(&text).map_err(|e| {
        format!(
            "`from` file {}: {}",
            base_path.display(),
            e.to_string().trim_end()
        )
    })?;
    if base.solution.from.is_some() || base.test.is_some() {
        return Err(format!(
            "`from` file {} must be a solution, not a scenario (no `from`, no [test])",
            base_path.display()
        ));
    }
    Ok(base)
}

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn convert_solution(raw: &RawFile) -> Result<(Solution, Vec<String>), String> {
    let name = &raw.solution.name;
    if !is_label(name) || name.len() > NAME_LEN {
        return Err(format!(
            "solution name {name:?} must be 1 to {NAME_LEN} characters of [a-z0-9_-]"
        ));
    }
    let mut programs: Vec<ProgramSpec> = Vec::new();
    let mut devices: Vec<DeviceSpec> = Vec::new();
    // The `[[program]]` name each domain came from, by domain index.
    let mut origin: Vec<&str> = Vec::new();
    for p in &raw.program {
        for select in &p.devices {
            kcore::pci::Match::parse(select).map_err(|e| {
                format!(
                    "program `{}`: device {select:?}: {e} (use \"vendor:device\" or \"vendor:*\" \
                     in hex, or \"class:CC\" / \"class:CC.SS\")",
                    p.name
                )
            })?;
        }
        for spec in expand_program(p).map_err(|e| format!("program `{}`: {e}", p.name))? {
            for select in &p.devices {
                devices.push(DeviceSpec {
                    program: spec.name.clone(),
                    select: select.clone(),
                });
            }
            if programs.iter().any(|q| q.name == spec.name) {
                return Err(format!(
                    "duplicate program name `{}` (after instance expansion)",
                    spec.name
                ));
            }
            programs.push(spec);
            origin.push(&p.name);
        }
    }
    let mut channels: Vec<ChannelSpec> = Vec::new();
    for c in &raw.channel {
        let context = format!(
            "channel `{}` (client `{}`, server `{}`)",
            c.name, c.client, c.server
        );
        for spec in expand_channel(c, &programs, &origin).map_err(|e| format!("{context}: {e}"))? {
            if channels
                .iter()
                .any(|d| d.client == spec.client && d.name == spec.name)
            {
                return Err(format!(
                    "{context}: domain `{}` already has a channel named `{}` (channel names \
                     are unique per client)",
                    spec.client, spec.name
                ));
            }
            channels.push(spec);
            if channels.len() > MAX_CHANNELS {
                return Err(format!(
                    "more than {MAX_CHANNELS} channels after expanding program-name clients"
                ));
            }
        }
    }
    if let Some(p) = programs
        .iter()
        .find(|p| p.on_demand && channels.iter().any(|c| c.server == p.name))
    {
        return Err(format!(
            "program `{}`: an on-demand program cannot serve a channel (its clients start \
             before it and would hold a handle to nothing)",
            p.name
        ));
    }
    if let Some(p) = programs
        .iter()
        .find(|p| p.restarts > 0 && channels.iter().any(|c| c.server == p.name))
    {
        return Err(format!(
            "program `{}`: `restart` is only for programs that serve no channel (its clients \
             would keep handles to the ended domain's endpoint)",
            p.name
        ));
    }
    let contexts = origin.iter().map(|o| o.to_string()).collect();
    Ok((
        Solution {
            name: name.clone(),
            exit_when_done: raw.solution.exit_when_done,
            programs,
            channels,
            devices,
        },
        contexts,
    ))
}

/// The domains a channel end names: every domain called `end`, and every
/// instance of a `[[program]]` called `end`, in domain order.
fn resolve<'a>(end: &str, programs: &'a [ProgramSpec], origin: &[&str]) -> Vec<&'a str> {
    programs
        .iter()
        .zip(origin)
        .filter(|(p, o)| p.name == end || **o == end)
        .map(|(p, _)| p.name.as_str())
        .collect()
}

/// One `[[channel]]` table, a program-name client expanded to one channel
/// per instance.
fn expand_channel(
    c: &RawChannel,
    programs: &[ProgramSpec],
    origin: &[&str],
) -> Result<Vec<ChannelSpec>, String> {
    if !is_label(&c.name) || c.name.len() > CHANNEL_NAME_LEN {
        return Err(format!(
            "name must be 1 to {CHANNEL_NAME_LEN} characters of [a-z0-9_-]"
        ));
    }
    let known = || {
        if programs.is_empty() {
            "the solution has no programs".to_string()
        } else {
            format!(
                "domains: {}",
                programs
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    let clients = resolve(&c.client, programs, origin);
    if clients.is_empty() {
        return Err(format!(
            "client `{}` is neither a domain nor a program ({})",
            c.client,
            known()
        ));
    }
    let server = match resolve(&c.server, programs, origin).as_slice() {
        [] => {
            return Err(format!(
                "server `{}` is neither a domain nor a program ({})",
                c.server,
                known()
            ));
        }
        [one] => *one,
        several => {
            return Err(format!(
                "server `{}` is {} domains ({}); a channel has exactly one server, so name one \
                 instance",
                c.server,
                several.len(),
                several.join(", ")
            ));
        }
    };
    if clients.contains(&server) {
        return Err(if clients.len() == 1 {
            format!(
                "domain `{server}` is both client and server; a domain cannot have a channel to itself"
            )
        } else {
            format!(
                "client `{}` includes the server `{server}`; a domain cannot have a channel to \
                 itself (name the client instances one by one)",
                c.client
            )
        });
    }
    Ok(clients
        .into_iter()
        .map(|client| ChannelSpec {
            name: c.name.clone(),
            client: client.to_string(),
            server: server.to_string(),
            grant: c.grant,
        })
        .collect())
}

/// One `[[program]]` table, instances expanded.
fn expand_program(p: &RawProgram) -> Result<Vec<ProgramSpec>, String> {
    if !is_label(&p.name) || p.name.len() > PROGRAM_NAME_LEN {
        return Err(format!(
            "name must be 1 to {PROGRAM_NAME_LEN} characters of [a-z0-9_-]"
        ));
    }
    let image_ok = !p.image.is_empty()
        && p.image.len() <= NAME_LEN
        && p.image
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !image_ok {
        return Err(format!(
            "image {:?} must be a binary name: 1 to {NAME_LEN} characters of [A-Za-z0-9_-]",
            p.image
        ));
    }
    if p.image == SOLUTION_ENTRY {
        return Err(format!(
            "image may not be called `{SOLUTION_ENTRY}` (the boot image reserves it)"
        ));
    }
    let priority = p.priority.unwrap_or(DEFAULT_PRIORITY.into());
    if !(i64::from(MIN_PRIORITY)..=i64::from(MAX_PRIORITY)).contains(&priority) {
        return Err(format!(
            "priority {priority} is outside {MIN_PRIORITY}..={MAX_PRIORITY}"
        ));
    }
    let on_demand = match p.start.as_deref() {
        None | Some("boot") => false,
        Some("on-demand") => true,
        Some(other) => {
            return Err(format!(
                "start = {other:?}: use \"boot\" (the default) or \"on-demand\" (started \
                 through Task.start)"
            ));
        }
    };
    let arg = match &p.arg {
        None => 0,
        Some(v) => parse_arg(v)?,
    };
    let restarts = p.restart.unwrap_or(0);
    if !(0..=i64::from(MAX_RESTARTS)).contains(&restarts) {
        return Err(format!(
            "restart = {restarts} is outside 0..={MAX_RESTARTS}"
        ));
    }
    let spec = ProgramSpec {
        name: p.name.clone(),
        image: p.image.clone(),
        priority: priority as u8,
        affinity: 0,
        arg,
        expect: Expect::Any,
        restarts: restarts as u8,
        on_demand,
        instances: 1,
    };
    if on_demand {
        return expand_on_demand(p, spec);
    }
    let instances = p.instances.unwrap_or(1);
    if !(1..=MAX_INSTANCES as i64).contains(&instances) {
        return Err(format!(
            "instances = {instances} is outside 1..={MAX_INSTANCES}"
        ));
    }
    let instances = instances as u64;
    let expect = parse_expect(p.expect.as_deref().unwrap_or("exit 0"))?;
    let mut specs = Vec::new();
    for i in 0..instances {
        let affinity = match (p.cpu, &p.cpus) {
            (Some(_), Some(_)) => return Err("give `cpu` or `cpus`, not both".into()),
            (Some(cpu), None) => {
                let cpu = cpu_in_range(cpu)?;
                if cpu + i > MAX_CPU {
                    return Err(format!(
                        "instance {} would be pinned to cpu {} (cpu + instance index), beyond {MAX_CPU}",
                        i + 1,
                        cpu + i
                    ));
                }
                1u64 << (cpu + i)
            }
            (None, Some(cpus)) => cpus_mask(cpus)?,
            (None, None) => 0,
        };
        let name = if instances == 1 {
            p.name.clone()
        } else {
            format!("{}-{}", p.name, i + 1)
        };
        specs.push(ProgramSpec {
            name,
            affinity,
            expect,
            ..spec.clone()
        });
    }
    Ok(specs)
}

/// A CPU number of a `cpu` or `cpus` key.
fn cpu_in_range(c: i64) -> Result<u64, String> {
    u64::try_from(c)
        .ok()
        .filter(|&c| c <= MAX_CPU)
        .ok_or_else(|| format!("cpu {c} is outside 0..={MAX_CPU}"))
}

/// The affinity mask of a `cpus` list.
fn cpus_mask(cpus: &[i64]) -> Result<u64, String> {
    if cpus.is_empty() {
        return Err("`cpus` is empty (leave it out to allow any CPU)".into());
    }
    let mut mask = 0u64;
    for &c in cpus {
        mask |= 1 << cpu_in_range(c)?;
    }
    Ok(mask)
}

/// A `start = "on-demand"` program: `spec` (name, image, priority, arg
/// and restarts already checked) completed, one spec whose `instances`
/// bounds how many domains may run it at once (labelled `name-1`,
/// `name-2`, ... when more than one may).
fn expand_on_demand(p: &RawProgram, spec: ProgramSpec) -> Result<Vec<ProgramSpec>, String> {
    let instances = p.instances.unwrap_or(1);
    if !(1..=i64::from(MAX_ON_DEMAND_INSTANCES)).contains(&instances) {
        return Err(format!(
            "instances = {instances}: an on-demand program may run as 1..={MAX_ON_DEMAND_INSTANCES} \
             domains at once"
        ));
    }
    if p.name.len() > PROGRAM_NAME_LEN - 2 {
        return Err(format!(
            "an on-demand program's name is at most {} characters (its instances are \
             labelled `name-N`)",
            PROGRAM_NAME_LEN - 2
        ));
    }
    if !p.devices.is_empty() {
        return Err("an on-demand program cannot have devices".into());
    }
    if p.cpu.is_some() {
        return Err("an on-demand program takes `cpus`, not `cpu`".into());
    }
    let expect = parse_expect(p.expect.as_deref().unwrap_or("any"))?;
    if expect != Expect::Any {
        return Err(
            "an on-demand program may be stopped at any time: its `expect` can only be \"any\""
                .into(),
        );
    }
    let affinity = match &p.cpus {
        Some(cpus) => cpus_mask(cpus)?,
        None => 0,
    };
    Ok(vec![ProgramSpec {
        affinity,
        expect,
        instances: instances as u8,
        ..spec
    }])
}

/// `arg`: a non-negative integer, or a string holding a u64 in decimal,
/// `0x` hex or `0b` binary (TOML integers stop at `i64::MAX`).
fn parse_arg(v: &toml::Value) -> Result<u64, String> {
    match v {
        toml::Value::Integer(i) => u64::try_from(*i).map_err(|_| {
            format!("arg {i} is negative (write large values as a string, e.g. \"0xffff...\")")
        }),
        toml::Value::String(s) => {
            let t = s.trim().replace('_', "");
            let parsed = if let Some(hex) = t.strip_prefix("0x") {
                u64::from_str_radix(hex, 16)
            } else if let Some(bin) = t.strip_prefix("0b") {
                u64::from_str_radix(bin, 2)
            } else {
                t.parse()
            };
            parsed.map_err(|_| format!("arg {s:?} is not a u64 (decimal, 0x hex or 0b binary)"))
        }
        other => Err(format!(
            "arg must be an integer or a string, not {}",
            other.type_str()
        )),
    }
}

/// `expect`: `"exit N"`, `"fault"` or `"any"`.
pub fn parse_expect(s: &str) -> Result<Expect, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    match words.as_slice() {
        ["any"] => Ok(Expect::Any),
        ["fault"] => Ok(Expect::Fault),
        ["exit", code] => code.parse().map(Expect::Exit).map_err(|_| bad_expect(s)),
        _ => Err(bad_expect(s)),
    }
}

fn bad_expect(s: &str) -> String {
    format!("bad expect {s:?}: write \"exit N\" (N an integer), \"fault\" or \"any\"")
}

#[cfg(test)]
mod tests;
