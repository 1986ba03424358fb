//! The attempts of `hostile` (see the program's docs): each makes many
//! requests that must all fail and returns an [`Attempt`] with their
//! outcome. Every request here is one that a correct kernel and display
//! server refuse; the comments say what a wrong acceptance would do.

use super::ifaces::{InputClient, WindowClient, window};
use super::Attempt;
use alloc::format;
use alloc::string::String;
use gui::{Event, Window};
use rt::abi::{self, Error, Handle, MSG_WORDS, Syscall, Tag, handles, iface};
use rt::kernel;
use rt::rand::XorShift;

const PAGE: u64 = abi::PAGE_SIZE;
const RW: u64 = abi::mem::PROT_READ | abi::mem::PROT_WRITE;
/// A canonical kernel-half address.
const KERNEL_ADDR: u64 = 0xffff_8000_0000_0000;
/// The first address past the lower canonical half.
const NON_CANONICAL: u64 = 0x0000_8000_0000_0000;
/// A user address nothing of this program uses (above the image, below
/// the heap and the kernel's mapping area).
const UNMAPPED: u64 = 0x1000_0000;
/// A page boundary with a mapped page below it and nothing above: far
/// from the program image, the heap and the kernel's area for mappings
/// at addresses it picks.
const EDGE: u64 = 0x3000_0000_0000;
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

/// What the attempts work with.
pub struct Env {
    /// This program's window.
    window: u32,
    /// Its channel to the display server.
    display: Handle,
    /// [`EDGE`]: buffers that start just below it straddle into the
    /// unmapped page above.
    edge: u64,
    /// The top of a small mapped stack, never used by any thread.
    stack_top: u64,
}

impl Env {
    pub fn new(window: u32) -> Result<Env, Error> {
        let display = kernel::channel("display")?;
        // The page below EDGE, at a fixed address: the kernel never picks
        // addresses there for MAP with address 0, so the page above stays
        // unmapped whatever this program maps later.
        let base = kernel::map(EDGE - PAGE, PAGE, RW)?;
        // Text for buffers that straddle: readable up to the edge.
        let tail = (base + PAGE - 64) as *mut u8;
        for i in 0..64 {
            // SAFETY: the last 64 bytes of the page just mapped, used by
            // nothing else.
            unsafe { tail.add(i).write_volatile(b'x') };
        }
        let stack = kernel::map(0, 4 * PAGE, RW)?;
        Ok(Env {
            window,
            display,
            edge: EDGE,
            stack_top: stack + 4 * PAGE,
        })
    }

