//! `abi::audit`: the audit ring, one record per call. Who may read it is
//! the policy's decision (the request is checked like any other).

use crate::syscall::Reply;
use abi::{Error, MSG_WORDS, audit as a};

pub fn call(method: u16, w: [u64; MSG_WORDS]) -> Result<Reply, Error> {
    match method {
        a::READ => {
            let r = crate::security::audit_read(w[0]).ok_or(Error::NotFound)?;
            Ok(Reply {
                tag: 0,
                words: r.to_words(),
                badge: None,
            })
        }
        _ => Err(Error::BadMethod),
    }
}
