//! `faulter`: commits the CPU exception its argument selects, and must be
//! killed by the kernel for it. If it survives, it says so and exits 1.
//!
//! | arg | fault                                              | exception |
//! |-----|----------------------------------------------------|-----------|
//! | 0   | write to address 0                                  | #PF       |
//! | 1   | `ud2`                                               | #UD       |
//! | 2   | read the kernel half (0xffff_8000_0000_0000)        | #PF       |
//! | 3   | `hlt` in user mode                                  | #GP       |
//! | 4   | call into a non-executable (read-write) page       | #PF (NX)  |
//! | 5   | unbounded recursion into the stack's guard page     | #PF       |
//! | 6   | write to its own code page (text is R+X, W^X)       | #PF (W)   |
//! | 7   | an SSE instruction (`xorps`)                        | #UD       |
//! | 8   | an MMX instruction (`pxor mm0, mm0`)                | #UD       |
//! | 9   | an x87 instruction (`fldz`)                         | #NM       |
//!
//! Kinds 7-9 guard a confidentiality promise: the kernel saves no vector or
//! x87 state on a context switch, so those registers must be unusable, or
//! one domain could read what another left in them.
//!
//! Every fault is raised with inline assembly (or, for 5, real recursion) so
//! that the compiler cannot reason it away as undefined behaviour.

#![no_std]
#![no_main]

use core::arch::asm;
use core::hint::black_box;
use rt::kernel;

rt::entry!(main);

const KINDS: [&str; 10] = [
    "null write",
    "invalid opcode",
    "kernel read",
    "privileged instruction",
    "execute non-executable page",
    "stack overflow",
    "write own code page",
    "SSE instruction",
    "MMX instruction",
    "x87 instruction",
];

fn main() -> i32 {
    let arg = rt::arg();
    let Some(kind) = usize::try_from(arg).ok().and_then(|i| KINDS.get(i)) else {
        rt::error!("faulter: unknown fault kind {}", arg);
        return 2;
    };
    rt::println!("faulter: attempting {} on cpu {}", kind, kernel::info().cpu);
    match arg {
        0 => write_null(),
        1 => invalid_opcode(),
        2 => read_kernel(),
        3 => privileged(),
        4 => execute_data(),
        6 => write_text(),
        7 => sse(),
        8 => mmx(),
        9 => x87(),
        _ => {
            let depth = recurse(0, &[0; 64]);
            rt::println!("faulter: recursion ended at depth {}", depth);
        }
    }
    rt::error!("faulter: survived {}", kind);
    1
}

fn write_null() {
    // SAFETY: deliberately faults; if the kernel let the write through,
    // address 0 is not memory Rust uses, so nothing is corrupted.
    unsafe {
        asm!("mov qword ptr [{addr}], {val}", addr = in(reg) 0u64, val = in(reg) 0xdeadu64, options(nostack))
    };
}

fn sse() {
    // SAFETY: deliberately faults; had it run, it would only clear xmm0,
    // which this soft-float program never uses.
    unsafe { asm!("xorps xmm0, xmm0", out("xmm0") _, options(nostack, nomem)) };
}

fn mmx() {
    // SAFETY: deliberately faults; had it run, it would only clear mm0.
    unsafe { asm!("pxor mm0, mm0", out("mm0") _, options(nostack, nomem)) };
}

fn x87() {
    // SAFETY: deliberately faults; had it run, it would push 0.0 on the x87
    // stack, which nothing else uses; `fstp` pops it again.
    unsafe { asm!("fldz", "fstp st(0)", options(nostack, nomem)) };
}

fn invalid_opcode() {
    // SAFETY: deliberately faults; ud2 has no other effect.
    unsafe { asm!("ud2", options(nostack, nomem)) };
}

fn read_kernel() {
    let val: u64;
    // SAFETY: deliberately faults; a read has no side effect on our memory.
    unsafe {
        asm!("mov {val}, qword ptr [{addr}]", addr = in(reg) 0xffff_8000_0000_0000u64, val = out(reg) val,
             options(nostack, readonly))
    };
    black_box(val);
}

fn privileged() {
    // SAFETY: deliberately faults (#GP at CPL 3); were it executed, hlt
    // would only wait for the next interrupt.
    unsafe { asm!("hlt", options(nostack, nomem)) };
}

fn execute_data() {
    let page = match kernel::map(
        0,
        abi::PAGE_SIZE,
        abi::mem::PROT_READ | abi::mem::PROT_WRITE,
    ) {
        Ok(p) => p,
        Err(e) => {
            rt::error!("faulter: could not map a data page: {}", e);
            return;
        }
    };
    // A lone `ret`: if the page were executable, the call would come back
    // and we would report surviving.
    // SAFETY: `page` is a fresh read-write mapping of one page that only
    // this function uses.
    unsafe { (page as *mut u8).write_volatile(0xc3) };
    // SAFETY: deliberately faults on instruction fetch from a page without
    // execute permission. Were it executed, it runs `ret` and returns
    // normally; the C clobbers cover a call.
    unsafe { asm!("call {target}", target = in(reg) page, clobber_abi("C")) };
}

fn write_text() {
    let target = write_text as *const () as u64;
    // SAFETY: deliberately faults: the first byte of this function's code is
    // read (allowed) and written back unchanged (forbidden by W^X, text is
    // read+execute only). Were the write let through, the code would be
    // unchanged, so nothing Rust relies on is corrupted.
    unsafe {
        asm!(
            "mov {b}, byte ptr [{addr}]",
            "mov byte ptr [{addr}], {b}",
            addr = in(reg) target,
            b = out(reg_byte) _,
            options(nostack),
        )
    };
}

/// Recurses with a 512-byte frame until the stack runs into its guard page.
/// Each call gets a reference into its caller's frame, so the compiler can
/// turn the recursion neither into a loop nor into tail calls.
#[inline(never)]
fn recurse(depth: u64, caller: &[u64; 64]) -> u64 {
    let frame = black_box([depth ^ caller[63]; 64]);
    if black_box(depth) == u64::MAX {
        return frame[0];
    }
    recurse(depth + 1, &frame)
}
