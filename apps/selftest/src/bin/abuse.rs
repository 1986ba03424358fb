//! `abuse`: calls every kernel endpoint with bad arguments and checks that each
//! comes back as the documented error, then fuzzes the syscall interface.
//!
//! Phase 1 runs [`CASES`], a table of requests with the error each must get
//! (the kernel implements exactly these), followed by a few checks that need
//! more than one call (a real `MAP`, `NOW` monotonic, `INFO`/`STATS` sane).
//! Every check logs `abuse: <case>: got <result>`; a mismatch adds
//! `expected <result> -- FAIL`. The summary is `abuse: N/M checks passed`.
//!
//! Phase 2 makes [`FUZZ_CALLS`] pseudo-random system calls (xorshift, fixed
//! seed, so every run is the same) with random syscall numbers, handles, tags,
//! words and `r12`, and checks that every status is one the ABI defines.
//! Requests that would end the program or block (task EXIT, THREAD_EXIT,
//! THREAD_CREATE) are re-rolled, SLEEP is clamped to 1 ms, and UNMAP is
//! steered into [`HOLE`], where nothing of ours lives. A MAP that succeeds is
//! unmapped at once.
//!
//! Exits 0 if every check passed and every fuzz call was answered, else 1.

#![no_std]
#![no_main]

use abi::{Error, Handle, MSG_WORDS, Syscall, Tag, handles, iface};
use abi::{log, mem, task, time};
use core::arch::naked_asm;
use rt::kernel;
use rt::rand::XorShift as Rng;
use rt::sys::{self, RawReturn};

rt::entry!(main);

/// A user address range that is never mapped: above the program image, far
/// below the heap and the kernel's MAP area. Pointers into it must fault.
const HOLE: u64 = 0x1000_0000;
/// How much of [`HOLE`] the fuzzer's UNMAPs may touch.
const HOLE_SPAN: u64 = 512 * 1024 * 1024;
/// A canonical kernel-half address.
const KERNEL_ADDR: u64 = 0xffff_8000_0000_0000;
const PAGE: u64 = abi::PAGE_SIZE;
const RW: u64 = mem::PROT_READ | mem::PROT_WRITE;
/// How many fuzz calls to make.
const FUZZ_CALLS: u32 = 3000;

/// What a check expects: success or one error.
type Expect = Result<(), Error>;

/// A word of a request: a literal, or an address only known at run time.
#[derive(Clone, Copy)]
enum Arg {
    /// This value.
    L(u64),
    /// A readable 2 KiB buffer of ASCII text.
    Buf,
    /// A zeroed, readable and writable 64-byte buffer (an OOL descriptor).
    Ool,
    /// The top of a mapped, writable, otherwise unused 16 KiB stack.
    StackTop,
    /// The (odd) top of that stack minus one.
    StackTopOdd,
    /// Executable code that ends its thread at once ([`parked_thread`]).
    Entry,
    /// Mapped, writable, non-executable memory (the bottom of that stack).
    Data,
}
use Arg::*;

/// One request and the result it must get.
struct Case {
    name: &'static str,
    nr: u64,
    handle: u64,
    tag: u64,
    words: [Arg; MSG_WORDS],
    /// `r12`.
    ool: Arg,
    want: Expect,
}

/// A `Call` on `handle`.
const fn call(
    name: &'static str,
    handle: Handle,
    tag: u64,
    words: [Arg; MSG_WORDS],
    want: Expect,
) -> Case {
    Case {
        name,
        nr: Syscall::Call as u64,
        handle: handle.0 as u64,
        tag,
        words,
        ool: L(0),
        want,
    }
}

/// Any system call with raw registers.
const fn raw(name: &'static str, nr: u64, handle: u64, tag: u64, want: Expect) -> Case {
    Case {
        name,
        nr,
        handle,
        tag,
        words: [L(0); MSG_WORDS],
        ool: L(0),
        want,
    }
}

const WRITE: u64 = Tag::new(iface::LOG, log::WRITE).raw();
const MAP: u64 = Tag::new(iface::MEMORY, mem::MAP).raw();
const UNMAP: u64 = Tag::new(iface::MEMORY, mem::UNMAP).raw();
const CREATE: u64 = Tag::new(iface::TASK, task::THREAD_CREATE).raw();
const SLEEP: u64 = Tag::new(iface::TIME, time::SLEEP).raw();
const INFO: u64 = log::LEVEL_INFO;
const CALL: u64 = Syscall::Call as u64;
const LOG_H: Handle = handles::LOG;
const MEM_H: Handle = handles::MEMORY;
const TASK_H: Handle = handles::TASK;
const MAX_LEN: u64 = log::MAX_LEN;

use Error::*;

/// The expected errors, one row per request.
#[rustfmt::skip]
const CASES: &[Case] = &[
    // syscall numbers
    raw("syscall 3", 3, LOG_H.0 as u64, WRITE, Err(BadSyscall)),
    raw("syscall u64::MAX", u64::MAX, LOG_H.0 as u64, WRITE, Err(BadSyscall)),
    // handles
    call("call handle 999", Handle(999), WRITE, [Buf, L(4), L(INFO), L(0)], Err(BadHandle)),
    call("call stale generation", Handle::new(1, 7), WRITE, [Buf, L(4), L(INFO), L(0)], Err(BadHandle)),
    raw("call handle 1<<40", CALL, 1 << 40, WRITE, Err(BadHandle)),
    // tags
    call("tag reserved bit 40", LOG_H, WRITE | 1 << 40, [Buf, L(4), L(INFO), L(0)], Err(BadTag)),
    call("tag unknown flag 0x80", LOG_H, WRITE | 0x80 << 32, [Buf, L(4), L(INFO), L(0)], Err(BadTag)),
    Case { ool: Ool, ..call("tag OOL on kernel endpoint", LOG_H, Tag::with_flags(iface::LOG, log::WRITE, Tag::OOL).raw(),
                            [Buf, L(4), L(INFO), L(0)], Err(BadTag)) },
    call("log handle, time interface", LOG_H, Tag::new(iface::TIME, time::NOW).raw(), [L(0); 4], Err(BadInterface)),
    call("log method 99", LOG_H, Tag::new(iface::LOG, 99).raw(), [L(0); 4], Err(BadMethod)),
    // log WRITE(ptr, len, level)
    call("log ptr 0", LOG_H, WRITE, [L(0), L(5), L(INFO), L(0)], Err(BadAddress)),
    call("log ptr kernel", LOG_H, WRITE, [L(KERNEL_ADDR), L(5), L(INFO), L(0)], Err(BadAddress)),
    call("log ptr unmapped", LOG_H, WRITE, [L(HOLE), L(5), L(INFO), L(0)], Err(BadAddress)),
    call("log ptr+len overflows", LOG_H, WRITE, [L(u64::MAX - 2), L(10), L(INFO), L(0)], Err(BadAddress)),
    call("log len > MAX_LEN", LOG_H, WRITE, [Buf, L(MAX_LEN + 1), L(INFO), L(0)], Err(InvalidArgument)),
    call("log level 77", LOG_H, WRITE, [Buf, L(16), L(77), L(0)], Err(InvalidArgument)),
    call("log len 0", LOG_H, WRITE, [Buf, L(0), L(INFO), L(0)], Ok(())),
    // mem MAP(addr, len, prot)
    call("map addr 0x1234", MEM_H, MAP, [L(0x1234), L(PAGE), L(RW), L(0)], Err(Misaligned)),
    call("map len 0", MEM_H, MAP, [L(0), L(0), L(RW), L(0)], Err(InvalidArgument)),
    call("map len 100", MEM_H, MAP, [L(0), L(100), L(RW), L(0)], Err(Misaligned)),
    call("map prot W+X", MEM_H, MAP, [L(0), L(PAGE), L(mem::PROT_WRITE | mem::PROT_EXEC), L(0)], Err(InvalidArgument)),
    call("map prot 0x80", MEM_H, MAP, [L(0), L(PAGE), L(0x80), L(0)], Err(InvalidArgument)),
    call("map kernel addr", MEM_H, MAP, [L(KERNEL_ADDR), L(PAGE), L(RW), L(0)], Err(BadAddress)),
    call("map across USER_TOP", MEM_H, MAP, [L(abi::USER_TOP - PAGE), L(2 * PAGE), L(RW), L(0)], Err(BadAddress)),
    call("map below USER_BASE", MEM_H, MAP, [L(0x10_0000), L(PAGE), L(RW), L(0)], Err(BadAddress)),
    call("map over own text", MEM_H, MAP, [L(abi::USER_BASE), L(PAGE), L(RW), L(0)], Err(AddressInUse)),
    call("map 64 TiB", MEM_H, MAP, [L(0), L(1 << 46), L(RW), L(0)], Err(QuotaExceeded)),
    // mem UNMAP(addr, len)
    call("unmap misaligned", MEM_H, UNMAP, [L(0x1234), L(PAGE), L(0), L(0)], Err(Misaligned)),
    call("unmap unmapped range", MEM_H, UNMAP, [L(HOLE), L(PAGE), L(0), L(0)], Err(InvalidArgument)),
    call("unmap own text", MEM_H, UNMAP, [L(abi::USER_BASE), L(PAGE), L(0), L(0)], Err(InvalidArgument)),
    call("unmap kernel addr", MEM_H, UNMAP, [L(KERNEL_ADDR), L(PAGE), L(0), L(0)], Err(BadAddress)),
    // task THREAD_CREATE(entry, stack_top, arg, priority)
    call("thread entry 0", TASK_H, CREATE, [L(0), StackTop, L(0), L(1)], Err(BadAddress)),
    call("thread entry kernel", TASK_H, CREATE, [L(KERNEL_ADDR), StackTop, L(0), L(1)], Err(BadAddress)),
    call("thread entry not executable", TASK_H, CREATE, [Data, StackTop, L(0), L(1)], Err(BadAddress)),
    call("thread stack misaligned", TASK_H, CREATE, [Entry, StackTopOdd, L(0), L(1)], Err(Misaligned)),
    call("thread stack unmapped", TASK_H, CREATE, [Entry, L(HOLE), L(0), L(1)], Err(BadAddress)),
    call("thread priority 32", TASK_H, CREATE, [Entry, StackTop, L(0), L(32)], Err(InvalidArgument)),
    // IPC on kernel endpoints
    raw("recv on log handle", Syscall::Recv as u64, LOG_H.0 as u64, 0, Err(NoRights)),
    raw("recv on handle 999", Syscall::Recv as u64, 999, 0, Err(BadHandle)),
    raw("reply without caller", Syscall::Reply as u64, 0, Tag::new(iface::FIRST_USER, 1).raw(), Err(NoCaller)),
    // time
    call("sleep 0", handles::TIME, SLEEP, [L(0); 4], Ok(())),
];

