//! `input`: the hardware-free half of the input service.
//!
//! - [`keymap`]: evdev key codes to characters (US layout), with the
//!   modifier and caps-lock state.
//!
//! The `input-service` program (`src/main.rs`, bare-metal target only)
//! drives the virtio-input devices and sends what this library makes of
//! their events to the display server. The library is `no_std` and builds
//! anywhere, so its tests run on the host.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod keymap;

#[cfg(test)]
mod tests;
