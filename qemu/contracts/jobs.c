/* Job control signals. A SIGSTOP'd child is reported by waitpid(WUNTRACED) as stopped
 * (once), SIGCONT resumes it and waitpid(WCONTINUED) reports that; the parent's SIGCHLD
 * handler sees CLD_STOPPED, CLD_CONTINUED, CLD_EXITED in order, and none for stops
 * with SA_NOCLDSTOP; waitid(WSTOPPED) gives CLD_STOPPED; SIGTSTP with a handler runs
 * the handler instead of stopping; SIGKILL ends a stopped child; a child stopped
 * inside read() finishes that read after SIGCONT without EINTR; SIGCONT to a running
 * process runs its handler. */
#include "common.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int codes[16];
static volatile int ncodes;

static void on_chld(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    if (ncodes < 16)
        codes[ncodes++] = si->si_code;
}

static volatile int got;
static void on_sig(int sig) { got = sig; }

static void nap(int ms) {
    struct timespec d = {0, ms * 1000000L};
    while (nanosleep(&d, &d) < 0)
        ;
}

static const char *code_name(int c) {
    switch (c) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    default: return "other";
    }
}

static void describe(const char *label, pid_t child, int options) {
    int st = 0;
    errno = 0;
    pid_t r = waitpid(child, &st, options);
    if (r != child) {
        printf("%s: waitpid returned %s\n", label, r == 0 ? "0" : errname(errno));
        return;
    }
    if (WIFSTOPPED(st))
        printf("%s: stopped by %d\n", label, WSTOPSIG(st));
    else if (WIFCONTINUED(st))
        printf("%s: continued\n", label);
    else if (WIFEXITED(st))
        printf("%s: exited %d\n", label, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by %d\n", label, WTERMSIG(st));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);

    /* Stop, report, continue, report, exit. Each SIGCHLD is awaited before the next
     * event, since two pending SIGCHLDs would merge into one. */
    int go[2];
    pipe(go);
    pid_t c = fork();
    if (c == 0) {
        raise(SIGSTOP);
        char b;
        read(go[0], &b, 1);
        _exit(7);
    }
    describe("WUNTRACED", c, WUNTRACED);
    describe("stop reported once", c, WUNTRACED | WNOHANG);
    kill(c, SIGCONT);
    describe("WCONTINUED", c, WCONTINUED);
    for (int i = 0; i < 500 && ncodes < 2; i++)
        nap(2);
    write(go[1], "x", 1);
    describe("then", c, 0);
    for (int i = 0; i < 500 && ncodes < 3; i++)
        nap(2);
    printf("SIGCHLD codes:");
    for (int i = 0; i < ncodes; i++)
        printf(" %s", code_name(codes[i]));
    printf("\n");

    /* waitid(WSTOPPED) and SIGKILL of a stopped child. */
    c = fork();
    if (c == 0) {
        raise(SIGTSTP);
        _exit(1);
    }
    siginfo_t si = {0};
    errno = 0;
    int r = waitid(P_PID, c, &si, WSTOPPED);
    printf("waitid WSTOPPED: ret=%d %s code=%s status=%d pid-matches=%d\n", r, errname(errno),
           code_name(si.si_code), si.si_status, si.si_pid == c);
    kill(c, SIGKILL);
    describe("SIGKILL while stopped", c, 0);

    /* SA_NOCLDSTOP: no SIGCHLD for the stop, one for the exit. */
    ncodes = 0;
    sa.sa_flags |= SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    c = fork();
    if (c == 0) {
        raise(SIGSTOP);
        _exit(2);
    }
    describe("NOCLDSTOP stop", c, WUNTRACED);
    kill(c, SIGCONT);
    describe("NOCLDSTOP exit", c, 0);
    nap(20);
    printf("SIGCHLD codes with SA_NOCLDSTOP:");
    for (int i = 0; i < ncodes; i++)
        printf(" %s", code_name(codes[i]));
    printf("\n");

    /* A handled SIGTSTP does not stop. */
    signal(SIGTSTP, on_sig);
    raise(SIGTSTP);
    printf("SIGTSTP with a handler: handler ran %d\n", got == SIGTSTP);
    signal(SIGCONT, on_sig);
    got = 0;
    raise(SIGCONT);
    printf("SIGCONT to a running process: handler ran %d\n", got == SIGCONT);

    /* Stopped inside read(): after SIGCONT the read goes on and gets the data. */
    int p[2];
    pipe(p);
    c = fork();
    if (c == 0) {
        char buf[8];
        errno = 0;
        ssize_t n = read(p[0], buf, sizeof buf);
        _exit(n == 5 ? 0 : errno == EINTR ? 99 : 98);
    }
    nap(50);
    kill(c, SIGSTOP);
    describe("stopped in read", c, WUNTRACED);
    kill(c, SIGCONT);
    nap(50);
    write(p[1], "hello", 5);
    describe("read after continue", c, 0);
    return 0;
}