/// A thread entry that ends its thread at once without touching its stack:
/// the valid `entry` for THREAD_CREATE cases that must fail for another
/// reason, harmless should the kernel start it anyway.
#[unsafe(naked)]
extern "C" fn parked_thread() -> ! {
    naked_asm!(
        "2:",
        "xor eax, eax",
        "mov edi, {task}",
        "mov rsi, {exit}",
        "syscall",
        "jmp 2b",
        task = const handles::TASK.0,
        exit = const Tag::new(iface::TASK, task::THREAD_EXIT).raw(),
    )
}

/// ASCII text for log WRITE cases that need a readable buffer.
static TEXT: [u8; 2048] = [b'x'; 2048];

/// Run-time addresses that [`Arg`]s stand for.
struct Env {
    ool: [u64; 8],
    stack_base: u64,
    stack_len: u64,
}

impl Env {
    fn resolve(&self, a: Arg) -> u64 {
        match a {
            L(v) => v,
            Buf => TEXT.as_ptr() as u64,
            Ool => self.ool.as_ptr() as u64,
            StackTop => self.stack_base + self.stack_len,
            StackTopOdd => self.stack_base + self.stack_len - 1,
            Entry => parked_thread as *const () as u64,
            Data => self.stack_base,
        }
    }
}

/// Renders a status as the check log shows it.
struct Status(u64);

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match Error::from_status(self.0) {
            Some(Ok(())) => f.write_str("ok"),
            Some(Err(e)) => f.write_str(e.name()),
            None => write!(f, "unknown status {}", self.0),
        }
    }
}

fn expect_name(want: Expect) -> Status {
    Status(want.err().map_or(0, Error::code))
}

/// The tally of phase 1.
struct Checks {
    total: u32,
    failed: [&'static str; 16],
    n_failed: usize,
}

impl Checks {
    fn record(&mut self, name: &'static str, ok: bool) {
        self.total += 1;
        if !ok {
            if let Some(slot) = self.failed.get_mut(self.n_failed) {
                *slot = name;
            }
            self.n_failed += 1;
        }
    }

    /// Checks a status against the expected result.
    fn status(&mut self, name: &'static str, status: u64, want: Expect) {
        let ok = sys::decode_status(status) == want && Error::from_status(status).is_some();
        if ok {
            rt::println!("abuse: {}: got {}", name, Status(status));
        } else {
            rt::error!(
                "abuse: {}: got {}, expected {} -- FAIL",
                name,
                Status(status),
                expect_name(want)
            );
        }
        self.record(name, ok);
    }

