//! `hog`: tries to exhaust kernel resources and checks that it only ever gets
//! clean errors, never a crash, a hang or lost accounting.
//!
//! 1. Memory: `MAP`s 1 MiB chunks, touching every page, until `MAP` fails.
//!    The failure must be `QuotaExceeded` or `NoMemory`, a quota refusal must
//!    be justified by `mem::STATS`, and the failed `MAP` must leave the
//!    accounting alone. Every page is read back (no two chunks share a
//!    frame), everything is unmapped, and `mapped` must return to its
//!    starting value; a fresh 1 MiB `MAP` then proves the quota came back.
//! 2. Threads: spawns small threads, which sleep in 200 ms steps until told
//!    to go, until spawning fails. The failure must be `QuotaExceeded` after
//!    exactly [`MAX_THREADS`] threads (main included), or `NoMemory`. All of
//!    them must be running; once they have ended, spawning works again.
//!    (The threads wait to be released rather than end after one nap: one
//!    that ended early would free its slot, and the count would depend on
//!    timing.)
//!    With a program argument N > 0, the memory is held N ms before it is
//!    unmapped, so that several hogs hold theirs at once.
//! 3. The kernel still answers: `time::NOW` and a log line,
//!    `hog: kernel still answers`.
//!
//! Exits 0 if everything held, else 1.

#![no_std]
#![no_main]

use abi::Error;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use rt::kernel;

rt::entry!(main);

const PAGE: u64 = abi::PAGE_SIZE;
const CHUNK: u64 = 1 << 20;
const RW: u64 = abi::mem::PROT_READ | abi::mem::PROT_WRITE;
/// Far above any quota the kernel gives (512 MiB of RAM under QEMU): a hog
/// that gets this many chunks was never refused.
const MAX_CHUNKS: usize = 1024;
/// The kernel's limit on threads per domain (`MAX_THREADS` in the kernel).
const MAX_THREADS: u32 = 64;
/// Stack of each spawned thread.
const STACK: usize = 16 * 1024;
/// How long a spawned thread sleeps between looks at [`RELEASE`].
const NAP_NS: u64 = 200_000_000;
/// How long to wait for threads to start or end.
const WAIT_NS: u64 = 5_000_000_000;

/// Tells the spawned threads to end.
static RELEASE: AtomicBool = AtomicBool::new(false);
/// Threads that have started running.
static STARTED: AtomicU32 = AtomicU32::new(0);
/// Threads about to end.
static FINISHED: AtomicU32 = AtomicU32::new(0);

fn main() -> i32 {
    rt::println!(
        "hog: domain {} on cpu {}",
        rt::domain_id(),
        kernel::info().cpu
    );
    let memory = exhaust_memory();
    let threads = exhaust_threads();
    let now = kernel::now_ns();
    let answered = kernel::log(kernel::Level::Info, "hog: kernel still answers").is_ok();
    rt::println!(
        "hog: summary: memory {}, threads {}, at {} ms",
        verdict(memory),
        verdict(threads),
        now / 1_000_000
    );
    if memory && threads && answered { 0 } else { 1 }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "FAILED" }
}

/// The value stored at the start of page `page` of chunk `chunk`.
fn stamp(chunk: usize, page: u64) -> u64 {
    0x4000_0000_0000_0000 | rt::domain_id() << 40 | (chunk as u64) << 20 | page
}

