/* File descriptors as capabilities: the lowest free number is used; dup/dup2/dup3
 * and F_DUPFD share the open file description (status flags), but not FD_CLOEXEC;
 * close makes the number free again; close_range closes or marks a range; errors are
 * Linux's (EBADF, EINVAL, ESPIPE). */
#include "common.h"
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK("dup(1) -> lowest free", dup(1));
    CHECK("dup(1) again", dup(1));
    CHECK("close(3)", close(3));
    CHECK("dup(1) reuses 3", dup(1));
    CHECK("write via dup'ed fd", write(3, "through fd 3\n", 13));
    CHECK("close(3) twice: first", close(3));
    CHECK("close(3) twice: second", close(3));
    CHECK("close(-1)", close(-1));
    CHECK("close(100000)", close(100000));
    CHECK("dup(99)", dup(99));
    CHECK("dup2(1, 1) on an open fd", dup2(1, 1));
    CHECK("dup2(77, 77) on a closed fd", dup2(77, 77));
    CHECK("dup2(1, 9)", dup2(1, 9));
    CHECK("dup2(4, 9) replaces 9", dup2(4, 9));
    CHECK("dup2(1, -1)", dup2(1, -1));
    CHECK("dup2(1, 1<<20)", dup2(1, 1 << 20));
    CHECK("dup3(1, 1, 0)", dup3(1, 1, 0));
    CHECK("dup3(1, 10, O_CLOEXEC)", dup3(1, 10, O_CLOEXEC));
    CHECK("dup3 bad flags (raw syscall; musl would use dup2)", syscall(SYS_dup3, 1, 11, 0x40));
    CHECK("F_GETFD of 10 (cloexec)", fcntl(10, F_GETFD));
    CHECK("F_GETFD of 9", fcntl(9, F_GETFD));
    CHECK("F_SETFD 9 cloexec", fcntl(9, F_SETFD, FD_CLOEXEC));
    CHECK("F_GETFD of 9 after set", fcntl(9, F_GETFD));
    CHECK("F_DUPFD min 20", fcntl(1, F_DUPFD, 20));
    CHECK("F_DUPFD min 20 again", fcntl(1, F_DUPFD, 20));
    CHECK("F_DUPFD_CLOEXEC min 30", fcntl(1, F_DUPFD_CLOEXEC, 30));
    CHECK("F_GETFD of 30", fcntl(30, F_GETFD));
    CHECK("F_GETFD of 20 (dup drops cloexec)", fcntl(20, F_GETFD));
    CHECK("F_DUPFD negative min", fcntl(1, F_DUPFD, -5));
    CHECK("F_DUPFD min past RLIMIT_NOFILE", fcntl(1, F_DUPFD, 1 << 20));
    int before = fcntl(4, F_GETFL);
    fcntl(4, F_SETFL, before | O_NONBLOCK);
    printf("O_NONBLOCK set on 4 is seen on 20 (shared description): %s\n",
           (fcntl(20, F_GETFL) & O_NONBLOCK) ? "yes" : "no");
    fcntl(20, F_SETFL, before);
    printf("cleared through 20, seen on 4: %s\n", (fcntl(4, F_GETFL) & O_NONBLOCK) ? "no" : "yes");
    CHECK("F_GETFL on closed fd", fcntl(55, F_GETFL));
    CHECK("fcntl unknown cmd", fcntl(1, 9999));
    CHECK("fcntl unknown cmd on closed fd", fcntl(55, 9999));
    CHECK("lseek on stdout", lseek(1, 0, SEEK_CUR));
    CHECK("pread on stdout", pread(1, (char[4]){0}, 4, 0));
    CHECK("read from a write-only dup? (fd 99 closed)", read(99, (char[4]){0}, 4));
    for (int fd = 3; fd < 40; fd++) close(fd);
    CHECK("after closing all, dup(1) is 3 again", dup(1));
    /* close_range: a range with holes, close-on-exec marking, bad arguments. */
    dup2(1, 5);
    dup2(1, 7);
    dup2(1, 9);
    CHECK("close_range 3..5", syscall(SYS_close_range, 3, 5, 0));
    CHECK("fd 3 closed", fcntl(3, F_GETFD));
    CHECK("fd 5 closed", fcntl(5, F_GETFD));
    CHECK("close_range cloexec 6..~0", syscall(SYS_close_range, 6, ~0U, 4));
    CHECK("fd 7 close-on-exec", fcntl(7, F_GETFD));
    CHECK("fd 9 close-on-exec", fcntl(9, F_GETFD));
    CHECK("close_range first > last", syscall(SYS_close_range, 9, 7, 0));
    CHECK("close_range bad flags", syscall(SYS_close_range, 7, 9, 1));
    CHECK("close_range 7..~0", syscall(SYS_close_range, 7, ~0U, 0));
    CHECK("fd 9 closed", fcntl(9, F_GETFD));
    return 0;
}
