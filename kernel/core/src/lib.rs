//! Hardware-free kernel logic, built for the host so it can be tested there.
//!
//! The kernel binary links this crate for everything that does not touch
//! hardware: the physical frame allocator, the page-table builder, user
//! address-space regions, the ELF loader, handle tables, PCI
//! configuration-space logic (BAR sizing, capability walks, device matching
//! and the filter on drivers' configuration writes), and the boot-image
//! format that xtask writes and the kernel reads. Nothing here uses `unsafe`
//! except the page-table walker, which dereferences frames through a
//! caller-supplied physical-memory window.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

extern crate alloc;

pub mod bootimage;
pub mod elf;
pub mod frame;
pub mod handle;
pub mod paging;
pub mod pci;
pub mod region;
pub mod rtc;
pub mod seqring;
