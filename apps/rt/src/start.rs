//! Program start-up and the panic handler.
//!
//! The kernel enters `_start` with `rsp` = [`abi::USER_STACK_TOP`], `rdi` = the
//! program argument and `rsi` = the domain id. `_start` clears the frame
//! pointer (so backtraces end here), aligns the stack as the SysV ABI wants
//! and calls `rt_start`, which records the argument and domain id, maps the
//! heap, runs the program's `main` (named by [`crate::entry!`]) and ends the
//! domain with main's return value.

use crate::kernel;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU64, Ordering};

static ARG: AtomicU64 = AtomicU64::new(0);
static DOMAIN_ID: AtomicU64 = AtomicU64::new(0);

/// The program argument from the solution description.
#[must_use]
pub fn arg() -> u64 {
    ARG.load(Ordering::Relaxed)
}

/// The id of this program's domain, as the kernel passed it at start.
#[must_use]
pub fn domain_id() -> u64 {
    DOMAIN_ID.load(Ordering::Relaxed)
}

unsafe extern "Rust" {
    /// The program's main, defined by `rt::entry!`.
    fn __tessera_main() -> i32;
}

/// The program's ELF entry point.
///
/// # Safety
///
/// Only the kernel may jump here, once, on a fresh stack with the registers
/// the ABI documents.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    // rdi and rsi already hold rt_start's two arguments.
    core::arch::naked_asm!(
        "xor ebp, ebp",
        "and rsp, -16",
        "call {rt_start}",
        "ud2",
        rt_start = sym rt_start,
    )
}

/// Runs the program: records `arg` and `domain_id`, sets up the heap, calls
/// main and exits with its return code.
extern "C" fn rt_start(arg: u64, domain_id: u64) -> ! {
    ARG.store(arg, Ordering::Relaxed);
    DOMAIN_ID.store(domain_id, Ordering::Relaxed);
    crate::heap::init();
    // SAFETY: `rt::entry!` defines `__tessera_main` with exactly this
    // signature; a program without it fails to link.
    let code = unsafe { __tessera_main() };
    kernel::exit(code.into())
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    match info.location() {
        Some(loc) => crate::error!(
            "panicked at {}:{}: {}",
            loc.file(),
            loc.line(),
            info.message()
        ),
        None => crate::error!("panicked: {}", info.message()),
    }
    kernel::exit(abi::exit::PANIC)
}
