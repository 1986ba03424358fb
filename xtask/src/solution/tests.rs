//! Tests of the solution schema: defaults, expansion, and every error.

use super::test_table::default_runs;
use super::*;
use crate::screen::{PixelCheck, Rgb};
use crate::step::Click;

fn parse(text: &str) -> Result<SolutionFile> {
    SolutionFile::parse(Path::new("policies/tests/x.toml"), text)
}

fn err(text: &str) -> String {
    format!("{:#}", parse(text).expect_err("should fail"))
}

const BASIC: &str = r#"
[solution]
name = "preempt"

[[program]]
name = "spinner"
image = "spinner"
cpu = 1

[[program]]
name = "hello"
image = "hello"
priority = 12
instances = 4
cpu = 0
arg = "0xffffffffffffffff"
expect = "exit -1"
"#;

#[test]
fn basic_file_and_defaults() {
    let f = parse(BASIC).unwrap();
    let s = &f.solution;
    assert_eq!(s.name, "preempt");
    assert!(!s.exit_when_done);
    assert!(f.test.is_none());
    let names: Vec<_> = s.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["spinner", "hello-1", "hello-2", "hello-3", "hello-4"]
    );
    assert_eq!(s.programs[0].priority, DEFAULT_PRIORITY);
    assert_eq!(s.programs[0].affinity, 1 << 1);
    assert_eq!(s.programs[0].expect, Expect::Exit(0));
    assert_eq!(s.programs[0].arg, 0);
    let masks: Vec<_> = s.programs[1..].iter().map(|p| p.affinity).collect();
    assert_eq!(masks, [1, 2, 4, 8]);
    assert!(
        s.programs[1..]
            .iter()
            .all(|p| p.priority == 12 && p.arg == u64::MAX)
    );
    assert_eq!(s.programs[1].expect, Expect::Exit(-1));
    assert_eq!(f.images(), ["spinner", "hello"]);
}

#[test]
fn cpus_list_and_any() {
    let f = parse(
        "[solution]\nname = \"s\"\n[[program]]\nname = \"a\"\nimage = \"a\"\ncpus = [0, 2]\n\
         [[program]]\nname = \"b\"\nimage = \"b\"\nexpect = \"any\"\narg = 7\n\
         [[program]]\nname = \"c\"\nimage = \"c\"\nexpect = \"fault\"\n",
    )
    .unwrap();
    let p = &f.solution.programs;
    assert_eq!(p[0].affinity, 0b101);
    assert_eq!(p[1].affinity, 0);
    assert_eq!((p[1].expect, p[1].arg), (Expect::Any, 7));
    assert_eq!(p[2].expect, Expect::Fault);
}

#[test]
fn test_table_defaults_and_values() {
    let f = parse(
        r#"
[solution]
name = "t"
exit_when_done = true
[[program]]
name = "a"
image = "hello"
[test]
description = "d"
expect = ["cpu{last_cpu}"]
order = [["a", "b"]]
"#,
    )
    .unwrap();
    let t = f.test.unwrap();
    assert_eq!(t.timeout_secs, DEFAULT_TIMEOUT_SECS);
    assert_eq!(t.runs, default_runs());
    assert_eq!(t.checks.order, [("a".to_string(), "b".to_string())]);
    let f = parse(
        "[solution]\nname = \"t\"\nexit_when_done = true\n[test]\ntimeout_secs = 5\n\
         append = \"quiet\"\nruns = [{ smp = 2 }, { cpu = \"qemu64\", smp = 1 }]\n",
    )
    .unwrap();
    let t = f.test.unwrap();
    assert_eq!((t.timeout_secs, t.append.as_str()), (5, "quiet"));
    assert_eq!(
        t.runs,
        [
            RunSpec {
                smp: 2,
                cpu: "max".into(),
                ..RunSpec::default()
            },
            RunSpec {
                smp: 1,
                cpu: "qemu64".into(),
                ..RunSpec::default()
            }
        ]
    );
}

#[test]
fn runs_may_add_kernel_options_and_checks() {
    let f = parse(
        "[solution]\nname = \"t\"\nexit_when_done = true\n[test]\n\
         runs = [{ smp = 1, append = \" fastpath=off \", expect = ['taken 0'] }]\n",
    )
    .unwrap();
    let r = &f.test.unwrap().runs[0];
    assert_eq!(
        (r.append.as_str(), &r.expect[..]),
        ("fastpath=off", &["taken 0".to_string()][..])
    );
    let e = err(
        "[solution]\nname = \"t\"\nexit_when_done = true\n[test]\nruns = [{ smp = 1, expect = ['('] }]\n",
    );
    assert!(e.contains("run"), "{e}");
    let f = parse(
        "[solution]\nname = \"t\"\nexit_when_done = true\n[test]\n\
         runs = [{ smp = 2, icount = true }, { smp = 2 }]\n",
    )
    .unwrap();
    let runs = f.test.unwrap().runs;
    assert!(runs[0].icount && !runs[1].icount);
}