    /// Wild pointers for a buffer of `len` bytes.
    fn wild(&self, len: u64) -> [(&'static str, u64); 6] {
        [
            ("null", 0),
            ("kernel half", KERNEL_ADDR),
            ("non-canonical", NON_CANONICAL),
            ("top of user space", abi::USER_TOP - 8),
            ("unmapped", UNMAPPED),
            ("straddling", self.edge - len.min(PAGE) / 2),
        ]
    }

    fn client(&self) -> WindowClient {
        WindowClient {
            handle: self.display,
        }
    }
}

/// One attempt: builds its [`Attempt`] (the window is this program's, for
/// the attempts that need it).
pub type Attack = fn(&Env, &mut Window) -> Attempt;

/// Every attempt but the two that need more than [`Env`], in order.
pub const ALL: [Attack; 21] = [
    unbound_slots,
    channel_names,
    forged_handles,
    stale_handles,
    wild_log,
    wild_channel_name,
    wild_start_name,
    wild_descriptor,
    wild_send_buffer,
    wild_receive_buffer,
    wild_map_and_thread,
    pci_and_mmio,
    dma_and_irq,
    labels_and_stats,
    foreign_windows,
    present_outside,
    windows_too_large,
    exhaust_memory,
    flood,
    forge_chord,
    forge_click,
];

/// A `Call` with raw registers and an optional out-of-line descriptor.
/// Refuses (as `Denied`, without a syscall) the two kernel requests that
/// could break this program's memory safety: UNMAP and THREAD_CREATE.
fn raw_call(handle: u64, tag: u64, words: [u64; MSG_WORDS], ool: u64) -> Result<[u64; 4], Error> {
    let t = Tag::decode(tag).map(|t| (t.interface(), t.method()));
    if matches!(
        t,
        Ok((iface::MEMORY, abi::mem::UNMAP) | (iface::TASK, abi::task::THREAD_CREATE))
    ) {
        return Err(Error::Denied);
    }
    // SAFETY: neither UNMAP nor THREAD_CREATE (refused above). The kernel
    // reads the buffers the words and `ool` name, and writes only the
    // receive fields of a descriptor (our own, or a wild address that is
    // not our memory), so no memory Rust code uses can change.
    let ret = unsafe { rt::sys::syscall(Syscall::Call as u64, handle, tag, words, ool) };
    rt::sys::decode_status(ret.status).map(|()| ret.words)
}

/// The tag of `Window.event`, for calls whose handle is what is tried.
fn event_tag() -> u64 {
    Tag::new(window::INTERFACE, window::method::EVENT).raw()
}

/// Handles this domain really has.
fn is_mine(env: &Env, raw: u64) -> bool {
    raw == u64::from(env.display.0) || handles::KERNEL.iter().any(|h| u64::from(h.0) == raw)
}

/// 1. Calls on every slot below 1024 (generation 0 and 1) that holds
/// neither a kernel handle nor its own channel.
fn unbound_slots(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("call slots it has no handle in");
    for slot in 0..1024u16 {
        for generation in [0, 1] {
            let raw = u64::from(Handle::new(slot, generation).0);
            if is_mine(env, raw) || (generation == 1 && slot == env.display.index()) {
                continue;
            }
            let r = raw_call(raw, event_tag(), [u64::from(env.window), 0, 0, 0], 0);
            a.refused(|| format!("handle {raw:#x}"), r);
        }
    }
    a
}

/// 1. `Task.channel` for channels it does not have.
fn channel_names(_: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("Task.channel for channels it lacks");
    let long = "display-display-display-display-x"; // 33 bytes
    for name in [
        "input",
        "display-server",
        "victim",
        "kernel",
        "audit",
        "Display",
        "display ",
        "displa",
        "display\0",
        "",
        long,
    ] {
        a.refused(|| format!("channel {name:?}"), kernel::channel(name));
    }
    a
}

/// 2. Handles with random and crafted bits.
fn forged_handles(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("forged handles");
    let mut rng = XorShift::new(0x9e37_79b9_7f4a_7c15);
    let display = u64::from(env.display.0);
    let crafted = [
        display | 1 << 32,
        display | 1 << 63,
        u64::from(handles::LOG.0) | 1 << 32,
        u64::MAX,
        u64::from(u32::MAX),
        display | 0x8000_0000,
        u64::from(Handle::new(env.display.index(), 0xffff).0),
        u64::from(Handle::new(0xffff, 0).0),
    ];
    let words = [u64::from(env.window), 0, 0, 0];
    for raw in crafted {
        a.refused(
            || format!("handle {raw:#x}"),
            raw_call(raw, event_tag(), words, 0),
        );
    }
    for i in 0..2000 {
        let raw = match i % 3 {
            0 => rng.next_u64(),
            1 => rng.next_u64() & 0xffff_ffff,
            _ => rng.next_u64() & 0xffff,
        };
        if is_mine(env, raw) {
            continue;
        }
        a.refused(
            || format!("handle {raw:#x}"),
            raw_call(raw, event_tag(), words, 0),
        );
    }
    a
}

/// 2. Its own handles with generations that are not current.
fn stale_handles(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("stale handles (old generations)");
    let words = [u64::from(env.window), 0, 0, 0];
    let current = env.display.generation();
    for step in 1..=64u16 {
        for generation in [current.wrapping_add(step), current.wrapping_sub(step)] {
            let h = Handle::new(env.display.index(), generation);
            a.refused(
                || format!("display handle, generation {generation}"),
                raw_call(u64::from(h.0), event_tag(), words, 0),
            );
        }
    }
    let log = Tag::new(iface::LOG, abi::log::WRITE).raw();
    for k in handles::KERNEL {
        for generation in [1, 2, 0xffff] {
            let h = Handle::new(k.index(), generation);
            a.refused(
                || format!("kernel handle {:#x}", h.0),
                raw_call(u64::from(h.0), log, [0, 0, abi::log::LEVEL_INFO, 0], 0),
            );
        }
    }
    a
}

/// 3. Log text at wild pointers.
fn wild_log(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("log text at wild pointers");
    let tag = Tag::new(iface::LOG, abi::log::WRITE).raw();
    let len = 64;
    for (what, ptr) in env.wild(len) {
        let r = raw_call(
            u64::from(handles::LOG.0),
            tag,
            [ptr, len, abi::log::LEVEL_INFO, 0],
            0,
        );
        a.refused(|| format!("log text {what} ({ptr:#x})"), r);
    }
    let r = raw_call(
        u64::from(handles::LOG.0),
        tag,
        [u64::MAX - 2, 16, abi::log::LEVEL_INFO, 0],
        0,
    );
    a.refused(|| String::from("log text wrapping around"), r);
    a
}

/// 3. Channel names at wild pointers.
fn wild_channel_name(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("channel name at wild pointers");
    let tag = Tag::new(iface::TASK, abi::task::CHANNEL).raw();
    let len = 16;
    for (what, ptr) in env.wild(len) {
        let r = raw_call(u64::from(handles::TASK.0), tag, [ptr, len, 0, 0], 0);
        a.refused(|| format!("channel name {what} ({ptr:#x})"), r);
    }
    a
}

/// 3. `Task.start` with program names at wild pointers, and with names of
/// programs that exist.
fn wild_start_name(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("Task.start (wild names, victim)");
    let tag = Tag::new(iface::TASK, abi::task::START).raw();
    for (what, ptr) in env.wild(16) {
        let r = raw_call(u64::from(handles::TASK.0), tag, [ptr, 16, 0, 0], 0);
        a.refused(|| format!("start name {what} ({ptr:#x})"), r);
    }
    for name in ["victim", "hostile", "display-server", "input-service"] {
        a.refused(|| format!("start {name}"), kernel::start(name));
    }
    a
}

/// The `Window.create` tag with an out-of-line part.
fn create_ool() -> u64 {
    Tag::with_flags(window::INTERFACE, window::method::CREATE, Tag::OOL).raw()
}

/// Closes a window that should never have been created.
fn undo_create(env: &Env, r: &Result<[u64; 4], Error>) {
    if let Ok([id, ..]) = r {
        let _ = env.client().close(*id as u32);
    }
}

/// 3. Out-of-line descriptors at wild pointers (a `Window.create`).
fn wild_descriptor(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("OOL descriptor at wild pointers");
    let size = abi::ool::DESCRIPTOR_SIZE as u64;
    for (what, ptr) in env.wild(size) {
        let r = raw_call(u64::from(env.display.0), create_ool(), [16, 16, 0, 0], ptr);
        undo_create(env, &r);
        a.refused(|| format!("descriptor {what} ({ptr:#x})"), r);
    }
    a
}

/// 3. Send buffers at wild pointers: shared memory and bytes that are not
/// this program's to give.
fn wild_send_buffer(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("send buffers at wild pointers");
    let kinds = [
        ("shared memory", abi::ool::MEMORY_READ, PAGE),
        ("writable shared memory", abi::ool::MEMORY_WRITE, PAGE),
        ("bytes", abi::ool::BYTES, 64),
    ];
    for (kind_name, kind, len) in kinds {
        for (what, ptr) in env.wild(len) {
            // Shared memory must be page-aligned: the straddling range is
            // the page below the edge and the hole above it.
            let (ptr, len) = if what == "straddling" && kind != abi::ool::BYTES {
                (env.edge - PAGE, 2 * PAGE)
            } else {
                (ptr, len)
            };
            let mut d = abi::ool::Descriptor {
                send_kind: kind,
                send_a: ptr,
                send_b: len,
                ..Default::default()
            };
            let r = raw_call(
                u64::from(env.display.0),
                create_ool(),
                [16, 16, 0, 0],
                &mut d as *mut abi::ool::Descriptor as u64,
            );
            undo_create(env, &r);
            a.refused(|| format!("{kind_name} {what} ({ptr:#x})"), r);
        }
    }
    a
}

/// 3. Receive buffers at wild pointers: receiving where it has no right to,
/// and a call whose descriptor asks for a reply into a wild buffer.
fn wild_receive_buffer(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("receive buffers at wild pointers");
    for (what, ptr) in env.wild(abi::ool::DESCRIPTOR_SIZE as u64) {
        for (target, h) in [("display", env.display), ("inbox", handles::INBOX)] {
            // SAFETY: a Recv on a handle without the receive right, or on a
            // slot this domain does not have; a correct kernel refuses it
            // before it reads or writes anything. A wrong one could write
            // only the wild descriptor, which is not our memory (the
            // straddling one is the edge page, which nothing uses).
            let ret = unsafe {
                rt::sys::syscall(Syscall::Recv as u64, u64::from(h.0), 0, [0; 4], ptr)
            };
            a.refused(
                || format!("recv on {target} into {what}"),
                rt::sys::decode_status(ret.status),
            );
        }
        let mut d = abi::ool::Descriptor {
            send_kind: abi::ool::NONE,
            recv_addr: ptr,
            recv_cap: PAGE,
            ..Default::default()
        };
        let tag = Tag::with_flags(window::INTERFACE, window::method::EVENT, Tag::OOL).raw();
        let r = raw_call(
            u64::from(env.display.0),
            tag,
            [u64::from(env.window), 0, 0, 0],
            &mut d as *mut abi::ool::Descriptor as u64,
        );
        a.refused(|| format!("event reply into {what}"), r);
    }
    a
}

/// 3. Mappings and thread entries and stacks at wild addresses, and an
/// executable mapping (W^X).
fn wild_map_and_thread(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("map and threads at wild addresses");
    for (what, addr) in [
        ("kernel half", KERNEL_ADDR),
        ("non-canonical", NON_CANONICAL),
        ("last user page", abi::USER_TOP - PAGE),
    ] {
        a.refused(
            || format!("map at {what}"),
            kernel::map(addr, 2 * PAGE, RW),
        );
        // SAFETY: none of these ranges is ours; a correct kernel refuses.
        let r = unsafe { kernel::unmap(addr, PAGE) };
        a.refused(|| format!("unmap {what}"), r);
    }
    let exec = abi::mem::PROT_READ | abi::mem::PROT_EXEC;
    a.refused(|| String::from("map executable"), kernel::map(0, PAGE, exec));
    for (what, entry, stack) in [
        ("entry null", 0, env.stack_top),
        ("entry kernel half", KERNEL_ADDR, env.stack_top),
        ("entry non-canonical", NON_CANONICAL, env.stack_top),
        ("entry in data", env.stack_top - PAGE, env.stack_top),
        ("stack kernel half", super::spin as *const () as u64, KERNEL_ADDR),
        ("stack unmapped", super::spin as *const () as u64, UNMAPPED),
    ] {
        // SAFETY: every entry is wild or every stack is wild, so a correct
        // kernel refuses; a thread the kernel wrongly started would fault
        // at once (wild entry or stack) and end the domain, which the
        // scenario sees. The scratch stack is used by no thread.
        let r = unsafe { kernel::thread_create(entry, stack, 0, 0) };
        a.refused(|| format!("thread {what}"), r);
    }
    a
}

/// 4. PCI information, BARs, configuration space and MMIO.
fn pci_and_mmio(_: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("PCI info/BAR/config, MMIO map");
    for index in 0..4 {
        a.refused(|| format!("PCI info {index}"), kernel::pci_info(index));
        for bar in 0..6 {
            a.refused(
                || format!("PCI BAR {index}.{bar}"),
                kernel::pci_bar(index, bar),
            );
            a.refused(
                || format!("MMIO map {index}.{bar}"),
                kernel::mmio_map(index, bar, 0, PAGE),
            );
        }
        a.refused(
            || format!("PCI config read {index}"),
            kernel::pci_config_read(index, 0),
        );
        a.refused(
            || format!("PCI config write {index}"),
            kernel::pci_config_write(index, 0x04, 0x6),
        );
    }
    a
}

/// 4. DMA memory and interrupts.
fn dma_and_irq(_: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("DMA alloc, IRQ bind/wait");
    for pages in [1, 16, 1 << 20] {
        let r = kernel::dma_alloc(pages);
        if let Ok((addr, _)) = r {
            // SAFETY: the block was just allocated (wrongly) and is unused.
            let _ = unsafe { kernel::dma_free(addr) };
        }
        a.refused(|| format!("DMA alloc {pages} pages"), r);
    }
    for index in 0..4 {
        a.refused(
            || format!("IRQ bind {index}"),
            kernel::irq_bind(index, 0, 0),
        );
    }
    a.refused(|| String::from("IRQ wait"), kernel::irq_wait(1, 1_000_000));
    a
}

/// 5. Other domains' labels, the domain list, the audit ring and the
/// kernel's statistics.
fn labels_and_stats(_: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("labels, domain list, audit, stats");
    for domain in 0..16 {
        a.refused(|| format!("label of {domain}"), kernel::label(domain));
    }
    a.refused(|| String::from("domain list"), kernel::next_domain(0));
    a.refused(|| String::from("audit read"), kernel::audit_read(0));
    a.refused(|| String::from("IPC stats"), kernel::ipc_stats(0));
    a.refused(|| String::from("CPU stats"), kernel::cpu_stats(0));
    a.refused(|| String::from("kernel memory"), kernel::kernel_memory());
    a
}

/// 5. Window ids that are not its own: present, events, close.
fn foreign_windows(env: &Env, _: &mut Window) -> Attempt {
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

/// 5. Presents of its own window that reach its title bar, its border,
/// the panel and the whole screen. The server clips them to the window;
/// only the screen can show that, so the attempt is `contained` at best.
fn present_outside(env: &Env, _: &mut Window) -> Attempt {
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

/// 5. Windows larger (or smaller) than allowed, or larger than their
/// memory.
fn windows_too_large(env: &Env, _: &mut Window) -> Attempt {
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

/// 6. Maps memory until the kernel refuses; while it holds everything,
/// its window and the display server must still work; then frees it.
fn exhaust_memory(env: &Env, win: &mut Window) -> Attempt {
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
    let mib = held as u64 * CHUNK >> 20;
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

/// 7. Many thousands of requests to the display server in a tight loop,
/// valid and invalid; a few the kernel denies (malformed words).
fn flood(env: &Env, _: &mut Window) -> Attempt {
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
    let tag = abi::Tag::new(window::INTERFACE, window::method::PRESENT);
    for _ in 0..FLOOD_DENIED {
        let words = [u64::from(env.window), u64::MAX, u64::MAX, 0];
        let r = rt::sys::call(env.display, abi::Message::new(tag, words));
        a.refused(|| String::from("present with 64-bit words"), r);
    }
    let ms = (kernel::now_ns() - start) / 1_000_000;
    match c.event(env.window) {
        Ok(_) => a.note(format!(
            "{} calls ({ok} ok, {refused} refused) in {ms} ms; server alive",
            FLOOD + FLOOD_DENIED
        )),
        Err(e) => a.got_through(|| format!("the server stopped serving: {e}")),
    }
    if ok == 0 {
        a.got_through(|| String::from("no valid request was served"));
    }
    a
}

/// 8. A forged Ctrl+Alt+Tab (press and release), as only the input
/// service may send it.
fn forge_chord(env: &Env, _: &mut Window) -> Attempt {
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
    a.refused(|| String::from("key x"), input.key(u32::from(b'x'), true, 0));
    a
}

/// 8. A forged click in the middle of the screen.
fn forge_click(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("forge Input pointer and click");
    let input = InputClient {
        handle: env.display,
    };
    a.refused(|| String::from("pointer"), input.pointer(6000, 8000));
    a.refused(|| String::from("button down"), input.button(0, true));
    a.refused(|| String::from("button up"), input.button(0, false));
    a
}

/// 8. Opens a second window while its first has the focus (if a click gave
/// it): the first must keep the focus, the new one must not get it.
pub fn open_while_focused(win: &mut Window, focused: bool) -> Attempt {
    let mut a = Attempt::new("open a window to take the focus");
    if !focused {
        a.got_through(|| String::from("not tried: nobody gave its window the focus"));
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

/// 9. Threads above its priority ceiling (every priority from 31 down
/// until one is accepted: that one is the ceiling, and its thread is the
/// spinner, which waits for the go before it spins), then priorities the
/// ABI does not have. Returns the attempt and the ceiling.
pub fn above_ceiling(spin: fn()) -> (Attempt, Option<u8>) {
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
