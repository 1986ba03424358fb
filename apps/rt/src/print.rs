//! Formatted logging: `println!`, `info!`, `warn!`, `error!`, `debug!`.
//!
//! Each macro formats into a buffer of [`abi::log::MAX_LEN`] bytes on the
//! stack (no heap, so it works before the heap exists and inside the panic
//! handler) and sends it with one `log::WRITE`, so a line from one thread is
//! never interleaved with another's. Text beyond the buffer is dropped at a
//! character boundary; the line stays valid UTF-8.

use crate::kernel::{self, Level};
use core::fmt::{self, Write};

const CAPACITY: usize = abi::log::MAX_LEN as usize;

/// A fixed-size line buffer that keeps valid UTF-8 and truncates silently.
struct LineBuf {
    bytes: [u8; CAPACITY],
    len: usize,
}

impl LineBuf {
    fn as_str(&self) -> &str {
        // Only whole `&str` prefixes cut at char boundaries are ever copied
        // in, so the contents are always UTF-8; the fallback cannot happen.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let part = kernel::truncate(s, CAPACITY - self.len);
        self.bytes[self.len..self.len + part.len()].copy_from_slice(part.as_bytes());
        self.len += part.len();
        Ok(())
    }
}

/// Formats `args` and writes the result to the kernel log at `level`.
/// Errors are ignored: there is nowhere else to report them.
pub fn write_log(level: Level, args: fmt::Arguments<'_>) {
    let mut line = LineBuf {
        bytes: [0; CAPACITY],
        len: 0,
    };
    // LineBuf::write_str never fails; a Display impl that fails just ends
    // the line early.
    let _ = line.write_fmt(args);
    let _ = kernel::log(level, line.as_str());
}

/// Logs a formatted line at info level.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::print::write_log($crate::kernel::Level::Info, format_args!($($arg)*))
    };
}

/// Logs a formatted line at info level.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => {
        $crate::print::write_log($crate::kernel::Level::Info, format_args!($($arg)*))
    };
}

/// Logs a formatted line at warning level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::print::write_log($crate::kernel::Level::Warn, format_args!($($arg)*))
    };
}

/// Logs a formatted line at error level.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => {
        $crate::print::write_log($crate::kernel::Level::Error, format_args!($($arg)*))
    };
}

/// Logs a formatted line at debug level.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        $crate::print::write_log($crate::kernel::Level::Debug, format_args!($($arg)*))
    };
}
