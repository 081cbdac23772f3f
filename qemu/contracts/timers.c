/* Interval timers. alarm returns the seconds left on the previous alarm (rounded);
 * setitimer(ITIMER_REAL) sends SIGALRM once or periodically; getitimer reads the time
 * left and the interval back; bad timevals and timer kinds are EINVAL, bad pointers
 * EFAULT; SIGALRM's default action kills; a blocking read is interrupted with EINTR
 * by a handler without SA_RESTART (ping's pattern); a fork child does not inherit
 * the parent's timer. */
#include "common.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int alarms;
static void on_alrm(int sig) { (void)sig; alarms++; }

static long ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void arm(long value_ms, long interval_ms) {
    struct itimerval it = {{interval_ms / 1000, (interval_ms % 1000) * 1000},
                           {value_ms / 1000, (value_ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("alarm(0) with none pending: %u\n", alarm(0));
    printf("alarm(5): %u\n", alarm(5));
    printf("alarm(2) after alarm(5): %u\n", alarm(2));
    printf("alarm(0) after alarm(2): %u\n", alarm(0));

    struct sigaction sa = {0};
    sa.sa_handler = on_alrm;
    sigaction(SIGALRM, &sa, NULL);

    long t0 = ms();
    arm(50, 0);
    while (alarms == 0)
        pause();
    printf("one-shot 50 ms: %d signal, waited at least 50 ms: %s\n", alarms,
           ms() - t0 >= 50 ? "yes" : "no");
    struct itimerval cur;
    getitimer(ITIMER_REAL, &cur);
    printf("after it fired: value %ld.%06ld interval %ld.%06ld\n", (long)cur.it_value.tv_sec,
           (long)cur.it_value.tv_usec, (long)cur.it_interval.tv_sec, (long)cur.it_interval.tv_usec);

    arm(1000, 250);
    getitimer(ITIMER_REAL, &cur);
    printf("armed 1 s every 250 ms: value in (0.5 s, 1 s]: %s, interval %ld.%06ld\n",
           cur.it_value.tv_sec * 1000000 + cur.it_value.tv_usec > 500000 &&
                   cur.it_value.tv_sec * 1000000 + cur.it_value.tv_usec <= 1000000
               ? "yes" : "no",
           (long)cur.it_interval.tv_sec, (long)cur.it_interval.tv_usec);
    struct itimerval old;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, &old);
    printf("disarm returns the old interval %ld.%06ld\n", (long)old.it_interval.tv_sec,
           (long)old.it_interval.tv_usec);

    alarms = 0;
    t0 = ms();
    arm(20, 20);
    while (alarms < 4)
        pause();
    setitimer(ITIMER_REAL, &off, NULL);
    printf("periodic 20 ms: 4 signals after at least 80 ms: %s\n", ms() - t0 >= 80 ? "yes" : "no");

    struct itimerval bad = {{0, 0}, {0, 1000000}};
    CHECK("usec of 1000000", setitimer(ITIMER_REAL, &bad, NULL));
    bad.it_value.tv_usec = -1;
    CHECK("negative usec", setitimer(ITIMER_REAL, &bad, NULL));
    CHECK("unknown timer", setitimer(7, &off, NULL));
    CHECK("getitimer unknown timer", getitimer(7, &cur));
    CHECK("bad new pointer", setitimer(ITIMER_REAL, (void *)8, NULL));
    CHECK("bad old pointer", setitimer(ITIMER_REAL, &off, (void *)8));
    CHECK("getitimer bad pointer", getitimer(ITIMER_REAL, (void *)8));
    getitimer(ITIMER_VIRTUAL, &cur);
    printf("ITIMER_VIRTUAL reads as disarmed: %s\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 ? "yes" : "no");

    /* A read interrupted by SIGALRM (handler without SA_RESTART). */
    int p[2];
    pipe(p);
    arm(30, 0);
    char c;
    errno = 0;
    ssize_t n = read(p[0], &c, 1);
    printf("read interrupted by SIGALRM: ret=%zd %s\n", n, errname(errno));

    /* The fork child does not inherit the timer. */
    arm(5000, 0);
    pid_t ch = fork();
    if (ch == 0) {
        struct itimerval c2;
        getitimer(ITIMER_REAL, &c2);
        _exit(c2.it_value.tv_sec == 0 && c2.it_value.tv_usec == 0 ? 0 : 1);
    }
    int st;
    waitpid(ch, &st, 0);
    printf("fork child's timer disarmed: %s\n", WEXITSTATUS(st) == 0 ? "yes" : "no");
    setitimer(ITIMER_REAL, &off, NULL);

    /* SIGALRM's default action ends the process. */
    ch = fork();
    if (ch == 0) {
        signal(SIGALRM, SIG_DFL);
        arm(10, 0);
        for (;;)
            pause();
    }
    waitpid(ch, &st, 0);
    printf("default SIGALRM: killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    return 0;
}
