//! The attempts of `hostile` on the display server and the scheduler
//! (see the program's docs): others' windows, presents outside its own,
//! windows beyond the limits, memory exhaustion, an IPC flood, forged
//! input, the focus, and threads above its priority ceiling.

use super::Attempt;
use super::attacks::{Env, PAGE, RW};
use super::ifaces::InputClient;
use super::ifaces::window;
use alloc::format;
use alloc::string::String;
use gui::{Event, Window};
use rt::abi::{self, Error, Syscall, Tag, handles, iface};
use rt::kernel;

/// The most a map attempt takes in one go.
const CHUNK: u64 = 4 << 20;
/// How many chunks the memory attempt can hold (far above the quota).
const MAX_CHUNKS: usize = 256;
/// Requests in the IPC flood.
const FLOOD: u32 = 10_000;
/// Requests in the flood that the kernel denies (each one an audit line).
const FLOOD_DENIED: u32 = 50;
/// How long the focus check watches for focus events.
const FOCUS_WATCH_NS: u64 = 500_000_000;
/// Stack of the spinner thread.
const STACK: usize = 16 * 1024;

/// Window ids that are not its own: present, events, close.
pub(super) fn foreign_windows(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("present/event/close others' windows");
    let c = env.client();
    let ids = (0..=16).chain([0x7fff_ffff, u32::MAX]);
    for id in ids.filter(|&id| id != env.window) {
        a.refused(
            || format!("present window {id}"),
            c.present(id, 0, 0xffff_ffff),
        );
        a.refused(|| format!("event of window {id}"), c.event(id));
        a.refused(|| format!("close window {id}"), c.close(id));
    }
    a
}

/// The `origin` or `size` word of `present`.
fn pack(a: u32, b: u32) -> u32 {
    (a & 0xffff) << 16 | (b & 0xffff)
}

/// Presents of its own window that reach its title bar, its border,
/// the panel and the whole screen. The server clips them to the window;
/// only the screen can show that, so the attempt is `contained` at best.
pub(super) fn present_outside(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("present over title bar and panel");
    let c = env.client();
    let (w, h) = (super::WIDTH, super::HEIGHT);
    let neg = |v: u32| 0x1_0000 - v;
    let presents = [
        (pack(0, neg(22)), pack(w, h + 22)),
        (pack(neg(2), neg(2)), pack(w + 4, h + 4)),
        (pack(neg(440), neg(60)), pack(1280, 800)),
        (pack(0x8000, 0x8000), pack(0xffff, 0xffff)),
        (pack(0, 0), pack(0xffff, 0xffff)),
        (u32::MAX, u32::MAX),
    ];
    let mut accepted = 0;
    for (origin, size) in presents {
        match c.present(env.window, origin, size) {
            Ok(()) => accepted += 1,
            Err(Error::PeerGone) => a.got_through(|| String::from("the server is gone")),
            Err(_) => {}
        }
    }
    a.contained(format!(
        "{accepted} of {} clipped by the server (screen)",
        presents.len()
    ));
    a
}

/// Maps `bytes` (at least a page) and describes it for sharing read-only.
fn share(bytes: u64) -> Result<rt::sys::Share, Error> {
    let len = bytes.next_multiple_of(PAGE).max(PAGE);
    let addr = kernel::map(0, len, RW)?;
    Ok(rt::sys::Share {
        addr,
        len,
        writable: false,
    })
}

/// Windows larger (or smaller) than allowed, or larger than their
/// memory.
pub(super) fn windows_too_large(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("windows beyond the size limits");
    let c = env.client();
    for (width, height, bytes) in [
        (1025, 768, 1025 * 768 * 4),
        (1024, 769, 1024 * 769 * 4),
        (1280, 800, 1280 * 800 * 4),
        (0xffff, 0xffff, PAGE),
        (352, 256, PAGE),
        (15, 15, PAGE),
    ] {
        let r = share(bytes).and_then(|m| {
            let r = c.create(width, height, m);
            // The memory stays mapped if the server took it; else it is
            // ours to free.
            if r.is_err() {
                // SAFETY: mapped just above and never used.
                let _ = unsafe { kernel::unmap(m.addr, m.len) };
            }
            r
        });
        if let Ok(id) = r {
            let _ = c.close(id);
        }
        a.refused(|| format!("create {width}x{height}"), r);
    }
    a
}

