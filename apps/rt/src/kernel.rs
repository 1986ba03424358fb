//! Typed stubs for the kernel endpoints: log, task, time, memory, audit, and
//! the PCI, MMIO and DMA endpoints of driver domains.
//!
//! Each stub is one `Call` on the well-known handle in [`abi::handles`] with
//! the interface and method from the `abi` crate. The reply tag of a kernel
//! endpoint carries no information, so the stubs look only at the status and
//! the words. Requests that can break memory safety ([`unmap`],
//! [`thread_create`]) are `unsafe fn`s; everything else is safe.

use crate::sys;
use abi::{Error, Handle, MSG_WORDS, Syscall, Tag};

/// Calls a kernel endpoint and returns the reply words.
///
/// # Safety
///
/// The request must not break memory safety (see [`sys::syscall`]).
unsafe fn kcall(
    h: Handle,
    iface: u16,
    method: u16,
    words: [u64; MSG_WORDS],
) -> Result<[u64; MSG_WORDS], Error> {
    let tag = Tag::new(iface, method);
    // SAFETY: register-only message; the caller vouches for the request.
    let ret = unsafe { sys::syscall(Syscall::Call as u64, h.0.into(), tag.raw(), words, 0) };
    sys::decode_status(ret.status)?;
    Ok(ret.words)
}

/// Calls a kernel endpoint with a request that cannot break memory safety.
fn kcall_safe(
    h: Handle,
    iface: u16,
    method: u16,
    words: [u64; MSG_WORDS],
) -> Result<[u64; MSG_WORDS], Error> {
    // SAFETY: only used for requests that leave our memory alone (log, yield,
    // info, time, map of fresh memory, stats).
    unsafe { kcall(h, iface, method, words) }
}

// ---------------------------------------------------------------- log

/// Log levels, as `log::WRITE` expects them.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Something failed.
    Error = abi::log::LEVEL_ERROR,
    /// Something looks wrong.
    Warn = abi::log::LEVEL_WARN,
    /// Normal progress.
    Info = abi::log::LEVEL_INFO,
    /// Detail for debugging.
    Debug = abi::log::LEVEL_DEBUG,
}

/// Writes one line to the kernel log. Text longer than
/// [`abi::log::MAX_LEN`] bytes is cut on a character boundary. Returns the
/// number of bytes the kernel wrote.
pub fn log(level: Level, text: &str) -> Result<usize, Error> {
    let text = truncate(text, abi::log::MAX_LEN as usize);
    let words = [text.as_ptr() as u64, text.len() as u64, level as u64, 0];
    let reply = kcall_safe(abi::handles::LOG, abi::iface::LOG, abi::log::WRITE, words)?;
    Ok(usize::try_from(reply[0]).unwrap_or(usize::MAX))
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a
/// character boundary.
#[must_use]
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

// ---------------------------------------------------------------- task

/// Ends the calling domain, all its threads, with `code`.
pub fn exit(code: i64) -> ! {
    loop {
        // The kernel never returns from EXIT; if it refuses (a policy that
        // denies EXIT), there is nothing better to do than ask again.
        let _ = kcall_safe(
            abi::handles::TASK,
            abi::iface::TASK,
            abi::task::EXIT,
            [code as u64, 0, 0, 0],
        );
    }
}

/// Gives up the rest of this thread's time slice.
pub fn yield_now() {
    // A refused yield is harmless: the thread simply keeps running.
    let _ = kcall_safe(
        abi::handles::TASK,
        abi::iface::TASK,
        abi::task::YIELD,
        [0; MSG_WORDS],
    );
}

/// Starts a thread in this domain at `entry` with `rsp = stack_top` and
/// `rdi = arg`. Returns the thread id. Prefer [`crate::thread::spawn`].
///
/// # Safety
///
/// `entry` must be code that is sound to start with `rdi = arg` on a stack at
/// `stack_top` (16-byte aligned), and must never return. The memory below
/// `stack_top` must be reserved for that thread for as long as it runs.
pub unsafe fn thread_create(
    entry: u64,
    stack_top: u64,
    arg: u64,
    priority: u8,
) -> Result<u64, Error> {
    let words = [entry, stack_top, arg, priority.into()];
    // SAFETY: the caller vouches for entry and stack.
    let reply = unsafe {
        kcall(
            abi::handles::TASK,
            abi::iface::TASK,
            abi::task::THREAD_CREATE,
            words,
        )
    }?;
    Ok(reply[0])
}

/// Ends the calling thread. The domain ends (code 0) with its last thread.
pub fn thread_exit() -> ! {
    loop {
        let _ = kcall_safe(
            abi::handles::TASK,
            abi::iface::TASK,
            abi::task::THREAD_EXIT,
            [0; MSG_WORDS],
        );
    }
}

/// Where the calling thread runs, from `task::INFO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// Index of the CPU the thread is running on.
    pub cpu: u64,
    /// Id of the calling domain.
    pub domain: u64,
    /// Id of the calling thread.
    pub thread: u64,
    /// Number of CPUs online.
    pub cpus_online: u64,
}

