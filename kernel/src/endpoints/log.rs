//! `abi::log`: text from user programs onto the kernel console, prefixed
//! with the CPU and the domain's name so nobody can pose as another domain.

use crate::obj::domain::Domain;
use crate::syscall::Reply;
use abi::{Error, MSG_WORDS, log as l};

pub fn call(caller: &Domain, method: u16, w: [u64; MSG_WORDS]) -> Result<Reply, Error> {
    match method {
        l::WRITE => write(caller, w[0], w[1], w[2]),
        _ => Err(Error::BadMethod),
    }
}

fn write(caller: &Domain, ptr: u64, len: u64, level: u64) -> Result<Reply, Error> {
    let level = match level {
        l::LEVEL_ERROR => log::Level::Error,
        l::LEVEL_WARN => log::Level::Warn,
        l::LEVEL_INFO => log::Level::Info,
        l::LEVEL_DEBUG => log::Level::Debug,
        _ => return Err(Error::InvalidArgument),
    };
    if len > l::MAX_LEN {
        return Err(Error::InvalidArgument);
    }
    if len == 0 {
        return Ok(Reply::word(0));
    }
    let mut buf = [0u8; l::MAX_LEN as usize];
    let buf = &mut buf[..len as usize];
    caller.space.lock().copy_from_user(ptr, buf)?;
    if level <= log::max_level() {
        let text = Sanitized(buf);
        crate::console::write_line(
            level,
            format_args!("{}", caller.name),
            format_args!("{text}"),
        );
    }
    Ok(Reply::word(len))
}

/// User text as printed: invalid UTF-8 becomes U+FFFD, control characters
/// (which could forge log lines or terminal escapes) become `?`, and a
/// trailing newline is dropped.
struct Sanitized<'a>(&'a [u8]);

impl core::fmt::Display for Sanitized<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let bytes = self.0.strip_suffix(b"\n").unwrap_or(self.0);
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                f.write_fmt(format_args!(
                    "{}",
                    if c.is_control() && c != '\t' { '?' } else { c }
                ))?;
            }
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}