/// Phase 1: map until refused, check, unmap everything.
fn exhaust_memory() -> bool {
    let Ok(before) = kernel::mem_stats() else {
        rt::error!("hog: mem STATS failed -- FAIL");
        return false;
    };
    let mut chunks = [0u64; MAX_CHUNKS];
    let mut n = 0;
    let start = kernel::now_ns();
    let mut slowest = 0;
    let refusal = loop {
        if n == MAX_CHUNKS {
            break None;
        }
        let t0 = kernel::now_ns();
        let res = kernel::map(0, CHUNK, RW);
        slowest = slowest.max(kernel::now_ns() - t0);
        match res {
            Ok(addr) => {
                for page in 0..CHUNK / PAGE {
                    // SAFETY: [addr, addr + CHUNK) was just mapped read-write
                    // and only this function uses it.
                    unsafe { ((addr + page * PAGE) as *mut u64).write_volatile(stamp(n, page)) };
                }
                chunks[n] = addr;
                n += 1;
            }
            Err(e) => break Some(e),
        }
    };
    let map_ms = (kernel::now_ns() - start) / 1_000_000;
    let full = kernel::mem_stats();
    let mut ok = true;
    match (refusal, full) {
        (None, _) => {
            rt::error!("hog: memory: {} MiB mapped and never refused -- FAIL", n);
            ok = false;
        }
        (Some(e), Ok(s)) => {
            rt::println!(
                "hog: memory: got {} MiB in 1 MiB chunks, then MAP failed with {} \
                 (mapped {} KiB of quota {} KiB, {} MiB free; {} ms, slowest MAP {} ms)",
                n,
                e,
                s.mapped / 1024,
                s.quota / 1024,
                s.free_phys >> 20,
                map_ms,
                slowest / 1_000_000
            );
            if !matches!(e, Error::QuotaExceeded | Error::NoMemory) {
                rt::error!(
                    "hog: memory: MAP failed with {}, expected quota exceeded or no memory -- FAIL",
                    e
                );
                ok = false;
            }
        }
        (Some(_), Err(e)) => {
            rt::error!("hog: memory: mem STATS failed: {} -- FAIL", e);
            ok = false;
        }
    }
    match full {
        Ok(s) if s.mapped == before.mapped + n as u64 * CHUNK => {
            if refusal == Some(Error::QuotaExceeded) && s.mapped + CHUNK <= s.quota {
                rt::error!("hog: memory: quota refused with room left -- FAIL");
                ok = false;
            }
        }
        other => {
            rt::error!(
                "hog: memory: accounting off after {} chunks: {:?} -- FAIL",
                n,
                other
            );
            ok = false;
        }
    }

    // Every page still holds its own stamp: no two pages share a frame.
    for (i, &addr) in chunks[..n].iter().enumerate() {
        for page in 0..CHUNK / PAGE {
            // SAFETY: as above; the chunk is still mapped.
            let found = unsafe { ((addr + page * PAGE) as *const u64).read_volatile() };
            if found != stamp(i, page) {
                rt::error!(
                    "hog: memory: page {} of chunk {} holds {:#x} -- FAIL",
                    page,
                    i,
                    found
                );
                return false;
            }
        }
    }

    // With an argument, keep the memory for that many milliseconds before
    // giving it back, so that several hogs hold theirs at the same time and
    // really run the machine out of memory (policies/tests/oom.toml).
    let hold_ms = rt::arg();
    if hold_ms > 0 {
        kernel::sleep_ns(hold_ms.saturating_mul(1_000_000));
    }

    let start = kernel::now_ns();
    for &addr in &chunks[..n] {
        // SAFETY: the chunk is not used any more.
        if let Err(e) = unsafe { kernel::unmap(addr, CHUNK) } {
            rt::error!("hog: memory: UNMAP {:#x} failed: {} -- FAIL", addr, e);
            ok = false;
        }
    }
    let unmap_ms = (kernel::now_ns() - start) / 1_000_000;
    let after = kernel::mem_stats();
    if after.map(|s| s.mapped) != Ok(before.mapped) {
        rt::error!(
            "hog: memory: mapped {} before, {:?} after unmapping -- FAIL",
            before.mapped,
            after
        );
        return false;
    }
    // The quota is free again.
    match kernel::map(0, CHUNK, RW) {
        // SAFETY: a fresh mapping nothing refers to.
        Ok(addr) => ok &= unsafe { kernel::unmap(addr, CHUNK) }.is_ok(),
        Err(e) => {
            rt::error!(
                "hog: memory: MAP after unmapping everything failed: {} -- FAIL",
                e
            );
            ok = false;
        }
    }
    rt::println!(
        "hog: memory: unmapped all {} MiB in {} ms; mapped back to {} KiB",
        n,
        unmap_ms,
        before.mapped / 1024
    );
    ok
}

/// A spawned thread: counts itself, naps until released, ends.
fn napper() {
    STARTED.fetch_add(1, Ordering::AcqRel);
    while !RELEASE.load(Ordering::Acquire) {
        kernel::sleep_ns(NAP_NS);
    }
    FINISHED.fetch_add(1, Ordering::AcqRel);
}

/// Polls `done` every millisecond for at most [`WAIT_NS`].
fn wait_for(done: impl Fn() -> bool) -> bool {
    let deadline = kernel::now_ns() + WAIT_NS;
    while !done() {
        if kernel::now_ns() > deadline {
            return false;
        }
        kernel::sleep_ns(1_000_000);
    }
    true
}

/// Phase 2: spawn until refused, check, let them all end, spawn again.
fn exhaust_threads() -> bool {
    let mut spawned: u32 = 0;
    let refusal = loop {
        if spawned > 4 * MAX_THREADS {
            break None;
        }
        match rt::thread::spawn(napper, STACK) {
            Ok(_) => spawned += 1,
            Err(e) => break Some(e),
        }
    };
    let mut ok = true;
    match refusal {
        Some(Error::QuotaExceeded) if spawned + 1 == MAX_THREADS => {}
        Some(Error::NoMemory) => {}
        other => {
            rt::error!(
                "hog: threads: spawn ended with {:?} after {} threads, expected quota exceeded at {} -- FAIL",
                other,
                spawned,
                MAX_THREADS - 1
            );
            ok = false;
        }
    }
    let all_started = wait_for(|| STARTED.load(Ordering::Acquire) == spawned);
    rt::println!(
        "hog: threads: spawned {} (+ main = {}), then {}; {} running",
        spawned,
        spawned + 1,
        refusal.map_or("never refused", Error::name),
        STARTED.load(Ordering::Acquire)
    );
    if !all_started {
        rt::error!("hog: threads: not all threads started -- FAIL");
        ok = false;
    }

    RELEASE.store(true, Ordering::Release);
    if !wait_for(|| FINISHED.load(Ordering::Acquire) == spawned) {
        rt::error!("hog: threads: not all threads ended -- FAIL");
        return false;
    }
    // A thread's slot is freed once it has switched away for the last time;
    // give that a moment, then one more thread must start and end.
    let before = FINISHED.load(Ordering::Acquire);
    let deadline = kernel::now_ns() + WAIT_NS;
    let respawn = loop {
        match rt::thread::spawn(napper, STACK) {
            Ok(_) => break Ok(()),
            Err(e) if kernel::now_ns() > deadline => break Err(e),
            Err(_) => kernel::sleep_ns(1_000_000),
        }
    };
    match respawn {
        Ok(()) if wait_for(|| FINISHED.load(Ordering::Acquire) > before) => {
            rt::println!("hog: threads: all ended; spawning works again");
        }
        other => {
            rt::error!(
                "hog: threads: spawning after the others ended: {:?} -- FAIL",
                other
            );
            ok = false;
        }
    }
    ok
}