/// Asks the kernel where the calling thread runs.
///
/// # Panics
///
/// If the kernel refuses `task::INFO`, which only a policy denial can cause.
#[must_use]
pub fn info() -> TaskInfo {
    match kcall_safe(
        abi::handles::TASK,
        abi::iface::TASK,
        abi::task::INFO,
        [0; MSG_WORDS],
    ) {
        Ok([cpu, domain, thread, cpus_online]) => TaskInfo {
            cpu,
            domain,
            thread,
            cpus_online,
        },
        Err(e) => panic!("task INFO failed: {e}"),
    }
}

// ---------------------------------------------------------------- time

/// Nanoseconds since boot (monotonic). Never blocks or yields.
///
/// # Panics
///
/// If the kernel refuses `time::NOW`, which only a policy denial can cause.
#[must_use]
pub fn now_ns() -> u64 {
    match kcall_safe(
        abi::handles::TIME,
        abi::iface::TIME,
        abi::time::NOW,
        [0; MSG_WORDS],
    ) {
        Ok(reply) => reply[0],
        Err(e) => panic!("time NOW failed: {e}"),
    }
}

/// Nanoseconds since boot (monotonic), or the kernel's refusal (only a
/// policy denial of `Time.now`). Never blocks or yields.
pub fn try_now_ns() -> Result<u64, Error> {
    kcall_safe(
        abi::handles::TIME,
        abi::iface::TIME,
        abi::time::NOW,
        [0; MSG_WORDS],
    )
    .map(|reply| reply[0])
}

/// Blocks the calling thread for at least `ns` nanoseconds. If the kernel
/// refuses (a policy denial), returns at once.
pub fn sleep_ns(ns: u64) {
    let _ = kcall_safe(
        abi::handles::TIME,
        abi::iface::TIME,
        abi::time::SLEEP,
        [ns, 0, 0, 0],
    );
}

// ---------------------------------------------------------------- memory

/// Maps `len` bytes (a non-zero multiple of the page size) of zeroed memory
/// with `prot` (a combination of `abi::mem::PROT_*`, never W and X together)
/// at the page-aligned `addr`, or wherever the kernel chooses if `addr` is 0.
/// Returns the address.
///
/// This is safe: the kernel refuses ranges that overlap an existing mapping
/// with [`Error::AddressInUse`], so no memory in use can change.
pub fn map(addr: u64, len: u64, prot: u64) -> Result<u64, Error> {
    let reply = kcall_safe(
        abi::handles::MEMORY,
        abi::iface::MEMORY,
        abi::mem::MAP,
        [addr, len, prot, 0],
    )?;
    Ok(reply[0])
}

/// Unmaps the page-aligned range `[addr, addr + len)`, which must consist of
/// mappings made by [`map`], and frees the memory.
///
/// # Safety
///
/// Nothing may use the range afterwards: no references into it, no heap or
/// stack inside it.
pub unsafe fn unmap(addr: u64, len: u64) -> Result<(), Error> {
    // SAFETY: the caller guarantees the range is no longer used.
    unsafe {
        kcall(
            abi::handles::MEMORY,
            abi::iface::MEMORY,
            abi::mem::UNMAP,
            [addr, len, 0, 0],
        )
    }?;
    Ok(())
}

