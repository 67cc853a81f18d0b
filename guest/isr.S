/* isr.S: interrupt and exception entry stubs, and the one instruction that
 * faults on purpose.
 *
 * Every stub pushes a zero error code when the CPU does not, then its vector,
 * and jumps to isr_common, which saves the general registers into a struct
 * frame (demo.h) and calls isr_dispatch(frame). isr_dispatch returns the
 * frame to resume: the same one, or another task's, which is how the timer
 * switches tasks. */

        .text
        .code64

/* Vectors for which the CPU pushes an error code. */
#define HAS_ERRCODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

        .macro stub v
        .balign 16
isr_stub_\v:
        .if HAS_ERRCODE(\v)
        .else
        pushq   $0
        .endif
        pushq   $\v
        jmp     isr_common
        .endm

        .balign 16
        .altmacro
        .globl isr_stub_table
isr_stub_table:                         /* 48 stubs, 16 bytes apart */
        .set    v, 0
        .rept   48
        stub    %v
        .set    v, v + 1
        .endr

isr_common:
        pushq   %rax
        pushq   %rbx
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %rbp
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, %rdi
        cld
        call    isr_dispatch
        movq    %rax, %rsp              /* maybe another task's frame */
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rbp
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rbx
        popq    %rax
        addq    $16, %rsp               /* vector, error code */
        iretq

/* uint64_t checked_div(uint64_t a, uint64_t b): a / b. When b is 0 the div
 * raises #DE; the handler sees the fault at checked_div_insn and resumes at
 * checked_div_fixup, which returns ~0. An exception-table entry of one. */
        .globl checked_div, checked_div_insn, checked_div_fixup
checked_div:
        movq    %rdi, %rax
        xorl    %edx, %edx
checked_div_insn:
        divq    %rsi
        ret
checked_div_fixup:
        movq    $-1, %rax
        ret

        .section .note.GNU-stack, "", @progbits
