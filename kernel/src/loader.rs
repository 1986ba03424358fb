//! Starting the solution: reads the boot image that xtask packed (the
//! solution description plus program images), creates one domain per
//! program and starts its main thread. Also ends domains and, for test
//! solutions, stops QEMU once every domain has ended, with a pass code only
//! if each ended as the solution expected.

use crate::arch::trap::TrapFrame;
use crate::obj::domain::{Domain, End};
use crate::obj::thread::{Thread, ThreadRef};
use crate::percpu;
use crate::sched;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use kcore::bootimage::{BootImage, Expect, SOLUTION_ENTRY, Solution};
use spin::Mutex;

/// How each program of the solution fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Running,
    NotStarted,
    Ended(End),
}

struct State {
    name: String,
    exit_when_done: bool,
    expect: Vec<(String, Expect)>,
    outcome: Vec<Outcome>,
    live: usize,
    /// Still spawning programs: an early exit must not end the solution.
    starting: bool,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);
static DOMAINS: Mutex<Vec<Arc<Domain>>> = Mutex::new(Vec::new());

/// The live domain with id `id`.
pub fn find_domain(id: u64) -> Option<Arc<Domain>> {
    DOMAINS.lock().iter().find(|d| d.id == id).cloned()
}

/// Parses the boot image and starts every program in it.
pub fn start_solution(image: &'static [u8]) {
    let img = match BootImage::parse(image) {
        Ok(i) => i,
        Err(e) => return log::error!("boot image: {e:?}; nothing to start"),
    };
    let Some(sol) = img.get(SOLUTION_ENTRY) else {
        return log::error!("boot image has no '{SOLUTION_ENTRY}' entry; nothing to start");
    };
    let sol = match Solution::decode(sol) {
        Ok(s) => s,
        Err(e) => return log::error!("solution description: {e:?}; nothing to start"),
    };
    crate::security::init(img.get("policy"), img.get("contexts"));
    let (free, total) = crate::mm::frame_stats();
    log::info!(
        "solution '{}': {} programs; {free} of {total} frames free",
        sol.name,
        sol.programs.len()
    );
    *STATE.lock() = Some(State {
        name: sol.name.clone(),
        exit_when_done: sol.exit_when_done,
        expect: sol
            .programs
            .iter()
            .map(|p| (p.name.clone(), p.expect))
            .collect(),
        outcome: alloc::vec![Outcome::NotStarted; sol.programs.len()],
        live: 0,
        starting: true,
    });
    // Create every domain first, then the channels between them, and only
    // then start anything, so no program runs before its channels exist.
    let mut planned = [0u32; smp::cpuset::MAX_CPUS];
    let mut ready: Vec<(usize, Arc<Domain>, ThreadRef)> = Vec::new();
    for (i, p) in sol.programs.iter().enumerate() {
        let Some(elf) = img.get(&p.image) else {
            log::error!(
                "program {}: image '{}' is not in the boot image",
                p.name,
                p.image
            );
            continue;
        };
        let affinity = smp::cpuset::resolve_affinity(p.affinity, percpu::online());
        match prepare(i, &p.name, elf, p.priority, affinity, p.arg, &mut planned) {
            Ok((d, t)) => {
                // Decoding validated every selection.
                let selections: Vec<kcore::pci::Match> = sol
                    .devices
                    .iter()
                    .filter(|s| s.program == p.name)
                    .filter_map(|s| kcore::pci::Match::parse(&s.select).ok())
                    .collect();
                if !selections.is_empty() {
                    let mine = crate::pci::assign(d.id, &d.name, &selections);
                    if mine.is_empty() {
                        log::warn!("program {}: no PCI device matches its selection", p.name);
                    }
                    d.devices.call_once(|| mine);
                }
                ready.push((i, d, t))
            }
            Err(e) => log::error!("program {}: cannot start: {e}", p.name),
        }
    }
    for ch in &sol.channels {
        let find = |name: &str| {
            ready
                .iter()
                .find(|(_, d, _)| d.name == name)
                .map(|(_, d, _)| d)
        };
        match (find(&ch.client), find(&ch.server)) {
            (Some(client), Some(server)) => match client.connect(&ch.name, server, ch.grant) {
                Ok(h) => log::info!(
                    "channel {}: {} -> {} (handle {:#x})",
                    ch.name,
                    ch.client,
                    ch.server,
                    h.0
                ),
                Err(e) => log::error!("channel {}: {} -> {}: {e}", ch.name, ch.client, ch.server),
            },
            _ => log::error!(
                "channel {}: {} -> {}: a domain did not start",
                ch.name,
                ch.client,
                ch.server
            ),
        }
    }
    for (program, d, t) in ready {
        DOMAINS.lock().push(d.clone());
        if let Some(s) = STATE.lock().as_mut() {
            s.outcome[program] = Outcome::Running;
            s.live += 1;
        }
        log::info!(
            "domain {} started on cpu {} (id {}, priority {})",
            d.name,
            t.cpu,
            d.id,
            t.priority
        );
        sched::start(&t);
    }
    if let Some(s) = STATE.lock().as_mut() {
        s.starting = false;
    }
    check_done();
}

