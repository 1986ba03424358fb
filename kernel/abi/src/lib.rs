//! The Tessera system-call ABI, shared by the kernel and every user program.
//!
//! This crate is the single source of truth for syscall numbers, the register
//! layout of a message, error codes, the well-known kernel endpoints and their
//! methods. It has no dependencies and no `unsafe`.
//!
//! # Three system calls
//!
//! Tessera has exactly three system calls: [`Syscall::Call`], [`Syscall::Recv`]
//! and [`Syscall::Reply`]. Everything else a program can ask of the kernel
//! (log, exit, time, memory, threads) is a `Call` on a *kernel endpoint*, reached
//! through a handle like any other endpoint, so one security check covers it all.
//!
//! # Register layout (the `syscall` instruction)
//!
//! | register | on entry                                   | on return                    |
//! |----------|--------------------------------------------|------------------------------|
//! | `rax`    | syscall number ([`Syscall`])               | status: 0 or an [`Error`]    |
//! | `rdi`    | handle (endpoint for Call/Recv; endpoint to receive on after Reply) | badge of the sender (Recv) |
//! | `rsi`    | message tag ([`Tag`])                      | reply / request tag          |
//! | `rdx`    | word 0                                     | word 0                       |
//! | `r10`    | word 1                                     | word 1                       |
//! | `r8`     | word 2                                     | word 2                       |
//! | `r9`     | word 3                                     | word 3                       |
//! | `r12`    | user address of an out-of-line descriptor, read only if the tag has [`Tag::OOL`] | preserved |
//!
//! `rcx` and `r11` are clobbered by the `syscall`/`sysret` pair; every other
//! register is preserved. A message is therefore a tag plus [`MSG_WORDS`] data
//! words, all in registers. Only register-only messages (no [`Tag::OOL`]) are
//! candidates for the IPC fast path.
//!
//! # Inter-domain IPC
//!
//! The solution description lists static channels. A domain that serves
//! any channel finds its endpoint at [`handles::INBOX`]; a client finds
//! each channel's handle with [`task::CHANNEL`].
//!
//! - `Call(handle, tag, words)` sends a request and blocks until the reply.
//!   The tag's interface must be at least [`iface::FIRST_USER`].
//! - `Recv(INBOX)` blocks until a request arrives, then returns the
//!   client's badge (its domain id) in `rdi` with the tag and words. Callers
//!   waiting on an endpoint are served highest priority first, first come
//!   first served within a priority.
//! - `Reply(tag, words)` answers the request the thread last received; with
//!   [`Tag::REPLY_RECV`], it then receives the next one on the endpoint in
//!   `rdi`, in the same syscall.
//! - If the server dies, its waiting and in-service callers get
//!   [`Error::PeerGone`]; a reply to a caller that has gone also gets
//!   `PeerGone`. A thread that receives again without replying answers its
//!   previous caller with `PeerGone`.
//!
//! # Program entry
//!
//! A program's main thread starts at its ELF entry point with
//! `rsp` = [`USER_STACK_TOP`] (16-byte aligned), `rdi` = the program argument
//! from the solution description, `rsi` = the domain id, every other general
//! register zero, and interrupts enabled. A thread made by
//! [`task::THREAD_CREATE`] starts the same way with its own `rsp` and `rdi`.
//!
//! # Errors
//!
//! Every bad argument, whatever its source, comes back as an [`Error`] code in
//! `rax`. The kernel never panics on user input.

#![no_std]
#![forbid(unsafe_code)]

/// Number of data words in the register part of a message.
pub const MSG_WORDS: usize = 4;

/// Size of a page in bytes. Every mapping is page-granular.
pub const PAGE_SIZE: u64 = 4096;

/// Lowest address a user program may map (the first 4 MiB stay unmapped so that
/// small null-pointer offsets always fault).
pub const USER_BASE: u64 = 0x0040_0000;

/// One past the highest user address (the top of the lower canonical half,
/// minus one guard page).
pub const USER_TOP: u64 = 0x0000_7fff_ffff_f000;

/// Top of the main thread's stack. The kernel maps [`USER_STACK_SIZE`] bytes
/// below it, and leaves the page below the stack unmapped as a guard.
pub const USER_STACK_TOP: u64 = 0x0000_7fff_0000_0000;

/// Size of the main thread's stack.
pub const USER_STACK_SIZE: u64 = 256 * 1024;

/// Where `mem::MAP` with address 0 starts looking for free space.
pub const MMAP_BASE: u64 = 0x0000_4000_0000_0000;

/// The three system calls. The number goes in `rax`.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syscall {
    /// Send a request on an endpoint handle and wait for the reply.
    Call = 0,
    /// Wait for a request on an endpoint the caller serves.
    Recv = 1,
    /// Answer the request last received by this thread; with
    /// [`Tag::REPLY_RECV`], then wait for the next request in the same syscall.
    Reply = 2,
}

impl TryFrom<u64> for Syscall {
    type Error = Error;
    fn try_from(v: u64) -> Result<Self, Error> {
        match v {
            0 => Ok(Syscall::Call),
            1 => Ok(Syscall::Recv),
            2 => Ok(Syscall::Reply),
            _ => Err(Error::BadSyscall),
        }
    }
}

/// Error codes returned in `rax`. Zero means success and is not an `Error`.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The syscall number in `rax` is not one of the three.
    BadSyscall = 1,
    /// The handle does not name a live object in the caller's handle table
    /// (never issued, forged, or stale).
    BadHandle = 2,
    /// The handle is valid but lacks the right the operation needs.
    NoRights = 3,
    /// The tag names an interface the endpoint does not implement.
    BadInterface = 4,
    /// The tag names a method the interface does not have.
    BadMethod = 5,
    /// The tag has reserved bits set, or flags that make no sense here.
    BadTag = 6,
    /// A pointer argument is outside user space or not mapped with the
    /// access the operation needs.
    BadAddress = 7,
    /// An address or length is not aligned as the method requires.
    Misaligned = 8,
    /// An argument is out of range or inconsistent.
    InvalidArgument = 9,
    /// The kernel is out of memory.
    NoMemory = 10,
    /// A per-domain limit (memory, threads, handles) would be exceeded.
    QuotaExceeded = 11,
    /// The security module denied the message.
    Denied = 12,
    /// The peer of an IPC went away before the exchange completed.
    PeerGone = 13,
    /// The range asked for overlaps an existing mapping.
    AddressInUse = 14,
    /// The thread has no request to reply to.
    NoCaller = 15,
    /// A name (for example a channel name) that does not exist.
    NotFound = 16,
}

