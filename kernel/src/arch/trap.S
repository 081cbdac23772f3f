/* Interrupt and exception entry. One 16-byte stub per vector at trap_stubs + 16*n: it
 * pushes a zero error code where the CPU pushes none, then the vector number, and
 * jumps to trap_common, which saves the general registers and calls writ_trap with a
 * pointer to the resulting TrapFrame (see idt.rs for the layout). */
.equ ERRCODE_MASK, 0x60227d00   /* vectors 8, 10-14, 17, 21, 29, 30 push an error code */

/* The general registers in TrapFrame order (r15 ends up lowest). */
.macro PUSH_GPRS
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
.endm

.macro POP_GPRS
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
.endm

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
    /* From user mode (CS.RPL = 3): switch GS to the kernel's per-CPU area. */
    testb $3, 24(%rsp)
    jz 1f
    swapgs
1:  PUSH_GPRS
    mov %rsp, %rdi
    cld
    call writ_trap
/* Also the way into user mode: point %rsp at a TrapFrame and jump here. */
.global writ_trap_return
writ_trap_return:
    POP_GPRS
    add $16, %rsp
    testb $3, 8(%rsp)
    jz 2f
    swapgs
2:  iretq

/* syscall: RCX = user RIP, R11 = user RFLAGS, interrupts masked by SFMASK. Build the
 * same TrapFrame an interrupt would (vector 0x100 marks a system call) on the thread's
 * kernel stack and call writ_syscall. It returns 0 when the frame still returns to
 * where the call came from: then sysretq (RCX and R11 are clobbered, as the ABI
 * allows). Otherwise (execve, a signal frame, rt_sigreturn, a restart) every register
 * matters: leave through writ_trap_return (iretq). */
.global writ_syscall_entry
writ_syscall_entry:
    swapgs
    mov %rsp, %gs:8
    mov %gs:0, %rsp
    pushq $0x1b
    pushq %gs:8
    push %r11
    pushq $0x23
    push %rcx
    pushq $0
    pushq $0x100
    PUSH_GPRS
    mov %rsp, %rdi
    cld
    call writ_syscall
    test %rax, %rax
    jnz writ_trap_return
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    add $8, %rsp            /* r11: becomes RFLAGS below */
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    add $8, %rsp            /* rcx: becomes RIP below */
    pop %rbx
    pop %rax
    add $16, %rsp           /* vector, error */
    mov (%rsp), %rcx        /* rip */
    mov 16(%rsp), %r11      /* rflags */
    mov 24(%rsp), %rsp      /* user stack */
    swapgs
    sysretq
