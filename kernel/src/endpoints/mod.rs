//! Kernel endpoints: the services every domain reaches with `Call`.
//!
//! Each method validates its register words as `abi` documents and returns
//! an `abi::Error` for anything wrong. No path here panics on user input.

mod audit;
mod log;
mod mem;
mod task;
mod time;

use crate::obj::domain::{Domain, Service};
use crate::syscall::Reply;
use abi::{Error, MSG_WORDS};

/// Whether kernel service `service` has method `method` (checked before the
/// security module, so an unknown method is `BadMethod`, not `Denied`).
pub fn has_method(service: Service, method: u16) -> bool {
    use abi::{audit as a, log as l, mem as m, task as t, time as tm};
    match service {
        Service::Log => method == l::WRITE,
        Service::Task => matches!(
            method,
            t::EXIT | t::YIELD | t::THREAD_CREATE | t::THREAD_EXIT | t::INFO | t::CHANNEL
        ),
        Service::Time => matches!(method, tm::NOW | tm::SLEEP),
        Service::Memory => matches!(method, m::MAP | m::UNMAP | m::STATS),
        Service::Audit => method == a::READ,
    }
}

/// Runs method `method` of kernel service `service` for `caller`.
pub fn call(
    caller: &Domain,
    service: Service,
    method: u16,
    w: [u64; MSG_WORDS],
) -> Result<Reply, Error> {
    match service {
        Service::Log => log::call(caller, method, w),
        Service::Task => task::call(caller, method, w),
        Service::Time => time::call(method, w),
        Service::Memory => mem::call(caller, method, w),
        Service::Audit => audit::call(method, w),
    }
}
