//! `abi::mem`: anonymous memory in the caller's address space.

use crate::obj::domain::Domain;
use crate::syscall::Reply;
use abi::{Error, MSG_WORDS, mem as m};

pub fn call(caller: &Domain, method: u16, w: [u64; MSG_WORDS]) -> Result<Reply, Error> {
    match method {
        m::MAP => {
            let result = caller.space.lock().map_anon(w[0], w[1], w[2]);
            result.map(Reply::word).map_err(|f| {
                if !f.frames.is_empty() {
                    // The pages were visible for a moment, so another thread
                    // of the domain may have cached them: as for `UNMAP`.
                    crate::tlb::shootdown(caller, f.start, f.frames.len() as u64);
                    f.frames.into_iter().for_each(crate::mm::free_frame);
                }
                f.error
            })
        }
        m::UNMAP => {
            let frames = caller.space.lock().unmap_anon(w[0], w[1])?;
            // Other CPUs may still cache the old translations: shoot them
            // down (without holding the address-space lock, which they might
            // be spinning on) before the frames can be reused.
            crate::tlb::shootdown(caller, w[0], w[1] / abi::PAGE_SIZE);
            for pa in frames {
                crate::mm::release_user_frame(pa);
            }
            Ok(Reply::empty())
        }
        m::STATS => {
            let space = caller.space.lock();
            let (free, _) = crate::mm::frame_stats();
            Ok(Reply {
                tag: 0,
                badge: None,
                words: [
                    space.anon_bytes,
                    space.quota,
                    free as u64 * abi::PAGE_SIZE,
                    space.table_bytes,
                ],
            })
        }
        _ => Err(Error::BadMethod),
    }
}
