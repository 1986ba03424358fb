//! Threads: [`spawn`] a closure on a fresh stack with a guard page below it.
//!
//! A stack is `mem::MAP`ped with one extra page, whose lowest page is then
//! unmapped again, so an overflow faults instead of silently corrupting the
//! mapping below. The closure is boxed and its address passed in `rdi` to an
//! assembly trampoline that aligns the stack and calls `thread_main`, which
//! runs the closure and ends the thread.
//!
//! There is no join yet, and a finished thread's stack stays mapped (a thread
//! cannot unmap the stack it is running on). A panic in any thread ends the
//! whole domain, as does `main` returning.

use crate::kernel;
use abi::Error;
use alloc::boxed::Box;

/// Priority of threads made by [`spawn`]: 0 asks the kernel for the
/// domain's own priority (see `abi::task::THREAD_CREATE`).
pub const DEFAULT_PRIORITY: u8 = 0;

const PAGE: u64 = abi::PAGE_SIZE;

/// What the trampoline receives: a thin pointer to the boxed closure.
type Payload = Box<dyn FnOnce() + Send + 'static>;

/// Starts `f` on a new thread with a stack of at least `stack_size` bytes at
/// [`DEFAULT_PRIORITY`]. Returns the thread id.
pub fn spawn(f: impl FnOnce() + Send + 'static, stack_size: usize) -> Result<u64, Error> {
    spawn_with_priority(f, stack_size, DEFAULT_PRIORITY)
}

/// Starts `f` on a new thread at `priority` (at most the domain's own; 0
/// means the domain's own).
pub fn spawn_with_priority(
    f: impl FnOnce() + Send + 'static,
    stack_size: usize,
    priority: u8,
) -> Result<u64, Error> {
    let size = (stack_size as u64)
        .max(PAGE)
        .checked_next_multiple_of(PAGE)
        .ok_or(Error::InvalidArgument)?;
    let total = size.checked_add(PAGE).ok_or(Error::InvalidArgument)?;
    let base = kernel::map(0, total, abi::mem::PROT_READ | abi::mem::PROT_WRITE)?;
    // SAFETY: the lowest page of a mapping made just now, which nothing uses.
    if let Err(e) = unsafe { kernel::unmap(base, PAGE) } {
        // SAFETY: as above, the whole mapping is still unused.
        let _ = unsafe { kernel::unmap(base, total) };
        return Err(e);
    }
    let stack_top = base + total;

    let payload: *mut Payload = Box::into_raw(Box::new(Box::new(f) as Payload));
    // SAFETY: `thread_entry` never returns and expects a `*mut Payload` in
    // rdi; the stack [base + PAGE, stack_top) belongs to the new thread alone
    // and is never unmapped; stack_top is page-aligned.
    let started = unsafe {
        kernel::thread_create(
            thread_entry as *const () as u64,
            stack_top,
            payload as u64,
            priority,
        )
    };
    match started {
        Ok(id) => Ok(id),
        Err(e) => {
            // SAFETY: the thread never started, so we still own the box and
            // the stack.
            unsafe {
                drop(Box::from_raw(payload));
                let _ = kernel::unmap(base + PAGE, size);
            }
            Err(e)
        }
    }
}

/// First code of every spawned thread: `rdi` holds the payload pointer.
///
/// # Safety
///
/// Only the kernel may jump here, with `rdi` from [`spawn_with_priority`].
#[unsafe(naked)]
unsafe extern "C" fn thread_entry() -> ! {
    core::arch::naked_asm!(
        "xor ebp, ebp",
        "and rsp, -16",
        "call {main}",
        "ud2",
        main = sym thread_main,
    )
}

/// Runs the thread's closure, then ends the thread.
extern "C" fn thread_main(payload: *mut Payload) -> ! {
    // SAFETY: `spawn_with_priority` made this pointer with Box::into_raw and
    // handed it to exactly this thread.
    let f = unsafe { Box::from_raw(payload) };
    f();
    kernel::thread_exit()
}
