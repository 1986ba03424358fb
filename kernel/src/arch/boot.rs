//! PVH entry: from 32-bit protected mode to 64-bit Rust.
//!
//! QEMU's `-kernel` loader finds the Xen ELF note of type 18
//! (`XEN_ELFNOTE_PHYS32_ENTRY`) and starts the bootstrap CPU at `pvh_start32`
//! in 32-bit protected mode, paging off, with `ebx` holding the physical
//! address of the `hvm_start_info` block. This code builds throw-away page
//! tables that map the first 4 GiB three times (identity, the direct map at
//! [`crate::mm::HHDM`], and the kernel image at -2 GiB), enables long mode and
//! jumps to [`crate::kmain`] in the higher half. `kmain` replaces these tables
//! with the real kernel page table at once.
//!
//! The note lives in its own 4-byte aligned PT_NOTE segment: QEMU rejects an
//! 8-byte aligned one, so the descriptor is written as two 32-bit words.

core::arch::global_asm!(
    r#"
    .section .note.Xen, "a"
    .balign 4
    .long 4                  /* namesz */
    .long 8                  /* descsz */
    .long 18                 /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .long pvh_start32
    .long 0

    .section .boot.text, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    mov %ebx, %esi                       /* keep start-info pointer */

    /* boot_pd: 4 page directories of 2 MiB pages covering 0..4 GiB */
    mov $boot_pd, %edi
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax                       /* present | writable | 2 MiB */
    mov %eax, (%edi,%ecx,8)
    mov %ecx, %eax
    shr $11, %eax                        /* bits 32.. of ecx * 2 MiB */
    mov %eax, 4(%edi,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jb 1b

    /* boot_pdpt_low[0..4] -> the four directories */
    mov $boot_pdpt_low, %edi
    mov $boot_pd, %eax
    or $0x3, %eax
    xor %ecx, %ecx
2:  mov %eax, (%edi,%ecx,8)
    add $4096, %eax
    inc %ecx
    cmp $4, %ecx
    jb 2b

    /* boot_pdpt_high[510], [511] -> first 2 GiB (kernel at -2 GiB) */
    mov $boot_pdpt_high, %edi
    mov $boot_pd, %eax
    or $0x3, %eax
    mov %eax, (510*8)(%edi)
    add $4096, %eax
    mov %eax, (511*8)(%edi)

    /* PML4: [0] identity, [256] direct map, [511] kernel */
    mov $boot_pml4, %edi
    mov $boot_pdpt_low, %eax
    or $0x3, %eax
    mov %eax, (%edi)
    mov %eax, (256*8)(%edi)
    mov $boot_pdpt_high, %eax
    or $0x3, %eax
    mov %eax, (511*8)(%edi)

    mov %edi, %cr3
    mov %cr4, %eax
    or $(1 << 5), %eax                   /* PAE */
    mov %eax, %cr4
    mov $0xC0000080, %ecx                /* IA32_EFER */
    rdmsr
    or $(1 << 8), %eax                   /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80010001, %eax                 /* PG | WP | PE */
    mov %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $pvh_start64

    .code64
pvh_start64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    movabs $BOOT_STACK_TOP, %rsp
    xor %ebp, %ebp
    mov %esi, %edi                       /* arg 0: start-info physical address */
    movabs $kmain, %rax
    call *%rax
3:  hlt
    jmp 3b

    .section .boot.data, "aw"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF             /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF             /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .balign 4096
boot_pml4:      .fill 512, 8, 0
boot_pdpt_low:  .fill 512, 8, 0
boot_pdpt_high: .fill 512, 8, 0
boot_pd:        .fill 2048, 8, 0
    .code64
    .text
"#,
    options(att_syntax)
);

/// Size of the bootstrap CPU's first stack (it becomes CPU 0's idle stack).
pub const BOOT_STACK_SIZE: usize = 64 * 1024;

/// The stack `kmain` starts on.
#[repr(C, align(4096))]
pub struct BootStack(pub [u8; BOOT_STACK_SIZE]);

#[unsafe(no_mangle)]
static mut BOOT_STACK: BootStack = BootStack([0; BOOT_STACK_SIZE]);

core::arch::global_asm!(
    ".set BOOT_STACK_TOP, BOOT_STACK + {size}",
    ".global BOOT_STACK_TOP",
    size = const BOOT_STACK_SIZE,
);
