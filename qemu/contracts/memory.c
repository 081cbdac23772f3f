#define _GNU_SOURCE
/* The memory calls a libc makes before main and malloc: brk grows and shrinks the
 * heap, anonymous mmap gives zeroed memory, munmap and mprotect return what Linux
 * returns, and bad arguments get Linux's errors. */
#include "common.h"
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>
#include <sys/wait.h>

int main(void) {
    uintptr_t b0 = (uintptr_t)syscall(SYS_brk, 0);
    printf("brk(0) nonzero: %s\n", b0 ? "yes" : "no");
    uintptr_t b1 = (uintptr_t)syscall(SYS_brk, b0 + 100000);
    printf("brk grow by 100000: %s\n", b1 == b0 + 100000 ? "moved" : "refused");
    volatile char *p = (char *)b0;
    p[0] = 1; p[99999] = 2;
    printf("new heap readable and writable: %s\n", p[0] + p[99999] == 3 ? "yes" : "no");
    uintptr_t b2 = (uintptr_t)syscall(SYS_brk, b0 + 4096);
    printf("brk shrink: %s\n", b2 == b0 + 4096 ? "moved" : "refused");
    uintptr_t b3 = (uintptr_t)syscall(SYS_brk, 1);
    printf("brk below start returns current: %s\n", b3 == b2 ? "yes" : "no");

    size_t len = 3 * 4096 + 5;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap anon: %s\n", m == MAP_FAILED ? errname(errno) : "OK");
    int zero = 1;
    for (size_t i = 0; i < len; i++) if (m[i]) zero = 0;
    printf("mmap anon zeroed: %s\n", zero ? "yes" : "no");
    m[0] = 7; m[len - 1] = 9;
    printf("mmap anon writable: %s\n", m[0] + m[len - 1] == 16 ? "yes" : "no");
    printf("mmap page aligned: %s\n", ((uintptr_t)m & 4095) == 0 ? "yes" : "no");
    CHECK("mprotect read-only", mprotect(m, 4096, PROT_READ));
    CHECK("mprotect unaligned", mprotect(m + 1, 4096, PROT_READ));
    CHECK("mprotect bad prot bits", mprotect(m, 4096, 0x100));
    CHECK("munmap", munmap(m, len));
    CHECK("munmap unaligned", munmap(m + 1, 4096));
    CHECK("munmap length 0", munmap(m, 0));
    CHECK("munmap again (nothing mapped)", munmap(m, 4096));

    errno = 0;
    void *z = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap length 0: %s\n", z == MAP_FAILED ? errname(errno) : "OK");
    errno = 0;
    z = mmap((void *)4097, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("mmap fixed unaligned: %s\n", z == MAP_FAILED ? errname(errno) : "OK");
    void *f = mmap((void *)0x10000000, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("mmap fixed at 0x10000000: %s\n", f == (void *)0x10000000 ? "there" : "elsewhere");
    ((char *)f)[8191] = 1;
    printf("fixed mapping writable: yes\n");

    /* PROT_NONE: no access, from user space or through the kernel; contents survive
     * a round trip through it. A large anonymous mapping costs nothing until touched. */
    char *q = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(q, "kept");
    CHECK("mprotect PROT_NONE", mprotect(q, 8192, PROT_NONE));
    int pfd[2];
    pipe(pfd);
    write(pfd[1], "x", 1);
    CHECK("read into a PROT_NONE page", read(pfd[0], q, 1));
    CHECK("write from a PROT_NONE page", write(pfd[1], q, 1));
    pid_t pid = fork();
    if (pid == 0) {
        volatile char c = q[0];
        (void)c;
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("touching PROT_NONE: %s %d\n", WIFSIGNALED(st) ? "killed by signal" : "exited", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    CHECK("mprotect back to read-write", mprotect(q, 8192, PROT_READ | PROT_WRITE));
    printf("contents after the round trip: %s\n", q);
    char *none = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("reserve 1 MiB PROT_NONE: %s\n", none == MAP_FAILED ? errname(errno) : "OK");
    CHECK("make one page of it usable", mprotect(none + 4096, 4096, PROT_READ | PROT_WRITE));
    none[4096] = 5;
    printf("usable page in the reservation: %d\n", none[4096]);
    char *big = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("map 64 MiB: %s\n", big == MAP_FAILED ? errname(errno) : "OK");
    big[(64 << 20) - 1] = 7;
    printf("last byte of it: %d, first: %d\n", big[(64 << 20) - 1], big[0]);
    CHECK("munmap 64 MiB", munmap(big, 64 << 20));

    /* mremap: shrink in place, grow (in place or moved) keeping the contents. */
    char *r = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(r, "remapped");
    r[2 * 4096] = 'z';
    char *r2 = mremap(r, 3 * 4096, 4096, 0);
    printf("mremap shrink in place: %s\n", r2 == r ? "same address" : "moved");
    char *r3 = mremap(r2, 4096, 16 * 4096, MREMAP_MAYMOVE);
    printf("mremap grow: %s, contents %s, new tail zero: %s\n", r3 == MAP_FAILED ? errname(errno) : "OK", r3, r3[15 * 4096] == 0 ? "yes" : "no");
    errno = 0;
    void *bad = mremap(r3 + 1, 4096, 8192, MREMAP_MAYMOVE);
    printf("mremap unaligned: %s\n", bad == MAP_FAILED ? errname(errno) : "OK");
    errno = 0;
    bad = mremap(r3, 4096, 8192, MREMAP_FIXED);
    printf("mremap FIXED without MAYMOVE: %s\n", bad == MAP_FAILED ? errname(errno) : "OK");
    errno = 0;
    bad = mremap((void *)0x10000000 + (64 << 20), 4096, 8192, MREMAP_MAYMOVE);
    printf("mremap of nothing: %s\n", bad == MAP_FAILED ? errname(errno) : "OK");
    return 0;
}