impl Error {
    /// Every error, in code order; handy for tables and tests.
    pub const ALL: [Error; 16] = [
        Error::BadSyscall,
        Error::BadHandle,
        Error::NoRights,
        Error::BadInterface,
        Error::BadMethod,
        Error::BadTag,
        Error::BadAddress,
        Error::Misaligned,
        Error::InvalidArgument,
        Error::NoMemory,
        Error::QuotaExceeded,
        Error::Denied,
        Error::PeerGone,
        Error::AddressInUse,
        Error::NoCaller,
        Error::NotFound,
    ];

    /// The code as it travels in `rax`.
    pub const fn code(self) -> u64 {
        self as u64
    }

    /// Decodes a status from `rax`: `Ok(())` for zero, the error otherwise.
    /// Unknown codes (which a correct kernel never returns) map to `None`.
    pub fn from_status(status: u64) -> Option<Result<(), Error>> {
        if status == 0 {
            return Some(Ok(()));
        }
        Error::ALL
            .iter()
            .copied()
            .find(|e| e.code() == status)
            .map(Err)
    }

    /// A short human-readable name.
    pub const fn name(self) -> &'static str {
        match self {
            Error::BadSyscall => "bad syscall",
            Error::BadHandle => "bad handle",
            Error::NoRights => "no rights",
            Error::BadInterface => "bad interface",
            Error::BadMethod => "bad method",
            Error::BadTag => "bad tag",
            Error::BadAddress => "bad address",
            Error::Misaligned => "misaligned",
            Error::InvalidArgument => "invalid argument",
            Error::NoMemory => "no memory",
            Error::QuotaExceeded => "quota exceeded",
            Error::Denied => "denied",
            Error::PeerGone => "peer gone",
            Error::AddressInUse => "address in use",
            Error::NoCaller => "no caller",
            Error::NotFound => "not found",
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A message tag: which interface and method a message is for, plus flags.
///
/// Layout of the 64-bit value: bits 0..16 method, bits 16..32 interface,
/// bits 32..40 flags, bits 40..64 reserved (must be zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag(u64);

impl Tag {
    /// An out-of-line descriptor follows at the address in `r12`.
    pub const OOL: u8 = 1 << 0;
    /// On Reply: after replying, receive the next request on the endpoint in `rdi`.
    pub const REPLY_RECV: u8 = 1 << 1;
    const KNOWN_FLAGS: u8 = Self::OOL | Self::REPLY_RECV;
    const RESERVED_MASK: u64 = !((1u64 << 40) - 1);

    /// Builds a tag with no flags.
    pub const fn new(interface: u16, method: u16) -> Tag {
        Tag(((interface as u64) << 16) | method as u64)
    }

    /// Builds a tag with flags.
    pub const fn with_flags(interface: u16, method: u16, flags: u8) -> Tag {
        Tag(Tag::new(interface, method).0 | ((flags as u64) << 32))
    }

    /// Validates a raw tag from a register: reserved bits and unknown flags
    /// are rejected with [`Error::BadTag`].
    pub const fn decode(raw: u64) -> Result<Tag, Error> {
        let flags = ((raw >> 32) & 0xff) as u8;
        if raw & Tag::RESERVED_MASK != 0 || flags & !Tag::KNOWN_FLAGS != 0 {
            return Err(Error::BadTag);
        }
        Ok(Tag(raw))
    }

    /// The raw register value.
    pub const fn raw(self) -> u64 {
        self.0
    }
    /// The interface number.
    pub const fn interface(self) -> u16 {
        (self.0 >> 16) as u16
    }
    /// The method number within the interface.
    pub const fn method(self) -> u16 {
        self.0 as u16
    }
    /// The flag bits.
    pub const fn flags(self) -> u8 {
        (self.0 >> 32) as u8
    }
    /// Whether a flag is set.
    pub const fn has(self, flag: u8) -> bool {
        self.flags() & flag != 0
    }
    /// Whether the tag is a request a server of `interface` takes: that
    /// interface, and no flag but [`Tag::OOL`] (one test for both).
    #[inline(always)]
    pub const fn requests(self, interface: u16) -> bool {
        (self.0 >> 16) & !((Tag::OOL as u64) << 16) == interface as u64
    }
}

/// The register part of a message: a tag and [`MSG_WORDS`] data words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// Interface, method and flags.
    pub tag: Tag,
    /// The data words (`rdx`, `r10`, `r8`, `r9`).
    pub words: [u64; MSG_WORDS],
}

impl Message {
    /// A message with the given tag and words.
    pub const fn new(tag: Tag, words: [u64; MSG_WORDS]) -> Message {
        Message { tag, words }
    }
}

/// A handle: an index into the calling domain's handle table plus a
/// generation that makes stale handles detectable.
///
/// Layout: bits 0..16 slot index, bits 16..32 generation. The upper 32 bits of
/// the register must be zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Handle(pub u32);

impl Handle {
    /// Builds a handle from slot index and generation.
    pub const fn new(index: u16, generation: u16) -> Handle {
        Handle(((generation as u32) << 16) | index as u32)
    }
    /// Validates a raw register value (upper bits must be zero).
    pub const fn decode(raw: u64) -> Result<Handle, Error> {
        if raw > u32::MAX as u64 {
            return Err(Error::BadHandle);
        }
        Ok(Handle(raw as u32))
    }
    /// The slot index.
    pub const fn index(self) -> u16 {
        self.0 as u16
    }
    /// The generation.
    pub const fn generation(self) -> u16 {
        (self.0 >> 16) as u16
    }
}

/// Rights carried by a handle.
pub mod rights {
    /// May send requests (Call).
    pub const CALL: u32 = 1 << 0;
    /// May receive requests (Recv) and reply.
    pub const RECV: u32 = 1 << 1;
    /// May pass the handle on to another domain.
    pub const GRANT: u32 = 1 << 2;
}

/// Handles every domain starts with: one per kernel endpoint, in fixed slots
/// with generation 0. Later handles are allocated from slot [`handles::FIRST_FREE_SLOT`].
pub mod handles {
    use super::Handle;
    /// The log endpoint ([`crate::log`]).
    pub const LOG: Handle = Handle::new(1, 0);
    /// The task endpoint ([`crate::task`]).
    pub const TASK: Handle = Handle::new(2, 0);
    /// The time endpoint ([`crate::time`]).
    pub const TIME: Handle = Handle::new(3, 0);
    /// The memory endpoint ([`crate::mem`]).
    pub const MEMORY: Handle = Handle::new(4, 0);
    /// The domain's own endpoint, with the `RECV` right, if the solution
    /// makes it the server of at least one channel. Requests from every
    /// client arrive here; the badge returned by `Recv` names the client.
    pub const INBOX: Handle = Handle::new(5, 0);
    /// The kernel audit endpoint (reads are subject to the policy).
    pub const AUDIT: Handle = Handle::new(6, 0);
    /// The PCI endpoint ([`crate::pci`]): the caller's assigned devices.
    pub const PCI: Handle = Handle::new(7, 0);
    /// The MMIO endpoint ([`crate::mmio`]).
    pub const MMIO: Handle = Handle::new(8, 0);
    /// The DMA endpoint ([`crate::dma`]).
    pub const DMA: Handle = Handle::new(9, 0);
    /// The interrupt endpoint ([`crate::irq`]).
    pub const IRQ: Handle = Handle::new(10, 0);
    /// The statistics endpoint ([`crate::stats`]).
    pub const STATS: Handle = Handle::new(11, 0);
    /// Every kernel-endpoint handle above, the ones every domain starts
    /// with.
    pub const KERNEL: [Handle; 10] = [LOG, TASK, TIME, MEMORY, AUDIT, PCI, MMIO, DMA, IRQ, STATS];
    /// First slot that is not reserved for a well-known handle.
    pub const FIRST_FREE_SLOT: u16 = 16;
}

/// Interface numbers of the kernel endpoints. User-defined interfaces get
/// numbers from [`iface::FIRST_USER`] upward.
pub mod iface {
    /// [`crate::log`]
    pub const LOG: u16 = 1;
    /// [`crate::task`]
    pub const TASK: u16 = 2;
    /// [`crate::time`]
    pub const TIME: u16 = 3;
    /// [`crate::mem`]
    pub const MEMORY: u16 = 4;
    /// [`crate::audit`]
    pub const AUDIT: u16 = 5;
    /// [`crate::pci`]
    pub const PCI: u16 = 6;
    /// [`crate::mmio`]
    pub const MMIO: u16 = 7;
    /// [`crate::dma`]
    pub const DMA: u16 = 8;
    /// [`crate::irq`]
    pub const IRQ: u16 = 9;
    /// [`crate::stats`]
    pub const STATS: u16 = 10;
    /// First interface number available to user-space servers.
    pub const FIRST_USER: u16 = 0x100;
}

/// PCI devices assigned to the caller by the solution description
/// (`devices = [...]` on a program). A domain sees only its own devices,
/// numbered from 0 in bus order; every other index is `NotFound`.
pub mod pci {
    /// `INFO(index)`: word 0 = location `bus << 8 | device << 3 | function`,
    /// word 1 = `vendor | device_id << 16`, word 2 =
    /// `class << 16 | subclass << 8 | prog_if`, word 3 = bit `i` set when
    /// BAR `i` is present.
    pub const INFO: u16 = 1;
    /// `BAR(index, bar)`: word 0 = base address, word 1 = size in bytes,
    /// word 2 = `BAR_*` flags. `NotFound` for an absent BAR (or the upper
    /// half of a 64-bit one).
    pub const BAR: u16 = 2;
    /// `CONFIG_READ(index, offset)`: the configuration-space dword at
    /// `offset` (4-byte aligned, below 256), as the driver may see it: BAR
    /// sizing is answered by the kernel.
    pub const CONFIG_READ: u16 = 3;
    /// `CONFIG_WRITE(index, offset, value)`: writes a configuration dword
    /// through the kernel's filter. Allowed: the command register's I/O,
    /// memory, bus-master and INTx-disable bits; the MSI-X enable and
    /// function-mask bits; and the BAR sizing protocol (all-ones, then the
    /// original value), which the kernel answers without touching the
    /// device. Anything else (moving a BAR, the expansion ROM, other
    /// capabilities) is `InvalidArgument`.
    pub const CONFIG_WRITE: u16 = 4;
    /// BAR flag: an I/O-port BAR (not mappable).
    pub const BAR_IO: u64 = 1;
    /// BAR flag: a 64-bit memory BAR.
    pub const BAR_64: u64 = 2;
    /// BAR flag: prefetchable memory.
    pub const BAR_PREFETCHABLE: u64 = 4;
}

/// Device memory (MMIO) of the caller's assigned PCI devices.
pub mod mmio {
    /// `MAP(index, bar, offset, len)`: maps `len` bytes at `offset` into
    /// memory BAR `bar` of assigned device `index` (page-aligned, inside
    /// the BAR), uncached, read-write, never executable, at an address the
    /// kernel picks, which it returns. The mapping lasts until the domain
    /// ends and is not charged to the memory quota (it is not RAM).
    pub const MAP: u16 = 1;
}

/// Memory for device DMA, for domains with at least one assigned device.
pub mod dma {
    /// `ALLOC(pages)`: `pages` (1..=[`MAX_PAGES`]) physically contiguous,
    /// zeroed pages, mapped read-write at an address the kernel picks and
    /// charged to the domain's memory quota. Returns word 0 = address,
    /// word 1 = physical address (never 0).
    pub const ALLOC: u16 = 1;
    /// `FREE(addr)`: frees a block `ALLOC` returned, whole.
    pub const FREE: u16 = 2;
    /// Largest block: 8 MiB (a 1280x800 BGRA frame buffer is 4000 KiB).
    pub const MAX_PAGES: u64 = 2048;
}

/// Interrupts of the caller's assigned PCI devices, as MSI-X messages the
/// kernel turns into notifications.
///
/// A driver binds an MSI-X table entry of its device to one of 64
/// notification bits of its domain. When the device signals that entry,
/// the kernel masks the entry, sets the bit and wakes the domain's waiting
/// thread; the entry stays masked (the device holds further messages as
/// pending) until the driver acknowledges the bit in its next `WAIT`. The
/// MSI-X table itself stays the kernel's: a driver never chooses the
/// vector or the CPU an interrupt goes to.
pub mod irq {
    /// `BIND(index, entry, bit)`: routes MSI-X table entry `entry` of
    /// assigned device `index` to notification bit `bit` (0..64) of the
    /// caller's domain, on the caller's CPU, and enables MSI-X on the
    /// device. The entry starts masked: the first `WAIT` that names the
    /// bit unmasks it. `InvalidArgument` if the device has no MSI-X, the
    /// entry is out of range or already bound, or the bit is taken;
    /// `NoMemory` when the kernel has no free vector.
    pub const BIND: u16 = 1;
    /// `WAIT(bits, timeout_ns)`: acknowledges (unmasks) the entries of
    /// `bits` whose interrupts were delivered, then blocks until one of
    /// `bits` is signalled or `timeout_ns` has passed (`u64::MAX`: no
    /// limit; 0: do not block). Returns word 0 = the signalled bits among
    /// `bits`, now cleared (0 on timeout). `InvalidArgument` if `bits`
    /// names an unbound bit or is 0; one thread of a domain waits at a
    /// time (`AddressInUse` for a second).
    pub const WAIT: u16 = 2;
    /// Number of notification bits per domain.
    pub const BITS: u64 = 64;
}

/// Kernel statistics, per CPU and counted from boot: what an IPC monitor
/// or a `top` shows. A reader takes two samples and divides the
/// differences. `InvalidArgument` for a CPU that is not online.
pub mod stats {
    /// `IPC(cpu)`: word 0 = messages (requests and responses between
    /// domains) sent from `cpu`; word 1 = of those, carried by the IPC fast
    /// path; word 2 = verdicts the verdict cache gave on `cpu` (every
    /// fast-path message is one; kernel calls answered by the kernel-call
    /// lane are not counted); word 3 = full policy evaluations on `cpu`.
    /// The fast-path ratio is word 1 / word 0; the verdict-cache ratio is
    /// word 2 / (word 2 + word 3).
    pub const IPC: u16 = 1;
    /// `CPU(cpu)`: word 0 = nanoseconds `cpu` spent idle; word 1 = thread
    /// switches on it (the scheduler's and the fast path's); word 2 = its
    /// timer interrupts; word 3 = the number of CPUs online.
    pub const CPU: u16 = 2;
    /// `MEMORY()`: the kernel's memory, machine-wide. Word 0 = free
    /// physical memory in bytes; word 1 = all the memory it manages; word
    /// 2 = bytes of kernel stacks kept for reuse (a thread's stack is not
    /// freed when it ends but kept for the next thread, so after a domain
    /// ends its stacks are here, not in word 0); word 3 = bytes of the
    /// kernel heap in use (kernel objects: domains, threads, endpoints,
    /// handle tables). A domain that ends gives back what it took: word 0
    /// plus word 2, and word 3, return to their figures from before it
    /// started.
    pub const MEMORY: u16 = 3;
}

/// Kernel log endpoint.
pub mod log {
    /// `WRITE(ptr, len, level)`: write `len` bytes of UTF-8 text at `ptr` to the
    /// kernel log, prefixed with the CPU and domain. `level` is one of the
    /// `LEVEL_*` constants. Returns the number of bytes written in word 0.
    /// At most [`MAX_LEN`] bytes per call.
    pub const WRITE: u16 = 1;
    /// Longest message accepted by [`WRITE`].
    pub const MAX_LEN: u64 = 1024;
    /// Error level.
    pub const LEVEL_ERROR: u64 = 1;
    /// Warning level.
    pub const LEVEL_WARN: u64 = 2;
    /// Information level.
    pub const LEVEL_INFO: u64 = 3;
    /// Debug level.
    pub const LEVEL_DEBUG: u64 = 4;
}

/// Kernel task endpoint: the calling domain and its threads.
pub mod task {
    /// `EXIT(code)`: end the calling domain (all its threads). Never returns.
    pub const EXIT: u16 = 1;
    /// `YIELD()`: give up the rest of the time slice.
    pub const YIELD: u16 = 2;
    /// `THREAD_CREATE(entry, stack_top, arg, priority)`: start a thread in the
    /// calling domain at `entry` with `rsp = stack_top` and `rdi = arg`.
    /// `entry` must lie in an executable user mapping, `stack_top` must be
    /// 16-byte aligned with the page below it mapped writable. `priority` may
    /// not exceed the domain's own (`InvalidArgument`); 0 means the domain's
    /// own priority. Returns the thread id in word 0.
    pub const THREAD_CREATE: u16 = 3;
    /// `THREAD_EXIT()`: end the calling thread; the domain ends with its last
    /// thread (exit code 0).
    pub const THREAD_EXIT: u16 = 4;
    /// `INFO()`: word 0 = current CPU index, word 1 = domain id,
    /// word 2 = thread id, word 3 = number of CPUs online.
    pub const INFO: u16 = 5;
    /// `CHANNEL(name_ptr, name_len)`: the handle (word 0) of the caller's
    /// channel named `name` in the solution description. `NotFound` if the
    /// domain has no such channel; names are at most [`CHANNEL_NAME_MAX`]
    /// bytes (`InvalidArgument` beyond).
    pub const CHANNEL: u16 = 6;
    /// Longest channel name.
    pub const CHANNEL_NAME_MAX: u64 = 32;
    /// `LABEL(domain)`: the label of the live domain with id `domain` (the
    /// badge its requests arrive with), from the solution description:
    /// word 0 = its length in bytes, words 1..=3 = its bytes, little-endian,
    /// zero-padded. `NotFound` if no live domain has that id. For trusted
    /// servers (the display server labels windows with it), as the policy
    /// allows.
    pub const LABEL: u16 = 7;
    /// `START(name_ptr, name_len)`: start a new instance of the solution's
    /// on-demand program `name` (at most [`CHANNEL_NAME_MAX`] bytes) in a
    /// new domain with the program's client channels. Besides this request
    /// the policy must allow the `execute` event from the caller's context
    /// to the program's (`Denied` otherwise). Word 0 = the new domain's id,
    /// word 1 = its instance number (1-based). `NotFound`: no on-demand
    /// program has that name; `QuotaExceeded`: its instances are all
    /// running; `NoMemory`: no memory for the domain.
    pub const START: u16 = 8;
    /// `STOP(domain)`: end the live domain with id `domain` (all its
    /// threads; the kernel logs who stopped it). Allowed only where the
    /// policy allows the `execute` event from the caller's context to the
    /// domain's (`Denied` otherwise): whoever may start a program may stop
    /// it. `NotFound` if no live domain has that id. Returns once the
    /// domain is marked to end; its memory is freed when its last thread
    /// has left the CPU.
    pub const STOP: u16 = 9;
    /// `LIST(after)`: the live domain with the smallest id greater than
    /// `after` (0 for the first): word 0 = its id, word 1 = bytes charged
    /// to its memory quota (mapped memory, page tables, DMA blocks; not its
    /// program image), word 2 = its thread count,
    /// word 3 = `program | instance << 16 | priority << 32` (the program's
    /// index in the solution, the instance number or 0 for a boot program,
    /// the main thread's priority). `NotFound` past the last domain.
    pub const LIST: u16 = 10;
}

/// Kernel time endpoint.
pub mod time {
    /// `NOW()`: word 0 = nanoseconds since boot (monotonic).
    pub const NOW: u16 = 1;
    /// `SLEEP(ns)`: block the calling thread for at least `ns` nanoseconds.
    pub const SLEEP: u16 = 2;
    /// `WALL()`: word 0 = nanoseconds since 1970-01-01 00:00 UTC: the
    /// machine's real-time clock as read at boot, plus the monotonic time
    /// since. 0 if the machine's clock could not be read.
    pub const WALL: u16 = 3;

    /// The calendar date (year, month 1..=12, day 1..=31) of `days` since
    /// 1970-01-01, for showing a `WALL` answer (proleptic Gregorian; the
    /// kernel's inverse is `kcore::rtc::days_from_civil`).
    pub const fn civil_from_days(days: i64) -> (i64, u32, u32) {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
        (year, month, day)
    }
}

/// Kernel memory endpoint: anonymous memory in the caller's address space.
pub mod mem {
    /// `MAP(addr, len, prot)`: map `len` bytes of zeroed anonymous memory.
    /// `addr` is a page-aligned address or 0 to let the kernel choose; `len`
    /// is a non-zero multiple of the page size; `prot` is a combination of
    /// `PROT_*` and may not be both writable and executable. Returns the
    /// address in word 0.
    pub const MAP: u16 = 1;
    /// `UNMAP(addr, len)`: remove anonymous mappings in the page-aligned range
    /// and free their memory. Every page in the range must be an anonymous
    /// mapping made by `MAP`.
    pub const UNMAP: u16 = 2;
    /// `STATS()`: word 0 = bytes mapped by this domain, word 1 = its quota,
    /// word 2 = free physical memory in bytes, word 3 = bytes of page tables
    /// made for the domain. The quota limits words 0 and 3 together; page
    /// tables stay until the domain ends.
    pub const STATS: u16 = 3;
    /// Readable.
    pub const PROT_READ: u64 = 1;
    /// Writable.
    pub const PROT_WRITE: u64 = 2;
    /// Executable.
    pub const PROT_EXEC: u64 = 4;
}

/// The kernel's interfaces as data: the one list the kernel (which
/// methods exist), the policy compiler (names for rules and predicates)
/// and tests share. Word names are what policy predicates test
/// (`Memory.map where prot <= 3`); a word named `code` is signed.
pub mod kernel_ifaces {
    use super::{audit, dma, iface, irq, log, mem, mmio, pci, stats, task, time};

    /// One kernel method: number, name, argument and result word names.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Method {
        /// Method number.
        pub id: u16,
        /// Name in policies.
        pub name: &'static str,
        /// Request words, word 0 first.
        pub args: &'static [&'static str],
        /// Reply words, word 0 first.
        pub results: &'static [&'static str],
    }

    /// One kernel interface.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Interface {
        /// Interface number (below [`iface::FIRST_USER`]).
        pub id: u16,
        /// Name in policies.
        pub name: &'static str,
        /// Its methods.
        pub methods: &'static [Method],
    }

    const fn m(
        id: u16,
        name: &'static str,
        args: &'static [&'static str],
        results: &'static [&'static str],
    ) -> Method {
        Method {
            id,
            name,
            args,
            results,
        }
    }

    /// Every kernel interface.
    pub const ALL: [Interface; 10] = [
        Interface {
            id: iface::LOG,
            name: "Log",
            methods: &[m(
                log::WRITE,
                "write",
                &["ptr", "len", "level"],
                &["written"],
            )],
        },
        Interface {
            id: iface::TASK,
            name: "Task",
            methods: &[
                m(task::EXIT, "exit", &["code"], &[]),
                m(task::YIELD, "yield", &[], &[]),
                m(
                    task::THREAD_CREATE,
                    "thread_create",
                    &["entry", "stack_top", "arg", "priority"],
                    &["thread"],
                ),
                m(task::THREAD_EXIT, "thread_exit", &[], &[]),
                m(
                    task::INFO,
                    "info",
                    &[],
                    &["cpu", "domain", "thread", "cpus"],
                ),
                m(
                    task::CHANNEL,
                    "channel",
                    &["name_ptr", "name_len"],
                    &["handle"],
                ),
                m(task::LABEL, "label", &["domain"], &["len", "a", "b", "c"]),
                m(
                    task::START,
                    "start",
                    &["name_ptr", "name_len"],
                    &["domain", "instance"],
                ),
                m(task::STOP, "stop", &["domain"], &[]),
                m(
                    task::LIST,
                    "list",
                    &["after"],
                    &["domain", "memory", "threads", "info"],
                ),
            ],
        },
        Interface {
            id: iface::TIME,
            name: "Time",
            methods: &[
                m(time::NOW, "now", &[], &["ns"]),
                m(time::SLEEP, "sleep", &["ns"], &[]),
                m(time::WALL, "wall", &[], &["unix_ns"]),
            ],
        },
        Interface {
            id: iface::MEMORY,
            name: "Memory",
            methods: &[
                m(mem::MAP, "map", &["addr", "len", "prot"], &["addr"]),
                m(mem::UNMAP, "unmap", &["addr", "len"], &[]),
                m(
                    mem::STATS,
                    "stats",
                    &[],
                    &["mapped", "quota", "free", "page_tables"],
                ),
            ],
        },
        Interface {
            id: iface::AUDIT,
            name: "Audit",
            methods: &[m(
                audit::READ,
                "read",
                &["after"],
                &["seq", "time", "event", "target"],
            )],
        },
        Interface {
            id: iface::PCI,
            name: "Pci",
            methods: &[
                m(
                    pci::INFO,
                    "info",
                    &["index"],
                    &["location", "id", "class", "bars"],
                ),
                m(
                    pci::BAR,
                    "bar",
                    &["index", "bar"],
                    &["base", "size", "flags"],
                ),
                m(
                    pci::CONFIG_READ,
                    "config_read",
                    &["index", "offset"],
                    &["value"],
                ),
                m(
                    pci::CONFIG_WRITE,
                    "config_write",
                    &["index", "offset", "value"],
                    &[],
                ),
            ],
        },
        Interface {
            id: iface::MMIO,
            name: "Mmio",
            methods: &[m(
                mmio::MAP,
                "map",
                &["index", "bar", "offset", "len"],
                &["addr"],
            )],
        },
        Interface {
            id: iface::DMA,
            name: "Dma",
            methods: &[
                m(dma::ALLOC, "alloc", &["pages"], &["addr", "phys"]),
                m(dma::FREE, "free", &["addr"], &[]),
            ],
        },
        Interface {
            id: iface::IRQ,
            name: "Irq",
            methods: &[
                m(irq::BIND, "bind", &["index", "entry", "bit"], &[]),
                m(irq::WAIT, "wait", &["bits", "timeout"], &["signalled"]),
            ],
        },
        Interface {
            id: iface::STATS,
            name: "Stats",
            methods: &[
                m(
                    stats::IPC,
                    "ipc",
                    &["cpu"],
                    &["messages", "fast", "verdict_hits", "evaluations"],
                ),
                m(
                    stats::CPU,
                    "cpu",
                    &["cpu"],
                    &["idle_ns", "switches", "timer_ticks", "cpus"],
                ),
                m(
                    stats::MEMORY,
                    "memory",
                    &[],
                    &["free", "total", "stack_pool", "heap_used"],
                ),
            ],
        },
    ];

    /// Bit `m` of entry `i`: kernel interface `i` has method `m` (methods
    /// are numbered below 64), computed from [`ALL`] at build time.
    const MASKS: [u64; iface::STATS as usize + 1] = {
        let mut masks = [0u64; iface::STATS as usize + 1];
        let mut i = 0;
        while i < ALL.len() {
            let mut k = 0;
            while k < ALL[i].methods.len() {
                let id = ALL[i].methods[k].id;
                assert!(id < 64, "kernel method numbers are below 64");
                masks[ALL[i].id as usize] |= 1 << id;
                k += 1;
            }
            i += 1;
        }
        masks
    };

    /// Whether kernel interface `iface` has method `method`.
    #[inline]
    pub fn has_method(iface: u16, method: u16) -> bool {
        method < 64
            && MASKS
                .get(usize::from(iface))
                .is_some_and(|m| m & (1 << method) != 0)
    }
}

/// Out-of-line message parts.
///
/// A `Call` or `Reply` whose tag has [`Tag::OOL`] passes, in `r12`, the
/// address of a [`ool::Descriptor`] in the sender's memory. Its send part names
/// what goes with the message: up to [`ool::MAX_BYTES`] bytes that the kernel
/// copies, one handle passed on with at most the sender's rights, or a
/// range of the sender's memory shared with the receiver. Its receive part
/// says where a reply's bytes may go (for `Call`).
///
/// A receiving `Recv` (or `Reply` with receive) passes a descriptor in
/// `r12` too, or 0 for none. When a request with an out-of-line part
/// arrives, the kernel copies the bytes to `recv_addr` (at most
/// `recv_cap` of them) or installs the handle in the receiver's table, and
/// fills in `recv_kind`, `recv_len` and `recv_handle`. The received tag
/// carries [`Tag::OOL`] whenever the message had an out-of-line part, so a
/// receiver without a descriptor (or with too small a buffer) can tell it
/// missed something.
///
/// The security module sees the kind of the part (`bytes` or `handle` in
/// the method's interface description); a message whose part does not
/// match its method is malformed. Only register-only messages take the IPC
/// fast path.
pub mod ool {
    /// No out-of-line part.
    pub const NONE: u64 = 0;
    /// A byte buffer: `send_a` = address, `send_b` = length.
    pub const BYTES: u64 = 1;
    /// A handle: `send_a` = the handle, `send_b` = the rights to pass (at
    /// most `CALL | GRANT`, and at most what the handle has; it needs
    /// `GRANT`).
    pub const HANDLE: u64 = 2;
    /// Shared memory, read-only for the receiver: `send_a` = address,
    /// `send_b` = length, both page-aligned, of memory the sender mapped
    /// with `mem::MAP`. The receiver gets the same frames mapped at an
    /// address the kernel picks (`recv_handle`), charged to its quota; the
    /// memory lives until every holder has unmapped it (or ended).
    pub const MEMORY_READ: u64 = 3;
    /// Shared memory the receiver may write too (the sender's mapping
    /// must be writable).
    pub const MEMORY_WRITE: u64 = 4;
    /// Most bytes one message carries.
    pub const MAX_BYTES: u64 = 64 * 1024;
    /// Largest shared-memory grant.
    pub const MAX_GRANT: u64 = 64 << 20;
    /// Size of a [`Descriptor`] in user memory.
    pub const DESCRIPTOR_SIZE: usize = 64;

    /// The out-of-line descriptor (eight little-endian words).
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Descriptor {
        /// What is sent: [`NONE`], [`BYTES`] or [`HANDLE`].
        pub send_kind: u64,
        /// Buffer address, or the handle.
        pub send_a: u64,
        /// Buffer length, or the rights to pass.
        pub send_b: u64,
        /// Where received bytes go.
        pub recv_addr: u64,
        /// How many bytes fit there.
        pub recv_cap: u64,
        /// Set by the kernel: what arrived ([`NONE`], [`BYTES`], [`HANDLE`]).
        pub recv_kind: u64,
        /// Set by the kernel: bytes sent (more than `recv_cap` means only
        /// `recv_cap` were copied).
        pub recv_len: u64,
        /// Set by the kernel: the handle installed for the receiver, or the
        /// address shared memory was mapped at.
        pub recv_handle: u64,
    }

    impl Descriptor {
        /// The descriptor as it lies in memory.
        pub fn to_bytes(&self) -> [u8; DESCRIPTOR_SIZE] {
            let w = [
                self.send_kind,
                self.send_a,
                self.send_b,
                self.recv_addr,
                self.recv_cap,
                self.recv_kind,
                self.recv_len,
                self.recv_handle,
            ];
            let mut b = [0u8; DESCRIPTOR_SIZE];
            for (chunk, v) in b.chunks_exact_mut(8).zip(w) {
                chunk.copy_from_slice(&v.to_le_bytes());
            }
            b
        }

