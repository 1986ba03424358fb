//! Tests of the solution schema: defaults, expansion, and every error.

use super::*;

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
                cpu: "max".into()
            },
            RunSpec {
                smp: 1,
                cpu: "qemu64".into()
            }
        ]
    );
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
