//! `abi::time`: monotonic time and sleeping.

use crate::syscall::Reply;
use crate::time::now_ns;
use abi::{Error, MSG_WORDS, time as t};

pub fn call(method: u16, w: [u64; MSG_WORDS]) -> Result<Reply, Error> {
    match method {
        t::NOW => Ok(Reply::word(now_ns())),
        t::WALL => Ok(Reply::word(crate::rtc::wall_ns())),
        t::SLEEP => {
            crate::sched::sleep_until(now_ns().saturating_add(w[0]));
            Ok(Reply::empty())
        }
        _ => Err(Error::BadMethod),
    }
}
