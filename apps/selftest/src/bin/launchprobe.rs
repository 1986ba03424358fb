//! `launchprobe`: starts, lists and stops on-demand program instances
//! through the kernel's `Task` endpoint (`task::START`, `STOP`, `LIST`)
//! and checks each answer, for the `launch` scenario.
//!
//! - Two instances of `worker` start as two domains labelled `worker-1`
//!   and `worker-2`; a third is refused (`QuotaExceeded`: the solution
//!   allows two at once).
//! - `secret`, which the policy does not let this domain execute, is
//!   `Denied`; a name that is no on-demand program (`echo`, a boot
//!   program, or nothing at all) is `NotFound`; empty, over-long and
//!   unmapped names are refused.
//! - `LIST` shows every domain once, in id order, with the workers among
//!   them.
//! - Stopping `echo` (a program the policy does not let it execute) is
//!   `Denied`, and `echo` keeps answering.
//! - Stopping both workers ends them, and the kernel's memory figures
//!   (`Stats.memory`: free memory plus the kernel-stack pool, and the
//!   kernel heap in use) come back: free memory exactly, the heap within
//!   a sixteenth of what two workers take (the kernel's lists of reusable
//!   stacks and address-space ids, and per-CPU lists, keep capacity they
//!   grew to, and how much depends on which CPUs the workers ran on). A worker started
//!   again gets instance 1 back and a new id, and is stopped too.
//!
//! It logs `launchprobe: <check>: ok` or `FAILED`, then `all checks
//! passed` and exits 0, or exits 1.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use rt::abi::{Error, Syscall, Tag};
use rt::kernel;

mod ifaces {
    include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
}
use ifaces::EchoClient;

rt::entry!(main);

/// How long a stopped domain may take to disappear from the list.
const GONE_WITHIN_NS: u64 = 2_000_000_000;

struct Checks {
    ok: bool,
}

impl Checks {
    fn check(&mut self, what: &str, good: bool) {
        if good {
            rt::println!("launchprobe: {}: ok", what);
        } else {
            rt::error!("launchprobe: {}: FAILED", what);
            self.ok = false;
        }
    }
}

/// `task::START` with a raw pointer and length.
fn start_raw(ptr: u64, len: u64) -> Result<(u64, u64), Error> {
    let tag = Tag::new(rt::abi::iface::TASK, rt::abi::task::START);
    // SAFETY: the kernel only reads `len` bytes at `ptr` (checking the
    // range itself); nothing of this domain's memory is written.
    let ret = unsafe {
        rt::sys::syscall(
            Syscall::Call as u64,
            rt::abi::handles::TASK.0.into(),
            tag.raw(),
            [ptr, len, 0, 0],
            0,
        )
    };
    rt::sys::decode_status(ret.status)?;
    Ok((ret.words[0], ret.words[1]))
}

fn live_ids() -> Vec<u64> {
    let mut ids = Vec::new();
    let _ = kernel::for_each_domain(|d| ids.push(d.id));
    ids
}

/// Waits until domain `id` is no longer listed; whether it went.
fn gone(id: u64) -> bool {
    let deadline = kernel::now_ns() + GONE_WITHIN_NS;
    while kernel::now_ns() < deadline {
        if !live_ids().contains(&id) {
            return true;
        }
        kernel::sleep_ns(5_000_000);
    }
    false
}

/// What a domain that ends must give back: free memory plus the kernel's
/// stack pool (an ended thread's stack is kept for the next), and the
/// kernel heap in use.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Figures {
    free: u64,
    heap_used: u64,
}

fn figures() -> Figures {
    let m = kernel::kernel_memory().unwrap_or_default();
    Figures {
        free: m.free + m.stack_pool,
        heap_used: m.heap_used,
    }
}

/// The figures once the other domains have finished starting: on several
/// CPUs they may still be mapping their first pages when this program
/// begins, so free memory is read until two reads 50 ms apart agree (for
/// [`GONE_WITHIN_NS`] at most).
fn quiet() -> Figures {
    let deadline = kernel::now_ns() + GONE_WITHIN_NS;
    let mut last = figures();
    loop {
        kernel::sleep_ns(50_000_000);
        let f = figures();
        if f.free == last.free || kernel::now_ns() >= deadline {
            return f;
        }
        last = f;
    }
}

fn main() -> i32 {
    let mut c = Checks { ok: true };
    let echo = match kernel::channel("echo") {
        Ok(h) => EchoClient { handle: h },
        Err(e) => {
            rt::error!("launchprobe: no channel 'echo': {}", e);
            return 1;
        }
    };
    let me = kernel::info();
    // Allocate what the checks below need before the first memory figure.
    let mut ids: Vec<u64> = Vec::with_capacity(64);
    let free_before = quiet();

    let first = kernel::start("worker");
    let second = kernel::start("worker");
    rt::println!("launchprobe: started {:?} and {:?}", first, second);
    let (Ok((w1, 1)), Ok((w2, 2))) = (first, second) else {
        c.check("two worker instances start as instances 1 and 2", false);
        return 1;
    };
    c.check("two worker instances start as instances 1 and 2", w1 != w2);
    c.check(
        "a third worker is over the solution's two",
        kernel::start("worker") == Err(Error::QuotaExceeded),
    );
    c.check(
        "the labels are worker-1 and worker-2",
        kernel::label(w1).as_deref() == Ok("worker-1")
            && kernel::label(w2).as_deref() == Ok("worker-2"),
    );
    let secret = kernel::start("secret");
    rt::println!("launchprobe: start secret: {:?}", secret);
    c.check("starting secret is denied", secret == Err(Error::Denied));
    c.check(
        "a boot program cannot be started",
        kernel::start("echo") == Err(Error::NotFound),
    );
    c.check(
        "an unknown program is not found",
        kernel::start("nothing") == Err(Error::NotFound),
    );
    let name = b"worker";
    c.check(
        "an empty or over-long name is refused",
        start_raw(name.as_ptr() as u64, 0) == Err(Error::InvalidArgument)
            && start_raw(name.as_ptr() as u64, 33) == Err(Error::InvalidArgument),
    );
    c.check(
        "an unmapped or kernel name pointer is refused",
        start_raw(0x1000, 6) == Err(Error::BadAddress)
            && start_raw(0xffff_8000_0000_0000, 6) == Err(Error::BadAddress),
    );

    // What two running workers take of the kernel heap (domains, threads,
    // handle tables, channels).
    let running = figures();
    let two_workers = running.heap_used.saturating_sub(free_before.heap_used);
    rt::println!(
        "launchprobe: two running workers take {} bytes of kernel heap",
        two_workers
    );
    ids.clear();
    let listed = kernel::for_each_domain(|d| ids.push(d.id));
    rt::println!("launchprobe: domains listed: {:?}", ids);
    c.check(
        "the list holds me, both workers, in id order, each once",
        listed.is_ok()
            && ids.contains(&me.domain)
            && ids.contains(&w1)
            && ids.contains(&w2)
            && ids.windows(2).all(|p| p[0] < p[1]),
    );
    c.check(
        "the list ends with NotFound",
        kernel::next_domain(u64::MAX) == Err(Error::NotFound),
    );
    let worker_info = kernel::next_domain(w1 - 1);
    c.check(
        "the list describes a worker (instance 1, a thread)",
        matches!(worker_info, Ok(d) if d.id == w1 && d.instance == 1 && d.threads >= 1),
    );

    // Let the workers run their own checks before they are stopped.
    kernel::sleep_ns(300_000_000);
    let echo_id = ids
        .iter()
        .copied()
        .find(|&id| kernel::label(id).as_deref() == Ok("echo"));
    c.check(
        "stopping echo is denied, and echo still answers",
        echo_id.is_some_and(|id| kernel::stop(id) == Err(Error::Denied))
            && matches!(echo.ping(1, 0, 0, 0), Ok(r) if r.a == 2),
    );
    c.check("stopping worker-2 is accepted", kernel::stop(w2).is_ok());
    c.check("worker-2 ends", gone(w2));
    c.check(
        "stopping it again: not found",
        kernel::stop(w2) == Err(Error::NotFound),
    );
    c.check("stopping worker-1 is accepted", kernel::stop(w1).is_ok());
    c.check("worker-1 ends", gone(w1));
    let free_after = figures();
    rt::println!(
        "launchprobe: kernel memory before the workers {:?}, after they were stopped {:?}",
        free_before,
        free_after
    );
    // The kernel's lists of reusable things (stack pool, address-space
    // ids) grow once, the first time domains end: the heap is compared
    // over the second start and stop below.
    c.check(
        "stopping the workers gave back all their memory",
        free_after.free == free_before.free,
    );

    let again = kernel::start("worker");
    rt::println!("launchprobe: started again: {:?}", again);
    c.check(
        "a worker starts again as instance 1 with a new id",
        matches!(again, Ok((id, 1)) if id > w2),
    );
    if let Ok((id, _)) = again {
        kernel::sleep_ns(100_000_000);
        c.check(
            "the new worker is stopped, and ends",
            kernel::stop(id).is_ok() && gone(id),
        );
    }
    let free_last = figures();
    rt::println!(
        "launchprobe: kernel memory after the second stop {:?}",
        free_last
    );
    // The heap is not compared byte for byte: per-CPU lists (run queue,
    // sleepers) keep the capacity they grew to when a worker first ran on
    // their CPU, and which CPU that is varies. A leaked worker would keep
    // about half of `two_workers`; the check allows a sixteenth.
    let heap_growth = free_last.heap_used.saturating_sub(free_after.heap_used);
    c.check(
        "free memory is back to its first figure, and a restart leaks no kernel heap",
        free_last.free == free_before.free && two_workers > 0 && heap_growth < two_workers / 16,
    );
    let _ = echo.done();
    if c.ok {
        rt::println!("launchprobe: all checks passed");
        0
    } else {
        1
    }
}
