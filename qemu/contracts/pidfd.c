/* pidfds: pidfd_open names a process (close-on-exec, EINVAL for bad flags or pid,
 * ESRCH for none); it polls readable only once the process has ended; waitid(P_PIDFD)
 * reaps through it; pidfd_send_signal signals it, its thread or its group (EBADF for
 * a descriptor that is not a pidfd, EINVAL for unknown or several scope flags);
 * /proc/self/fd shows it as anon_inode:[pidfd]. */
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }

static int readable(int fd, int ms) {
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, ms);
    return n > 0 && (p.revents & POLLIN);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    /* On Writ nothing mounts /proc before a contract program runs. */
    if (access("/proc/self", F_OK) != 0) {
        mkdir("/proc", 0555);
        mount("proc", "/proc", "proc", 0, 0);
    }
    CHECK("pidfd_open bad flags", pidfd_open(getpid(), 1));
    CHECK("pidfd_open pid 0", pidfd_open(0, 0));
    CHECK("pidfd_open pid -1", pidfd_open(-1, 0));
    CHECK("pidfd_open no such pid", pidfd_open(4000000, 0));

    pid_t c = fork();
    if (c == 0) {
        pause();
        _exit(3);
    }
    int fd = pidfd_open(c, 0);
    printf("pidfd_open child: %s\n", fd >= 0 ? "OK" : errname(errno));
    printf("close-on-exec: %s\n", (fcntl(fd, F_GETFD) & FD_CLOEXEC) ? "yes" : "no");
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    readlink(path, link, sizeof link - 1);
    printf("fd link: %s\n", link);
    printf("readable while it runs: %s\n", readable(fd, 50) ? "yes" : "no");
    CHECK("pidfd_send_signal unknown flag", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 8));
    CHECK("pidfd_send_signal two scopes", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 3));
    CHECK("pidfd_send_signal thread, signal 0", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 1));
    CHECK("pidfd_send_signal group, signal 0", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 2));
    CHECK("pidfd_send_signal pgrp, signal 0", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 4));
    CHECK("pidfd_send_signal on stdout", syscall(SYS_pidfd_send_signal, 1, SIGTERM, NULL, 0));
    CHECK("pidfd_send_signal signal 0", syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0));
    CHECK("pidfd_send_signal SIGTERM", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0));
    printf("readable once it ended: %s\n", readable(fd, 5000) ? "yes" : "no");
    siginfo_t si = {0};
    CHECK("waitid P_PIDFD", syscall(SYS_waitid, P_PIDFD, fd, &si, WEXITED, NULL));
    printf("waitid: pid matches %s, code %s, status %d\n", si.si_pid == c ? "yes" : "no",
           si.si_code == CLD_KILLED ? "CLD_KILLED" : "other", si.si_status);
    CHECK("waitid P_PIDFD again", syscall(SYS_waitid, P_PIDFD, fd, &si, WEXITED | WNOHANG, NULL));
    CHECK("waitid P_PIDFD on stdout", syscall(SYS_waitid, P_PIDFD, 1, &si, WEXITED, NULL));
    CHECK("waitid P_PIDFD closed fd", syscall(SYS_waitid, P_PIDFD, 99, &si, WEXITED, NULL));
    CHECK("pidfd_send_signal to reaped", syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0));
    close(fd);
    return 0;
}
