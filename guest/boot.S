/* boot.S: the PVH entry. QEMU's -kernel (through its PVH option ROM) and Xen
 * start us here in 32-bit protected mode, paging off, flat segments, %ebx
 * pointing at struct hvm_start_info, no stack. We build nothing at run time:
 * the page tables and GDT are static data (identity map of the first GiB with
 * 2 MiB pages), so the way into long mode is short and the same every boot. */

#define XEN_ELFNOTE_PHYS32_ENTRY 18

        .section .note.Xen, "a"
        .balign 4
        .long 2f - 1f           /* namesz */
        .long 4f - 3f           /* descsz */
        .long XEN_ELFNOTE_PHYS32_ENTRY
1:      .asciz "Xen"
2:      .balign 4
3:      .quad pvh_start         /* 8 bytes: QEMU reads a native-size value on ELF64 */
4:      .balign 4

        .section .text.boot, "ax"
        .code32
        .globl pvh_start
pvh_start:
        cli
        cld
        movl    %ebx, %edi              /* keep start_info for kmain (zero-extends in long mode) */
        movl    $boot_stack_top, %esp

        movl    $pml4, %eax
        movl    %eax, %cr3
        movl    %cr4, %eax
        orl     $0x20, %eax             /* CR4.PAE */
        movl    %eax, %cr4
        movl    $0xc0000080, %ecx       /* IA32_EFER */
        rdmsr
        orl     $0x100, %eax            /* EFER.LME */
        wrmsr
        movl    %cr0, %eax
        orl     $0x80000001, %eax       /* CR0.PG | CR0.PE */
        movl    %eax, %cr0

        lgdt    gdt_ptr
        /* The far jump that reloads CS: its target is its own fall-through
         * address, a taken branch that address comparison alone misses. */
        ljmp    $0x08, $long_mode

        .code64
long_mode:
        movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        xorw    %ax, %ax
        movw    %ax, %fs
        movw    %ax, %gs
        movq    $boot_stack_top, %rsp
        xorl    %ebp, %ebp

        /* Clear .bss with rep stosq (the first string instruction of the
         * boot). The boot stack lives in .bss: keep start_info in a register. */
        movl    %edi, %r12d
        movq    $__bss_start, %rdi
        movq    $__bss_end, %rcx
        subq    %rdi, %rcx
        shrq    $3, %rcx
        xorl    %eax, %eax
        rep stosq
        movq    %r12, %rdi

        call    kmain                   /* kmain(start_info): never returns */
1:      hlt
        jmp     1b

        .section .data
        .balign 8
gdt:
        .quad   0                       /* null */
        .quad   0x00af9a000000ffff      /* 0x08: 64-bit code */
        .quad   0x00cf92000000ffff      /* 0x10: data */
gdt_end:
gdt_ptr:
        .word   gdt_end - gdt - 1
        .quad   gdt

        .balign 4096
pml4:
        .quad   pdpt + 0x3              /* present | writable */
        .fill   511, 8, 0
pdpt:
        .quad   pd + 0x3
        .fill   511, 8, 0
pd:
        .set    i, 0
        .rept   512
        .quad   (i << 21) | 0x83        /* present | writable | 2 MiB page */
        .set    i, i + 1
        .endr

        .section .bss
        .balign 16
boot_stack:
        .skip   16384
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
