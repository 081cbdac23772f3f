/* Bad pointers, bad fds and bad flags to the calls implemented so far: each gets the
 * errno Linux gives, and the process (and kernel) keep running. */
#include "common.h"
#include <sys/syscall.h>
#include <fcntl.h>
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

    /* Every pointer argument of the implemented calls, given garbage. */
    void *K = (void *)0xffffffff80100000UL, *N = NULL;
    int p[2];
    pipe(p);
    write(p[1], "abc", 3);
    CHECK("read into kernel address", syscall(SYS_read, p[0], K, 3));
    CHECK("read huge length", syscall(SYS_read, p[0], buf, 1UL << 62));
    CHECK("write huge length", syscall(SYS_write, 1, buf, 1UL << 62));
    CHECK("pread into NULL", syscall(SYS_pread64, p[0], N, 1, 0));
    CHECK("readv bad iov", syscall(SYS_readv, p[0], K, 1));
    CHECK("fstat to kernel address", syscall(SYS_fstat, 1, K));
    CHECK("newfstatat bad path", syscall(SYS_newfstatat, AT_FDCWD, K, buf, 0));
    CHECK("stat NULL path", syscall(SYS_stat, N, buf));
    CHECK("open bad path", syscall(SYS_open, K, O_RDONLY));
    CHECK("openat NULL path", syscall(SYS_openat, AT_FDCWD, N, O_RDONLY));
    CHECK("access bad path", syscall(SYS_access, K, 0));
    CHECK("mkdir bad path", syscall(SYS_mkdir, K, 0755));
    CHECK("unlink NULL path", syscall(SYS_unlink, N));
    CHECK("chdir bad path", syscall(SYS_chdir, K));
    CHECK("readlink bad path", syscall(SYS_readlink, K, buf, 8));
    CHECK("getcwd into kernel address", syscall(SYS_getcwd, K, 100));
    CHECK("getcwd size 0", syscall(SYS_getcwd, buf, 0));
    int d = open("/", O_RDONLY | O_DIRECTORY);
    CHECK("getdents64 into kernel address", syscall(SYS_getdents64, d, K, 4096));
    CHECK("getdents64 on a pipe", syscall(SYS_getdents64, p[0], buf, 8));
    close(d);
    CHECK("pipe into kernel address", syscall(SYS_pipe, K));
    CHECK("pipe2 into NULL", syscall(SYS_pipe2, N, 0));
    CHECK("uname into kernel address", syscall(SYS_uname, K));
    CHECK("getrandom into kernel address", syscall(SYS_getrandom, K, 8, 0));
    CHECK("getrandom bad flags", syscall(SYS_getrandom, buf, 8, 0x40));
    CHECK("gettimeofday bad", syscall(SYS_gettimeofday, K, N));
    CHECK("getrlimit bad", syscall(SYS_getrlimit, 7, K));
    CHECK("prlimit64 bad new", syscall(SYS_prlimit64, 0, 7, K, N));
    CHECK("rt_sigprocmask bad set", syscall(SYS_rt_sigprocmask, 0, K, N, 8));
    CHECK("rt_sigpending bad", syscall(SYS_rt_sigpending, K, 8));
    CHECK("getresuid bad", syscall(SYS_getresuid, K, K, K));
    CHECK("setgroups bad list", syscall(SYS_setgroups, 1, K));
    CHECK("ioctl FIONBIO bad arg", syscall(SYS_ioctl, p[0], 0x5421, K));
    CHECK("ioctl TIOCGWINSZ on a pipe", syscall(SYS_ioctl, p[0], 0x5413, buf));
    CHECK("wait4 bad status, no children", syscall(SYS_wait4, -1, K, 0, N));
    printf("still running: yes\n");
    return 0;
}
