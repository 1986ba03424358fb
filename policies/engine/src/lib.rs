//! The Tessera policy decision engine: the part of the security module the
//! kernel links.
//!
//! The policy compiler (`tessera-policy`) turns a policy written in the
//! Tessera policy language into decision tables ([`tables::Tables`], encoded
//! as bytes). This crate decodes and validates those bytes once
//! ([`Policy::from_bytes`]) and then answers two questions:
//!
//! - [`Policy::evaluate`]: the full decision for one event (slow path). It
//!   checks the message shape against the method signature first, then the
//!   rules, and fires the state-machine transitions of the allowing rule on a
//!   [`ModelState`].
//! - [`Policy::static_verdict`]: the precomputed verdict for a
//!   (kind, source, destination, interface, method) key when only static
//!   rules can match it, for the kernel's verdict cache.
//!
//! Design rules: no parsing of source text, no `unsafe`, no panics on any
//! input (bad bytes are an [`EngineError`], bad events a deny), `no_std` with
//! `alloc`.

#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod eval;
pub mod tables;

pub use eval::{MAX_STATIC_ENTRIES, MAX_STATIC_WORK, ModelState, Policy};
pub use tables::EngineError;

/// `Decision::rule` when no rule decided (default deny, malformed message).
pub const NO_RULE: u16 = u16::MAX;

/// Method number of an error reply (the same as `idl::ERROR_METHOD`): a
/// response with this method carries an [`abi::Error`] code in word 0 and
/// zeros after it. The compiler gives every interface a signature for it, so
/// response rules whose method is `*` match error replies. A request with
/// this method is always malformed.
pub const ERROR_METHOD: u16 = 0xffff;

/// The kind of event the security module is asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A client's Call to a server (or to a kernel endpoint).
    Request,
    /// A server's Reply to its client (or the kernel's reply).
    Response,
    /// A program being started: `src` is the starter, `dst` the program.
    Execute,
}

/// One event to decide. `src` and `dst` are context indices in the order of
/// the compiler's context list. For a response, `src` is the server and `dst`
/// the client. For execute events, `iface`, `method` and `words` are ignored.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// What happens.
    pub kind: EventKind,
    /// Source context index.
    pub src: u16,
    /// Destination context index.
    pub dst: u16,
    /// Interface number from the message tag.
    pub iface: u16,
    /// Method number from the message tag.
    pub method: u16,
    /// The message's data words.
    pub words: [u64; 4],
    /// The message's out-of-line part (checked against the method's
    /// signature like the words).
    pub ool: tables::Ool,
}

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The message may pass.
    Allow,
    /// The message is refused.
    Deny,
}

/// The outcome of a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Allow or deny.
    pub verdict: Verdict,
    /// Record in the audit ring (always true for denials).
    pub audit: bool,
    /// The same verdict holds for every well-shaped message with this
    /// (kind, src, dst, iface, method); a cache may keep it.
    pub cacheable: bool,
    /// Index of the deciding rule in source order, or [`NO_RULE`].
    pub rule: u16,
    /// The shape check failed; no rule ran.
    pub malformed: bool,
}
