#define _GNU_SOURCE
/* Time and identity: clocks move forward, nanosleep sleeps at least as asked, the
 * realtime clock is a plausible date, bad arguments get EINVAL/EFAULT; setting the
 * clock checks its arguments and needs root (only error paths and a no-op here: the
 * Linux side runs on the host); ids start as root, setuid drops for good,
 * getgroups/setgroups follow the privilege. */
#include "common.h"
#include <grp.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    long long a = ns(CLOCK_MONOTONIC);
    struct timespec d = {0, 30 * 1000 * 1000};
    CHECK("nanosleep 30 ms", nanosleep(&d, NULL));
    long long b = ns(CLOCK_MONOTONIC);
    printf("slept at least 30 ms: %s\n", b - a >= 30000000 ? "yes" : "no");
    printf("realtime after 2020: %s\n", ns(CLOCK_REALTIME) > 1577836800LL * 1000000000LL ? "yes" : "no");
    struct timeval tv;
    CHECK("gettimeofday", gettimeofday(&tv, NULL));
    struct timespec bad = {0, 1000000000L};
    CHECK("nanosleep bad nsec", nanosleep(&bad, NULL));
    CHECK("nanosleep bad pointer", syscall(SYS_nanosleep, (void *)8, NULL));
    CHECK("clock_gettime bad clock", syscall(SYS_clock_gettime, 99, &d));
    CHECK("clock_gettime bad pointer", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)8));
    struct utsname u;
    CHECK("uname", uname(&u));
    printf("sysname=%s machine=%s\n", u.sysname, u.machine);

    printf("uid=%d euid=%d gid=%d egid=%d\n", getuid(), geteuid(), getgid(), getegid());
    gid_t g[4] = {5, 6};
    CHECK("setgroups as root", setgroups(2, g));
    CHECK("getgroups count", getgroups(0, NULL));
    CHECK("getgroups too small", getgroups(1, g));
    CHECK("setgid 100", setgid(100));
    CHECK("setresuid 1000 1000 0", setresuid(1000, 1000, 0));
    CHECK("seteuid back to saved 0", seteuid(0));
    CHECK("setuid 1000 (root: all three)", setuid(1000));
    printf("uid=%d euid=%d gid=%d\n", getuid(), geteuid(), getgid());
    struct timespec mono = {1, 0};
    CHECK("clock_settime monotonic", clock_settime(CLOCK_MONOTONIC, &mono));
    struct timespec badns = {1, -1};
    CHECK("clock_settime bad ns", clock_settime(CLOCK_REALTIME, &badns));
    CHECK("clock_settime bad pointer", syscall(SYS_clock_settime, CLOCK_REALTIME, (void *)8));
    struct timeval badus = {1, 2000000};
    CHECK("settimeofday bad usec", syscall(SYS_settimeofday, &badus, NULL));
    struct timeval now;
    gettimeofday(&now, NULL);
    CHECK("settimeofday as user", syscall(SYS_settimeofday, &now, NULL));
    struct timespec tnow;
    clock_gettime(CLOCK_REALTIME, &tnow);
    CHECK("clock_settime as user", clock_settime(CLOCK_REALTIME, &tnow));
    CHECK("settimeofday nothing as user", syscall(SYS_settimeofday, NULL, NULL));
    CHECK("setuid 0 as user", setuid(0));
    CHECK("seteuid 0 as user", seteuid(0));
    CHECK("setgroups as user", setgroups(0, NULL));
    CHECK("setuid to self", setuid(1000));
    return 0;
}
