//! `display-server`: the user-space virtio-gpu driver and compositor (see
//! `program.rs`).
//!
//! The program runs only on Tessera (`x86_64-unknown-none`). On any other
//! target this file builds a stub that says so, which lets the package, and
//! with it the host tests of its library, live among the host crates.

#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod program;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("display-server runs only on Tessera (target x86_64-unknown-none)");
    std::process::exit(1);
}
