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
use kcore::bootimage::{
    BootImage, ChannelSpec, DeviceSpec, Expect, ProgramSpec, SOLUTION_ENTRY, Solution,
};
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
    /// Restarts each program has left.
    restarts_left: Vec<u8>,
    /// For each program, the instance numbers in use (bit `n - 1` for
    /// instance `n`); only on-demand programs use it.
    instances: Vec<u8>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

/// What starting a program again needs, kept from boot.
struct Plan {
    programs: Vec<ProgramSpec>,
    channels: Vec<ChannelSpec>,
    devices: Vec<DeviceSpec>,
    /// Each program's ELF image in the boot image.
    images: Vec<Option<&'static [u8]>>,
}

static PLAN: spin::Once<Plan> = spin::Once::new();
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
        restarts_left: sol.programs.iter().map(|p| p.restarts).collect(),
        instances: alloc::vec![0; sol.programs.len()],
    });
    let plan = PLAN.call_once(|| Plan {
        programs: sol.programs.clone(),
        channels: sol.channels.clone(),
        devices: sol.devices.clone(),
        images: sol.programs.iter().map(|p| img.get(&p.image)).collect(),
    });
    // Create every domain first, then the channels between them, and only
    // then start anything, so no program runs before its channels exist.
    let mut planned = [0u32; smp::cpuset::MAX_CPUS];
    let mut ready: Vec<(usize, Arc<Domain>, ThreadRef)> = Vec::new();
    let kernel = crate::security::kernel_context();
    for (i, p) in sol.programs.iter().enumerate() {
        if p.on_demand {
            continue;
        }
        let Some(elf) = plan.images[i] else {
            log::error!(
                "program {}: image '{}' is not in the boot image",
                p.name,
                p.image
            );
            continue;
        };
        // Starting a program is an `execute` event for the security
        // module: at boot, from the kernel's context.
        if execute_allowed(kernel, crate::security::program_context(i)).is_err() {
            log::error!(
                "program {}: cannot start: the policy does not allow starting it",
                p.name
            );
            continue;
        }
        let affinity = smp::cpuset::resolve_affinity(p.affinity, percpu::online());
        let how = Start {
            program: i,
            label: &p.name,
            instance: 0,
        };
        match prepare(&how, elf, p.priority, affinity, p.arg, &mut planned) {
            Ok((d, t)) => {
                assign_devices(&d, &sol.devices);
                ready.push((i, d, t))
            }
            Err(e) => log::error!("program {}: cannot start: {e}", p.name),
        }
    }
    for ch in &sol.channels {
        // An on-demand program's channels are connected when an instance
        // starts (`connect_clients`), not now.
        if sol
            .programs
            .iter()
            .any(|p| p.on_demand && p.name == ch.client)
        {
            continue;
        }
        let find = |name: &str| {
            ready
                .iter()
                .find(|(_, d, _)| d.name == name)
                .map(|(_, d, _)| d)
        };
        match (find(&ch.client), find(&ch.server)) {
            (Some(client), Some(server)) => connect(ch, client, server),
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

/// Gives `d` the PCI devices the solution selects for its program.
fn assign_devices(d: &Arc<Domain>, devices: &[DeviceSpec]) {
    // Decoding validated every selection.
    let selections: Vec<kcore::pci::Match> = devices
        .iter()
        .filter(|s| s.program == d.name)
        .filter_map(|s| kcore::pci::Match::parse(&s.select).ok())
        .collect();
    if !selections.is_empty() {
        let mine = crate::pci::assign(d.id, &d.name, &selections);
        if mine.is_empty() {
            log::warn!("program {}: no PCI device matches its selection", d.name);
        }
        d.devices.call_once(|| mine);
    }
}

/// Sets up channel `ch` from `client` to `server`.
fn connect(ch: &ChannelSpec, client: &Domain, server: &Domain) {
    match client.connect(&ch.name, server, ch.grant) {
        Ok(h) => log::info!(
            "channel {}: {} -> {} (handle {:#x})",
            ch.name,
            ch.client,
            ch.server,
            h.0
        ),
        Err(e) => log::error!("channel {}: {} -> {}: {e}", ch.name, ch.client, ch.server),
    }
}

/// Starts program `program` again, after its domain `old` ended: a new
/// domain (new id, fresh memory) with the same image, argument, devices
/// and client channels. Programs that serve channels are never restarted
/// (the solution decoder refuses it), so no other domain holds a handle to
/// the old one's endpoint that this would have to replace.
fn restart(program: usize, old: &Domain, left: u8) -> Result<(), String> {
    let plan = PLAN.get().ok_or("no solution")?;
    let p = plan.programs.get(program).ok_or("no such program")?;
    let elf = plan.images[program].ok_or("its image is not in the boot image")?;
    execute_allowed(
        crate::security::kernel_context(),
        crate::security::program_context(program),
    )
    .map_err(|_| "the policy does not allow starting it")?;
    let affinity = smp::cpuset::resolve_affinity(p.affinity, percpu::online());
    let mut planned = [0u32; smp::cpuset::MAX_CPUS];
    let how = Start {
        program,
        label: &old.name,
        instance: old.instance,
    };
    let (d, t) = prepare(&how, elf, p.priority, affinity, p.arg, &mut planned)?;
    assign_devices(&d, &plan.devices);
    connect_clients(p, &d);
    DOMAINS.lock().push(d.clone());
    log::info!(
        "domain {} restarted on cpu {} (id {}, was {}; {} restart(s) left)",
        d.name,
        t.cpu,
        d.id,
        old.id,
        left
    );
    sched::start(&t);
    Ok(())
}

/// Sets up the client channels of program `p` for its new domain `d`.
fn connect_clients(p: &ProgramSpec, d: &Domain) {
    for ch in PLAN.get().into_iter().flat_map(|plan| &plan.channels) {
        if ch.client != p.name {
            continue;
        }
        match find_by_name(&ch.server) {
            Some(server) => connect(ch, d, &server),
            None => log::warn!(
                "channel {}: {} -> {}: the server has ended",
                ch.name,
                ch.client,
                ch.server
            ),
        }
    }
}

/// `task::START`: a new instance of on-demand program `name`, started by
/// `caller`. Returns the new domain's id and instance number.
pub fn start_on_demand(caller: &Domain, name: &[u8]) -> Result<(u64, u8), abi::Error> {
    use abi::Error;
    let plan = PLAN.get().ok_or(Error::NotFound)?;
    let (program, p) = plan
        .programs
        .iter()
        .enumerate()
        .find(|(_, p)| p.on_demand && p.name.as_bytes() == name)
        .ok_or(Error::NotFound)?;
    let elf = plan.images[program].ok_or(Error::NotFound)?;
    // The policy first (an `execute` event from the caller's context): a
    // domain that may not start the program learns nothing about its
    // instances.
    if let Err(e) = execute_allowed(caller.context, crate::security::program_context(program)) {
        log::warn!(
            "domain {} may not start {}: the policy does not allow it",
            caller.name,
            p.name
        );
        return Err(e);
    }
    // Take an instance number first, so two starters cannot both take the
    // last one.
    let instance = {
        let mut guard = STATE.lock();
        let s = guard.as_mut().ok_or(Error::NotFound)?;
        let used = s.instances[program];
        let n = (0..p.instances)
            .find(|n| used & (1 << n) == 0)
            .ok_or(Error::QuotaExceeded)?;
        s.instances[program] |= 1 << n;
        n + 1
    };
    let label = p.instance_label(instance);
    let how = Start {
        program,
        label: &label,
        instance,
    };
    let affinity = smp::cpuset::resolve_affinity(p.affinity, percpu::online());
    let mut planned = [0u32; smp::cpuset::MAX_CPUS];
    let (d, t) = match prepare(&how, elf, p.priority, affinity, p.arg, &mut planned) {
        Ok(v) => v,
        Err(why) => {
            if let Some(s) = STATE.lock().as_mut() {
                s.instances[program] &= !(1 << (instance - 1));
            }
            log::warn!("domain {} cannot start {label}: {why}", caller.name);
            return Err(Error::NoMemory);
        }
    };
    connect_clients(p, &d);
    DOMAINS.lock().push(d.clone());
    if let Some(s) = STATE.lock().as_mut() {
        s.outcome[program] = Outcome::Running;
        s.live += 1;
    }
    log::info!(
        "domain {} started by {} on cpu {} (id {}, priority {})",
        d.name,
        caller.name,
        t.cpu,
        d.id,
        t.priority
    );
    let id = d.id;
    sched::start(&t);
    Ok((id, instance))
}

/// `task::STOP`: ends domain `id` for `caller`, if the policy lets the
/// caller execute the domain's program.
pub fn stop(caller: &Domain, id: u64) -> Result<(), abi::Error> {
    let d = find_domain(id).ok_or(abi::Error::NotFound)?;
    execute_allowed(caller.context, d.context)?;
    if d.dying.load(core::sync::atomic::Ordering::Acquire) {
        return Ok(());
    }
    log::info!("domain {} stopped by {}", d.name, caller.name);
    sched::kill_domain(&d, End::Stopped { by: caller.id });
    Ok(())
}

/// The live domain after id `after` (smallest id above it), for
/// `task::LIST`.
pub fn next_domain(after: u64) -> Option<Arc<Domain>> {
    DOMAINS
        .lock()
        .iter()
        .filter(|d| d.id > after)
        .min_by_key(|d| d.id)
        .cloned()
}

/// Whether the policy allows the `execute` event `source -> target`.
fn execute_allowed(source: u16, target: u16) -> Result<(), abi::Error> {
    crate::security::check(
        engine::EventKind::Execute,
        source,
        target,
        0,
        0,
        [0; 4],
        engine::tables::Ool::None,
    )
}

/// The live domain labelled `name`.
fn find_by_name(name: &str) -> Option<Arc<Domain>> {
    DOMAINS.lock().iter().find(|d| d.name == name).cloned()
}

/// Which domain [`prepare`] makes.
struct Start<'a> {
    /// The program's index in the solution.
    program: usize,
    /// The domain's label.
    label: &'a str,
    /// Instance number of an on-demand program, else 0.
    instance: u8,
}

/// Creates a domain with its image, stack and main thread, not yet started;
/// the caller has asked the policy (`execute_allowed`). `planned` counts
/// threads placed on each CPU but not started, so that programs spread
/// over CPUs before any of them runs. Every failure is a lack of memory.
fn prepare(
    how: &Start,
    elf: &[u8],
    priority: u8,
    affinity: smp::cpuset::CpuSet,
    arg: u64,
    planned: &mut [u32; smp::cpuset::MAX_CPUS],
) -> Result<(Arc<Domain>, ThreadRef), String> {
    use alloc::format;
    let no_memory = || String::from("out of memory");
    let context = crate::security::program_context(how.program);
    let d = Domain::new(
        how.label,
        priority,
        affinity,
        how.program,
        how.instance,
        context,
    )
    .ok_or_else(no_memory)?;
    // A domain that cannot start gives its memory and address-space id
    // back now: nothing else would (it has no thread to end).
    let fail = |e: String| {
        d.teardown();
        e
    };
    let (entry, stack) = {
        let mut space = d.space.lock();
        let loaded = space
            .load_image(elf)
            .map_err(|e| format!("{e}"))
            .and_then(|entry| {
                space
                    .map_main_stack()
                    .map(|stack| (entry, stack))
                    .map_err(|e| format!("stack: {e}"))
            });
        drop(space);
        loaded.map_err(fail)?
    };
    let cpu = sched::place(d.affinity, planned);
    planned[cpu] += 1;
    let frame = TrapFrame::new_user(entry, stack, arg, d.id);
    let t = Thread::new_user(d.clone(), priority, cpu, frame)
        .ok_or_else(no_memory)
        .map_err(fail)?;
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
        End::Stopped { by } => log::info!("domain {} ended (stopped by domain {by})", d.name),
    }
    d.teardown();
    DOMAINS.lock().retain(|x| !Arc::ptr_eq(x, d));
    // A program that ended badly and has restarts left starts again; it
    // stays "running" for the solution's outcome.
    let failed = !matches!(end, End::Exit(0) | End::Stopped { .. });
    let left = STATE.lock().as_mut().and_then(|s| {
        let left = s.restarts_left.get_mut(d.program)?;
        if !failed || *left == 0 {
            return None;
        }
        *left -= 1;
        Some(*left)
    });
    if let Some(left) = left {
        match restart(d.program, d, left) {
            Ok(()) => return,
            Err(e) => log::error!("program {}: cannot restart: {e}", d.name),
        }
    }
    if let Some(s) = STATE.lock().as_mut() {
        if let Some(o) = s.outcome.get_mut(d.program) {
            *o = Outcome::Ended(end);
        }
        if d.instance > 0
            && let Some(used) = s.instances.get_mut(d.program)
        {
            *used &= !(1 << (d.instance - 1));
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
    let programs = PLAN.get().map_or(&[][..], |p| p.programs.as_slice());
    for (((name, expect), o), p) in s.expect.iter().zip(&s.outcome).zip(programs) {
        // An on-demand program need not have run (its `expect` is "any").
        if !(p.on_demand || meets(*expect, *o)) {
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