        /// Reads a descriptor from memory.
        pub fn from_bytes(b: &[u8; DESCRIPTOR_SIZE]) -> Descriptor {
            let mut w = [0u64; 8];
            for (v, chunk) in w.iter_mut().zip(b.chunks_exact(8)) {
                let mut le = [0u8; 8];
                le.copy_from_slice(chunk);
                *v = u64::from_le_bytes(le);
            }
            Descriptor {
                send_kind: w[0],
                send_a: w[1],
                send_b: w[2],
                recv_addr: w[3],
                recv_cap: w[4],
                recv_kind: w[5],
                recv_len: w[6],
                recv_handle: w[7],
            }
        }
    }
}

/// Kernel audit endpoint: the security module's audit ring. Every domain
/// holds a handle to it; the policy decides who may read
/// (`allow request auditor -> kernel Audit.read;`).
pub mod audit {
    /// `READ(after)`: the oldest record whose sequence number is greater
    /// than `after`, as the four words of [`Record::to_words`]. `NotFound`
    /// when there is none. The ring keeps the last [`RING_SIZE`] records;
    /// when older ones were overwritten, the sequence numbers jump and the
    /// reader sees the gap.
    pub const READ: u16 = 1;
    /// Records the kernel keeps.
    pub const RING_SIZE: usize = 256;

    /// What was decided about.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Kind {
        /// A client's request.
        Request = 0,
        /// A server's (or the kernel's) response.
        Response = 1,
        /// A program start.
        Execute = 2,
    }

    /// One audited decision. Contexts are indices into the policy's
    /// context list (the kernel logs it at boot: `policy loaded: N
    /// contexts (kernel, ...)`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Record {
        /// Sequence number, from 1, one per record ever written.
        pub seq: u64,
        /// Kernel time of the decision, ns since boot.
        pub time_ns: u64,
        /// Event kind.
        pub kind: Kind,
        /// The message (or start) was allowed.
        pub allowed: bool,
        /// The message did not match its interface (no rule ran).
        pub malformed: bool,
        /// Source context.
        pub src: u16,
        /// Destination context.
        pub dst: u16,
        /// Interface number (0 for execute events).
        pub iface: u16,
        /// Method number (0 for execute events).
        pub method: u16,
        /// Deciding rule in source order, `u16::MAX` for none, or
        /// [`RULE_KERNEL`].
        pub rule: u16,
    }

    /// `Record::rule` of a request the policy allowed but the kernel
    /// refused for lack of a grant it checks itself (a PCI, MMIO or DMA
    /// request from a domain without an assigned device).
    pub const RULE_KERNEL: u16 = 0xfffe;

    impl Record {
        /// Packs the record into the four reply words of [`READ`]:
        /// `seq`, `time_ns`, `kind | allowed << 8 | malformed << 9 |
        /// src << 16 | dst << 32`, `iface | method << 16 | rule << 32`.
        pub const fn to_words(&self) -> [u64; 4] {
            [
                self.seq,
                self.time_ns,
                self.kind as u64
                    | (self.allowed as u64) << 8
                    | (self.malformed as u64) << 9
                    | (self.src as u64) << 16
                    | (self.dst as u64) << 32,
                self.iface as u64 | (self.method as u64) << 16 | (self.rule as u64) << 32,
            ]
        }

        /// Unpacks [`Record::to_words`]; `None` for words no kernel writes.
        pub const fn from_words(w: [u64; 4]) -> Option<Record> {
            let kind = match w[2] & 0xff {
                0 => Kind::Request,
                1 => Kind::Response,
                2 => Kind::Execute,
                _ => return None,
            };
            if w[2] & 0xfc00 != 0 || w[2] >> 48 != 0 || w[3] >> 48 != 0 {
                return None;
            }
            Some(Record {
                seq: w[0],
                time_ns: w[1],
                kind,
                allowed: w[2] & (1 << 8) != 0,
                malformed: w[2] & (1 << 9) != 0,
                src: (w[2] >> 16) as u16,
                dst: (w[2] >> 32) as u16,
                iface: w[3] as u16,
                method: (w[3] >> 16) as u16,
                rule: (w[3] >> 32) as u16,
            })
        }
    }
}

