//! Domains: the unit of isolation. A domain has an address space (with its
//! own PCID), a handle table, a name (its security label for now), a
//! priority ceiling and CPU affinity, and a set of threads.
//!
//! A domain ends exactly once: on `task::EXIT`, on a user-mode fault, or when
//! its last thread exits. The first reason recorded wins. Its address space
//! is torn down only after the last thread has been switched away from, by
//! the scheduler's reaper.

use super::endpoint::Endpoint;
use super::thread::ThreadRef;
use crate::mm::space::AddressSpace;
use abi::{Handle, rights};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kcore::handle::{HandleTable, Rights};
use smp::cpuset::CpuSet;
use spin::Mutex;

/// Kernel services reachable by `Call`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// `abi::log`
    Log,
    /// `abi::task`
    Task,
    /// `abi::time`
    Time,
    /// `abi::mem`
    Memory,
    /// `abi::audit`
    Audit,
    /// `abi::pci`
    Pci,
    /// `abi::mmio`
    Mmio,
    /// `abi::dma`
    Dma,
    /// `abi::irq`
    Irq,
    /// `abi::stats`
    Stats,
}

impl Service {
    /// The interface number the service implements.
    pub fn interface(self) -> u16 {
        match self {
            Service::Log => abi::iface::LOG,
            Service::Task => abi::iface::TASK,
            Service::Time => abi::iface::TIME,
            Service::Memory => abi::iface::MEMORY,
            Service::Audit => abi::iface::AUDIT,
            Service::Pci => abi::iface::PCI,
            Service::Mmio => abi::iface::MMIO,
            Service::Dma => abi::iface::DMA,
            Service::Irq => abi::iface::IRQ,
            Service::Stats => abi::iface::STATS,
        }
    }
}

/// What a handle can name.
#[derive(Clone)]
pub enum KObject {
    /// A kernel endpoint.
    Kernel(Service),
    /// A domain's endpoint; requests sent through this handle carry `badge`.
    Endpoint {
        /// The endpoint.
        ep: Arc<Endpoint>,
        /// Set by the kernel: the client's domain id.
        badge: u64,
    },
}

/// How a domain ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// `task::EXIT(code)` or the last thread exited (code 0).
    Exit(i64),
    /// Killed by a CPU exception in user mode.
    Fault {
        /// Exception vector.
        vector: u8,
        /// Faulting instruction.
        rip: u64,
        /// CR2 for page faults.
        addr: u64,
        /// Error code pushed by the CPU.
        error: u64,
    },
    /// Ended by another domain's `task::STOP`.
    Stopped {
        /// The id of the domain that stopped it.
        by: u64,
    },
}

/// Per-domain limits.
pub const MAX_HANDLES: u16 = 256;
/// Most threads one domain may have.
pub const MAX_THREADS: usize = 64;

/// A domain.
pub struct Domain {
    /// Unique id (never reused).
    pub id: u64,
    /// Label from the solution description.
    pub name: String,
    /// Priority of the main thread; no thread may exceed it.
    pub priority: u8,
    /// CPUs its threads may run on.
    pub affinity: CpuSet,
    /// Index of its program in the solution (for expectations).
    pub program: usize,
    /// Its instance number (1-based) for an on-demand program, else 0.
    pub instance: u8,
    /// Security context (index into the policy's contexts).
    pub context: u16,
    /// The address space.
    pub space: Mutex<AddressSpace>,
    /// Physical address of its PML4 (fixed for the domain's life).
    pub root: u64,
    /// PCID and its generation.
    pub asid: u16,
    /// Generation of `asid` (see `percpu::asid_loaded`).
    pub asid_gen: u64,
    /// CPUs that may hold TLB entries for this address space.
    pub cpus_seen: AtomicU64,
    /// Capabilities. An entry never changes once installed while the
    /// domain lives: there is no close, `install` and `insert` fill only
    /// free slots, and `teardown` empties the table after the last thread
    /// has gone. The fast path's remembered lookups rely on this
    /// (`thread::Remembered`); a close would have to forget them.
    pub handles: Mutex<HandleTable<KObject>>,
    /// Live threads.
    pub threads: Mutex<Vec<ThreadRef>>,
    /// Set once the domain is ending; no new threads after that.
    pub dying: AtomicBool,
    /// Why it ended (first reason wins).
    pub end: Mutex<Option<End>>,
    /// Its endpoint, if it serves any channel.
    pub inbox: Mutex<Option<Arc<Endpoint>>>,
    /// Its channels as a client: name and handle.
    pub channels: Mutex<Vec<(String, Handle)>>,
    /// PCI devices assigned to it: indices into `pci::devices()`, in bus
    /// order (set once, before it starts).
    pub devices: spin::Once<Vec<usize>>,
    /// Notification bits its devices' interrupts set (`abi::irq`).
    pub irqs: Arc<crate::irq::Notifications>,
}

static NEXT_DOMAIN: AtomicU64 = AtomicU64::new(1);

/// PCID allocation: each domain gets a PCID with a fresh generation, so
/// stale TLB entries of an earlier owner of the same PCID are flushed on
/// first use on each CPU.
struct Asids {
    next: u16,
    free: Vec<u16>,
}
static ASIDS: Mutex<Asids> = Mutex::new(Asids {
    next: 1,
    free: Vec::new(),
});
static ASID_GEN: AtomicU64 = AtomicU64::new(1);

