//! Hardware-free SMP logic that the kernel links: CPU sets and affinity
//! resolution ([`cpuset`]), the per-priority run queue ([`runqueue`]), the
//! per-core scheduling state machine ([`sched`]), deadline-ordered sleep
//! queues ([`sleepq`]) and the TLB-shootdown mailbox protocol ([`tlb`]).
//!
//! Nothing here touches hardware: the kernel supplies time, CPU numbers and the
//! actual flush/IPI operations, so every module is tested on the host with
//! `cargo test` (std threads stand in for CPUs in the TLB tests). There is no
//! global lock: each [`sched::CoreSched`] belongs to one core and the kernel
//! wraps it in that core's lock; [`tlb::Mailboxes`] synchronises per mailbox.
//! No function panics on bad input (out-of-range CPUs or priorities are
//! clamped or ignored, as each item documents), and the crate has no `unsafe`.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod cpuset;
pub mod runqueue;
pub mod sched;
pub mod sleepq;
pub mod tlb;

pub use cpuset::{CpuSet, MAX_CPUS, pick_cpu, resolve_affinity};
pub use runqueue::{NUM_PRIORITIES, RunQueue};
pub use sched::CoreSched;
pub use sleepq::SleepQueue;
pub use tlb::{Flush, MAILBOX_CAPACITY, Mailboxes, Ticket};