/// Exit codes the kernel reports for a domain it ended, beside the codes a
/// program passes to [`task::EXIT`].
pub mod exit {
    /// The domain was killed by a CPU exception (page fault, #GP, #UD...).
    pub const FAULT: i64 = -1;
    /// A user program's panic handler exits with this code.
    pub const PANIC: i64 = 101;
}

#[cfg(test)]
mod tests {

    #[test]
    fn calendar_dates() {
        assert_eq!(time::civil_from_days(0), (1970, 1, 1));
        assert_eq!(time::civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(time::civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(time::civil_from_days(20_779), (2026, 11, 22));
        assert_eq!(time::civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn every_kernel_interface_has_a_fixed_handle() {
        // One fixed handle per kernel interface, all distinct, all below
        // the first free slot.
        assert_eq!(handles::KERNEL.len(), kernel_ifaces::ALL.len());
        for (k, h) in handles::KERNEL.iter().enumerate() {
            assert!(h.index() < handles::FIRST_FREE_SLOT && h.index() != handles::INBOX.index());
            assert!(!handles::KERNEL[..k].contains(h));
        }
    }

    use super::*;

    #[test]
    fn kernel_interface_table_is_consistent() {
        for (n, i) in kernel_ifaces::ALL.iter().enumerate() {
            assert!(i.id < iface::FIRST_USER);
            assert!(
                kernel_ifaces::ALL[..n]
                    .iter()
                    .all(|o| o.id != i.id && o.name != i.name)
            );
            for (k, m) in i.methods.iter().enumerate() {
                assert!(m.args.len() <= MSG_WORDS && m.results.len() <= MSG_WORDS);
                assert!(
                    i.methods[..k]
                        .iter()
                        .all(|o| o.id != m.id && o.name != m.name)
                );
                assert!(kernel_ifaces::has_method(i.id, m.id));
            }
        }
        assert!(!kernel_ifaces::has_method(iface::TIME, 99));
        assert!(!kernel_ifaces::has_method(0x100, 1));
    }

    #[test]
    fn ool_descriptors_round_trip() {
        let d = ool::Descriptor {
            send_kind: ool::BYTES,
            send_a: 0x1000,
            send_b: 4096,
            recv_addr: 0x2000,
            recv_cap: 16,
            recv_kind: ool::HANDLE,
            recv_len: 7,
            recv_handle: 0x10011,
        };
        assert_eq!(ool::Descriptor::from_bytes(&d.to_bytes()), d);
        assert_eq!(&d.to_bytes()[8..16], &0x1000u64.to_le_bytes());
    }

    #[test]
    fn audit_records_round_trip_and_reject_garbage() {
        use audit::{Kind, Record};
        let r = Record {
            seq: 7,
            time_ns: 123,
            kind: Kind::Response,
            allowed: false,
            malformed: true,
            src: 3,
            dst: 0xffff,
            iface: 0x100,
            method: 0xffff,
            rule: u16::MAX,
        };
        assert_eq!(Record::from_words(r.to_words()), Some(r));
        let w = r.to_words();
        assert_eq!(
            Record::from_words([w[0], w[1], w[2] | 3, w[3]]),
            None,
            "bad kind"
        );
        assert_eq!(Record::from_words([w[0], w[1], w[2] | 1 << 12, w[3]]), None);
        assert_eq!(Record::from_words([w[0], w[1], w[2], w[3] | 1 << 50]), None);
    }

    #[test]
    fn syscall_numbers_round_trip() {
        for s in [Syscall::Call, Syscall::Recv, Syscall::Reply] {
            assert_eq!(Syscall::try_from(s as u64), Ok(s));
        }
        assert_eq!(Syscall::try_from(3), Err(Error::BadSyscall));
        assert_eq!(Syscall::try_from(u64::MAX), Err(Error::BadSyscall));
    }

    #[test]
    fn error_codes_are_distinct_and_round_trip() {
        for (i, e) in Error::ALL.iter().enumerate() {
            assert_eq!(e.code(), i as u64 + 1);
            assert_eq!(Error::from_status(e.code()), Some(Err(*e)));
        }
        assert_eq!(Error::from_status(0), Some(Ok(())));
        assert_eq!(Error::from_status(9999), None);
    }

    #[test]
    fn tag_fields_and_validation() {
        let t = Tag::with_flags(0x1234, 0xbeef, Tag::OOL);
        assert_eq!(t.interface(), 0x1234);
        assert_eq!(t.method(), 0xbeef);
        assert!(t.has(Tag::OOL));
        assert!(!t.has(Tag::REPLY_RECV));
        assert!(t.requests(t.interface()) && !t.requests(t.interface() + 1));
        let r = Tag::with_flags(0x1234, 0xbeef, Tag::REPLY_RECV);
        assert!(!r.requests(0x1234));
        assert_eq!(Tag::decode(t.raw()), Ok(t));
        assert_eq!(Tag::decode(1 << 40), Err(Error::BadTag));
        assert_eq!(Tag::decode(0x80 << 32), Err(Error::BadTag));
        assert_eq!(Tag::decode(u64::MAX), Err(Error::BadTag));
    }

    #[test]
    fn handle_layout() {
        let h = Handle::new(7, 3);
        assert_eq!(h.index(), 7);
        assert_eq!(h.generation(), 3);
        assert_eq!(Handle::decode(h.0 as u64), Ok(h));
        assert_eq!(Handle::decode(1 << 32), Err(Error::BadHandle));
        assert!(handles::FIRST_FREE_SLOT > handles::MEMORY.index());
    }
}