    /// Checks a property.
    fn holds(&mut self, name: &'static str, ok: bool) {
        if ok {
            rt::println!("abuse: {}: ok", name);
        } else {
            rt::error!("abuse: {}: does not hold -- FAIL", name);
        }
        self.record(name, ok);
    }
}

fn main() -> i32 {
    let info = kernel::info();
    rt::println!(
        "abuse: domain {} on cpu {}; {} table cases",
        info.domain,
        info.cpu,
        CASES.len()
    );
    let mut checks = Checks {
        total: 0,
        failed: [""; 16],
        n_failed: 0,
    };

    let stack_len = 4 * PAGE;
    let stack_base = match kernel::map(0, stack_len, RW) {
        Ok(a) => a,
        Err(e) => {
            rt::error!("abuse: cannot map a scratch stack: {} -- FAIL", e);
            return 1;
        }
    };
    let env = Env {
        ool: [0; 8],
        stack_base,
        stack_len,
    };
    for case in CASES {
        let words = case.words.map(|a| env.resolve(a));
        // SAFETY: a correct kernel refuses every case in CASES without side
        // effects, except "log len 0" (writes nothing) and "sleep 0". Buffers
        // handed over (TEXT, env.ool, the scratch stack) stay alive and are
        // not otherwise used; thread entries are `parked_thread`, which ends
        // at once. A kernel that wrongly accepts an UNMAP of our text may
        // crash this program, which the scenario then reports.
        let ret =
            unsafe { sys::syscall(case.nr, case.handle, case.tag, words, env.resolve(case.ool)) };
        checks.status(case.name, ret.status, case.want);
    }
    check_map(&mut checks);
    check_misc(&mut checks, info);

    let passed = checks.total - checks.n_failed as u32;
    rt::println!("abuse: {}/{} checks passed", passed, checks.total);
    for name in checks.failed.iter().take(checks.n_failed) {
        rt::error!("abuse: FAILED: {}", name);
    }

    let fuzz_ok = fuzz();
    if checks.n_failed == 0 && fuzz_ok {
        0
    } else {
        1
    }
}

/// A valid 8 KiB MAP: zeroed, writable, then unmapped.
fn check_map(checks: &mut Checks) {
    let len = 2 * PAGE;
    let ret = match kernel::map(0, len, RW) {
        Ok(addr) => {
            checks.status("map 8 KiB", 0, Ok(()));
            addr
        }
        Err(e) => {
            checks.status("map 8 KiB", e.code(), Ok(()));
            return;
        }
    };
    checks.holds(
        "map returns a page-aligned user address",
        ret % PAGE == 0 && ret >= abi::USER_BASE && ret + len <= abi::USER_TOP,
    );
    let words = ret as *mut u64;
    let n = (len / 8) as usize;
    // SAFETY: [ret, ret + len) is a fresh read-write mapping used only here.
    let zeroed = (0..n).all(|i| unsafe { words.add(i).read_volatile() } == 0);
    checks.holds("mapped memory is zeroed", zeroed);
    // SAFETY: as above.
    let writable = (0..n).all(|i| unsafe {
        let p = words.add(i);
        p.write_volatile(i as u64 ^ 0x5a5a);
        p.read_volatile() == i as u64 ^ 0x5a5a
    });
    checks.holds("mapped memory is writable", writable);
    // SAFETY: nothing refers to the mapping after this.
    let status = unsafe { kernel::unmap(ret, len) }
        .err()
        .map_or(0, Error::code);
    checks.status("unmap the 8 KiB mapping", status, Ok(()));
}

/// Checks that take more than one call: time, task info, memory stats, log.
fn check_misc(checks: &mut Checks, info: kernel::TaskInfo) {
    let mut prev = kernel::now_ns();
    let mut monotonic = true;
    for _ in 0..100 {
        let now = kernel::now_ns();
        monotonic &= now >= prev;
        prev = now;
    }
    checks.holds("time NOW is nondecreasing", monotonic);
    checks.holds(
        "task INFO is consistent",
        info.cpus_online >= 1 && info.cpu < info.cpus_online && info.domain == rt::domain_id(),
    );
    let stats = kernel::mem_stats();
    checks.holds(
        "mem STATS is consistent",
        stats.is_ok_and(|s| s.mapped <= s.quota && s.mapped > 0),
    );
    let line = "abuse: log WRITE returns its length";
    checks.holds(
        "log WRITE returns its length",
        kernel::log(kernel::Level::Info, line) == Ok(line.len()),
    );
}

/// A random handle: well-known, stale, random 32-bit or random 64-bit.
fn fuzz_handle(rng: &mut Rng) -> u64 {
    const KNOWN: [u64; 6] = [
        0,
        handles::LOG.0 as u64,
        handles::TASK.0 as u64,
        handles::TIME.0 as u64,
        handles::MEMORY.0 as u64,
        999,
    ];
    match rng.below(4) {
        0 | 1 => rng.pick(&KNOWN),
        2 => rng.next_u64() & 0xffff_ffff,
        _ => rng.next_u64(),
    }
}

/// A random tag: a real kernel method, one with random flags, or noise.
fn fuzz_tag(rng: &mut Rng) -> u64 {
    let real = Tag::new(rng.below(5) as u16, rng.below(7) as u16).raw();
    match rng.below(10) {
        0..=4 => real,
        5 | 6 => real | (rng.below(256) << 32),
        7 => rng.next_u64() & ((1 << 40) - 1),
        _ => rng.next_u64(),
    }
}

/// A random word: noise, small numbers, page multiples and nasty addresses.
/// Never the address of anything this program uses.
fn fuzz_word(rng: &mut Rng) -> u64 {
    match rng.below(9) {
        0 => rng.next_u64(),
        1 => rng.next_u64() & 0xffff_ffff,
        2 => rng.below(16),
        3 => rng.below(16) * PAGE,
        4 => HOLE + rng.below(64) * PAGE,
        5 => KERNEL_ADDR + rng.below(16) * PAGE,
        6 => abi::USER_TOP - rng.below(4) * PAGE,
        7 => u64::MAX - rng.below(16),
        _ => 0,
    }
}

/// Phase 2: [`FUZZ_CALLS`] random calls; every status must decode.
fn fuzz() -> bool {
    let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
    let mut by_status = [0u32; Error::ALL.len() + 1];
    let mut unknown = 0u32;
    let mut calls = 0u32;
    while calls < FUZZ_CALLS {
        let nr = rng.pick(&[0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
        let handle = fuzz_handle(&mut rng);
        let tag = fuzz_tag(&mut rng);
        let mut words = [0; MSG_WORDS].map(|_: u64| fuzz_word(&mut rng));
        let ool = fuzz_word(&mut rng);
        // Steer requests that a kernel endpoint could act on. Any other tag
        // fails to decode or names no method with side effects.
        let method = Tag::decode(tag).ok().map(|t| (t.interface(), t.method()));
        match method {
            Some((iface::TASK, task::EXIT | task::THREAD_EXIT | task::THREAD_CREATE)) => continue,
            Some((iface::TIME, time::SLEEP)) => words[0] %= 1_000_001,
            Some((iface::MEMORY, mem::UNMAP)) if words[0] < abi::USER_TOP => {
                words[0] = HOLE + words[0] % HOLE_SPAN;
                words[1] %= HOLE_SPAN;
            }
            _ => {}
        }
        // SAFETY: after the steering above no request can end this program,
        // start a thread, or unmap memory it uses (UNMAP stays inside HOLE
        // or outside user space); buffers are never valid user memory, so
        // LOG writes and OOL descriptors are refused; SLEEP is short; a MAP
        // that succeeds is undone below.
        let ret: RawReturn = unsafe { sys::syscall(nr, handle, tag, words, ool) };
        calls += 1;
        match Error::from_status(ret.status) {
            Some(Ok(())) => by_status[0] += 1,
            Some(Err(e)) => by_status[e.code() as usize] += 1,
            None => {
                unknown += 1;
                if unknown <= 5 {
                    rt::error!(
                        "abuse: fuzz call {}: nr {:#x} handle {:#x} tag {:#x}: unknown status {:#x}",
                        calls,
                        nr,
                        handle,
                        tag,
                        ret.status
                    );
                }
            }
        }
        if nr == CALL && ret.status == 0 && method == Some((iface::MEMORY, mem::MAP)) {
            // SAFETY: the kernel just mapped this fresh range for us; nothing uses it.
            let _ = unsafe { kernel::unmap(ret.words[0], words[1]) };
        }
    }
    rt::println!("abuse: fuzz: ok {}, {}", by_status[0], Tally(&by_status));
    if unknown == 0 {
        rt::println!("abuse: fuzz: {} calls, all answered", calls);
        true
    } else {
        rt::error!(
            "abuse: fuzz: {} calls, {} with an unknown status -- FAIL",
            calls,
            unknown
        );
        false
    }
}

/// Renders the per-error counts of the fuzz phase.
struct Tally<'a>(&'a [u32]);

impl core::fmt::Display for Tally<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut first = true;
        for e in Error::ALL {
            let n = self.0.get(e.code() as usize).copied().unwrap_or(0);
            if n > 0 {
                write!(f, "{}{} {}", if first { "" } else { ", " }, e.name(), n)?;
                first = false;
            }
        }
        Ok(())
    }
}
