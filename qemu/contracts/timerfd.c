/* timerfd: creation and settime errors, a disarmed timer, one-shot expiry (a blocking
 * read waits for it, then the timer is disarmed), periodic expiry counts (coarse: at
 * least so many, so that scheduling jitter cannot change the output), the old setting
 * returned by settime, absolute times on CLOCK_MONOTONIC and CLOCK_REALTIME including
 * one in the past with overruns, disarming, and readiness through poll and epoll. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static long long ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static uint64_t count;
static long rd(int fd) {
    count = 0;
    return read(fd, &count, sizeof count);
}

static struct itimerspec spec(long value_ms, long interval_ms) {
    struct itimerspec s = {
        {interval_ms / 1000, interval_ms % 1000 * 1000000},
        {value_ms / 1000, value_ms % 1000 * 1000000},
    };
    return s;
}

static void show_time(const char *label, int fd) {
    struct itimerspec cur;
    timerfd_gettime(fd, &cur);
    long long v = cur.it_value.tv_sec * 1000LL + cur.it_value.tv_nsec / 1000000;
    long long i = cur.it_interval.tv_sec * 1000LL + cur.it_interval.tv_nsec / 1000000;
    printf("%s: armed=%s interval=%lld ms\n", label,
           cur.it_value.tv_sec || cur.it_value.tv_nsec ? "yes" : "no", i);
    (void)v;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK("create CLOCK_PROCESS_CPUTIME_ID", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
    CHECK("create bad flag", timerfd_create(CLOCK_MONOTONIC, 1));
    CHECK("create CLOCK_BOOTTIME", timerfd_create(CLOCK_BOOTTIME, 0) >= 0);
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    printf("F_GETFL: %#x F_GETFD: %d\n", fcntl(t, F_GETFL) & ~O_LARGEFILE, fcntl(t, F_GETFD));
    struct itimerspec s = spec(50, 0), old;
    CHECK("settime bad flag", timerfd_settime(t, 4, &s, NULL));
    struct itimerspec bad = spec(0, 0);
    bad.it_value.tv_nsec = 1000000000;
    CHECK("settime bad nsec", timerfd_settime(t, 0, &bad, NULL));
    bad = spec(0, 0);
    bad.it_interval.tv_sec = -1;
    CHECK("settime negative interval", timerfd_settime(t, 0, &bad, NULL));
    CHECK("settime bad fd", timerfd_settime(99, 0, &s, NULL));
    CHECK("settime on stdout", timerfd_settime(1, 0, &s, NULL));
    CHECK("settime bad pointer", timerfd_settime(t, 0, (void *)8, NULL));
    CHECK("gettime bad pointer", timerfd_gettime(t, (void *)8));
    show_time("new timer", t);
    CHECK("read disarmed", rd(t));
    char small[4];
    CHECK("read 4 bytes", read(t, small, 4));
    CHECK("write", write(t, &count, 8));

    /* One-shot, blocking. */
    int b = timerfd_create(CLOCK_MONOTONIC, 0);
    long long t0 = ms();
    CHECK("settime 50 ms", timerfd_settime(b, 0, &s, NULL));
    show_time("one-shot armed", b);
    CHECK("blocking read", rd(b));
    printf("count: %llu, waited at least 50 ms: %s\n", (unsigned long long)count,
           ms() - t0 >= 50 ? "yes" : "no");
    show_time("one-shot after expiry", b);

    /* Periodic. */
    s = spec(20, 20);
    t0 = ms();
    timerfd_settime(t, 0, &s, NULL);
    show_time("periodic armed", t);
    usleep(110000);
    CHECK("read after 110 ms", rd(t));
    long long el = ms() - t0;
    printf("count >= 5: %s, no more than the periods elapsed: %s\n", count >= 5 ? "yes" : "no",
           (long long)count <= el / 20 ? "yes" : "no");
    /* The next expiry a second away: a read right after one finds nothing. */
    s = spec(30, 1000);
    timerfd_settime(t, 0, &s, NULL);
    usleep(60000);
    CHECK("read a 1 s periodic timer after its first expiry", rd(t));
    printf("count: %llu\n", (unsigned long long)count);
    CHECK("read again at once", rd(t));
    s = spec(20, 20);
    timerfd_settime(b, 0, &s, NULL);
    int ok = 1;
    for (int i = 0; i < 3; i++)
        ok &= rd(b) == 8 && count >= 1;
    printf("three blocking reads of a periodic timer, each >= 1: %s\n", ok ? "yes" : "no");

    /* The old setting. */
    s = spec(10000, 500);
    timerfd_settime(t, 0, &s, NULL);
    s = spec(0, 0);
    CHECK("disarm, asking the old setting", timerfd_settime(t, 0, &s, &old));
    printf("old: value in (9, 10] s: %s, interval %ld ms\n",
           old.it_value.tv_sec == 9 || (old.it_value.tv_sec == 10 && old.it_value.tv_nsec == 0)
               ? "yes" : "no",
           old.it_interval.tv_nsec / 1000000);
    show_time("disarmed", t);
    CHECK("read disarmed", rd(t));

    /* Absolute times. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* A system just booted may not have had a second of CLOCK_MONOTONIC yet. */
    while (now.tv_sec < 2) {
        usleep(100000);
        clock_gettime(CLOCK_MONOTONIC, &now);
    }
    s = spec(0, 0);
    s.it_value = now;
    s.it_value.tv_sec -= 1;
    CHECK("absolute, one second ago", timerfd_settime(t, TFD_TIMER_ABSTIME, &s, NULL));
    CHECK("read", rd(t));
    printf("count: %llu\n", (unsigned long long)count);
    s.it_interval.tv_nsec = 100000000;
    CHECK("absolute, one second ago, every 100 ms", timerfd_settime(t, TFD_TIMER_ABSTIME, &s, NULL));
    CHECK("read", rd(t));
    printf("count >= 11: %s, < 30: %s\n", count >= 11 ? "yes" : "no", count < 30 ? "yes" : "no");
    int r = timerfd_create(CLOCK_REALTIME, 0);
    clock_gettime(CLOCK_REALTIME, &now);
    s = spec(0, 0);
    s.it_value = now;
    s.it_value.tv_nsec += 50000000;
    if (s.it_value.tv_nsec >= 1000000000) {
        s.it_value.tv_sec++;
        s.it_value.tv_nsec -= 1000000000;
    }
    t0 = ms();
    CHECK("realtime absolute, 50 ms ahead, cancel on set",
          timerfd_settime(r, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &s, NULL));
    CHECK("blocking read", rd(r));
    printf("count: %llu, waited at least 40 ms: %s\n", (unsigned long long)count,
           ms() - t0 >= 40 ? "yes" : "no");

    /* poll and epoll. */
    struct pollfd pf = {t, POLLIN, 0};
    s = spec(30, 0);
    timerfd_settime(t, 0, &s, NULL);
    CHECK("poll before expiry", poll(&pf, 1, 0));
    t0 = ms();
    CHECK("poll until expiry", poll(&pf, 1, 5000));
    printf("revents: %#x, waited at least 30 ms: %s\n", pf.revents, ms() - t0 >= 30 ? "yes" : "no");
    rd(t);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u64 = 7}};
    epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
    timerfd_settime(t, 0, &s, NULL);
    CHECK("epoll_wait before expiry", epoll_wait(ep, &ev, 1, 0));
    t0 = ms();
    CHECK("epoll_wait until expiry", epoll_wait(ep, &ev, 1, 5000));
    printf("event: %#x data %llu, waited at least 30 ms: %s\n", ev.events,
           (unsigned long long)ev.data.u64, ms() - t0 >= 30 ? "yes" : "no");
    CHECK("epoll_wait again: still unread", epoll_wait(ep, &ev, 1, 0));
    rd(t);
    CHECK("epoll_wait after the read", epoll_wait(ep, &ev, 1, 0));
    /* Edge-triggered, periodic: each expiry is an edge. */
    ev.events = EPOLLIN | EPOLLET;
    epoll_ctl(ep, EPOLL_CTL_MOD, t, &ev);
    s = spec(20, 20);
    timerfd_settime(t, 0, &s, NULL);
    ok = 1;
    for (int i = 0; i < 3; i++) {
        ok &= epoll_wait(ep, &ev, 1, 5000) == 1;
        ok &= rd(t) == 8;
    }
    printf("edge-triggered periodic, three waits and reads: %s\n", ok ? "yes" : "no");
    return 0;
}