#[test]
fn unknown_fields_are_errors_naming_the_file() {
    let e = err("[solution]\nname = \"s\"\n[[program]]\nname = \"a\"\nimage = \"a\"\nprio = 3\n");
    assert!(e.contains("policies/tests/x.toml"), "{e}");
    assert!(e.contains("unknown field `prio`"), "{e}");
    let e = err("[solution]\nname = \"s\"\ncolour = 1\n");
    assert!(e.contains("unknown field `colour`"), "{e}");
    let e = err("[solution]\nname = \"s\"\nexit_when_done = true\n[test]\ntimeout = 3\n");
    assert!(e.contains("unknown field `timeout`"), "{e}");
    let e = err("[solutions]\nname = \"s\"\n");
    assert!(e.contains("unknown field `solutions`"), "{e}");
}

#[test]
fn bad_priority() {
    for p in ["0", "32", "-1", "1000"] {
        let e = err(&format!(
            "[solution]\nname = \"s\"\n[[program]]\nname = \"a\"\nimage = \"a\"\npriority = {p}\n"
        ));
        assert!(
            e.contains(&format!("priority {p} is outside 1..=31")),
            "{e}"
        );
        assert!(e.contains("program `a`"), "{e}");
    }
}

#[test]
fn duplicate_names() {
    let e = err(
        "[solution]\nname = \"s\"\n[[program]]\nname = \"a\"\nimage = \"a\"\n[[program]]\nname = \"a\"\nimage = \"b\"\n",
    );
    assert!(e.contains("duplicate program name `a`"), "{e}");
    // Clash created by instance expansion.
    let e = err(
        "[solution]\nname = \"s\"\n[[program]]\nname = \"w-2\"\nimage = \"a\"\n[[program]]\nname = \"w\"\nimage = \"a\"\ninstances = 3\n",
    );
    assert!(e.contains("duplicate program name `w-2`"), "{e}");
}

#[test]
fn bad_expect_strings() {
    for bad in ["exit", "exit x", "exited 0", "FAULT", "exit 1 2", ""] {
        let e = err(&format!(
            "[solution]\nname = \"s\"\n[[program]]\nname = \"a\"\nimage = \"a\"\nexpect = {bad:?}\n"
        ));
        assert!(e.contains("bad expect"), "{bad}: {e}");
    }
    assert_eq!(parse_expect("  exit   42 "), Ok(Expect::Exit(42)));
}

#[test]
fn bad_names_pins_and_args() {
    let prog = |extra: &str| {
        format!("[solution]\nname = \"s\"\n[[program]]\nname = \"a\"\nimage = \"a\"\n{extra}\n")
    };
    let e = err("[solution]\nname = \"S\"\n");
    assert!(e.contains("solution name"), "{e}");
    let e = err("[solution]\nname = \"s\"\n[[program]]\nname = \"Big Name\"\nimage = \"a\"\n");
    assert!(e.contains("name must be"), "{e}");
    let e = err(&format!(
        "[solution]\nname = \"s\"\n[[program]]\nname = \"{}\"\nimage = \"a\"\n",
        "x".repeat(25)
    ));
    assert!(e.contains("name must be"), "{e}");
    assert!(err(&prog("cpu = 64")).contains("cpu 64 is outside"));
    assert!(err(&prog("cpu = 1\ncpus = [1]")).contains("not both"));
    assert!(err(&prog("cpus = []")).contains("empty"));
    assert!(err(&prog("cpu = 62\ninstances = 3")).contains("beyond 63"));
    assert!(err(&prog("instances = 0")).contains("instances"));
    assert!(err(&prog("arg = -1")).contains("negative"));
    assert!(err(&prog("arg = \"zz\"")).contains("not a u64"));
    assert!(err(&prog("arg = 1.5")).contains("integer or a string"));
    let e = err("[solution]\nname = \"s\"\n[[program]]\nname = \"a\"\nimage = \"solution\"\n");
    assert!(e.contains("reserves"), "{e}");
    let e = err("[solution]\nname = \"s\"\n[[program]]\nname = \"a\"\n");
    assert!(e.contains("missing field `image`"), "{e}");
}

