//! Trap entry: the IDT, one stub per vector, the `syscall` entry, and the
//! common frame they all build.
//!
//! Every entry into the kernel from user mode leaves a [`TrapFrame`] at the
//! top of the current thread's kernel stack, in the same layout whether it
//! came from an exception, an interrupt or `syscall`. A thread's user context
//! is therefore always "the frame at the top of its kernel stack", and a new
//! thread starts by returning through `trap_return` with a frame built by
//! hand.
//!
//! The kernel runs with interrupts disabled (the `syscall` mask clears IF and
//! all gates are interrupt gates). Only the idle loop enables them. This
//! keeps every kernel path free of same-CPU re-entrancy.

use core::arch::global_asm;

/// Vector number recorded in the frame for a `syscall` entry.
pub const SYSCALL_VECTOR: u64 = 0x100;
/// User code selector (GDT entry 4, RPL 3).
pub const USER_CS: u64 = 0x23;
/// User data selector (GDT entry 3, RPL 3).
pub const USER_DS: u64 = 0x1b;

/// Register state saved on kernel entry. Field order matches the pushes in
/// `trap_common` and `syscall_entry` (lowest address first).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl TrapFrame {
    /// Whether the frame was saved from user mode.
    pub fn came_from_user(&self) -> bool {
        self.cs & 3 == 3
    }

    /// A frame that enters user mode at `rip` with stack `rsp`, `rdi = arg0`,
    /// `rsi = arg1`, interrupts enabled.
    pub fn new_user(rip: u64, rsp: u64, arg0: u64, arg1: u64) -> TrapFrame {
        TrapFrame {
            rip,
            rsp,
            rdi: arg0,
            rsi: arg1,
            cs: USER_CS,
            ss: USER_DS,
            rflags: 0x202, // IF | reserved bit 1
            ..TrapFrame::default()
        }
    }
}

// `fast_switch` returns with `sysret` without testing the return address
// because no user page reaches the non-canonical hole.
const _: () = assert!(abi::USER_TOP <= (1 << 47) - 4096);

/// Offsets into the per-CPU block used by the assembly (see `percpu`).
pub const PERCPU_KERNEL_RSP: usize = 8;
/// Scratch slot for the user stack pointer during `syscall` entry.
pub const PERCPU_USER_RSP: usize = 16;

/// The tag bits (in `rsi`) that are clear exactly for the kernel's
/// interfaces, those below [`abi::iface::FIRST_USER`].
const KERNEL_IFACE_MASK: u32 = ((!(abi::iface::FIRST_USER - 1)) as u32) << 16;
const _: () = assert!(abi::iface::FIRST_USER.is_power_of_two());

/// The registers the `syscall` entry saves for the kernel-call lane
/// (`fastpath::kernel_call`), in push order reversed. The lane writes its
/// answer into `tag` and `words`.
#[repr(C)]
#[derive(Debug)]
pub struct KernelCallRegs {
    /// `rdi`: the handle (given back unchanged).
    pub handle: u64,
    /// `rsi`: the tag; the answer's tag.
    pub tag: u64,
    /// `rdx`, `r10`, `r8`, `r9`: the message words; the answer's words.
    pub words: [u64; 4],
    /// `r11`: the user's flags, for `sysret`.
    pub rflags: u64,
    /// `rcx`: the user's return address, for `sysret`.
    pub rip: u64,
}

