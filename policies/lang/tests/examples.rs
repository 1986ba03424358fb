//! The shipped policies compile: `policies/solution.policy` and
//! `policies/demo.policy` against their solutions, and every
//! `policies/examples/*.policy` against the interfaces and programs its
//! header names.

mod common;
use policy::Solution;

fn sol(programs: &[&str], channels: &[(&str, &str)]) -> Solution {
    Solution {
        programs: programs.iter().map(|s| s.to_string()).collect(),
        channels: channels
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    }
}

fn compile(name: &str, src: &str, s: &Solution) -> policy::Compiled {
    let c = policy::compile(name, src, &common::ifaces(), s).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.warnings.is_empty(), "{}", c.warnings.join("\n"));
    c
}

#[test]
fn solution_policy() {
    let src = include_str!("../../solution.policy");
    let programs = [
        "display-server",
        "input-service",
        "alpha",
        "beta",
        "launcher",
        "terminal",
        "hello",
        "paint",
        "hostile",
        "scribble",
        "monitor",
        "clock",
    ];
    let channels = [
        ("alpha", "display-server"),
        ("beta", "display-server"),
        ("launcher", "display-server"),
        ("terminal", "display-server"),
        ("hello", "display-server"),
        ("paint", "display-server"),
        ("hostile", "display-server"),
        ("scribble", "display-server"),
        ("monitor", "display-server"),
        ("clock", "display-server"),
        ("input-service", "display-server"),
    ];
    // Against the shipped interface files, as `cargo xtask policy check`
    // compiles it.
    let files = ["input.idl", "window.idl"].map(|f| {
        let path = format!("{}/../interfaces/{f}", env!("CARGO_MANIFEST_DIR"));
        (
            f.to_string(),
            std::fs::read_to_string(&path).expect("interface file"),
        )
    });
    let ifaces = idl::load(&files).unwrap_or_else(|e| panic!("{e:?}"));
    let c = policy::compile("solution.policy", src, &ifaces, &sol(&programs, &channels))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(c.warnings.is_empty(), "{}", c.warnings.join("\n"));
    // The kernel's context, then one per program in solution order.
    let contexts: Vec<&str> = ["kernel"].into_iter().chain(programs).collect();
    assert_eq!(c.contexts, contexts);
    let p = engine::Policy::from_bytes(&c.bytes).unwrap();
    let sv = |src, dst, i, m| {
        p.static_verdict(engine::EventKind::Request, src, dst, i, m)
            .map(|d| d.verdict)
    };
    let (allow, deny) = (Some(engine::Verdict::Allow), Some(engine::Verdict::Deny));
    let ctx = |name: &str| contexts.iter().position(|c| *c == name).unwrap() as u16;
    let (display, input, monitor, clock) = (
        ctx("display-server"),
        ctx("input-service"),
        ctx("monitor"),
        ctx("clock"),
    );
    // The common kernel calls are static, so the verdict cache can hold them.
    assert_eq!(sv(ctx("alpha"), 0, abi::iface::TIME, abi::time::NOW), allow);
    assert_eq!(sv(display, 0, abi::iface::MEMORY, abi::mem::MAP), None);
    // So are the window requests every app makes (interface 0x200: present
    // 2, event 3), and the display server's answers to them.
    for app in [
        "alpha", "launcher", "terminal", "hello", "paint", "hostile", "clock",
    ]
    .map(ctx)
    {
        assert_eq!(sv(app, display, 0x200, 2), allow);
        assert_eq!(sv(app, display, 0x200, 3), allow);
        let answer = p
            .static_verdict(engine::EventKind::Response, display, app, 0x200, 3)
            .map(|d| d.verdict);
        assert_eq!(answer, allow);
    }
    // Devices: each driver its own endpoints, no client any.
    assert_eq!(sv(display, 0, abi::iface::PCI, abi::pci::INFO), allow);
    assert_eq!(sv(input, 0, abi::iface::IRQ, abi::irq::WAIT), allow);
    assert_eq!(sv(display, 0, abi::iface::IRQ, abi::irq::WAIT), deny);
    let clients = [
        "alpha", "beta", "launcher", "hello", "paint", "hostile", "scribble",
    ];
    for client in clients.map(ctx) {
        assert_eq!(sv(client, 0, abi::iface::PCI, abi::pci::INFO), deny);
        assert_eq!(sv(client, 0, abi::iface::DMA, abi::dma::ALLOC), deny);
        // Only the monitor reads the kernel's statistics.
        assert_eq!(sv(client, 0, abi::iface::STATS, abi::stats::IPC), deny);
        // Input (interface 0x210: key, button) comes from the input
        // service alone; no client can forge it.
        assert_eq!(sv(client, display, 0x210, 1), deny);
        assert_eq!(sv(client, display, 0x210, 3), deny);
        // Nobody may send requests to the input service.
        assert_eq!(sv(client, input, 0x210, 1), deny);
    }
    assert_eq!(sv(input, display, 0x210, 1), allow);
    for client in ["alpha", "beta", "hello", "paint", "hostile", "scribble"].map(ctx) {
        assert_eq!(sv(client, 0, abi::iface::TASK, abi::task::LABEL), deny);
        assert_eq!(sv(client, 0, abi::iface::TASK, abi::task::START), deny);
        assert_eq!(sv(client, 0, abi::iface::TASK, abi::task::STOP), deny);
    }
    assert_eq!(sv(monitor, 0, abi::iface::STATS, abi::stats::IPC), allow);
    assert_eq!(sv(monitor, 0, abi::iface::STATS, abi::stats::CPU), allow);
    assert_eq!(sv(display, 0, abi::iface::STATS, abi::stats::CPU), deny);
    assert_eq!(sv(clock, 0, abi::iface::STATS, abi::stats::CPU), deny);
    assert_eq!(sv(clock, 0, abi::iface::TIME, abi::time::WALL), allow);
    // Starting programs: the kernel starts the boot programs; the launcher
    // may start `hello`, `paint` and `hostile`, not `scribble`; nobody else
    // anything (`hostile` least of all).
    let ex = |src, dst| {
        p.static_verdict(engine::EventKind::Execute, src, dst, 0, 0)
            .map(|d| d.verdict)
    };
    let launcher = ctx("launcher");
    assert_eq!(sv(launcher, 0, abi::iface::TASK, abi::task::START), allow);
    assert_eq!(ex(0, display), allow);
    assert_eq!(ex(launcher, ctx("hello")), allow);
    assert_eq!(ex(launcher, ctx("paint")), allow);
    assert_eq!(ex(launcher, ctx("hostile")), allow);
    assert_eq!(ex(ctx("hostile"), ctx("hostile")), deny);
    assert_eq!(ex(ctx("hostile"), ctx("hello")), deny);
    assert_eq!(ex(launcher, ctx("scribble")), deny);
    assert_eq!(ex(launcher, display), deny);
    assert_eq!(ex(ctx("hello"), ctx("paint")), deny);
    assert_eq!(ex(monitor, ctx("hello")), deny);
    // The terminal: domains, statistics, audit; starts `hello` and `paint`
    // only, and no device.
    let terminal = ctx("terminal");
    assert_eq!(sv(terminal, 0, abi::iface::TASK, abi::task::LIST), allow);
    assert_eq!(sv(terminal, 0, abi::iface::STATS, abi::stats::CPU), allow);
    assert_eq!(sv(terminal, 0, abi::iface::PCI, abi::pci::INFO), deny);
    assert_eq!(ex(terminal, ctx("hello")), allow);
    assert_eq!(ex(terminal, ctx("hostile")), deny);
    assert_eq!(ex(terminal, display), deny);
    assert_eq!(
        sv(ctx("hostile"), 0, abi::iface::TASK, abi::task::LIST),
        deny
    );
}