#[test]
fn bad_test_tables() {
    let t =
        |body: &str| format!("[solution]\nname = \"s\"\nexit_when_done = true\n[test]\n{body}\n");
    assert!(err(&t("expect = [\"(\"]")).contains("bad regex"));
    assert!(err(&t("order = [[\"a\"]]")).contains("pairs"));
    assert!(err(&t("runs = []")).contains("runs is empty"));
    assert!(err(&t("runs = [{ smp = 0 }]")).contains("smp = 0"));
    assert!(err(&t("runs = [{ smp = 2, cpus = 3 }]")).contains("unknown field `cpus`"));
    assert!(err(&t("timeout_secs = 0")).contains("timeout_secs"));
    let e = err("[solution]\nname = \"s\"\n[test]\n");
    assert!(e.contains("exit_when_done"), "{e}");
}

#[test]
fn missing_image() {
    let f = parse(BASIC).unwrap();
    let e = f
        .check_images(&["hello", "worker"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("image `spinner`"), "{e}");
    assert!(e.contains("known: hello, worker"), "{e}");
    assert!(f.check_images(&["hello", "spinner"]).is_ok());
}

/// Programs for the channel tests: `hello` has three instances, `echo` and
/// `log` one each, `pair` two.
const CHANNEL_PROGRAMS: &str = r#"
[solution]
name = "ipc"

[[program]]
name = "hello"
image = "hello"
instances = 3

[[program]]
name = "echo"
image = "echo"

[[program]]
name = "log"
image = "log"

[[program]]
name = "pair"
image = "pair"
instances = 2
"#;

fn with_channels(channels: &str) -> String {
    format!("{CHANNEL_PROGRAMS}\n{channels}")
}

fn channel_table(name: &str, client: &str, server: &str) -> String {
    format!("[[channel]]\nname = {name:?}\nclient = {client:?}\nserver = {server:?}\n")
}

fn channel_triples(f: &SolutionFile) -> Vec<(&str, &str, &str)> {
    f.solution
        .channels
        .iter()
        .map(|c| (c.name.as_str(), c.client.as_str(), c.server.as_str()))
        .collect()
}

#[test]
fn no_channels_by_default() {
    assert!(parse(BASIC).unwrap().solution.channels.is_empty());
}

#[test]
fn channels_expand_program_clients() {
    let f = parse(&with_channels(
        &[
            channel_table("echo", "hello", "echo"),
            channel_table("log", "hello-2", "log"),
            channel_table("echo", "log", "echo"),
            channel_table("peer", "pair-1", "pair-2"),
            channel_table("peer", "pair-2", "pair-1"),
            channel_table("first", "echo", "hello-1"),
            // Same client, same server, another name: a second channel.
            channel_table("echo-2", "log", "echo"),
        ]
        .concat(),
    ))
    .unwrap();
    assert_eq!(
        channel_triples(&f),
        [
            ("echo", "hello-1", "echo"),
            ("echo", "hello-2", "echo"),
            ("echo", "hello-3", "echo"),
            ("log", "hello-2", "log"),
            ("echo", "log", "echo"),
            ("peer", "pair-1", "pair-2"),
            ("peer", "pair-2", "pair-1"),
            ("first", "echo", "hello-1"),
            ("echo-2", "log", "echo"),
        ]
    );
    // The encoded form carries them.
    let bytes = f.solution.encode().unwrap();
    assert_eq!(Solution::decode(&bytes).unwrap(), f.solution);
}

#[test]
fn channel_errors_name_file_and_channel() {
    let e = err(&with_channels(&channel_table("echo", "nobody", "echo")));
    assert!(e.contains("policies/tests/x.toml"), "{e}");
    assert!(
        e.contains("channel `echo` (client `nobody`, server `echo`)"),
        "{e}"
    );
    assert!(
        e.contains("client `nobody` is neither a domain nor a program"),
        "{e}"
    );
    assert!(e.contains("hello-1, hello-2, hello-3, echo"), "{e}");
}

#[test]
fn unknown_channel_ends() {
    let e = err(&with_channels(&channel_table("echo", "hello-4", "echo")));
    assert!(e.contains("client `hello-4` is neither"), "{e}");
    let e = err(&with_channels(&channel_table("echo", "hello", "echo-1")));
    assert!(e.contains("server `echo-1` is neither"), "{e}");
    // Without programs there is nothing to connect.
    let e = err(&format!(
        "[solution]\nname = \"s\"\n{}",
        channel_table("echo", "a", "b")
    ));
    assert!(e.contains("the solution has no programs"), "{e}");
}

#[test]
fn server_must_be_one_domain() {
    let e = err(&with_channels(&channel_table("echo", "echo", "hello")));
    assert!(e.contains("server `hello` is 3 domains"), "{e}");
    assert!(e.contains("hello-1, hello-2, hello-3"), "{e}");
    // One instance of it is fine.
    let f = parse(&with_channels(&channel_table("echo", "echo", "hello-3"))).unwrap();
    assert_eq!(channel_triples(&f), [("echo", "echo", "hello-3")]);
}

#[test]
fn channel_to_itself() {
    let e = err(&with_channels(&channel_table("loop", "echo", "echo")));
    assert!(e.contains("domain `echo` is both client and server"), "{e}");
    let e = err(&with_channels(&channel_table("loop", "pair-1", "pair-1")));
    assert!(
        e.contains("domain `pair-1` is both client and server"),
        "{e}"
    );
    // Through expansion: one instance of the client is the server.
    let e = err(&with_channels(&channel_table("peer", "pair", "pair-2")));
    assert!(
        e.contains("client `pair` includes the server `pair-2`"),
        "{e}"
    );
}

#[test]
fn duplicate_channel_names_per_client() {
    let e = err(&with_channels(
        &[
            channel_table("echo", "log", "echo"),
            channel_table("echo", "log", "hello-1"),
        ]
        .concat(),
    ));
    assert!(
        e.contains("channel `echo` (client `log`, server `hello-1`)"),
        "{e}"
    );
    assert!(
        e.contains("domain `log` already has a channel named `echo`"),
        "{e}"
    );
    // A clash that only appears after expansion.
    let e = err(&with_channels(
        &[
            channel_table("echo", "hello-2", "log"),
            channel_table("echo", "hello", "echo"),
        ]
        .concat(),
    ));
    assert!(
        e.contains("domain `hello-2` already has a channel named `echo`"),
        "{e}"
    );
    // The same name for different clients is fine.
    let f = parse(&with_channels(
        &[
            channel_table("echo", "log", "echo"),
            channel_table("echo", "pair", "echo"),
        ]
        .concat(),
    ))
    .unwrap();
    assert_eq!(f.solution.channels.len(), 3);
}

#[test]
fn bad_channel_names() {
    for bad in ["", "Echo", "e cho", "e.x", "échο", &"c".repeat(25)] {
        let e = err(&with_channels(&channel_table(bad, "log", "echo")));
        assert!(
            e.contains(&format!("channel `{bad}`")) && e.contains("name must be 1 to 24"),
            "{bad:?}: {e}"
        );
    }
    let longest = "c".repeat(24);
    let f = parse(&with_channels(&channel_table(&longest, "log", "echo"))).unwrap();
    assert_eq!(f.solution.channels[0].name, longest);
}

#[test]
fn channel_table_fields() {
    let e = err(&with_channels(
        "[[channel]]\nname = \"echo\"\nclient = \"log\"\nserver = \"echo\"\nprio = 1\n",
    ));
    assert!(e.contains("policies/tests/x.toml"), "{e}");
    assert!(e.contains("unknown field `prio`"), "{e}");
    let e = err(&with_channels(
        "[[channel]]\nname = \"echo\"\nclient = \"log\"\n",
    ));
    assert!(e.contains("missing field `server`"), "{e}");
    let e = err(&with_channels("[[channels]]\nname = \"echo\"\n"));
    assert!(e.contains("unknown field `channels`"), "{e}");
}

#[test]
fn too_many_channels() {
    // 64 instances × 17 names = 1088 channels > MAX_CHANNELS.
    let mut text = String::from(
        "[solution]\nname = \"s\"\n[[program]]\nname = \"c\"\nimage = \"c\"\ninstances = 64\n\
         [[program]]\nname = \"srv\"\nimage = \"srv\"\n",
    );
    for i in 0..17 {
        text.push_str(&channel_table(&format!("n{i}"), "c", "srv"));
    }
    let e = err(&text);
    assert!(e.contains("more than 1024 channels"), "{e}");
    // 16 names: exactly 1024.
    let cut = text.rfind("[[channel]]").unwrap();
    let f = parse(&text[..cut]).unwrap();
    assert_eq!(f.solution.channels.len(), MAX_CHANNELS);
}

#[test]
fn every_policy_file_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let mut files = vec![root.join("solution.toml"), root.join("demo.toml")];
    let mut tests: Vec<PathBuf> = std::fs::read_dir(root.join("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    tests.sort();
    assert!(!tests.is_empty());
    files.extend(tests);
    for path in files {
        let f = SolutionFile::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
        f.solution
            .encode()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

const SCREENS: &str = r##"
[solution]
name = "desk"

[test]
expect = ['ready']

[[test.screen]]
after = 'display-server: frame \d+ presented'
name = "desktop"
pixels = [
    { x = 10, y = 10, rgb = "#203040", tolerance = 8 },
    { x = 4294967295, y = 0, rgb = "#FFffFF" },
]
keys = ["a", "ret", "shift-a"]

[[test.screen]]
after = 'cpu{last_cpu} typed'
name = "after_typing-2"
"##;

#[test]
fn screen_entries() {
    let f = parse(SCREENS).unwrap();
    assert!(!f.solution.exit_when_done);
    let screens = &f.test.unwrap().steps;
    assert_eq!(screens.len(), 2);
    let desk = &screens[0];
    assert_eq!(desk.label, "screen `desktop`");
    assert_eq!(
        desk.after.as_deref(),
        Some(r"display-server: frame \d+ presented")
    );
    assert_eq!(desk.screen.as_deref(), Some("desktop"));
    assert_eq!(
        desk.pixels,
        [
            PixelCheck {
                x: 10,
                y: 10,
                rgb: Rgb([0x20, 0x30, 0x40]),
                tolerance: 8
            },
            PixelCheck {
                x: u32::MAX,
                y: 0,
                rgb: Rgb([0xff; 3]),
                tolerance: 0
            },
        ]
    );
    assert_eq!(desk.keys, ["a", "ret", "shift-a"]);
    assert!(desk.click.is_none() && desk.expect.is_empty() && desk.forbid.is_empty());
    assert_eq!(screens[1].screen.as_deref(), Some("after_typing-2"));
    assert!(screens[1].pixels.is_empty() && screens[1].keys.is_empty());

    // Without screens, a scenario has no entries.
    let plain = parse("[solution]\nname = \"t\"\nexit_when_done = true\n[test]\n").unwrap();
    assert!(plain.test.unwrap().steps.is_empty());
}

#[test]
fn bad_screen_entries() {
    let screen = |body: &str| {
        format!("[solution]\nname = \"s\"\n[test]\n[[test.screen]]\nafter = 'x'\n{body}\n")
    };
    let named = |body: &str| screen(&format!("name = \"n\"\n{body}"));
    let pixel = |p: &str| named(&format!("pixels = [{{ {p} }}]"));
    assert!(err(&screen("")).contains("missing field `name`"));
    let e = err(&screen("name = \"Desk\""));
    assert!(e.contains("number 1") && e.contains("[a-z0-9_-]"), "{e}");
    assert!(err(&screen("name = \"\"")).contains("[a-z0-9_-]"));
    assert!(err(&screen(&format!("name = \"{}\"", "a".repeat(33)))).contains("1 to 32"));
    let e = err("[solution]\nname = \"s\"\n[test]\n[[test.screen]]\nafter = '('\nname = \"n\"\n");
    assert!(e.contains("bad regex in `after`"), "{e}");
    let e = err("[solution]\nname = \"s\"\n[test]\n[[test.screen]]\nname = \"n\"\n");
    assert!(e.contains("missing field `after`"), "{e}");
    assert!(err(&named("delay = 3")).contains("unknown field `delay`"));
    assert!(
        err(&pixel("x = 1, y = 2, rgb = \"#000000\", tol = 1")).contains("unknown field `tol`")
    );
    assert!(err(&pixel("x = 1, rgb = \"#000000\"")).contains("missing field `y`"));
    let e = err(&pixel("x = -1, y = 2, rgb = \"#000000\""));
    assert!(e.contains("pixel x = -1 is outside"), "{e}");
    let e = err(&pixel("x = 1, y = 4294967296, rgb = \"#000000\""));
    assert!(e.contains("pixel y = 4294967296 is outside"), "{e}");
    let e = err(&pixel("x = 1, y = 2, rgb = \"203040\""));
    assert!(e.contains("#rrggbb"), "{e}");
    let e = err(&pixel("x = 1, y = 2, rgb = \"#203040\", tolerance = 256"));
    assert!(e.contains("tolerance = 256"), "{e}");
    let e = err(&named("keys = [\"enter\"]"));
    assert!(
        e.contains("not a QEMU key code") && e.contains("`ret`"),
        "{e}"
    );
    let twice = format!("{}[[test.screen]]\nafter = 'y'\nname = \"n\"\n", named(""));
    assert!(err(&twice).contains("used twice"));
    // Screens allow leaving out exit_when_done, nothing else does.
    assert!(parse(&named("")).is_ok());
}

#[test]
fn restart_count_and_its_rules() {
    let base = "[solution]\nname = \"s\"\n[[program]]\nname = \"a\"\nimage = \"a\"\n";
    let f = parse(&format!("{base}restart = 3\n")).unwrap();
    assert_eq!(f.solution.programs[0].restarts, 3);
    let f = parse(base).unwrap();
    assert_eq!(f.solution.programs[0].restarts, 0);
    assert!(err(&format!("{base}restart = 9\n")).contains("restart = 9 is outside 0..=8"));
    assert!(err(&format!("{base}restart = -1\n")).contains("outside 0..=8"));
    let server = format!(
        "{base}restart = 1\n[[program]]\nname = \"b\"\nimage = \"b\"\n\
         [[channel]]\nname = \"c\"\nclient = \"b\"\nserver = \"a\"\n"
    );
    assert!(err(&server).contains("`restart` is only for programs that serve no channel"));
    // A restarted client is fine.
    let client = format!(
        "{base}restart = 1\n[[program]]\nname = \"b\"\nimage = \"b\"\n\
         [[channel]]\nname = \"c\"\nclient = \"a\"\nserver = \"b\"\n"
    );
    assert_eq!(parse(&client).unwrap().solution.programs[0].restarts, 1);
}

#[test]
fn on_demand_programs_and_their_rules() {
    let base = "[solution]\nname = \"s\"\n[[program]]\nname = \"a\"\nimage = \"a\"\n";
    let f = parse(&format!("{base}start = \"on-demand\"\ninstances = 3\n")).unwrap();
    let p = &f.solution.programs[0];
    assert!(p.on_demand);
    assert_eq!((p.instances, p.name.as_str()), (3, "a"), "not expanded");
    assert_eq!(p.expect, Expect::Any, "`any` is the default");
    let boot = parse(&format!("{base}start = \"boot\"\n")).unwrap();
    assert!(!boot.solution.programs[0].on_demand);
    assert!(err(&format!("{base}start = \"later\"\n")).contains("\"on-demand\""));
    assert!(
        err(&format!("{base}start = \"on-demand\"\ninstances = 9\n"))
            .contains("1..=8 domains at once")
    );
    assert!(
        err(&format!(
            "{base}start = \"on-demand\"\nexpect = \"exit 0\"\n"
        ))
        .contains("can only be \"any\"")
    );
    assert!(
        err(&format!(
            "{base}start = \"on-demand\"\ndevices = [\"1af4:1050\"]\n"
        ))
        .contains("cannot have devices")
    );
    let server = format!(
        "{base}start = \"on-demand\"\n[[program]]\nname = \"b\"\nimage = \"b\"\n\
         [[channel]]\nname = \"c\"\nclient = \"b\"\nserver = \"a\"\n"
    );
    assert!(err(&server).contains("an on-demand program cannot serve a channel"));
}

const STEPS: &str = r##"
[solution]
name = "focus"

[[test.step]]
after = 'window \d+ presented'
screen = "start"
pixels = [{ x = 38, y = 150, rgb = "#a09c7a" }]
click = { x = 200, y = 160 }
keys = ["a", "ctrl-alt-tab"]
expect = ['left: .*key a$', 'cpu{last_cpu}']
forbid = ['right: .*key a$']

[[test.step]]
click = { x = 65535, y = 0, button = "right", window = "hello-1" }

[[test.step]]
after = 'later'
expect = ['done']
within_ms = 2000

[[test.step]]
drag = [[100, 120], [150, 140], [0, 65535]]
"##;

#[test]
fn step_entries() {
    let f = parse(STEPS).unwrap();
    assert!(!f.solution.exit_when_done);
    let steps = f.test.unwrap().steps;
    assert_eq!(steps.len(), 4);
    let first = &steps[0];
    assert_eq!(first.label, "step 1 (screen `start`)");
    assert_eq!(first.after.as_deref(), Some(r"window \d+ presented"));
    assert_eq!(first.screen.as_deref(), Some("start"));
    assert_eq!(
        first.pixels,
        [PixelCheck {
            x: 38,
            y: 150,
            rgb: Rgb([0xa0, 0x9c, 0x7a]),
            tolerance: 0
        }]
    );
    assert_eq!(
        first.click,
        Some(Click {
            x: 200,
            y: 160,
            button: "left".into(),
            window: None,
        })
    );
    assert_eq!(first.keys, ["a", "ctrl-alt-tab"]);
    assert_eq!(first.expect, ["left: .*key a$", "cpu{last_cpu}"]);
    assert_eq!(first.forbid, ["right: .*key a$"]);

    let second = &steps[1];
    assert_eq!(second.label, "step 2");
    assert_eq!(second.after, None);
    assert_eq!(second.screen, None);
    assert_eq!(
        second.click,
        Some(Click {
            x: 65535,
            y: 0,
            button: "right".into(),
            window: Some("hello-1".into()),
        })
    );
    assert!(second.keys.is_empty() && second.expect.is_empty() && second.forbid.is_empty());
    assert!(first.drag.is_empty() && second.drag.is_empty());
    assert_eq!(steps[2].after.as_deref(), Some("later"));
    assert_eq!(steps[2].expect, ["done"]);
    assert_eq!(steps[2].within_ms, Some(2000));
    assert_eq!(first.within_ms, None);
    // A drag alone is a step.
    assert_eq!(steps[3].drag, [(100, 120), (150, 140), (0, 65535)]);
    assert!(steps[3].click.is_none() && steps[3].after.is_none());
}

#[test]
fn bad_drags() {
    let step = |drag: &str| {
        format!("[solution]\nname = \"s\"\n[test]\n[[test.step]]\nafter = 'x'\ndrag = {drag}\n")
    };
    let e = err(&step("[[1, 2]]"));
    assert!(
        e.contains("[[test.step]] number 1: drag has 1 point(s); it needs 2 to 32"),
        "{e}"
    );
    assert!(err(&step("[]")).contains("drag has 0 point(s)"));
    let many = format!("[{}]", vec!["[1, 2]"; 33].join(", "));
    assert!(err(&step(&many)).contains("drag has 33 point(s)"));
    assert!(parse(&step(&format!("[{}]", vec!["[1, 2]"; 32].join(", ")))).is_ok());
    let e = err(&step("[[1, 2], [3, 4, 5]]"));
    assert!(
        e.contains("drag point 2 is [3, 4, 5]; a point is [x, y]"),
        "{e}"
    );
    assert!(err(&step("[[1, 2], [3]]")).contains("drag point 2 is [3]"));
    let e = err(&step("[[1, 2], [-1, 4]]"));
    assert!(
        e.contains("drag point 2 [-1, 4]: x = -1 is outside 0..=65535"),
        "{e}"
    );
    let e = err(&step("[[1, 65536], [3, 4]]"));
    assert!(e.contains("drag point 1 [1, 65536]: y = 65536"), "{e}");
    // Not numbers, or not a list of points: the TOML reader says so.
    assert!(err(&step("[[1.5, 2], [3, 4]]")).contains("drag"));
    assert!(err(&step("[1, 2]")).contains("drag"));
    assert!(err(&step("{ x = 1, y = 2 }")).contains("drag"));
}

#[test]
fn within_ms_bounds_expect_lines() {
    let step = |body: &str| {
        format!("[solution]\nname = \"s\"\n[test]\n[[test.step]]\nafter = 'x'\n{body}\n")
    };
    let steps = |body: &str| parse(&step(body)).unwrap().test.unwrap().steps;
    assert_eq!(steps("expect = ['y']\nwithin_ms = 1")[0].within_ms, Some(1));
    assert_eq!(
        steps("expect = ['y']\nwithin_ms = 600000")[0].within_ms,
        Some(600_000)
    );
    for bad in ["0", "-5", "600001"] {
        let e = err(&step(&format!("expect = ['y']\nwithin_ms = {bad}")));
        assert!(
            e.contains("[[test.step]] number 1: within_ms =")
                && e.contains("is outside 1..=600000 (milliseconds)"),
            "{e}"
        );
    }
    let e = err(&step("within_ms = 100"));
    assert!(
        e.contains("bounds the `expect` lines, and the step has none"),
        "{e}"
    );
    assert!(err(&step("expect = ['y']\nwithin_ms = 1.5")).contains("within_ms"));
    assert!(err(&step("expect = ['y']\nwithin_ms = \"2s\"")).contains("within_ms"));
}

#[test]
fn bad_step_entries() {
    let head = "[solution]\nname = \"s\"\n[test]\n";
    let first = |body: &str| format!("{head}[[test.step]]\nafter = 'x'\n{body}\n");
    let second = |body: &str| format!("{}[[test.step]]\n{body}\n", first(""));

    // The first step waits for the guest; later ones need not.
    let e = err(&format!("{head}[[test.step]]\nkeys = [\"a\"]\n"));
    assert!(e.contains("number 1") && e.contains("needs `after`"), "{e}");
    assert!(parse(&second("keys = [\"a\"]")).is_ok());
    // `after` alone is a wait; nothing at all is a mistake.
    assert!(parse(&first("")).is_ok());
    let e = err(&second(""));
    assert!(e.contains("number 2") && e.contains("does nothing"), "{e}");

    for (what, body) in [
        ("after", "after = '('"),
        ("expect", "expect = ['a', '[']"),
        ("forbid", "forbid = ['(']"),
    ] {
        let e = err(&second(body));
        assert!(e.contains(&format!("bad regex in `{what}`")), "{e}");
    }
    let e = err(&first("pixels = [{ x = 1, y = 2, rgb = \"#000000\" }]"));
    assert!(e.contains("`pixels` needs `screen`"), "{e}");
    let e = err(&first("click = { x = 1, y = 1, window = \"A b\" }"));
    assert!(
        e.contains("click window \"A b\" is not a domain label"),
        "{e}"
    );
    let e = err(&first("windows = [\"alpha\"]"));
    assert!(e.contains("`windows` needs `screen`"), "{e}");
    let e = err(&first("screen = \"s\"\nwindows = [\"Alpha\"]"));
    assert!(e.contains("\"Alpha\" is not a domain label"), "{e}");
    let ok = parse(&first("screen = \"s\"\nwindows = [\"alpha\", \"hello-1\"]")).unwrap();
    assert_eq!(ok.test.unwrap().steps[0].windows, ["alpha", "hello-1"]);
    let e = err(&first(
        "screen = \"s\"\npixels = [{ x = 1, y = 2, rgb = \"#00000\" }]",
    ));
    assert!(e.contains("#rrggbb"), "{e}");
    let e = err(&first("screen = \"Shot\""));
    assert!(
        e.contains("screen: name must be") && e.contains("[a-z0-9_-]"),
        "{e}"
    );
    let e = err(&first("keys = [\"space\"]"));
    assert!(e.contains("`spc`"), "{e}");

    let e = err(&first("click = { x = -1, y = 2 }"));
    assert!(e.contains("click x = -1 is outside 0..=65535"), "{e}");
    let e = err(&first("click = { x = 1, y = 65536 }"));
    assert!(e.contains("click y = 65536"), "{e}");
    let e = err(&first("click = { x = 1, y = 2, button = \"Left\" }"));
    assert!(
        e.contains("not a QEMU pointer button") && e.contains("wheel-up"),
        "{e}"
    );
    assert!(err(&first("click = { x = 1 }")).contains("missing field `y`"));
    assert!(err(&first("click = { x = 1, y = 2, z = 3 }")).contains("unknown field `z`"));
    assert!(err(&first("delay = 3")).contains("unknown field `delay`"));

    // Screen names are unique over the steps; the kinds of entry do not mix.
    let twice = format!("{}[[test.step]]\nscreen = \"a\"\n", first("screen = \"a\""));
    let e = err(&twice);
    assert!(e.contains("screen \"a\" is used twice"), "{e}");
    let mixed = format!("{}[[test.screen]]\nafter = 'y'\nname = \"n\"\n", first(""));
    let e = err(&mixed);
    assert!(e.contains("both [[test.screen]] and [[test.step]]"), "{e}");

    // Steps, like screens, let the harness end the run.
    assert!(parse(&first("")).is_ok_and(|f| !f.solution.exit_when_done));
}

/// A directory of its own for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-from-{}-{name}", std::process::id()));
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    dir
}

const BASE: &str = r#"
[solution]
name = "desktop"
policy = "solution.policy"

[[program]]
name = "server"
image = "echo"

[[program]]
name = "client"
image = "hello"

[[channel]]
name = "echo"
client = "client"
server = "server"
"#;

const FROM: &str = r#"
[solution]
name = "default-desktop"
from = "../base.toml"

[test]
description = "boots the base"
[[test.step]]
after = "x"
expect = ["y"]
"#;

#[test]
fn from_boots_the_named_solution_with_its_policy() {
    let dir = scratch("ok");
    std::fs::write(dir.join("base.toml"), BASE).unwrap();
    let path = dir.join("tests/scenario.toml");
    let f = SolutionFile::parse(&path, FROM).unwrap();
    assert_eq!(f.solution.name, "default-desktop");
    let labels: Vec<&str> = f
        .solution
        .programs
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(labels, ["server", "client"]);
    assert_eq!(f.contexts, ["server", "client"]);
    assert_eq!(f.solution.channels.len(), 1);
    // The policy is the base's, found beside the base, not the scenario.
    assert_eq!(
        f.policy.as_deref(),
        Some(dir.join("tests/../solution.policy").as_path())
    );
    assert!(f.test.is_some());
}

#[test]
fn from_refuses_additions_and_bad_bases() {
    let dir = scratch("bad");
    std::fs::write(dir.join("base.toml"), BASE).unwrap();
    std::fs::write(
        dir.join("scenario-base.toml"),
        FROM.replace("../base.toml", "base.toml"),
    )
    .unwrap();
    let path = dir.join("tests/scenario.toml");
    let e = |text: &str| {
        format!(
            "{:#}",
            SolutionFile::parse(&path, text).expect_err("should fail")
        )
    };
    let with_program = format!("{FROM}\n[[program]]\nname = \"more\"\nimage = \"hello\"\n");
    assert!(
        e(&with_program).contains("may not have [[program]]"),
        "{}",
        e(&with_program)
    );
    let with_policy = FROM.replace("from =", "policy = \"p.policy\"\nfrom =");
    assert!(e(&with_policy).contains("may not name a `policy`"));
    let no_test = "[solution]\nname = \"x\"\nfrom = \"../base.toml\"\n";
    assert!(e(no_test).contains("needs a [test] table"));
    let missing = FROM.replace("../base.toml", "../nothing.toml");
    let m = e(&missing);
    assert!(
        m.contains("could not read `from` file") && m.contains("nothing.toml"),
        "{m}"
    );
    assert!(m.contains("tests/scenario.toml"), "names the scenario: {m}");
    let chained = FROM.replace("../base.toml", "../scenario-base.toml");
    assert!(e(&chained).contains("must be a solution, not a scenario"));
}