// Exceptions that push an error code: 8, 10-14, 17, 21, 29, 30. For the others
// the stub pushes a zero so the frame layout is always the same. Each stub is
// 16-byte aligned, so vector N's entry is `trap_stubs + 16 * N`.
global_asm!(
    r#"
    .section .text.trap, "ax"
    .code64
    /* Save and restore the general registers in `TrapFrame` order. */
    .macro PUSH_GPRS
    push %rax; push %rbx; push %rcx; push %rdx; push %rsi; push %rdi; push %rbp
    push %r8; push %r9; push %r10; push %r11; push %r12; push %r13; push %r14; push %r15
    .endm
    .macro POP_GPRS
    pop %r15; pop %r14; pop %r13; pop %r12; pop %r11; pop %r10; pop %r9; pop %r8
    pop %rbp; pop %rdi; pop %rsi; pop %rdx; pop %rcx; pop %rbx; pop %rax
    .endm
    .balign 16
    .global trap_stubs
trap_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp trap_common
    .set vec, vec + 1
    .endr

trap_common:
    testb $3, 24(%rsp)
    jz 1f
    swapgs
1:  PUSH_GPRS
    /* Interrupt gates clear IF and TF but keep AC and DF from the
       interrupted code: start from a clean RFLAGS so a user-set AC cannot
       switch SMAP off in the kernel. */
    pushq $2
    popfq
    mov %rsp, %rdi
    call {dispatch}
    .global trap_return
trap_return:
    POP_GPRS
    testb $3, 24(%rsp)
    jz 2f
    swapgs
2:  add $16, %rsp
    iretq

    .global syscall_entry
syscall_entry:
    swapgs
    mov %rsp, %gs:{user_rsp}
    mov %gs:{kernel_rsp}, %rsp
    /* The kernel-call lane: a Call (rax 0) on a kernel interface (tag
       bits 24-31 clear) from a canonical return address goes to
       `kernel_call` with only its argument registers, the return address
       and the flags saved (`KernelCallRegs`); the Rust code keeps the
       callee-saved registers. Anything else, or a call the lane does not
       answer, builds the full frame below. (The interface first: IPC on
       user endpoints leaves after one test.) */
    test ${kernel_iface_mask}, %esi
    jnz 3f
    test %rax, %rax
    jnz 3f
    bt $47, %rcx
    jc 3f
    push %rcx
    push %r11
    push %r9
    push %r8
    push %r10
    push %rdx
    push %rsi
    push %rdi
    mov %rsp, %rdi
    call {kernel_call}
    test %al, %al
    jz 4f
    /* Answered: every caller-saved register is restored or holds the
       answer (rax 0, tag, words), so nothing of the kernel's leaks. */
    pop %rdi
    pop %rsi
    pop %rdx
    pop %r10
    pop %r8
    pop %r9
    pop %r11
    pop %rcx
    xor %eax, %eax
    mov %gs:{user_rsp}, %rsp
    swapgs
    sysretq
    /* Not answered: the registers as they came (rax was 0), then the
       general entry with the stack empty again. */
4:  pop %rdi
    pop %rsi
    pop %rdx
    pop %r10
    pop %r8
    pop %r9
    pop %r11
    pop %rcx
    xor %eax, %eax
3:  pushq ${user_ds}
    pushq %gs:{user_rsp}
    push %r11
    pushq ${user_cs}
    push %rcx
    pushq $0
    pushq ${syscall_vec}
    PUSH_GPRS
    /* No `cld`: the `syscall` flag mask clears DF (and AC) already
       (`gdt::init_cpu`). The IPC fast path's candidates go to their own
       entries: a Call (rax 0) on a user interface (tag bits 24-31 not
       all clear), and a Reply (rax 2) with receive (the tag's REPLY_RECV
       flag). Each runs the slow path itself when the fast path does not
       apply. */
    mov %rsp, %rdi
    test %rax, %rax
    jnz 5f
    test ${kernel_iface_mask}, %esi
    jz 6f
    call {fast_call}
    jmp syscall_return
5:  cmp ${reply_nr}, %rax
    jne 6f
    bt ${reply_recv_bit}, %rsi
    jnc 6f
    call {fast_reply_recv}
    jmp syscall_return
6:  call {syscall}
    .global syscall_return
syscall_return:
    /* Return with sysret when the frame still looks like a syscall frame
       (canonical user RIP, user selectors); otherwise use the iret path. */
    mov 17*8(%rsp), %rcx
    shr $47, %rcx
    jnz trap_return
    cmpq ${user_cs}, 18*8(%rsp)
    jne trap_return
    /* The return of a frame known to be a `syscall` frame (see
       `fast_switch`). */
syscall_sysret:
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    add $8, %rsp            /* rcx: reloaded from rip below */
    pop %rbx
    pop %rax
    add $16, %rsp           /* vector, error */
    pop %rcx                /* user rip */
    add $8, %rsp            /* cs */
    pop %r11                /* user rflags */
    pop %rsp                /* user rsp */
    swapgs
    sysretq

    /* fast_switch(save: *mut u64 [rdi], frame: *const TrapFrame [rsi]):
       the IPC fast path's direct switch. Saves the current thread exactly
       as `switch_stacks` does (so the scheduler can resume it later), then
       returns to user mode with the other thread's frame, which sits at the
       top of that thread's kernel stack. That frame was saved by this
       entry (the thread blocked in a system call) and since then only its
       message registers were written, so `syscall_return`'s tests hold
       without being made again: its code selector is the one the entry
       pushed, and its return address is below `abi::USER_TOP` (the
       `syscall` instruction lies in a mapped user page, and the page
       below the non-canonical hole is never mapped), so canonical. */
    .global fast_switch
fast_switch:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    jmp syscall_sysret
    .text
"#,
    dispatch = sym crate::trap::trap_dispatch,
    syscall = sym crate::syscall::syscall_dispatch,
    kernel_call = sym crate::fastpath::kernel_call,
    fast_call = sym crate::fastpath::call_entry,
    fast_reply_recv = sym crate::fastpath::reply_recv_entry,
    reply_nr = const abi::Syscall::Reply as u64,
    reply_recv_bit = const 32 + abi::Tag::REPLY_RECV.trailing_zeros(),
    kernel_iface_mask = const KERNEL_IFACE_MASK,
    user_rsp = const PERCPU_USER_RSP,
    kernel_rsp = const PERCPU_KERNEL_RSP,
    user_ds = const USER_DS,
    user_cs = const USER_CS,
    syscall_vec = const SYSCALL_VECTOR,
    options(att_syntax)
);