/// Memory accounting of this domain, from `mem::STATS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemStats {
    /// Bytes mapped by this domain.
    pub mapped: u64,
    /// The domain's quota in bytes.
    pub quota: u64,
    /// Free physical memory in bytes.
    pub free_phys: u64,
    /// Bytes of page tables made for this domain (counted against the quota
    /// together with `mapped`).
    pub tables: u64,
}

/// The handle of this domain's channel `name` from the solution
/// description (`task::CHANNEL`).
pub fn channel(name: &str) -> Result<abi::Handle, Error> {
    let [h, ..] = kcall_safe(
        abi::handles::TASK,
        abi::iface::TASK,
        abi::task::CHANNEL,
        [name.as_ptr() as u64, name.len() as u64, 0, 0],
    )?;
    abi::Handle::decode(h)
}

/// Asks the kernel for this domain's memory accounting.
pub fn mem_stats() -> Result<MemStats, Error> {
    let [mapped, quota, free_phys, tables] = kcall_safe(
        abi::handles::MEMORY,
        abi::iface::MEMORY,
        abi::mem::STATS,
        [0; MSG_WORDS],
    )?;
    Ok(MemStats {
        mapped,
        quota,
        free_phys,
        tables,
    })
}

// ---------------------------------------------------------------- audit

/// The oldest audit record after sequence number `after` (see
/// `abi::audit`). `NotFound` when there is none yet; `Denied` unless the
/// policy lets this domain read the audit ring.
pub fn audit_read(after: u64) -> Result<abi::audit::Record, Error> {
    let w = kcall_safe(
        abi::handles::AUDIT,
        abi::iface::AUDIT,
        abi::audit::READ,
        [after, 0, 0, 0],
    )?;
    abi::audit::Record::from_words(w).ok_or(Error::BadSyscall)
}

// ---------------------------------------------------------------- devices

/// One PCI function assigned to this domain (see `abi::pci::INFO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciInfo {
    /// `bus << 8 | device << 3 | function`.
    pub location: u16,
    /// Vendor id.
    pub vendor: u16,
    /// Device id.
    pub device: u16,
    /// Class code.
    pub class: u8,
    /// Subclass.
    pub subclass: u8,
    /// Bit `i` set when BAR `i` is present.
    pub bars: u8,
}

/// The `index`-th PCI device assigned to this domain (`NotFound` past the
/// last; `NoRights` or `Denied` for a domain without devices).
pub fn pci_info(index: u64) -> Result<PciInfo, Error> {
    let w = kcall_safe(
        abi::handles::PCI,
        abi::iface::PCI,
        abi::pci::INFO,
        [index, 0, 0, 0],
    )?;
    Ok(PciInfo {
        location: w[0] as u16,
        vendor: w[1] as u16,
        device: (w[1] >> 16) as u16,
        class: (w[2] >> 16) as u8,
        subclass: (w[2] >> 8) as u8,
        bars: w[3] as u8,
    })
}

/// BAR `bar` of assigned device `index`: (base, size, `abi::pci::BAR_*`
/// flags).
pub fn pci_bar(index: u64, bar: u64) -> Result<(u64, u64, u64), Error> {
    let w = kcall_safe(
        abi::handles::PCI,
        abi::iface::PCI,
        abi::pci::BAR,
        [index, bar, 0, 0],
    )?;
    Ok((w[0], w[1], w[2]))
}

/// Reads configuration dword `offset` of assigned device `index`.
pub fn pci_config_read(index: u64, offset: u8) -> Result<u32, Error> {
    let w = kcall_safe(
        abi::handles::PCI,
        abi::iface::PCI,
        abi::pci::CONFIG_READ,
        [index, offset.into(), 0, 0],
    )?;
    Ok(w[0] as u32)
}

/// Writes configuration dword `offset` of assigned device `index` through
/// the kernel's filter (`abi::pci::CONFIG_WRITE`).
pub fn pci_config_write(index: u64, offset: u8, value: u32) -> Result<(), Error> {
    kcall_safe(
        abi::handles::PCI,
        abi::iface::PCI,
        abi::pci::CONFIG_WRITE,
        [index, offset.into(), value.into(), 0],
    )
    .map(|_| ())
}

