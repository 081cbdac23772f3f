/* Signals: handlers run with the right signal and siginfo, the handler's mask applies
 * and is restored, blocked signals wait, SIG_IGN discards, default actions end the
 * process with the signal in its wait status, SIGCHLD and SIGPIPE are raised, a fault
 * is caught by a SIGSEGV handler, and rt_sigaction/rt_sigprocmask check arguments. */
#include "common.h"
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int got, got_code, got_pid_ok, nested_blocked;
static sigjmp_buf jb;

static void on_usr1(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got = sig;
    got_code = si->si_code;
    got_pid_ok = si->si_pid == getpid();
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    nested_blocked = sigismember(&cur, SIGUSR1) && sigismember(&cur, SIGUSR2);
}

static volatile int chld;
static void on_chld(int sig) { (void)sig; chld++; }
static void on_segv(int sig) { (void)sig; siglongjmp(jb, 1); }
static volatile int pipes;
static void on_pipe(int sig) { (void)sig; pipes++; }

static void report(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by signal %d\n", what, WTERMSIG(st));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    CHECK("sigaction SIGUSR1", sigaction(SIGUSR1, &sa, NULL));
    CHECK("kill self SIGUSR1", kill(getpid(), SIGUSR1));
    printf("handler ran: sig=%d code=%d pid-ok=%d mask-in-handler=%d\n", got, got_code, got_pid_ok, nested_blocked);
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("mask restored after handler: %s\n", sigismember(&cur, SIGUSR1) || sigismember(&cur, SIGUSR2) ? "no" : "yes");

    got = 0;
    sigset_t b;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR1);
    sigprocmask(SIG_BLOCK, &b, NULL);
    raise(SIGUSR1);
    printf("blocked: handler ran: %s\n", got ? "yes" : "no");
    sigset_t pend;
    sigpending(&pend);
    printf("pending while blocked: %s\n", sigismember(&pend, SIGUSR1) ? "yes" : "no");
    sigprocmask(SIG_UNBLOCK, &b, NULL);
    printf("after unblock: handler ran: %s\n", got == SIGUSR1 ? "yes" : "no");

    signal(SIGUSR2, SIG_IGN);
    CHECK("raise ignored SIGUSR2", raise(SIGUSR2));
    printf("still alive after ignored signal: yes\n");

    struct sigaction old;
    CHECK("sigaction SIGKILL", sigaction(SIGKILL, &sa, NULL));
    CHECK("sigaction SIGSTOP", sigaction(SIGSTOP, &sa, NULL));
    CHECK("sigaction 0", syscall(SYS_rt_sigaction, 0, NULL, NULL, 8));
    CHECK("sigaction 65", syscall(SYS_rt_sigaction, 65, NULL, NULL, 8));
    CHECK("sigaction bad sigsetsize", syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4));
    CHECK("sigaction bad act pointer", syscall(SYS_rt_sigaction, SIGUSR1, (void *)8, NULL, 8));
    CHECK("sigprocmask bad how", syscall(SYS_rt_sigprocmask, 7, &b, NULL, 8));
    CHECK("sigprocmask bad how, no set", syscall(SYS_rt_sigprocmask, 7, NULL, &cur, 8));
    CHECK("kill bad signal", kill(getpid(), 99));
    CHECK("kill signal 0 to self", kill(getpid(), 0));
    CHECK("kill missing pid", kill(999999, SIGTERM));
    sigaction(SIGUSR1, NULL, &old);
    printf("old action readable, SA_SIGINFO kept: %s\n", (old.sa_flags & SA_SIGINFO) ? "yes" : "no");

    signal(SIGCHLD, on_chld);
    pid_t p = fork();
    if (p == 0) {
        pause();
        _exit(0);
    }
    CHECK("kill child SIGTERM", kill(p, SIGTERM));
    int st;
    while (waitpid(p, &st, 0) < 0) {}
    report("child killed by SIGTERM", st);
    printf("SIGCHLD handler ran: %s\n", chld ? "yes" : "no");

    p = fork();
    if (p == 0) {
        abort();
    }
    while (waitpid(p, &st, 0) < 0) {}
    report("child that called abort", st);

    signal(SIGSEGV, on_segv);
    if (sigsetjmp(jb, 1) == 0) {
        volatile unsigned long addr = 8;
        *(volatile int *)addr = 1;
        printf("no fault?\n");
    } else {
        printf("SIGSEGV handler caught the fault and longjmp'd out: yes\n");
    }

    signal(SIGPIPE, on_pipe);
    int fds[2];
    pipe(fds);
    close(fds[0]);
    CHECK("write to a pipe without readers", write(fds[1], "x", 1));
    printf("SIGPIPE handler ran: %s\n", pipes == 1 ? "yes" : "no");

    p = fork();
    if (p == 0) {
        signal(SIGPIPE, SIG_DFL);
        int f2[2];
        pipe(f2);
        close(f2[0]);
        write(f2[1], "x", 1);
        _exit(0);
    }
    while (waitpid(p, &st, 0) < 0) {}
    report("child writing to a broken pipe", st);
    return 0;
}