unsafe extern "C" {
    static trap_stubs: u8;
    /// The `syscall` instruction's target (IA32_LSTAR).
    pub fn syscall_entry();
    /// Saves the callee-saved registers and stack pointer into `*save`
    /// (as `switch_stacks` does), then returns to user mode with `frame`,
    /// which must be the user frame at the top of the new current thread's
    /// kernel stack, saved by a `syscall` entry. Returns (to its caller)
    /// only when the scheduler resumes the saving thread.
    pub fn fast_switch(save: *mut u64, frame: *const TrapFrame);
}

/// One 16-byte IDT gate.
#[repr(C)]
#[derive(Clone, Copy)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

static IDT: spin::Once<Idt> = spin::Once::new();

/// IST slots (1-based as the hardware counts them).
pub const IST_DOUBLE_FAULT: u8 = 1;
/// IST slot for NMI.
pub const IST_NMI: u8 = 2;
/// IST slot for machine checks.
pub const IST_MCE: u8 = 3;

/// Builds the IDT once and loads it on the calling CPU.
pub fn load_idt() {
    let idt = IDT.call_once(|| {
        // SAFETY: taking the address of a linker symbol.
        let base = unsafe { &trap_stubs as *const u8 as u64 };
        let mut gates = [Gate {
            offset_low: 0,
            selector: 0,
            ist: 0,
            attr: 0,
            offset_mid: 0,
            offset_high: 0,
            reserved: 0,
        }; 256];
        for (v, g) in gates.iter_mut().enumerate() {
            let addr = base + 16 * v as u64;
            g.offset_low = addr as u16;
            g.offset_mid = (addr >> 16) as u16;
            g.offset_high = (addr >> 32) as u32;
            g.selector = 0x08;
            g.attr = 0x8e; // present, DPL 0, 64-bit interrupt gate
            g.ist = match v {
                8 => IST_DOUBLE_FAULT,
                2 => IST_NMI,
                18 => IST_MCE,
                _ => 0,
            };
        }
        Idt(gates)
    });
    let ptr = x86_64::structures::DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: x86_64::VirtAddr::from_ptr(idt as *const Idt),
    };
    // SAFETY: the IDT is a 'static table of valid gates pointing at the stubs.
    unsafe { x86_64::instructions::tables::lidt(&ptr) };
}
