//! `abi::stats`: per-CPU counters and memory figures for monitors. Reads only: every counter
//! is an atomic its CPU adds to, so a reader on another CPU sees a recent
//! value without stopping it.

use crate::percpu;
use crate::syscall::Reply;
use abi::{Error, MSG_WORDS, stats as s};
use core::sync::atomic::Ordering;

pub fn call(method: u16, w: [u64; MSG_WORDS]) -> Result<Reply, Error> {
    if method == s::MEMORY {
        let (free, total) = crate::mm::frame_stats();
        let page = abi::PAGE_SIZE;
        return Ok(Reply {
            tag: 0,
            words: [
                free as u64 * page,
                total as u64 * page,
                crate::mm::stack::pooled_bytes(),
                crate::mm::heap::used_bytes(),
            ],
            badge: None,
        });
    }
    let online = percpu::online();
    let pc = usize::try_from(w[0])
        .ok()
        .filter(|&i| i < online)
        .and_then(percpu::get)
        .ok_or(Error::InvalidArgument)?;
    let read = |c: &core::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let fast = read(&pc.fast_taken);
    let words = match method {
        s::IPC => [
            fast + read(&pc.ipc_checked),
            fast,
            fast + read(&pc.verdict_hits),
            read(&pc.evaluations),
        ],
        s::CPU => [
            pc.idle_time.read(crate::time::now_ns()),
            read(&pc.switches) + fast,
            read(&pc.timer_ticks),
            online as u64,
        ],
        _ => return Err(Error::BadMethod),
    };
    Ok(Reply {
        tag: 0,
        words,
        badge: None,
    })
}