/// Maps memory until the kernel refuses; while it holds everything,
/// its window and the display server must still work; then frees it.
pub(super) fn exhaust_memory(env: &Env, win: &mut Window) -> Attempt {
    let mut a = Attempt::new("map memory until refused");
    let mut chunks = [0u64; MAX_CHUNKS];
    let mut held = 0;
    let mut refusal = None;
    while held < MAX_CHUNKS {
        match kernel::map(0, CHUNK, RW) {
            Ok(addr) => {
                chunks[held] = addr;
                held += 1;
            }
            Err(e) => {
                refusal = Some(e);
                break;
            }
        }
    }
    let mib = (held as u64 * CHUNK) >> 20;
    match refusal {
        Some(Error::QuotaExceeded | Error::NoMemory) => a.refused(
            || String::from("map"),
            Err::<(), _>(refusal.unwrap_or(Error::NoMemory)),
        ),
        Some(e) => a.got_through(|| format!("map failed with {e}, not a quota error")),
        None => a.got_through(|| format!("mapped {mib} MiB without a refusal")),
    }
    // Holding it all: no heap allocation may happen here.
    let presented = win.present_all();
    let served = env.client().event(env.window);
    for &addr in &chunks[..held] {
        // SAFETY: fresh mappings of this function, used by nothing.
        let _ = unsafe { kernel::unmap(addr, CHUNK) };
    }
    if let Err(e) = presented {
        a.got_through(|| format!("own window failed while full: {e}"));
    }
    if let Err(e) = served {
        a.got_through(|| format!("display server failed while full: {e}"));
    }
    match kernel::map(0, CHUNK, RW) {
        Ok(addr) => {
            // SAFETY: mapped just now, used by nothing.
            let _ = unsafe { kernel::unmap(addr, CHUNK) };
        }
        Err(e) => a.got_through(|| format!("memory not back after freeing: {e}")),
    }
    a.note(format!("after {mib} MiB; window still works, freed"));
    a
}

/// Many thousands of requests to the display server in a tight loop,
/// valid and invalid; a few the kernel denies (malformed words).
pub(super) fn flood(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("IPC flood on the display server");
    let c = env.client();
    let start = kernel::now_ns();
    let (mut ok, mut refused) = (0u32, 0u32);
    let mut other = env.window;
    for i in 0..FLOOD {
        other = if other >= 16 { 1 } else { other + 1 };
        let r = match i % 4 {
            0 => c.event(env.window).map(|_| ()),
            1 => c.present(env.window, 0, pack(1, 1)),
            2 => c.present(other, 0, pack(1, 1)),
            _ => c.event(other).map(|_| ()),
        };
        match r {
            Ok(()) => ok += 1,
            Err(Error::PeerGone) => {
                a.got_through(|| format!("the server is gone after {i} requests"));
                break;
            }
            Err(_) => refused += 1,
        }
    }
    let served_ns = kernel::now_ns() - start;
    let tag = abi::Tag::new(window::INTERFACE, window::method::PRESENT);
    for _ in 0..FLOOD_DENIED {
        let words = [u64::from(env.window), u64::MAX, u64::MAX, 0];
        let r = rt::sys::call(env.display, abi::Message::new(tag, words));
        a.refused(|| String::from("present with 64-bit words"), r);
    }
    let denied_ns = kernel::now_ns() - start - served_ns;
    match c.event(env.window) {
        Ok(_) => a.note(format!(
            "{FLOOD} calls ({ok} ok, {refused} refused) in {} ms, {FLOOD_DENIED} denied in {} ms; \
             server alive",
            served_ns / 1_000_000,
            denied_ns / 1_000_000,
        )),
        Err(e) => a.got_through(|| format!("the server stopped serving: {e}")),
    }
    if ok == 0 {
        a.got_through(|| String::from("no valid request was served"));
    }
    a
}

