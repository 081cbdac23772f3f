/* The task's own attributes. prctl: names cut at 15 bytes, dumpable, no_new_privs,
 * bad options EINVAL; the parent-death signal reaches a child when its parent ends; a
 * child subreaper adopts its orphaned grandchildren (getppid names it, it can wait for
 * them). personality answers PER_LINUX. sched_getaffinity: whole longs only, CPU 0 is
 * in the mask. CPU time: after a busy loop, getrusage, times and
 * CLOCK_PROCESS_CPUTIME_ID count user time, and RUSAGE_CHILDREN a waited-for child's.
 * sigtimedwait: takes a pending signal of the set (with its siginfo), polls with a
 * zero timeout, times out with EAGAIN, is interrupted by another handled signal. */
#define _GNU_SOURCE
#include "common.h"
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long ms_of(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Burns `ms` of CPU time as the process's own CPU clock counts it (so a loaded host
 * that gives the process little CPU only makes this take longer), within 30 s. */
static volatile unsigned long sink;
static void busy(long ms) {
    long start = ms_of(CLOCK_PROCESS_CPUTIME_ID), give_up = ms_of(CLOCK_MONOTONIC) + 30000;
    while (ms_of(CLOCK_PROCESS_CPUTIME_ID) - start < ms && ms_of(CLOCK_MONOTONIC) < give_up)
        for (int i = 0; i < 10000; i++)
            sink += i;
}

static long tv_ms(struct timeval t) { return t.tv_sec * 1000 + t.tv_usec / 1000; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char name[32] = {0};
    CHECK("PR_SET_NAME", prctl(PR_SET_NAME, "averyveryverylongname", 0, 0, 0));
    CHECK("PR_GET_NAME", prctl(PR_GET_NAME, name, 0, 0, 0));
    printf("name now: %s\n", name);
    CHECK("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    CHECK("PR_SET_DUMPABLE 2", prctl(PR_SET_DUMPABLE, 2, 0, 0, 0));
    CHECK("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    CHECK("PR_SET_NO_NEW_PRIVS", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    CHECK("PR_GET_NO_NEW_PRIVS after", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    CHECK("PR_SET_PDEATHSIG 99", prctl(PR_SET_PDEATHSIG, 99, 0, 0, 0));
    CHECK("unknown option", prctl(9999, 0, 0, 0, 0));
    CHECK("PR_GET_NAME bad pointer", prctl(PR_GET_NAME, (void *)8, 0, 0, 0));
    CHECK("personality query", personality(0xffffffff));

    /* Subreaper and parent-death signal: we (P) are the subreaper; the middle process
     * M forks C and exits; C (asked for SIGUSR1 at its parent's death) reports. */
    CHECK("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    int sr = 0;
    prctl(PR_GET_CHILD_SUBREAPER, &sr, 0, 0, 0);
    printf("subreaper flag: %d\n", sr);
    int p[2];
    pipe(p);
    pid_t me = getpid();
    pid_t m = fork();
    if (m == 0) {
        pid_t c = fork();
        if (c == 0) {
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, SIGUSR1);
            sigprocmask(SIG_BLOCK, &s, NULL);
            prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
            int sig = 0;
            char ok = 'n';
            write(p[1], "r", 1); /* ready */
            sigwait(&s, &sig);
            if (sig == SIGUSR1 && getppid() == me)
                ok = 'y';
            write(p[1], &ok, 1);
            _exit(5);
        }
        char r;
        read(p[0], &r, 1);
        _exit(0);
    }
    waitpid(m, NULL, 0);
    char r = 0;
    read(p[0], &r, 1);
    printf("grandchild got SIGUSR1 and was adopted by the subreaper: %c\n", r);
    int st;
    pid_t w = wait(&st);
    printf("subreaper waits for it: %s, exit %d\n", w > 0 ? "yes" : "no", WEXITSTATUS(st));

    cpu_set_t set;
    CHECK("sched_getaffinity len 4", sched_getaffinity(0, 4, &set));
    long n = syscall(204, 0, sizeof set, &set);
    printf("sched_getaffinity: bytes a multiple of 8: %s, CPU 0 in the mask: %s\n",
           n > 0 && n % 8 == 0 ? "yes" : "no", CPU_ISSET(0, &set) ? "yes" : "no");
    CHECK("sched_getaffinity bad pid", sched_getaffinity(999999, sizeof set, &set));
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    CHECK("sched_setaffinity CPU 0", sched_setaffinity(0, sizeof set, &set));

    struct rusage ru;
    CHECK("getrusage who=5", getrusage(5, &ru));
    busy(300);
    getrusage(RUSAGE_SELF, &ru);
    printf("getrusage after 300 ms of CPU: user+system at least 250 ms: %s, mostly user: %s\n",
           tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime) >= 250 ? "yes" : "no",
           tv_ms(ru.ru_utime) > tv_ms(ru.ru_stime) ? "yes" : "no");
    struct tms t;
    clock_t up = times(&t);
    printf("times: uptime ticks > 0: %s, utime+stime at least 25 ticks: %s\n",
           up > 0 ? "yes" : "no", t.tms_utime + t.tms_stime >= 25 ? "yes" : "no");
    pid_t c = fork();
    if (c == 0) {
        busy(300);
        _exit(0);
    }
    getrusage(RUSAGE_CHILDREN, &ru);
    long before = tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
    waitpid(c, NULL, 0);
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("children's CPU time grew by at least 250 ms once waited for: %s\n",
           tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime) - before >= 250 ? "yes" : "no");

    sigset_t ws;
    sigemptyset(&ws);
    sigaddset(&ws, SIGUSR2);
    sigprocmask(SIG_BLOCK, &ws, NULL);
    struct timespec zero = {0, 0}, fifty = {0, 50 * 1000000};
    siginfo_t si;
    CHECK("sigtimedwait poll, nothing pending", sigtimedwait(&ws, &si, &zero));
    long t0 = ms_of(CLOCK_MONOTONIC);
    CHECK("sigtimedwait 50 ms", sigtimedwait(&ws, &si, &fifty));
    printf("waited at least 50 ms: %s\n", ms_of(CLOCK_MONOTONIC) - t0 >= 50 ? "yes" : "no");
    kill(getpid(), SIGUSR2);
    CHECK("sigtimedwait with SIGUSR2 pending", sigtimedwait(&ws, &si, &zero));
    printf("siginfo: signo %d, code SI_USER %d, pid is mine %d\n", si.si_signo,
           si.si_code == SI_USER, si.si_pid == getpid());
    sigset_t pend;
    sigpending(&pend);
    printf("taken, not pending any more: %s\n", sigismember(&pend, SIGUSR2) ? "no" : "yes");
    CHECK("bad sigsetsize", syscall(128, &ws, NULL, &zero, 4));
    return 0;
}
