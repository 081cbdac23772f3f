/* Bad pointers, bad fds and bad flags to the calls implemented so far: each gets the
 * errno Linux gives, and the process (and kernel) keep running. */
#include "common.h"
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

int main(void) {
    char buf[8] = "abcdefg";
    CHECK("write NULL buffer", syscall(SYS_write, 1, NULL, 5));
    CHECK("write kernel address", syscall(SYS_write, 1, (void *)0xffffffff80100000UL, 5));
    CHECK("write non-canonical address", syscall(SYS_write, 1, (void *)0x0000900000000000UL, 5));
    CHECK("write wrapping range", syscall(SYS_write, 1, (void *)-16L, 64));
    CHECK("write bad fd", syscall(SYS_write, 99, buf, 1));
    CHECK("write negative fd", syscall(SYS_write, -1, buf, 1));
    CHECK("write length 0", syscall(SYS_write, 1, buf, 0));
    struct iovec iov[2] = {{buf, 3}, {NULL, 4}};
    CHECK("writev NULL iov", syscall(SYS_writev, 1, NULL, 1));
    CHECK("writev too many", syscall(SYS_writev, 1, iov, 5000));
    CHECK("writev bad fd", syscall(SYS_writev, 42, iov, 1));
    CHECK("writev zero count", syscall(SYS_writev, 1, iov, 0));
    CHECK("arch_prctl bad code", syscall(SYS_arch_prctl, 0x9999, 0));
    CHECK("arch_prctl GET_FS to NULL", syscall(SYS_arch_prctl, ARCH_GET_FS, NULL));
    CHECK("arch_prctl SET_FS kernel address", syscall(SYS_arch_prctl, ARCH_SET_FS, 0xffffffff80000000UL));
    CHECK("unknown syscall 1000", syscall(1000));
    CHECK("unknown syscall -1", syscall(-1));
    printf("still running: yes\n");
    return 0;
}
