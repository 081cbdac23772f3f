/* PVH entry: QEMU enters here in 32-bit protected mode, paging off, %ebx = physical
 * address of struct hvm_start_info. We zero .bss, build early page tables that map the
 * low 4 GiB twice (identity, and the top 2 GiB of the address space onto physical
 * 0..2 GiB for the higher-half kernel), switch to long mode and call Rust.
 * Symbols are linked at KB + physical, so `sym - KB` is the physical address. */
.equ KB, 0xffffffff80000000

.section .text.boot, "ax"
.code32
.global pvh_start32
pvh_start32:
    cli
    cld
    mov %ebx, %esi

    /* .bss holds the page tables and the boot stack: zero it first. */
    mov $(__bss_start - KB), %edi
    mov $(__bss_end - KB), %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb

    /* PML4[0] -> identity PDPT, PML4[511] -> higher-half PDPT. */
    mov $(boot_pml4 - KB), %edi
    mov $(boot_pdpt_low - KB), %eax
    or $3, %eax
    mov %eax, (%edi)
    mov $(boot_pdpt_high - KB), %eax
    or $3, %eax
    mov %eax, 511*8(%edi)

    /* Identity PDPT: four page directories, 0..4 GiB. */
    mov $(boot_pdpt_low - KB), %edi
    mov $(boot_pd - KB), %eax
    or $3, %eax
    mov %eax, 0(%edi)
    add $4096, %eax
    mov %eax, 8(%edi)
    add $4096, %eax
    mov %eax, 16(%edi)
    add $4096, %eax
    mov %eax, 24(%edi)

    /* Higher half: 0xffffffff80000000.. -> physical 0..2 GiB (PDPT slots 510, 511). */
    mov $(boot_pdpt_high - KB), %edi
    mov $(boot_pd - KB), %eax
    or $3, %eax
    mov %eax, 510*8(%edi)
    add $4096, %eax
    mov %eax, 511*8(%edi)

    /* 2048 2-MiB pages: present | writable | page size. */
    mov $(boot_pd - KB), %edi
    mov $0x83, %eax
    xor %edx, %edx
    mov $2048, %ecx
1:  mov %eax, (%edi)
    mov %edx, 4(%edi)
    add $0x200000, %eax
    adc $0, %edx
    add $8, %edi
    loop 1b

    /* PAE, then CR3, then EFER.LME|NXE, then paging + write protect. */
    mov %cr4, %eax
    or $(1 << 5), %eax
    mov %eax, %cr4
    mov $(boot_pml4 - KB), %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx
    rdmsr
    or $((1 << 8) | (1 << 11)), %eax
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16) | 1), %eax
    mov %eax, %cr0

    lgdt (boot_gdt_ptr - KB)
    ljmp $0x08, $(boot_long_mode - KB)

.code64
boot_long_mode:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    movabs $boot_high, %rax
    jmp *%rax
boot_high:
    movabs $boot_stack_top, %rsp
    xor %ebp, %ebp
    mov %esi, %edi
    call writ_boot_entry
2:  hlt
    jmp 2b

.section .rodata.boot, "a"
.align 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff   /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff   /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt - KB

/* The PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY = 18): QEMU's -kernel loader finds it in
 * a PT_NOTE segment and jumps to the 32-bit physical address it holds. */
.section .note.Xen, "a"
.align 4
    .long 4
    .long 4
    .long 18
    .asciz "Xen"
    .align 4
    .long pvh_start32 - KB

.section .bss.boot, "aw", @nobits
.align 4096
.global boot_pml4
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4096 * 4
.global boot_stack_bottom
boot_stack_bottom:
    .skip 65536
.global boot_stack_top
boot_stack_top:
