//! The TLB-shootdown mailbox protocol: how one CPU asks others to flush
//! stale translations and learns that they did.
//!
//! Every CPU owns one cache-line-padded mailbox. The initiator changes
//! the page tables, [`Mailboxes::post`]s a [`Flush`] to each target (getting a
//! [`Ticket`]), sends the IPIs, then [`Mailboxes::wait`]s. Each target's IPI
//! handler calls [`Mailboxes::service`], which takes every pending request,
//! applies it and publishes the mailbox generation it has completed.
//!
//! Invariants:
//! * Every post bumps the mailbox's `generation` under its lock, so each
//!   ticket entry names the exact batch its request belongs to.
//! * `done` only grows, and reaches generation `g` only after every request
//!   posted with generation `<= g` has been applied (requests are taken under
//!   the lock together with the generation they cover, and `done` is
//!   published with Release after `apply` returns). Hence [`Mailboxes::is_done`]
//!   never answers true early.
//! * No request is lost: a mailbox holding [`MAILBOX_CAPACITY`] requests
//!   degrades to a single [`Flush::All`], which covers everything.
//! * At most one servicer works on a mailbox at a time (`servicing` flag); a
//!   second caller returns at once, and the active one re-checks for requests
//!   posted meanwhile before it leaves, so an IPI that arrives during
//!   servicing is not lost.
//!
//! Waiting services the waiter's own mailbox, so two CPUs shooting each other
//! down with interrupts disabled cannot deadlock. `post` takes a spin lock
//! that the IPI handler also takes, so the kernel calls `post` with
//! interrupts disabled (as shootdowns always are); `service` never blocks on a
//! servicer it interrupted.

use crate::cpuset::{CpuSet, MAX_CPUS};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crossbeam_utils::{Backoff, CachePadded};
use spin::Mutex;

/// Requests a mailbox holds before it degrades to [`Flush::All`].
pub const MAILBOX_CAPACITY: usize = 8;

/// What a target CPU must drop from its TLB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flush {
    /// `pages` 4 KiB pages from virtual address `start` in address space `asid`.
    Range {
        /// The PCID-tagged address space.
        asid: u16,
        /// First virtual address.
        start: u64,
        /// Number of 4 KiB pages.
        pages: u64,
    },
    /// Every translation of address space `asid`.
    Asid(u16),
    /// Every translation, global ones included.
    All,
}

/// The requests posted to one CPU and not yet taken.
struct Pending {
    reqs: [Flush; MAILBOX_CAPACITY],
    len: usize,
    /// Set when a request did not fit (or was `All`): flush everything.
    overflowed: bool,
    /// Generation of the newest post.
    generation: u64,
}

impl Pending {
    fn push(&mut self, flush: Flush) {
        if self.overflowed {
            return;
        }
        match self.reqs.get_mut(self.len) {
            Some(slot) if flush != Flush::All => {
                *slot = flush;
                self.len += 1;
            }
            _ => {
                self.overflowed = true;
                self.len = 0;
            }
        }
    }
}

/// One CPU's mailbox.
struct Mailbox {
    pending: Mutex<Pending>,
    /// Mirror of `pending.generation`, readable without the lock.
    posted: AtomicU64,
    /// Newest generation whose requests have all been applied.
    done: AtomicU64,
    /// Held by the one CPU currently servicing this mailbox.
    servicing: AtomicBool,
}

impl Mailbox {
    fn new() -> Self {
        Self {
            pending: Mutex::new(Pending {
                reqs: [Flush::All; MAILBOX_CAPACITY],
                len: 0,
                overflowed: false,
                generation: 0,
            }),
            posted: AtomicU64::new(0),
            done: AtomicU64::new(0),
            servicing: AtomicBool::new(false),
        }
    }
}

/// The shootdown mailboxes of every CPU.
pub struct Mailboxes {
    boxes: Vec<CachePadded<Mailbox>>,
}

/// What a poster waits for: for each target CPU, the mailbox generation its
/// request was posted as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    targets: CpuSet,
    generations: [u64; MAX_CPUS],
}

impl Ticket {
    /// The CPUs the request was actually posted to (requested targets that
    /// have a mailbox): the ones to send IPIs to.
    pub fn targets(&self) -> CpuSet {
        self.targets
    }
}

impl Mailboxes {
    /// Mailboxes for CPUs `0..cpus` (at most [`MAX_CPUS`]).
    pub fn new(cpus: usize) -> Self {
        let boxes = (0..cpus.min(MAX_CPUS))
            .map(|_| CachePadded::new(Mailbox::new()))
            .collect();
        Self { boxes }
    }

    /// Posts `flush` to every cpu in `targets` (the caller then sends IPIs to
    /// them). Returns a ticket for waiting. A mailbox that overflows its fixed
    /// request capacity ([`MAILBOX_CAPACITY`]) degrades to `Flush::All` for
    /// that cpu — never loses a request. CPUs without a mailbox are skipped
    /// and left out of the ticket.
    pub fn post(&self, targets: CpuSet, flush: Flush) -> Ticket {
        let mut ticket = Ticket {
            targets: CpuSet::empty(),
            generations: [0; MAX_CPUS],
        };
        for cpu in targets.iter() {
            let Some(mb) = self.boxes.get(cpu) else {
                continue;
            };
            let generation = {
                let mut p = mb.pending.lock();
                p.push(flush);
                p.generation += 1;
                mb.posted.store(p.generation, Ordering::SeqCst);
                p.generation
            };
            ticket.targets.insert(cpu);
            // `iter` yields only cpus < MAX_CPUS, so the index is in bounds.
            if let Some(g) = ticket.generations.get_mut(cpu) {
                *g = generation;
            }
        }
        ticket
    }

    /// Run by `cpu` (its IPI handler): takes every pending request, calls
    /// `apply` for each, then marks them complete. An overflowed mailbox
    /// yields one `Flush::All`. Returns at once if `cpu` has no mailbox or
    /// another servicer is active on it (that one finishes the work).
    pub fn service(&self, cpu: usize, mut apply: impl FnMut(Flush)) {
        let Some(mb) = self.boxes.get(cpu) else {
            return;
        };
        loop {
            if mb
                .servicing
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                return;
            }
            let (reqs, len, overflowed, generation) = {
                let mut p = mb.pending.lock();
                let taken = (p.reqs, p.len, p.overflowed, p.generation);
                p.len = 0;
                p.overflowed = false;
                taken
            };
            if overflowed {
                apply(Flush::All);
            } else {
                reqs.iter().take(len).for_each(|&f| apply(f));
            }
            mb.done.fetch_max(generation, Ordering::Release);
            mb.servicing.store(false, Ordering::SeqCst);
            // A post (and its IPI) that came while we held the flag may have
            // found the flag taken; pick it up now rather than strand it.
            if mb.posted.load(Ordering::SeqCst) <= generation {
                return;
            }
        }
    }

    /// True once every target cpu has serviced the requests in the ticket.
    pub fn is_done(&self, t: &Ticket) -> bool {
        t.targets.iter().all(|cpu| {
            let want = t.generations.get(cpu).copied().unwrap_or(0);
            self.boxes
                .get(cpu)
                .is_none_or(|mb| mb.done.load(Ordering::Acquire) >= want)
        })
    }

    /// Spins (with crossbeam Backoff) until done. While waiting it calls
    /// `service(me, apply)` on the waiting cpu's own mailbox so two cpus
    /// shooting each other down with interrupts disabled cannot deadlock.
    pub fn wait(&self, t: &Ticket, me: usize, mut apply: impl FnMut(Flush)) {
        let backoff = Backoff::new();
        while !self.is_done(t) {
            self.service(me, &mut apply);
            backoff.snooze();
            // Host tests run more "CPUs" than the machine has cores; once
            // backoff saturates, let the OS run the threads we wait for.
            #[cfg(test)]
            if backoff.is_completed() {
                std::thread::yield_now();
            }
        }
    }
}

#[cfg(test)]
mod tests;