/// Maps `len` bytes at `offset` of memory BAR `bar` of assigned device
/// `index`, uncached, at an address the kernel picks (fresh: nothing of
/// this program is there), and returns it.
pub fn mmio_map(index: u64, bar: u64, offset: u64, len: u64) -> Result<u64, Error> {
    let w = kcall_safe(
        abi::handles::MMIO,
        abi::iface::MMIO,
        abi::mmio::MAP,
        [index, bar, offset, len],
    )?;
    Ok(w[0])
}

/// `pages` physically contiguous zeroed pages for device DMA, mapped at a
/// fresh address: returns (address, physical address).
pub fn dma_alloc(pages: u64) -> Result<(u64, u64), Error> {
    let w = kcall_safe(
        abi::handles::DMA,
        abi::iface::DMA,
        abi::dma::ALLOC,
        [pages, 0, 0, 0],
    )?;
    Ok((w[0], w[1]))
}

/// Frees a DMA block [`dma_alloc`] returned.
///
/// # Safety
///
/// Nothing may use the block afterwards (its pages are unmapped), and no
/// device may still be programmed to access it.
pub unsafe fn dma_free(addr: u64) -> Result<(), Error> {
    // SAFETY: the caller gives up the block.
    unsafe {
        kcall(
            abi::handles::DMA,
            abi::iface::DMA,
            abi::dma::FREE,
            [addr, 0, 0, 0],
        )
    }
    .map(|_| ())
}

/// Routes MSI-X table entry `entry` of assigned device `index` to
/// notification bit `bit` (0..64) of this domain (`abi::irq::BIND`).
pub fn irq_bind(index: u64, entry: u16, bit: u32) -> Result<(), Error> {
    kcall_safe(
        abi::handles::IRQ,
        abi::iface::IRQ,
        abi::irq::BIND,
        [index, entry.into(), bit.into(), 0],
    )
    .map(|_| ())
}

/// Acknowledges the delivered interrupts among `bits` and waits up to
/// `timeout_ns` (`u64::MAX`: without limit) for one of them; returns the
/// signalled bits, 0 on timeout (`abi::irq::WAIT`).
pub fn irq_wait(bits: u64, timeout_ns: u64) -> Result<u64, Error> {
    let w = kcall_safe(
        abi::handles::IRQ,
        abi::iface::IRQ,
        abi::irq::WAIT,
        [bits, timeout_ns, 0, 0],
    )?;
    Ok(w[0])
}

/// The label of the live domain with id `domain` (a badge), as the
/// solution description names it (`abi::task::LABEL`).
pub fn label(domain: u64) -> Result<alloc::string::String, Error> {
    let w = kcall_safe(
        abi::handles::TASK,
        abi::iface::TASK,
        abi::task::LABEL,
        [domain, 0, 0, 0],
    )?;
    let mut bytes = [0u8; 24];
    for (i, word) in w[1..].iter().enumerate() {
        bytes[i * 8..i * 8 + 8].copy_from_slice(&word.to_le_bytes());
    }
    let len = (w[0] as usize).min(24);
    core::str::from_utf8(&bytes[..len])
        .map(alloc::string::String::from)
        .map_err(|_| Error::InvalidArgument)
}

// ---------------------------------------------------------- domains

/// A new instance of the solution's on-demand program `name`
/// (`task::START`): the new domain's id and its instance number. `Denied`
/// unless the policy lets this domain execute the program.
pub fn start(name: &str) -> Result<(u64, u8), Error> {
    let [id, instance, ..] = kcall_safe(
        abi::handles::TASK,
        abi::iface::TASK,
        abi::task::START,
        [name.as_ptr() as u64, name.len() as u64, 0, 0],
    )?;
    Ok((id, instance as u8))
}

/// Ends the live domain `domain` (`task::STOP`), if the policy lets this
/// domain execute its program.
pub fn stop(domain: u64) -> Result<(), Error> {
    kcall_safe(
        abi::handles::TASK,
        abi::iface::TASK,
        abi::task::STOP,
        [domain, 0, 0, 0],
    )?;
    Ok(())
}

/// One live domain, as `task::LIST` describes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DomainInfo {
    /// Its id (the badge its requests carry).
    pub id: u64,
    /// Bytes charged to its memory quota.
    pub memory: u64,
    /// Live threads.
    pub threads: u64,
    /// Its program's index in the solution.
    pub program: u16,
    /// Instance number of an on-demand program; 0 for a boot program.
    pub instance: u16,
    /// Priority of its main thread.
    pub priority: u8,
}

