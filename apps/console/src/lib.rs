//! `console`: the hardware-free logic of the terminal app
//! (`apps/demo/src/bin/terminal.rs`), kept here so the host can test it.
//!
//! - [`editor`]: the input line, its cursor and command history, and the
//!   keys (as the window protocol codes them) that edit it;
//! - [`scrollback`]: the bounded rows of text above the input line;
//! - [`command`]: command-line parsing, with every count bounded;
//! - [`report`]: sizes, busy percentages, medians, kernel method names and
//!   audit records as text.
//!
//! Nothing here makes a system call: the terminal does those and hands
//! the results over.

#![cfg_attr(not(test), no_std)]
#![warn(missing_docs)]

extern crate alloc;

pub mod command;
pub mod editor;
pub mod report;
pub mod scrollback;

#[cfg(test)]
mod tests;
