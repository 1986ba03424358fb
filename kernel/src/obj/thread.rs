//! Threads: a kernel stack, a saved stack pointer, a priority and a home
//! CPU.
//!
//! Invariants:
//! - A thread runs only on its home CPU (`cpu`), which never changes. Only
//!   that CPU dequeues it, so its kernel stack is never in use on two CPUs.
//! - `state` changes only under the home CPU's scheduler lock, so a wake-up
//!   and a block cannot cross: a wake that finds the thread not yet blocked
//!   sets `wake_pending`, which the next block consumes.
//! - While a thread is in the kernel, its user context is the
//!   [`TrapFrame`] at the top of its kernel stack.

use super::domain::Domain;
use super::endpoint::{Endpoint, Ipc};
use crate::arch::trap::TrapFrame;
use crate::mm::stack::KernelStack;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

/// Thread states.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// In a run queue.
    Ready = 0,
    /// On its CPU now.
    Running = 1,
    /// Waiting (sleep, and later IPC).
    Blocked = 2,
    /// Finished; waiting to be reaped.
    Dead = 3,
}

/// A thread.
pub struct Thread {
    /// Unique id.
    pub id: u64,
    /// Owning domain (`None` for idle threads).
    pub domain: Option<Arc<Domain>>,
    /// Scheduling priority (1..=31; idle threads 0).
    pub priority: u8,
    /// Home CPU.
    pub cpu: usize,
    kstack: KernelStack,
    saved_rsp: UnsafeCell<u64>,
    state: AtomicU8,
    /// A wake-up arrived before the thread blocked.
    pub wake_pending: AtomicBool,
    /// The thread must exit at its next return towards user mode.
    pub kill: AtomicBool,
    /// IPC state (see `obj::endpoint`).
    pub ipc: spin::Mutex<Ipc>,
    /// Blocked inside an IPC fast-path wait, with nothing on its kernel
    /// stack but its user frame: the fast path may resume it by returning
    /// to user mode with that frame (see `fastpath`). Read and written only
    /// by the home CPU, under its scheduler lock or during a switch.
    pub resumable: AtomicBool,
    /// The fast path's last endpoint lookups of this thread, one for `Call`
    /// and one for `Reply` with receive (see [`Remembered`]). Read and
    /// written only by the thread itself, in its own system calls, on its
    /// home CPU with interrupts off.
    remembered: UnsafeCell<[Remembered; 2]>,
}

/// A handle lookup the fast path remembers: `handle` named the domain
/// endpoint `ep` with the right the slot is for, and badge `badge`. A
/// domain's handle entries never change once installed (there is no
/// close; the table is emptied only by `Domain::teardown`, after the last
/// thread has gone), so a lookup stays true for the life of the thread.
pub struct Remembered {
    /// The raw handle (`u64::MAX`: nothing remembered; no handle decodes
    /// from it).
    pub handle: u64,
    /// The endpoint it names (a strong reference, so the endpoint outlives
    /// the slot whatever the table does).
    pub ep: Option<Arc<Endpoint>>,
    /// The badge of the handle.
    pub badge: u64,
}

impl Remembered {
    const NONE: Remembered = Remembered {
        handle: u64::MAX,
        ep: None,
        badge: 0,
    };
}

// SAFETY: `saved_rsp` is written only by the home CPU during a switch away
// from the thread and read only by the home CPU when switching to it;
// `remembered` is used only by the thread itself (see `Thread::remembered`);
// all other fields are immutable, atomic or locked.
unsafe impl Sync for Thread {}
// SAFETY: as above.
unsafe impl Send for Thread {}

/// A shared thread reference, compared by identity.
#[derive(Clone)]
pub struct ThreadRef(pub Arc<Thread>);

impl PartialEq for ThreadRef {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.0, &o.0)
    }
}

