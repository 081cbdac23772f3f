/* epoll over pipes and eventfds: epoll_ctl's errors in Linux's order, the data field
 * returned verbatim, level- versus edge-triggered reports, EPOLLONESHOT and its re-arm
 * by EPOLL_CTL_MOD, EPOLL_CTL_DEL, hang-up and error events that come unasked, entries
 * that live as long as the open file description (not the descriptor), nested epoll
 * instances (and one in poll(2)), loops refused, timeouts that really pass, a writer in
 * another process waking a waiter, a signal interrupting epoll_wait (EINTR, even with
 * SA_RESTART). When several events come at once they are printed sorted by data, since
 * their order is not part of the contract. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static int ctl(int ep, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, op, fd, &ev);
}

static int cmp(const void *a, const void *b) {
    uint64_t x = ((const struct epoll_event *)a)->data.u64;
    uint64_t y = ((const struct epoll_event *)b)->data.u64;
    return x < y ? -1 : x > y;
}

/* epoll_wait and print what came, sorted by data. */
static void show(const char *label, int ep, int max, int timeout) {
    struct epoll_event ev[16];
    errno = 0;
    int n = epoll_wait(ep, ev, max, timeout);
    if (n < 0) {
        printf("%s: %s\n", label, errno == EINTR ? "EINTR" : errname(errno));
        return;
    }
    qsort(ev, n, sizeof ev[0], cmp);
    printf("%s: %d", label, n);
    for (int i = 0; i < n; i++)
        printf(" [%#llx %#x]", (unsigned long long)ev[i].data.u64, ev[i].events);
    printf("\n");
}

static volatile int handled;
static void on_usr1(int sig) { (void)sig; handled++; }

static int shared_ep, shared_efd;

static void *waiter(void *arg) {
    struct epoll_event e;
    (void)arg;
    long n = epoll_wait(shared_ep, &e, 1, 1000);
    return (void *)n;
}

