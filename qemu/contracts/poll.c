/* poll, ppoll, select and pselect6 on pipes: readiness as Linux reports it (POLLIN,
 * POLLOUT, POLLHUP, POLLNVAL, POLLERR), timeouts that really expire, a writer in
 * another process waking a poller, bad arguments' errors. */
#define _GNU_SOURCE
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    pipe(p);
    struct pollfd f[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {99, POLLIN, 0}};
    CHECK("poll: write end ready, bad fd", poll(f, 3, 0));
    printf("revents: read=%#x write=%#x bad=%#x\n", f[0].revents, f[1].revents, f[2].revents);
    long long t0 = ms();
    CHECK("poll empty pipe, 50 ms", poll(f, 1, 50));
    printf("waited at least 50 ms: %s\n", ms() - t0 >= 50 ? "yes" : "no");
    write(p[1], "x", 1);
    CHECK("poll after a write", poll(f, 1, -1));
    printf("read end revents=%#x\n", f[0].revents);
    char c;
    read(p[0], &c, 1);

    pid_t k = fork();
    if (k == 0) {
        usleep(30000);
        write(p[1], "y", 1);
        _exit(0);
    }
    CHECK("poll woken by a writer in another process", poll(f, 1, 5000));
    read(p[0], &c, 1);
    waitpid(k, NULL, 0);

    close(p[1]);
    CHECK("poll after the writer closed", poll(f, 1, 0));
    printf("read end revents=%#x\n", f[0].revents);
    int q[2];
    pipe(q);
    close(q[0]);
    struct pollfd g = {q[1], POLLOUT, 0};
    CHECK("poll write end without readers", poll(&g, 1, 0));
    printf("write end revents=%#x\n", g.revents);
    struct pollfd neg = {-1, POLLIN, 7};
    CHECK("poll negative fd is ignored", poll(&neg, 1, 0));
    printf("its revents=%d\n", neg.revents);
    CHECK("poll bad pointer", poll((void *)8, 1, 0));
    CHECK("poll too many fds", syscall(SYS_poll, f, 1 << 30, 0));

    int r[2];
    pipe(r);
    fd_set rs, ws;
    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_SET(r[0], &rs);
    FD_SET(r[1], &ws);
    struct timeval tv = {0, 20000};
    CHECK("select: only the write end", select(r[1] + 1, &rs, &ws, NULL, &tv));
    printf("read set has r0: %d, write set has r1: %d\n", FD_ISSET(r[0], &rs), FD_ISSET(r[1], &ws));
    FD_ZERO(&rs);
    FD_SET(r[0], &rs);
    tv.tv_sec = 0;
    tv.tv_usec = 30000;
    t0 = ms();
    CHECK("select timeout 30 ms", select(r[0] + 1, &rs, NULL, NULL, &tv));
    printf("waited at least 30 ms: %s\n", ms() - t0 >= 30 ? "yes" : "no");
    /* fd 50, closed: below 64, so inside every Linux fd table. (Linux clips nfds to
     * the size of the process's fd table, so a closed fd beyond it, say 77, gives 0
     * or EBADF depending on how large the table happens to have grown.) */
    close(50);
    FD_ZERO(&rs);
    FD_SET(50, &rs);
    tv.tv_usec = 0;
    CHECK("select on a closed fd", select(51, &rs, NULL, NULL, &tv));
    tv.tv_usec = 2000000;
    CHECK("select bad timeout", select(1, NULL, NULL, NULL, &tv));
    CHECK("select negative nfds", select(-1, NULL, NULL, NULL, NULL));
    struct timespec ts = {0, 10000000};
    sigset_t m;
    sigemptyset(&m);
    struct pollfd h = {r[0], POLLIN, 0};
    CHECK("ppoll 10 ms with a mask", ppoll(&h, 1, &ts, &m));
    FD_ZERO(&rs);
    FD_SET(r[0], &rs);
    CHECK("pselect 10 ms with a mask", pselect(r[0] + 1, &rs, NULL, NULL, &ts, &m));
    return 0;
}