impl core::ops::Deref for ThreadRef {
    type Target = Thread;
    fn deref(&self) -> &Thread {
        &self.0
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

unsafe extern "C" {
    fn thread_start();
}

core::arch::global_asm!(
    r#"
    .section .text.thread_start, "ax"
    .global thread_start
thread_start:
    mov %rsp, %rdi
    call {first_run}
    jmp trap_return
    .text
"#,
    first_run = sym crate::sched::first_run,
    options(att_syntax)
);

impl Thread {
    /// A user thread that will enter user mode with `frame`.
    pub fn new_user(
        domain: Arc<Domain>,
        priority: u8,
        cpu: usize,
        frame: TrapFrame,
    ) -> Option<ThreadRef> {
        let kstack = KernelStack::new()?;
        let top = kstack.top();
        // Initial stack: the user frame at the top, then the six callee-saved
        // registers `switch_stacks` pops, and `thread_start` as its return
        // address.
        let frame_at = top - core::mem::size_of::<TrapFrame>() as u64;
        let words = frame_at - 8 * 7;
        // SAFETY: the stack is freshly mapped, writable and unused; we write
        // within its top 256 bytes.
        unsafe {
            core::ptr::write(frame_at as *mut TrapFrame, frame);
            let w = words as *mut u64;
            for i in 0..6 {
                w.add(i).write(0);
            }
            w.add(6).write(thread_start as *const () as u64);
        }
        Some(ThreadRef(Arc::new(Thread {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            domain: Some(domain),
            priority,
            cpu,
            kstack,
            saved_rsp: UnsafeCell::new(words),
            state: AtomicU8::new(State::Ready as u8),
            wake_pending: AtomicBool::new(false),
            kill: AtomicBool::new(false),
            ipc: spin::Mutex::new(Ipc::default()),
            resumable: AtomicBool::new(false),
            remembered: UnsafeCell::new([Remembered::NONE, Remembered::NONE]),
        })))
    }

    /// The idle thread of `cpu`, which adopts the stack the CPU runs on now.
    pub fn new_idle(cpu: usize, kstack: KernelStack) -> ThreadRef {
        ThreadRef(Arc::new(Thread {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            domain: None,
            priority: 0,
            cpu,
            kstack,
            saved_rsp: UnsafeCell::new(0),
            state: AtomicU8::new(State::Running as u8),
            wake_pending: AtomicBool::new(false),
            kill: AtomicBool::new(false),
            ipc: spin::Mutex::new(Ipc::default()),
            resumable: AtomicBool::new(false),
            remembered: UnsafeCell::new([Remembered::NONE, Remembered::NONE]),
        }))
    }

    /// Top of the kernel stack.
    pub fn kstack_top(&self) -> u64 {
        self.kstack.top()
    }

    /// The user frame at the top of the kernel stack (the thread's user
    /// registers while it is in the kernel).
    pub fn user_frame(&self) -> *mut TrapFrame {
        (self.kstack.top() - core::mem::size_of::<TrapFrame>() as u64) as *mut TrapFrame
    }

    /// Where the saved stack pointer lives.
    pub fn saved_rsp_slot(&self) -> *mut u64 {
        self.saved_rsp.get()
    }

    /// Current state.
    pub fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            0 => State::Ready,
            1 => State::Running,
            2 => State::Blocked,
            _ => State::Dead,
        }
    }

    /// Sets the state (under the home CPU's scheduler lock).
    pub fn set_state(&self, s: State) {
        self.state.store(s as u8, Ordering::Release);
    }

    /// The fast path's remembered lookup number `which` (0 for `Call`, 1
    /// for `Reply` with receive).
    ///
    /// # Safety
    /// Only the thread itself, in its own system call on its home CPU with
    /// interrupts off; the reference must be dropped before it switches
    /// away.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    pub unsafe fn remembered(&self, which: usize) -> &mut Remembered {
        // SAFETY: as the caller promises, nothing else uses the slots now.
        unsafe { &mut (*self.remembered.get())[which] }
    }

    /// Whether this is an idle thread.
    pub fn is_idle(&self) -> bool {
        self.domain.is_none()
    }
}

core::arch::global_asm!(
    r#"
    .section .text.switch_stacks, "ax"
    .global switch_stacks
/* switch_stacks(save: *mut u64 [rdi], next_rsp: u64 [rsi]) */
switch_stacks:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret
    .text
"#,
    options(att_syntax)
);

unsafe extern "C" {
    /// Saves callee-saved registers and the stack pointer into `*save`, then
    /// resumes the thread whose saved stack pointer is `next_rsp`.
    pub fn switch_stacks(save: *mut u64, next_rsp: u64);
}