/// The kernel's memory figures (`stats::MEMORY`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelMemory {
    /// Free physical memory, bytes.
    pub free: u64,
    /// All the physical memory the kernel manages, bytes.
    pub total: u64,
    /// Kernel stacks kept for reuse, bytes.
    pub stack_pool: u64,
    /// Kernel heap in use, bytes.
    pub heap_used: u64,
}

/// Reads the kernel's memory figures; `Denied` unless the policy allows
/// `Stats.memory`.
pub fn kernel_memory() -> Result<KernelMemory, Error> {
    let [free, total, stack_pool, heap_used] = kcall_safe(
        abi::handles::STATS,
        abi::iface::STATS,
        abi::stats::MEMORY,
        [0; MSG_WORDS],
    )?;
    Ok(KernelMemory {
        free,
        total,
        stack_pool,
        heap_used,
    })
}

/// The live domain with the smallest id above `after` (`task::LIST`);
/// `NotFound` past the last.
pub fn next_domain(after: u64) -> Result<DomainInfo, Error> {
    let [id, memory, threads, info] = kcall_safe(
        abi::handles::TASK,
        abi::iface::TASK,
        abi::task::LIST,
        [after, 0, 0, 0],
    )?;
    Ok(DomainInfo {
        id,
        memory,
        threads,
        program: info as u16,
        instance: (info >> 16) as u16,
        priority: (info >> 32) as u8,
    })
}

/// Every live domain, in id order, through `f`; stops at the first error
/// other than the end of the list and returns it.
pub fn for_each_domain(mut f: impl FnMut(&DomainInfo)) -> Result<(), Error> {
    let mut after = 0;
    loop {
        match next_domain(after) {
            Ok(d) => {
                f(&d);
                after = d.id;
            }
            Err(Error::NotFound) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

// --------------------------------------------------------------- stats

/// One CPU's IPC counters since boot (`abi::stats::IPC`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpcStats {
    /// Messages between domains sent from the CPU.
    pub messages: u64,
    /// Of those, carried by the IPC fast path.
    pub fast: u64,
    /// Verdicts the verdict cache gave.
    pub verdict_hits: u64,
    /// Full policy evaluations.
    pub evaluations: u64,
}

/// One CPU's scheduling counters since boot (`abi::stats::CPU`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// Nanoseconds idle.
    pub idle_ns: u64,
    /// Thread switches.
    pub switches: u64,
    /// Timer interrupts.
    pub timer_ticks: u64,
    /// CPUs online.
    pub cpus: u64,
}

/// The IPC counters of CPU `cpu`; `Denied` unless the policy lets the
/// caller read them, `InvalidArgument` for a CPU that is not online.
pub fn ipc_stats(cpu: u64) -> Result<IpcStats, Error> {
    let [messages, fast, verdict_hits, evaluations] = kcall_safe(
        abi::handles::STATS,
        abi::iface::STATS,
        abi::stats::IPC,
        [cpu, 0, 0, 0],
    )?;
    Ok(IpcStats {
        messages,
        fast,
        verdict_hits,
        evaluations,
    })
}

/// The scheduling counters of CPU `cpu`; errors as [`ipc_stats`].
pub fn cpu_stats(cpu: u64) -> Result<CpuStats, Error> {
    let [idle_ns, switches, timer_ticks, cpus] = kcall_safe(
        abi::handles::STATS,
        abi::iface::STATS,
        abi::stats::CPU,
        [cpu, 0, 0, 0],
    )?;
    Ok(CpuStats {
        idle_ns,
        switches,
        timer_ticks,
        cpus,
    })
}

/// Nanoseconds since 1970-01-01 UTC from the machine's clock
/// (`time::WALL`); `None` if the machine has no readable clock.
pub fn wall_ns() -> Result<Option<u64>, Error> {
    let [ns, ..] = kcall_safe(
        abi::handles::TIME,
        abi::iface::TIME,
        abi::time::WALL,
        [0; MSG_WORDS],
    )?;
    Ok((ns != 0).then_some(ns))
}
