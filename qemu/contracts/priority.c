/* Scheduling priority: getpriority/setpriority on a process, a group and a user, the
 * nice range clamped to -20..19, EINVAL for an unknown `which`, ESRCH for nobody;
 * fork inherits nice; without root a process may raise its nice but not lower it
 * (EACCES), and may not renice another user's process (EPERM). ioprio_set checks its
 * class, level and privilege. */
#include "common.h"
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *label, int which, int who) {
    errno = 0;
    int n = getpriority(which, who);
    if (n == -1 && errno)
        printf("%s: %s\n", label, errname(errno));
    else
        printf("%s: %d\n", label, n);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    show("nice at start", PRIO_PROCESS, 0);
    CHECK("setpriority 5", setpriority(PRIO_PROCESS, 0, 5));
    show("nice now", PRIO_PROCESS, 0);
    CHECK("setpriority own pid 3 (root lowers)", setpriority(PRIO_PROCESS, getpid(), 3));
    show("by pid", PRIO_PROCESS, getpid());
    CHECK("setpriority 100 (clamped)", setpriority(PRIO_PROCESS, 0, 100));
    show("clamped high", PRIO_PROCESS, 0);
    CHECK("setpriority -100 (clamped)", setpriority(PRIO_PROCESS, 0, -100));
    show("clamped low", PRIO_PROCESS, 0);
    CHECK("setpriority pgrp 2", setpriority(PRIO_PGRP, 0, 2));
    show("group", PRIO_PGRP, 0);
    CHECK("bad which", setpriority(7, 0, 1));
    show("get bad which", 7, 0);
    CHECK("no such pid", setpriority(PRIO_PROCESS, 4000000, 1));
    show("get no such pid", PRIO_PROCESS, 4000000);
    CHECK("no such group", setpriority(PRIO_PGRP, 4000000, 1));
    CHECK("no such user", setpriority(PRIO_USER, 4000123, 1));

    pid_t c = fork();
    if (c == 0) {
        show("child inherits", PRIO_PROCESS, 0);
        if (setuid(1000) != 0) _exit(1);
        CHECK("user raises nice", setpriority(PRIO_PROCESS, 0, 10));
        CHECK("user lowers nice", setpriority(PRIO_PROCESS, 0, 4));
        show("user's nice", PRIO_PROCESS, 0);
        CHECK("user renices root's parent", setpriority(PRIO_PROCESS, getppid(), 15));
        CHECK("user renices own uid", setpriority(PRIO_USER, 1000, 12));
        show("after PRIO_USER", PRIO_PROCESS, 0);
        show("get root's parent", PRIO_PROCESS, getppid());
        CHECK("user ioprio realtime", syscall(SYS_ioprio_set, 1, 0, (1 << 13) | 4));
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("child exit: %d\n", WEXITSTATUS(st));

    CHECK("ioprio_set best-effort 4", syscall(SYS_ioprio_set, 1, 0, (2 << 13) | 4));
    CHECK("ioprio_set idle", syscall(SYS_ioprio_set, 1, 0, 3 << 13));
    CHECK("ioprio_set bad class", syscall(SYS_ioprio_set, 1, 0, 5 << 13));
    CHECK("ioprio_set level with a hint bit", syscall(SYS_ioprio_set, 1, 0, (2 << 13) | 9));
    CHECK("ioprio_set class none with a level", syscall(SYS_ioprio_set, 1, 0, 3));
    CHECK("ioprio_set bad which", syscall(SYS_ioprio_set, 9, 0, 2 << 13));
    CHECK("ioprio_set no such pid", syscall(SYS_ioprio_set, 1, 4000000, 2 << 13));
    CHECK("ioprio_get bad which", syscall(SYS_ioprio_get, 9, 0));
    return 0;
}
