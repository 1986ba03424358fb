//! Kernel endpoints: the services every domain reaches with `Call`.
//!
//! Each method validates its register words as `abi` documents and returns
//! an `abi::Error` for anything wrong. No path here panics on user input.

mod audit;
mod log;
mod mem;
mod pci;
mod stats;
mod task;
mod time;

use crate::obj::domain::{Domain, Service};
use crate::syscall::Reply;
use abi::{Error, MSG_WORDS};

/// Whether kernel service `service` has method `method` (checked before the
/// security module, so an unknown method is `BadMethod`, not `Denied`). The
/// method lists are the ABI's (`abi::kernel_ifaces`), which the policy
/// compiler reads too.
pub fn has_method(service: Service, method: u16) -> bool {
    abi::kernel_ifaces::has_method(service.interface(), method)
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
        Service::Pci => pci::call_pci(caller, method, w),
        Service::Mmio => pci::call_mmio(caller, method, w),
        Service::Dma => pci::call_dma(caller, method, w),
        Service::Irq => pci::call_irq(caller, method, w),
        Service::Stats => stats::call(method, w),
    }
}