#[test]
fn demo_policy() {
    let src = include_str!("../../demo.policy");
    let c = compile("demo.policy", src, &sol(&["hello", "threads"], &[]));
    assert_eq!(c.contexts, ["kernel", "hello", "threads"]);
    let p = engine::Policy::from_bytes(&c.bytes).unwrap();
    // The common kernel calls are static, so the verdict cache can hold them.
    let sv = |src, i, m| p.static_verdict(engine::EventKind::Request, src, 0, i, m);
    assert_eq!(
        sv(1, abi::iface::TIME, abi::time::NOW).map(|d| d.verdict),
        Some(engine::Verdict::Allow)
    );
    assert_eq!(
        sv(1, abi::iface::TASK, abi::task::THREAD_CREATE).map(|d| d.verdict),
        Some(engine::Verdict::Deny)
    );
    assert_eq!(
        sv(2, abi::iface::TASK, abi::task::THREAD_CREATE).map(|d| d.verdict),
        Some(engine::Verdict::Allow)
    );
    assert_eq!(sv(1, abi::iface::MEMORY, abi::mem::MAP), None);
}

#[test]
fn echo_example() {
    compile(
        "echo.policy",
        include_str!("../../examples/echo.policy"),
        &sol(&["client", "echo"], &[("client", "echo")]),
    );
}

#[test]
fn files_example() {
    compile(
        "files.policy",
        include_str!("../../examples/files.policy"),
        &sol(&["client", "fs"], &[("client", "fs")]),
    );
}

#[test]
fn echo_example_against_a_real_interface_file() {
    let idl_src = "interface Echo = 0x100 {\n    method ping(a: u64, b: u64, c: u64, d: u64) -> (a: u64, b: u64, c: u64, d: u64) = 1;\n    method who() -> (badge: u64, cpu: u64) = 2;\n    method slow(ms: u32) = 4;\n    method done() = 9;\n}\n";
    let ifaces = idl::load(&[("echo.idl".to_string(), idl_src.to_string())]).expect("idl loads");
    let s = sol(&["client", "echo"], &[("client", "echo")]);
    policy::compile(
        "echo.policy",
        include_str!("../../examples/echo.policy"),
        &ifaces,
        &s,
    )
    .unwrap_or_else(|e| panic!("{e}"));
}
