//! The attempts of `hostile` on the kernel (see the program's docs):
//! handles, wild pointers, devices, labels. Each makes many
//! requests that must all fail and returns an [`Attempt`] with their
//! outcome. Every request here is one that a correct kernel and display
//! server refuse; the comments say what a wrong acceptance would do.

use super::Attempt;
use super::ifaces::{WindowClient, window};
use alloc::format;
use alloc::string::String;
use gui::Window;
use rt::abi::{self, Error, Handle, MSG_WORDS, Syscall, Tag, handles, iface};
use rt::kernel;
use rt::rand::XorShift;

pub(super) const PAGE: u64 = abi::PAGE_SIZE;
pub(super) const RW: u64 = abi::mem::PROT_READ | abi::mem::PROT_WRITE;
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

/// What the attempts work with.
pub struct Env {
    /// This program's window.
    pub(super) window: u32,
    /// Its channel to the display server.
    pub(super) display: Handle,
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

    pub(super) fn client(&self) -> WindowClient {
        WindowClient {
            handle: self.display,
        }
    }
}

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

/// Calls on every slot below 1024 (generation 0 and 1) that holds
/// neither a kernel handle nor its own channel.
pub(super) fn unbound_slots(env: &Env, _: &mut Window) -> Attempt {
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

/// `Task.channel` for channels it does not have.
pub(super) fn channel_names(_: &Env, _: &mut Window) -> Attempt {
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

/// Handles with random and crafted bits.
pub(super) fn forged_handles(env: &Env, _: &mut Window) -> Attempt {
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

/// Its own handles with generations that are not current.
pub(super) fn stale_handles(env: &Env, _: &mut Window) -> Attempt {
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

/// Log text at wild pointers.
pub(super) fn wild_log(env: &Env, _: &mut Window) -> Attempt {
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

/// Channel names at wild pointers.
pub(super) fn wild_channel_name(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("channel name at wild pointers");
    let tag = Tag::new(iface::TASK, abi::task::CHANNEL).raw();
    let len = 16;
    for (what, ptr) in env.wild(len) {
        let r = raw_call(u64::from(handles::TASK.0), tag, [ptr, len, 0, 0], 0);
        a.refused(|| format!("channel name {what} ({ptr:#x})"), r);
    }
    a
}

/// `Task.start` with program names at wild pointers, with the names of
/// programs that run (none of them on demand), and of the on-demand
/// program `spare`, which the policy does not let it execute; then
/// `Task.stop` for every domain id up to 16, its own included.
pub(super) fn start_and_stop(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("Task.start/stop (wild names, others)");
    let tag = Tag::new(iface::TASK, abi::task::START).raw();
    for (what, ptr) in env.wild(16) {
        let r = raw_call(u64::from(handles::TASK.0), tag, [ptr, 16, 0, 0], 0);
        a.refused(|| format!("start name {what} ({ptr:#x})"), r);
    }
    for name in [
        "victim",
        "hostile",
        "display-server",
        "input-service",
        "spare",
    ] {
        a.refused(|| format!("start {name}"), kernel::start(name));
    }
    for domain in 0..=16 {
        a.refused(|| format!("stop domain {domain}"), kernel::stop(domain));
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

/// Out-of-line descriptors at wild pointers (a `Window.create`).
pub(super) fn wild_descriptor(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("OOL descriptor at wild pointers");
    let size = abi::ool::DESCRIPTOR_SIZE as u64;
    for (what, ptr) in env.wild(size) {
        let r = raw_call(u64::from(env.display.0), create_ool(), [16, 16, 0, 0], ptr);
        undo_create(env, &r);
        a.refused(|| format!("descriptor {what} ({ptr:#x})"), r);
    }
    a
}

/// Send buffers at wild pointers: shared memory and bytes that are not
/// this program's to give.
pub(super) fn wild_send_buffer(env: &Env, _: &mut Window) -> Attempt {
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

/// Receive buffers at wild pointers: receiving where it has no right to,
/// and a call whose descriptor asks for a reply into a wild buffer.
pub(super) fn wild_receive_buffer(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("receive buffers at wild pointers");
    for (what, ptr) in env.wild(abi::ool::DESCRIPTOR_SIZE as u64) {
        for (target, h) in [("display", env.display), ("inbox", handles::INBOX)] {
            // SAFETY: a Recv on a handle without the receive right, or on a
            // slot this domain does not have; a correct kernel refuses it
            // before it reads or writes anything. A wrong one could write
            // only the wild descriptor, which is not our memory (the
            // straddling one is the edge page, which nothing uses).
            let ret =
                unsafe { rt::sys::syscall(Syscall::Recv as u64, u64::from(h.0), 0, [0; 4], ptr) };
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

/// Mappings and thread entries and stacks at wild addresses, and an
/// executable mapping (W^X).
pub(super) fn wild_map_and_thread(env: &Env, _: &mut Window) -> Attempt {
    let mut a = Attempt::new("map and threads at wild addresses");
    for (what, addr) in [
        ("kernel half", KERNEL_ADDR),
        ("non-canonical", NON_CANONICAL),
        ("last user page", abi::USER_TOP - PAGE),
    ] {
        a.refused(|| format!("map at {what}"), kernel::map(addr, 2 * PAGE, RW));
        // SAFETY: none of these ranges is ours; a correct kernel refuses.
        let r = unsafe { kernel::unmap(addr, PAGE) };
        a.refused(|| format!("unmap {what}"), r);
    }
    let exec = abi::mem::PROT_READ | abi::mem::PROT_EXEC;
    a.refused(
        || String::from("map executable"),
        kernel::map(0, PAGE, exec),
    );
    for (what, entry, stack) in [
        ("entry null", 0, env.stack_top),
        ("entry kernel half", KERNEL_ADDR, env.stack_top),
        ("entry non-canonical", NON_CANONICAL, env.stack_top),
        ("entry in data", env.stack_top - PAGE, env.stack_top),
        (
            "stack kernel half",
            super::spin as *const () as u64,
            KERNEL_ADDR,
        ),
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

/// PCI information, BARs, configuration space and MMIO.
pub(super) fn pci_and_mmio(_: &Env, _: &mut Window) -> Attempt {
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

/// DMA memory and interrupts.
pub(super) fn dma_and_irq(_: &Env, _: &mut Window) -> Attempt {
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

/// Other domains' labels, the domain list, the audit ring and the
/// kernel's statistics.
pub(super) fn labels_and_stats(_: &Env, _: &mut Window) -> Attempt {
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