static void *late_writer(void *arg) {
    uint64_t one = 1;
    (void)arg;
    usleep(50000);
    write(shared_efd, &one, 8);
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK("epoll_create(0)", syscall(SYS_epoll_create, 0));
    CHECK("epoll_create(-1)", syscall(SYS_epoll_create, -1));
    CHECK("epoll_create1(bad flag)", epoll_create1(1));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    printf("F_GETFD: %d\n", fcntl(ep, F_GETFD));
    int p[2];
    pipe2(p, O_NONBLOCK);
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    struct epoll_event e = {EPOLLIN, {0}};

    CHECK("ctl bad fd", ctl(ep, EPOLL_CTL_ADD, 99, EPOLLIN, 0));
    CHECK("ctl bad epfd", ctl(99, EPOLL_CTL_ADD, p[0], EPOLLIN, 0));
    CHECK("ctl a directory", ctl(ep, EPOLL_CTL_ADD, dir, EPOLLIN, 0));
    CHECK("ctl epoll into itself", ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0));
    CHECK("ctl on a pipe, not an epoll", ctl(p[1], EPOLL_CTL_ADD, p[0], EPOLLIN, 0));
    CHECK("ctl bad event pointer", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], (void *)8));
    CHECK("ctl MOD of nothing", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN, 0));
    CHECK("ctl DEL of nothing", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    CHECK("ctl ADD", ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0x1122334455667788ULL));
    CHECK("ctl ADD again", ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0));
    CHECK("ctl unknown op", epoll_ctl(ep, 7, p[0], &e));
    CHECK("ctl ADD exclusive", ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT | EPOLLEXCLUSIVE, 2));
    CHECK("ctl MOD an exclusive entry", ctl(ep, EPOLL_CTL_MOD, p[1], EPOLLOUT, 2));
    CHECK("ctl MOD with exclusive", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLEXCLUSIVE, 0));
    int q[2];
    pipe2(q, O_NONBLOCK);
    CHECK("ctl exclusive with EPOLLPRI", ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN | EPOLLPRI | EPOLLEXCLUSIVE, 0));
    CHECK("ctl DEL", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));

    CHECK("wait maxevents 0", epoll_wait(ep, &e, 0, 0));
    CHECK("wait bad epfd", epoll_wait(99, &e, 1, 0));
    CHECK("wait on a pipe", epoll_wait(p[0], &e, 1, 0));
    CHECK("wait bad pointer", epoll_wait(ep, (void *)8, 1, 0));
    show("empty pipe", ep, 8, 0);
    long long t0 = ms();
    show("empty pipe, 50 ms", ep, 8, 50);
    printf("waited at least 50 ms: %s\n", ms() - t0 >= 50 ? "yes" : "no");
    struct timespec ts = {0, 30000000};
    t0 = ms();
    CHECK("epoll_pwait2 30 ms", syscall(SYS_epoll_pwait2, ep, &e, 1, &ts, NULL, 8));
    printf("waited at least 30 ms: %s\n", ms() - t0 >= 30 ? "yes" : "no");
    ts.tv_nsec = 2000000000;
    CHECK("epoll_pwait2 bad timeout", syscall(SYS_epoll_pwait2, ep, &e, 1, &ts, NULL, 8));
    sigset_t m;
    sigemptyset(&m);
    CHECK("epoll_pwait bad sigset size", syscall(SYS_epoll_pwait, ep, &e, 1, 0, &m, 4));
    CHECK("epoll_pwait with a mask", epoll_pwait(ep, &e, 1, 0, &m));

    /* Level-triggered: reported while readable. */
    write(p[1], "ab", 2);
    show("level: after a write", ep, 8, 0);
    show("level: again", ep, 8, 0);
    char buf[64];
    read(p[0], buf, sizeof buf);
    show("level: drained", ep, 8, 0);

    /* Edge-triggered: once per new event. */
    CHECK("MOD to edge-triggered", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 0xe7));
    show("edge: nothing yet", ep, 8, 0);
    write(p[1], "a", 1);
    show("edge: a write", ep, 8, 0);
    show("edge: no new event", ep, 8, 0);
    write(p[1], "b", 1);
    show("edge: another write, data still there", ep, 8, 0);
    read(p[0], buf, 1);
    show("edge: a partial read", ep, 8, 0);
    read(p[0], buf, sizeof buf);
    CHECK("ctl ADD write end, edge", ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT | EPOLLET, 0xe8));
    show("edge: write end just added", ep, 8, 0);
    show("edge: write end again", ep, 8, 0);
    CHECK("ctl DEL write end", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));

    /* One-shot. */
    CHECK("MOD to one-shot", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 0x05));
    write(p[1], "c", 1);
    show("oneshot: first", ep, 8, 0);
    write(p[1], "d", 1);
    show("oneshot: disabled", ep, 8, 0);
    CHECK("MOD re-arms", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 0x06));
    show("oneshot: re-armed", ep, 8, 0);
    read(p[0], buf, sizeof buf);

    /* Hang-up and error come whether asked or not. */
    int h[2];
    pipe(h);
    CHECK("ADD read end asking nothing", ctl(ep, EPOLL_CTL_ADD, h[0], 0, 0x10));
    CHECK("ADD write end asking nothing", ctl(ep, EPOLL_CTL_ADD, h[1], 0, 0x11));
    show("nothing asked", ep, 8, 0);
    CHECK("MOD read end to EPOLLIN|EPOLLRDHUP", ctl(ep, EPOLL_CTL_MOD, h[0], EPOLLIN | EPOLLRDHUP, 0x10));
    write(h[1], "z", 1);
    show("data in h", ep, 8, 0);
    close(h[1]);
    show("writer closed", ep, 8, 0);
    int g[2];
    pipe(g);
    CHECK("ADD write end", ctl(ep, EPOLL_CTL_ADD, g[1], EPOLLOUT, 0x12));
    close(g[0]);
    show("reader closed", ep, 8, 0);
    close(g[1]);
    close(h[0]);
    show("both closed", ep, 8, 0);

    /* Entries follow the open file description. */
    int ev = eventfd(1, EFD_NONBLOCK);
    CHECK("ADD eventfd", ctl(ep, EPOLL_CTL_ADD, ev, EPOLLIN | EPOLLOUT, 0x20));
    show("eventfd", ep, 8, 0);
    int dupd = dup(ev);
    close(ev);
    show("eventfd closed, dup open", ep, 8, 0);
    CHECK("DEL the closed number", epoll_ctl(ep, EPOLL_CTL_DEL, ev, NULL));
    CHECK("ADD the dup", ctl(ep, EPOLL_CTL_ADD, dupd, EPOLLIN, 0x21));
    show("two entries, one description", ep, 8, 0);
    close(dupd);
    show("last descriptor closed", ep, 8, 0);
    int ev2 = eventfd(0, EFD_NONBLOCK);
    printf("number reused: %s\n", ev2 == ev ? "yes" : "no");
    CHECK("ADD on the reused number", ctl(ep, EPOLL_CTL_ADD, ev2, EPOLLIN, 0x22));
    show("new eventfd empty", ep, 8, 0);
    uint64_t one = 1;
    write(ev2, &one, 8);
    show("new eventfd written", ep, 8, 0);

    /* maxevents smaller than what is ready: each in turn. */
    int rr[3];
    for (int i = 0; i < 3; i++) {
        rr[i] = eventfd(1, 0);
        ctl(ep, EPOLL_CTL_ADD, rr[i], EPOLLIN, 0x30);
    }
    int hits = 0;
    for (int i = 0; i < 8; i++)
        hits += epoll_wait(ep, &e, 1, 0);
    printf("maxevents 1, eight waits: %d events\n", hits);
    for (int i = 0; i < 3; i++)
        close(rr[i]);
    read(ev2, &one, 8);

    /* Nesting (the one-shot pipe back to level-triggered first). */
    CHECK("MOD pipe to level", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN, 0x05));
    show("pipe empty", ep, 8, 0);
    int outer = epoll_create1(0);
    CHECK("ADD epoll into epoll", ctl(outer, EPOLL_CTL_ADD, ep, EPOLLIN, 0x40));
    CHECK("ADD back: a loop", ctl(ep, EPOLL_CTL_ADD, outer, EPOLLIN, 0));
    int third = epoll_create1(0);
    CHECK("ADD third under inner", ctl(ep, EPOLL_CTL_ADD, third, EPOLLIN, 0x41));
    CHECK("ADD outer under third: a loop", ctl(third, EPOLL_CTL_ADD, outer, EPOLLIN, 0));
    CHECK("ADD a pipe under third", ctl(third, EPOLL_CTL_ADD, q[0], EPOLLIN, 0x42));
    show("outer, nothing ready", outer, 8, 0);
    write(p[1], "n", 1);
    show("outer, inner ready", outer, 8, 0);
    struct pollfd pf = {outer, POLLIN, 0};
    CHECK("poll on the outer epoll", poll(&pf, 1, 0));
    printf("revents: %#x\n", pf.revents);
    read(p[0], buf, sizeof buf);
    show("outer, drained", outer, 8, 0);
    write(q[1], "x", 1);
    show("outer, two levels down", outer, 8, 0);
    show("inner, two levels down", ep, 8, 0);
    read(q[0], buf, sizeof buf);

    /* Blocking: a writer in another process; the nested one too. */
    pid_t k = fork();
    if (k == 0) {
        usleep(50000);
        write(p[1], "w", 1);
        _exit(0);
    }
    show("woken by another process", ep, 8, 5000);
    waitpid(k, NULL, 0);
    read(p[0], buf, sizeof buf);
    k = fork();
    if (k == 0) {
        usleep(50000);
        write(q[1], "w", 1);
        _exit(0);
    }
    show("outer woken two levels down", outer, 8, 5000);
    waitpid(k, NULL, 0);
    read(q[0], buf, sizeof buf);
    k = fork();
    if (k == 0) {
        usleep(50000);
        write(p[1], "w", 1);
        _exit(0);
    }
    pf.revents = 0;
    CHECK("poll on the outer epoll, woken", poll(&pf, 1, 5000));
    printf("revents: %#x\n", pf.revents);
    waitpid(k, NULL, 0);
    read(p[0], buf, sizeof buf);

    /* A signal ends the wait: EINTR, never restarted. */
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t me = getpid();
    k = fork();
    if (k == 0) {
        usleep(50000);
        kill(me, SIGUSR1);
        _exit(0);
    }
    show("interrupted by a signal", ep, 8, 5000);
    waitpid(k, NULL, 0);
    printf("handler ran: %d\n", handled);
    /* epoll_pwait's mask lets through a signal the thread blocks: the handler runs
     * (with that mask), and the old mask is back afterwards. */
    sigset_t usr1, cur;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    k = fork();
    if (k == 0) {
        usleep(50000);
        kill(me, SIGUSR1);
        _exit(0);
    }
    sigemptyset(&m);
    errno = 0;
    int pr = epoll_pwait(ep, &e, 1, 5000, &m);
    printf("epoll_pwait unblocking SIGUSR1: %d %s, handler ran: %d\n", pr,
           errno == EINTR ? "EINTR" : errname(errno), handled);
    waitpid(k, NULL, 0);
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("SIGUSR1 blocked again: %s\n", sigismember(&cur, SIGUSR1) ? "yes" : "no");
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);

    /* Threads: a write from another thread wakes the waiter; a one-shot entry that two
     * threads wait on is reported to one of them only. (Last: musl's pthread_exit
     * blocks every signal in the exiting thread, and Writ's signal mask is still the
     * process's, so no signal test can follow.) */
    shared_ep = epoll_create1(0);
    shared_efd = eventfd(0, EFD_NONBLOCK);
    ctl(shared_ep, EPOLL_CTL_ADD, shared_efd, EPOLLIN, 0x50);
    pthread_t th[2];
    pthread_create(&th[0], NULL, late_writer, NULL);
    show("woken by another thread", shared_ep, 8, 5000);
    pthread_join(th[0], NULL);
    read(shared_efd, &one, 8);
    ctl(shared_ep, EPOLL_CTL_MOD, shared_efd, EPOLLIN | EPOLLONESHOT, 0x51);
    pthread_create(&th[0], NULL, waiter, NULL);
    pthread_create(&th[1], NULL, waiter, NULL);
    usleep(50000);
    write(shared_efd, &one, 8);
    long got = 0;
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(th[i], &r);
        got += (long)r;
    }
    printf("one-shot events across two waiting threads: %ld\n", got);

    return 0;
}