/// A forged Ctrl+Alt+Tab (press and release), as only the input
/// service may send it.
pub(super) fn forge_chord(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("forge Input.key Ctrl+Alt+Tab");
    let input = InputClient {
        handle: env.display,
    };
    let ctrl_alt = 0b110;
    a.refused(
        || String::from("Tab down"),
        input.key(u32::from(b'\t'), true, ctrl_alt),
    );
    a.refused(
        || String::from("Tab up"),
        input.key(u32::from(b'\t'), false, ctrl_alt),
    );
    a.refused(
        || String::from("key x"),
        input.key(u32::from(b'x'), true, 0),
    );
    a
}

/// A forged click in the middle of the screen.
pub(super) fn forge_click(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("forge Input pointer and click");
    let input = InputClient {
        handle: env.display,
    };
    a.refused(|| String::from("pointer"), input.pointer(6000, 8000));
    a.refused(|| String::from("button down"), input.button(0, true));
    a.refused(|| String::from("button up"), input.button(0, false));
    a
}

/// Opens a second window while its first has the focus (if a click gave
/// it): the first must keep the focus, the new one must not get it.
pub(super) fn open_while_focused(win: &mut Window, focused: bool) -> Attempt {
    let mut a = Attempt::new("open a window to take the focus");
    if !focused {
        a.skip("nobody gave its window the focus");
        return a;
    }
    let mut probe = match Window::open("display", 16, 16) {
        Ok(w) => w,
        Err(e) => {
            a.got_through(|| format!("could not open the second window: {e}"));
            return a;
        }
    };
    let _ = probe.present_all();
    let deadline = kernel::now_ns() + FOCUS_WATCH_NS;
    while kernel::now_ns() < deadline {
        while let Ok(Some(e)) = win.poll_event() {
            if e == Event::FocusLost {
                a.got_through(|| String::from("its focused window lost the focus"));
            }
        }
        while let Ok(Some(e)) = probe.poll_event() {
            if e == Event::FocusGained {
                a.got_through(|| String::from("the new window got the focus"));
            }
        }
        kernel::sleep_ns(20_000_000);
    }
    drop(probe);
    a.note(String::from("its first window kept the focus"));
    a
}

/// Threads above its priority ceiling (every priority from 31 down
/// until one is accepted: that one is the ceiling, and its thread is the
/// spinner, which waits for the go before it spins), then priorities the
/// ABI does not have. Returns the attempt and the ceiling.
pub(super) fn above_ceiling(spin: fn()) -> (Attempt, Option<u8>) {
    let mut a = Attempt::new("threads above its priority ceiling");
    let mut ceiling = None;
    for p in (1..=31u8).rev() {
        match rt::thread::spawn_with_priority(spin, STACK, p) {
            Ok(_) => {
                ceiling = Some(p);
                break;
            }
            Err(e) => a.refused(|| format!("priority {p}"), Err::<(), _>(e)),
        }
    }
    match ceiling {
        Some(31) => a.got_through(|| String::from("priority 31 accepted (no ceiling?)")),
        Some(p) => a.note(format!("ceiling {p}")),
        None => a.got_through(|| String::from("no priority accepted at all")),
    }
    // Priorities past the ABI's range, with a wild entry so that a kernel
    // that accepted one would start nothing that runs.
    for p in [32u64, 255, 1 << 32] {
        let words = [0, 0, 0, p];
        let tag = Tag::new(iface::TASK, abi::task::THREAD_CREATE).raw();
        // SAFETY: entry 0 and stack 0: a correct kernel refuses (bad
        // priority or bad address); a thread wrongly started would fault
        // at once and end the domain, which the scenario sees.
        let ret = unsafe {
            rt::sys::syscall(
                Syscall::Call as u64,
                u64::from(handles::TASK.0),
                tag,
                words,
                0,
            )
        };
        a.refused(
            || format!("priority {p}"),
            rt::sys::decode_status(ret.status),
        );
    }
    (a, ceiling)
}
