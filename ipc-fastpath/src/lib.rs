//! The logic of Tessera's IPC fast path, kept apart from the kernel so the
//! host can test and benchmark it.
//!
//! A register-only `Call` (or `Reply` with receive) between two domains on
//! the same core can skip the scheduler's run queue and switch straight to
//! the partner thread, but only when every item of the checklist holds
//! (seL4's fast path is the model). Each item is a small function here; the
//! kernel (`kernel/src/fastpath.rs`) gathers the facts, asks these
//! functions in order, and falls back to the slow path on the first
//! [`Miss`]. The slow path is always correct on its own; the fast path is
//! an optimisation that must give the same outcome.
//!
//! The checklist, in the order the kernel applies it:
//!
//! 1. the fast path is enabled (boot option `fastpath=off` turns it off);
//! 2. the tag carries no out-of-line part and exactly the expected flags
//!    ([`tag_ok`]), and names a user interface;
//! 3. the handle names a domain endpoint with the needed right;
//! 4. the per-core [`VerdictCache`] holds an allow for (source context,
//!    endpoint, method) stamped with the current policy generation, and the
//!    message words have the method's shape;
//! 5. the partner thread waits on this core in a state the fast path can
//!    resume ([`partner_ok`]), and no queued thread outranks it
//!    ([`priority_allows`]);
//! 6. nothing is pending for the current thread or core (a wake-up, a
//!    kill, a reschedule request).
//!
//! Kernel calls (a `Call` on a kernel endpoint for a pure method) take a
//! lane of their own: both their verdicts, request and response, come
//! from one [`PairCache`] entry made from two [`VerdictCache`] allows.
//!
//! The verdict cache holds only verdicts the policy engine marks static
//! (they depend on nothing but the key), never an audited decision, never
//! a denial. Entries carry the generation of the policy's model state when
//! they were made; any state change moves the generation on, so every
//! older entry stops matching at once.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cache;
mod checklist;
mod pairs;

pub use cache::{Bounds, Key, SLOTS, Shape, VerdictCache, cacheable, decide};
pub use checklist::{Miss, Partner, PartnerFacts, partner_ok, priority_allows, tag_ok};
pub use pairs::{PAIR_SLOTS, Pair, PairCache};