fn alloc_asid() -> (u16, u64) {
    let mut a = ASIDS.lock();
    let asid = a.free.pop().unwrap_or_else(|| {
        let n = a.next;
        if (n as usize) < crate::percpu::ASIDS - 1 {
            a.next += 1;
        }
        n
    });
    (asid, ASID_GEN.fetch_add(1, Ordering::Relaxed))
}

impl Domain {
    /// Creates a domain with an empty address space and the kernel-endpoint
    /// handles every domain starts with.
    pub fn new(
        name: &str,
        priority: u8,
        affinity: CpuSet,
        program: usize,
        instance: u8,
        context: u16,
    ) -> Option<Arc<Domain>> {
        let space = AddressSpace::new()?;
        let mut handles = HandleTable::new(MAX_HANDLES);
        let call = Rights(rights::CALL);
        for (h, s) in [
            (abi::handles::LOG, Service::Log),
            (abi::handles::TASK, Service::Task),
            (abi::handles::TIME, Service::Time),
            (abi::handles::MEMORY, Service::Memory),
            (abi::handles::AUDIT, Service::Audit),
            (abi::handles::PCI, Service::Pci),
            (abi::handles::MMIO, Service::Mmio),
            (abi::handles::DMA, Service::Dma),
            (abi::handles::IRQ, Service::Irq),
            (abi::handles::STATS, Service::Stats),
        ] {
            handles.install(h.index(), KObject::Kernel(s), call).ok()?;
        }
        let (asid, asid_gen) = alloc_asid();
        let root = space.root();
        Some(Arc::new(Domain {
            id: NEXT_DOMAIN.fetch_add(1, Ordering::Relaxed),
            name: String::from(name),
            priority,
            affinity,
            program,
            instance,
            context,
            space: Mutex::new(space),
            root,
            asid,
            asid_gen,
            cpus_seen: AtomicU64::new(0),
            handles: Mutex::new(handles),
            threads: Mutex::new(Vec::new()),
            dying: AtomicBool::new(false),
            end: Mutex::new(None),
            inbox: Mutex::new(None),
            channels: Mutex::new(Vec::new()),
            devices: spin::Once::new(),
            irqs: Arc::new(crate::irq::Notifications::new()),
        }))
    }

    /// Its assigned PCI devices (indices into `pci::devices()`).
    pub fn assigned(&self) -> &[usize] {
        self.devices.get().map_or(&[], |v| v.as_slice())
    }

    /// Its `index`-th assigned device.
    pub fn device(&self, index: u64) -> Option<&'static crate::pci::Device> {
        let i = *self.assigned().get(usize::try_from(index).ok()?)?;
        crate::pci::devices().get(i)
    }

    /// Looks up a handle.
    pub fn lookup(&self, h: Handle) -> Result<(KObject, Rights), abi::Error> {
        let t = self.handles.lock();
        let (o, r) = t.get(h)?;
        Ok((o.clone(), r))
    }

    /// The endpoint and badge behind `h`, if `h` names a domain endpoint
    /// with `right` (the fast path's lookup; the slow path reports the
    /// precise error).
    pub fn endpoint(&self, h: Handle, right: u32) -> Option<(Arc<Endpoint>, u64)> {
        let t = self.handles.lock();
        let (o, r) = t.get(h).ok()?;
        match o {
            KObject::Endpoint { ep, badge } if r.contains(right) => Some((ep.clone(), *badge)),
            _ => None,
        }
    }

    /// Records why the domain ends (if not recorded yet) and marks it dying.
    /// Returns whether this call was the first.
    pub fn set_end(&self, end: End) -> bool {
        let mut e = self.end.lock();
        self.dying.store(true, Ordering::Release);
        if e.is_none() {
            *e = Some(end);
            true
        } else {
            false
        }
    }

    /// Makes the domain the server of a channel: creates its endpoint (once)
    /// and installs it at `handles::INBOX` with the `RECV` right.
    pub fn inbox(&self) -> Result<Arc<Endpoint>, abi::Error> {
        let mut inbox = self.inbox.lock();
        if let Some(ep) = inbox.as_ref() {
            return Ok(ep.clone());
        }
        let ep = Endpoint::new(&self.name, self.context);
        let obj = KObject::Endpoint {
            ep: ep.clone(),
            badge: 0,
        };
        self.handles
            .lock()
            .install(abi::handles::INBOX.index(), obj, Rights(rights::RECV))?;
        *inbox = Some(ep.clone());
        Ok(ep)
    }

    /// Gives the domain a client handle to `server`'s endpoint under `name`
    /// (with the `GRANT` right too if `grant`).
    pub fn connect(&self, name: &str, server: &Domain, grant: bool) -> Result<Handle, abi::Error> {
        let ep = server.inbox()?;
        let obj = KObject::Endpoint { ep, badge: self.id };
        let r = if grant {
            rights::CALL | rights::GRANT
        } else {
            rights::CALL
        };
        let h = self.handles.lock().insert(obj, Rights(r))?;
        self.channels.lock().push((String::from(name), h));
        Ok(h)
    }

    /// Releases what the domain holds once its last thread is gone.
    pub fn teardown(&self) {
        // Devices first: their interrupts and DMA must stop before the
        // memory goes.
        crate::irq::release(&self.irqs);
        crate::pci::release(self.id, self.assigned());
        self.space.lock().destroy();
        if let Some(ep) = self.inbox.lock().take() {
            ep.kill();
        }
        self.channels.lock().clear();
        let mut h = self.handles.lock();
        for _ in h.drain() {}
        let mut a = ASIDS.lock();
        a.free.push(self.asid);
    }
}
