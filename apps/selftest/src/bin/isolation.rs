//! `isolation`: proves that address spaces are private, even at identical
//! virtual addresses.
//!
//! Every instance of this program maps one page at the same fixed address
//! ([`PAGE_ADDR`]), checks that it arrives zeroed (no data left over from
//! another domain), fills it with a pattern derived from its domain id, and
//! puts domain-derived values into its `.data` and `.bss` statics (which sit at
//! the same addresses in every instance, since all run the same image). Then,
//! for [`WATCH_NS`], it re-reads the whole page and the statics every
//! [`POLL_NS`] without writing anything. Sleeping between checks makes the
//! kernel switch to the other instances, on the same CPU (one-CPU runs) and on
//! other CPUs, so a shared frame, a stale TLB entry or a wrong CR3 shows up as
//! another domain's pattern.
//!
//! Logs `isolation: page at ADDR private over N checks` and exits 0, or logs
//! the first mismatch (with the domain the stray value belongs to) and exits 1.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};
use rt::kernel;

rt::entry!(main);

/// Where every instance maps its private page.
const PAGE_ADDR: u64 = 0x5000_0000_0000;
const PAGE: u64 = abi::PAGE_SIZE;
const WORDS: usize = (PAGE / 8) as usize;
/// How long to keep checking.
const WATCH_NS: u64 = 300_000_000;
/// Pause between two checks.
const POLL_NS: u64 = 5_000_000;
/// Fewer checks than this would not prove much.
const MIN_CHECKS: u64 = 10;
/// Marks every pattern word, so a zero or garbage word never looks valid.
const TAG: u64 = 0xa5a5_0000_0000_0000;
/// How many statics of each kind to watch.
const STATICS: usize = 64;
/// The initial value of [`DATA`], as the image holds it.
const DATA_INIT: u64 = 0x0123_4567_89ab_cdef;

/// Initialised statics: they live in `.data`, loaded from the image.
static DATA: [AtomicU64; STATICS] = [const { AtomicU64::new(DATA_INIT) }; STATICS];
/// Zero-initialised statics: they live in `.bss`.
static BSS: [AtomicU64; STATICS] = [const { AtomicU64::new(0) }; STATICS];

/// The value this domain keeps at word `i` of its page (and its statics).
fn pattern(domain: u64, i: usize) -> u64 {
    TAG | (domain & 0xffff) << 32 | i as u64
}

/// Which domain a stray value would come from, if it is a pattern word.
fn owner(value: u64) -> Option<u64> {
    (value & 0xffff_0000_0000_0000 == TAG).then_some((value >> 32) & 0xffff)
}

/// Reports a mismatch and returns false.
fn mismatch(what: &str, addr: u64, found: u64, want: u64) -> bool {
    match owner(found) {
        Some(d) => rt::error!(
            "isolation: {} at {:#x} holds {:#x} (a value of domain {}), expected {:#x} -- FAIL",
            what,
            addr,
            found,
            d,
            want
        ),
        None => rt::error!(
            "isolation: {} at {:#x} holds {:#x}, expected {:#x} -- FAIL",
            what,
            addr,
            found,
            want
        ),
    }
    false
}

/// Checks every word of the page against `want(i)`.
fn check_page(words: *const u64, what: &str, want: impl Fn(usize) -> u64) -> bool {
    for i in 0..WORDS {
        // SAFETY: `words` points to the page mapped read-write by `main`,
        // which stays mapped for the life of the program; volatile so that
        // every check really reads memory.
        let found = unsafe { words.add(i).read_volatile() };
        if found != want(i) {
            return mismatch(what, words as u64 + 8 * i as u64, found, want(i));
        }
    }
    true
}

/// Checks the statics against `data(i)` and `bss(i)`.
fn check_statics(data: impl Fn(usize) -> u64, bss: impl Fn(usize) -> u64) -> bool {
    for i in 0..STATICS {
        let found = DATA[i].load(Ordering::Relaxed);
        if found != data(i) {
            return mismatch(".data", DATA[i].as_ptr() as u64, found, data(i));
        }
        let found = BSS[i].load(Ordering::Relaxed);
        if found != bss(i) {
            return mismatch(".bss", BSS[i].as_ptr() as u64, found, bss(i));
        }
    }
    true
}

fn main() -> i32 {
    let info = kernel::info();
    let domain = info.domain;
    rt::println!(
        "isolation: domain {} on cpu {}: page at {:#x}, .data at {:#x}, .bss at {:#x}",
        domain,
        info.cpu,
        PAGE_ADDR,
        DATA.as_ptr() as u64,
        BSS.as_ptr() as u64
    );

    // Fresh statics: another instance of the same image must not have
    // touched them.
    if !check_statics(|_| DATA_INIT, |_| 0) {
        return 1;
    }
    for i in 0..STATICS {
        DATA[i].store(pattern(domain, i), Ordering::Relaxed);
        BSS[i].store(!pattern(domain, i), Ordering::Relaxed);
    }

    let rw = abi::mem::PROT_READ | abi::mem::PROT_WRITE;
    match kernel::map(PAGE_ADDR, PAGE, rw) {
        Ok(addr) if addr == PAGE_ADDR => {}
        Ok(addr) => {
            rt::error!(
                "isolation: MAP at {:#x} returned {:#x} -- FAIL",
                PAGE_ADDR,
                addr
            );
            return 1;
        }
        Err(e) => {
            rt::error!("isolation: MAP at {:#x} failed: {} -- FAIL", PAGE_ADDR, e);
            return 1;
        }
    }
    let words = PAGE_ADDR as *mut u64;
    if !check_page(words, "fresh page", |_| 0) {
        return 1;
    }
    for i in 0..WORDS {
        // SAFETY: the page at PAGE_ADDR was just mapped read-write for this
        // domain and nothing else in the program refers to it.
        unsafe { words.add(i).write_volatile(pattern(domain, i)) };
    }

    let start = kernel::now_ns();
    let mut checks: u64 = 0;
    let mut cpus_seen: u64 = 0;
    while kernel::now_ns() - start < WATCH_NS {
        kernel::sleep_ns(POLL_NS);
        cpus_seen |= 1 << (kernel::info().cpu % 64);
        if !check_page(words, "page", |i| pattern(domain, i))
            || !check_statics(|i| pattern(domain, i), |i| !pattern(domain, i))
        {
            return 1;
        }
        checks += 1;
    }
    if checks < MIN_CHECKS {
        rt::error!(
            "isolation: only {} checks in {} ms -- FAIL",
            checks,
            WATCH_NS / 1_000_000
        );
        return 1;
    }
    rt::println!(
        "isolation: page at {:#x} private over {} checks (domain {}, cpus {:#x})",
        PAGE_ADDR,
        checks,
        domain,
        cpus_seen
    );
    0
}