/// Creates a domain with its image, stack and main thread, not yet started.
/// `planned` counts threads placed on each CPU but not started, so that
/// programs spread over CPUs before any of them runs.
fn prepare(
    program: usize,
    name: &str,
    elf: &[u8],
    priority: u8,
    affinity: smp::cpuset::CpuSet,
    arg: u64,
    planned: &mut [u32; smp::cpuset::MAX_CPUS],
) -> Result<(Arc<Domain>, ThreadRef), String> {
    use alloc::format;
    // Starting a program is an `execute` event for the security module.
    let context = crate::security::program_context(program);
    let kernel = crate::security::kernel_context();
    crate::security::check(
        engine::EventKind::Execute,
        kernel,
        context,
        0,
        0,
        [0; 4],
        engine::tables::Ool::None,
    )
    .map_err(|_| String::from("the policy does not allow starting it"))?;
    let d = Domain::new(name, priority, affinity, program, context).ok_or("out of memory")?;
    let (entry, stack) = {
        let mut space = d.space.lock();
        let entry = space.load_image(elf).map_err(|e| format!("{e}"))?;
        let stack = space.map_main_stack().map_err(|e| format!("stack: {e}"))?;
        (entry, stack)
    };
    let cpu = sched::place(d.affinity, planned);
    planned[cpu] += 1;
    let frame = TrapFrame::new_user(entry, stack, arg, d.id);
    let t = Thread::new_user(d.clone(), priority, cpu, frame).ok_or("out of memory")?;
    d.threads.lock().push(t.clone());
    Ok((d, t))
}

/// Called by the scheduler's reaper when the last thread of `d` is gone.
pub fn domain_finished(d: &Arc<Domain>) {
    let end = d.end.lock().unwrap_or(End::Exit(0));
    d.set_end(end);
    match end {
        End::Exit(code) => log::info!("domain {} exited with code {code}", d.name),
        End::Fault {
            vector,
            rip,
            addr,
            error,
        } => log::warn!(
            "domain {} killed: {} at rip={rip:#x} addr={addr:#x} error={error:#x}",
            d.name,
            crate::trap::exception_name(vector as u64)
        ),
    }
    d.teardown();
    DOMAINS.lock().retain(|x| !Arc::ptr_eq(x, d));
    if let Some(s) = STATE.lock().as_mut() {
        if let Some(o) = s.outcome.get_mut(d.program) {
            *o = Outcome::Ended(end);
        }
        s.live = s.live.saturating_sub(1);
    }
    check_done();
}

fn meets(expect: Expect, o: Outcome) -> bool {
    match (expect, o) {
        (Expect::Any, Outcome::Ended(_)) => true,
        (Expect::Exit(c), Outcome::Ended(End::Exit(x))) => c == x,
        (Expect::Fault, Outcome::Ended(End::Fault { .. })) => true,
        _ => false,
    }
}

/// For test solutions: once nothing is left running, report and exit QEMU.
fn check_done() {
    let guard = STATE.lock();
    let Some(s) = guard.as_ref() else { return };
    if s.live > 0 || s.starting {
        return;
    }
    if !s.exit_when_done {
        log::info!("all domains of '{}' have ended; the system is idle", s.name);
        return;
    }
    let mut ok = true;
    for ((name, expect), o) in s.expect.iter().zip(&s.outcome) {
        if !meets(*expect, *o) {
            ok = false;
            log::error!("solution failed: program {name} ended as {o:?}, expected {expect:?}");
        }
    }
    let (free, total) = crate::mm::frame_stats();
    log::info!(
        "memory: {free} of {total} frames free after all domains ended; {} shared frame(s) still referenced",
        crate::mm::shared_frames()
    );
    crate::fastpath::report();
    if ok {
        log::info!(
            "solution finished: all programs ended as expected ('{}')",
            s.name
        );
    } else {
        log::error!("solution failed: '{}'", s.name);
    }
    drop(guard);
    crate::arch::cpu::qemu_exit(ok);
}
