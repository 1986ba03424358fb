//! `lonely`: a domain with no channels tries to reach other domains'
//! endpoints anyway, by guessing handles.
//!
//! It calls every handle slot (0..1024) at generations 0..8 with a request
//! on a user interface. Only the kernel endpoints (`handles::KERNEL`) exist
//! in its table, and they refuse a user interface with `BadInterface`; every
//! other guess
//! must get `BadHandle`. `Recv` on the inbox slot must get `BadHandle` too,
//! since this domain serves nothing. Exits 0 if every guess failed that way.

#![no_std]
#![no_main]

use rt::abi::{Error, Handle, Message, Tag, handles};
use rt::sys;

rt::entry!(main);

fn main() -> i32 {
    let kernel = handles::KERNEL;
    let mut guesses = 0u64;
    let mut bad = 0u64;
    for index in 0..1024u16 {
        for generation in 0..8u16 {
            let h = Handle::new(index, generation);
            let r = sys::call(h, Message::new(Tag::new(0x100, 1), [1, 2, 3, 4]));
            guesses += 1;
            let expected = if kernel.contains(&h) {
                Error::BadInterface
            } else {
                Error::BadHandle
            };
            if r.err() != Some(expected) {
                rt::error!("lonely: handle {:#x} answered {:?}", h.0, r);
                bad += 1;
            }
        }
    }
    if sys::recv(handles::INBOX).err() != Some(Error::BadHandle) {
        rt::error!("lonely: Recv on an inbox it does not have did not fail with BadHandle");
        bad += 1;
    }
    rt::println!(
        "lonely: {} guessed handles, {} reached anything",
        guesses,
        bad
    );
    if bad == 0 { 0 } else { 1 }
}
