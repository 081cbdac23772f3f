/* signalfd: argument errors, reading blocked pending signals in the mask as
 * signalfd_siginfo records (signal number, SI_USER code, sender's pid), signals outside
 * the mask left alone, a new mask on an existing signalfd, several records in one read,
 * short buffers, a blocking read woken by a signal from another process, readiness
 * through poll and epoll, and SIGCHLD (ignored by default, but queued while blocked)
 * with the child's exit status. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static struct signalfd_siginfo si[4];

static pid_t sender;

static void show(const char *label, int fd, size_t len) {
    errno = 0;
    long n = read(fd, si, len);
    if (n < 0) {
        printf("%s: %s\n", label, errname(errno));
        return;
    }
    printf("%s: %ld bytes", label, n);
    for (long i = 0; i < n / (long)sizeof si[0]; i++)
        printf(" [signo=%u code=%d sender's pid: %s]", si[i].ssi_signo, si[i].ssi_code,
               si[i].ssi_pid == (unsigned)sender ? "yes" : "no");
    printf("\n");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    sender = getpid();
    sigset_t m, both;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    sigprocmask(SIG_BLOCK, &both, NULL);
    CHECK("signalfd4 size 4", syscall(SYS_signalfd4, -1, &m, 4, 0));
    CHECK("signalfd4 bad flag", syscall(SYS_signalfd4, -1, &m, 8, 1));
    CHECK("signalfd4 bad mask pointer", syscall(SYS_signalfd4, -1, (void *)8, 8, 0));
    CHECK("signalfd on fd 99", signalfd(99, &m, 0));
    int p[2];
    pipe(p);
    CHECK("signalfd on a pipe", signalfd(p[0], &m, 0));
    int s = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("F_GETFL: %#x F_GETFD: %d\n", fcntl(s, F_GETFL) & ~O_LARGEFILE, fcntl(s, F_GETFD));
    show("nothing pending", s, sizeof si[0]);
    struct pollfd pf = {s, POLLIN, 0};
    CHECK("poll, nothing pending", poll(&pf, 1, 0));
    kill(getpid(), SIGUSR1);
    CHECK("poll, SIGUSR1 pending", poll(&pf, 1, 0));
    printf("revents: %#x\n", pf.revents);
    show("read into 100 bytes", s, 100);
    show("read SIGUSR1", s, sizeof si[0]);
    show("read again", s, sizeof si[0]);
    kill(getpid(), SIGUSR2);
    show("SIGUSR2 is not in the mask", s, sizeof si[0]);
    CHECK("new mask on the same fd", signalfd(s, &both, 0) == s);
    kill(getpid(), SIGUSR1);
    show("both, in one read", s, sizeof si);
    sigset_t pend;
    sigpending(&pend);
    printf("still pending: USR1 %d USR2 %d\n", sigismember(&pend, SIGUSR1), sigismember(&pend, SIGUSR2));

    int b = signalfd(-1, &m, 0);
    pid_t parent = getpid();
    pid_t k = fork();
    if (k == 0) {
        usleep(50000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    sender = k;
    show("blocking read woken by another process", b, sizeof si[0]);
    waitpid(k, NULL, 0);

    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u64 = 3}};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    CHECK("epoll_wait, nothing pending", epoll_wait(ep, &ev, 1, 0));
    k = fork();
    if (k == 0) {
        usleep(50000);
        kill(parent, SIGUSR2);
        _exit(0);
    }
    sender = k;
    CHECK("epoll_wait woken by a signal", epoll_wait(ep, &ev, 1, 5000));
    printf("event: %#x data %llu\n", ev.events, (unsigned long long)ev.data.u64);
    show("read it", s, sizeof si[0]);
    waitpid(k, NULL, 0);

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int c = signalfd(-1, &chld, 0);
    k = fork();
    if (k == 0) {
        usleep(20000);
        _exit(3);
    }
    errno = 0;
    long n = read(c, si, sizeof si[0]);
    printf("SIGCHLD read: %ld signo=%u code=%d status=%d child's pid: %s\n", n, si[0].ssi_signo,
           si[0].ssi_code, si[0].ssi_status, si[0].ssi_pid == (unsigned)k ? "yes" : "no");
    int st = 0;
    pid_t w = waitpid(k, &st, 0);
    printf("waitpid: %s, exit status %d\n", w == k ? "ok" : "failed", WEXITSTATUS(st));
    return 0;
}
