//! `display`: the hardware-free half of the display server.
//!
//! - [`desktop`]: windows, their server-drawn frames and labels, focus,
//!   input routing and damage composition: every promise of the trusted
//!   path (input only to the focused window or the window under the
//!   pointer, focus only by a click or the secure chord, client pixels only
//!   inside their own content area, labels only the server draws) is kept
//!   here.
//! - [`window`]: one window: the client's pixel memory, frame geometry,
//!   label colour and event queue.
//! - [`frame`]: the BGRA frame buffer as an embedded-graphics draw target.
//!
//! The `display-server` program (`src/main.rs`, bare-metal target only)
//! drives virtio-gpu and serves the window protocol around this library.
//! The library itself is `no_std` + `alloc` and builds anywhere, so its
//! tests (`tests/`) and benches (`benches/`) run on the host.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

extern crate alloc;

pub mod desktop;
pub mod frame;
pub mod window;
