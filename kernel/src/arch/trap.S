/* Interrupt and exception entry. One 16-byte stub per vector at trap_stubs + 16*n: it
 * pushes a zero error code where the CPU pushes none, then the vector number, and
 * jumps to trap_common, which saves the general registers and calls writ_trap with a
 * pointer to the resulting TrapFrame (see idt.rs for the layout). */
.equ ERRCODE_MASK, 0x60227d00   /* vectors 8, 10-14, 17, 21, 29, 30 push an error code */

.section .text
.align 16
.global trap_stubs
trap_stubs:
.set vec, 0
.rept 256
    .align 16
    .if vec < 32
        .if ((ERRCODE_MASK >> vec) & 1) == 0
            pushq $0
        .endif
    .else
        pushq $0
    .endif
    pushq $vec
    jmp trap_common
    .set vec, vec + 1
.endr

trap_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    cld
    call writ_trap
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
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq
