/* sigaltstack: starts disabled; a too-small stack is ENOMEM, unknown flags EINVAL; an
 * SA_ONSTACK handler runs on the alternate stack (and sees SS_ONSTACK, and may not
 * change it: EPERM), a handler without SA_ONSTACK does not; SS_AUTODISARM disarms the
 * stack while the handler runs, and it comes back (without the flag) after; fork keeps the stack, a new thread
 * starts without one; a stack overflow's SIGSEGV is handled on the alternate stack. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char *alt;
static const size_t ALT = 64 * 1024;
static volatile int on_alt, saw_onstack, change_err, inner_flags;

static void handler(int sig) {
    (void)sig;
    char here;
    on_alt = (uintptr_t)&here >= (uintptr_t)alt && (uintptr_t)&here < (uintptr_t)alt + ALT;
    stack_t o;
    sigaltstack(NULL, &o);
    saw_onstack = (o.ss_flags & SS_ONSTACK) != 0;
    inner_flags = o.ss_flags;
    stack_t n = {.ss_sp = alt, .ss_size = ALT, .ss_flags = 0};
    errno = 0;
    change_err = sigaltstack(&n, NULL) < 0 ? errno : 0;
}

static void on_segv(int sig) {
    (void)sig;
    char here;
    int ok = (uintptr_t)&here >= (uintptr_t)alt && (uintptr_t)&here < (uintptr_t)alt + ALT;
    _exit(ok ? 42 : 43);
}

static int deep(int n) {
    volatile char pad[4096];
    pad[0] = (char)n;
    return n < 1 << 30 ? deep(n + 1) + pad[0] : 0;
}

static void *thread(void *arg) {
    (void)arg;
    stack_t o;
    sigaltstack(NULL, &o);
    return (void *)(long)o.ss_flags;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    stack_t o, n;
    sigaltstack(NULL, &o);
    printf("initially disabled: %s\n", o.ss_flags == SS_DISABLE ? "yes" : "no");
    alt = malloc(ALT);
    n.ss_sp = alt;
    n.ss_size = 1024;
    n.ss_flags = 0;
    CHECK("1 KiB stack", sigaltstack(&n, NULL));
    n.ss_size = ALT;
    n.ss_flags = 4;
    CHECK("unknown flag", sigaltstack(&n, NULL));
    n.ss_flags = 0;
    CHECK("64 KiB stack", sigaltstack(&n, NULL));
    CHECK("bad pointer", syscall(131, (void *)8, NULL)); /* musl's wrapper reads it first */
    sigaltstack(NULL, &o);
    printf("reads back: size %zu, flags %d, sp matches %d\n", o.ss_size, o.ss_flags, o.ss_sp == alt);

    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("SA_ONSTACK handler on the alternate stack: %d, saw SS_ONSTACK: %d, change: %s\n",
           on_alt, saw_onstack, errname(change_err));
    sa.sa_flags = 0;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    printf("handler without SA_ONSTACK on the alternate stack: %d\n", on_alt);

    n.ss_flags = SS_AUTODISARM;
    CHECK("SS_AUTODISARM", sigaltstack(&n, NULL));
    raise(SIGUSR1);
    printf("autodisarm: on it %d, disabled inside: %s\n", on_alt,
           inner_flags == SS_DISABLE ? "yes" : "no");
    sigaltstack(NULL, &o);
    /* Linux re-arms it from the frame's uc_stack, which does not carry SS_AUTODISARM. */
    printf("re-armed after the handler: flags %#x, sp matches %d\n", o.ss_flags, o.ss_sp == alt);

    pid_t c = fork();
    if (c == 0) {
        sigaltstack(NULL, &o);
        _exit(!(o.ss_flags & SS_DISABLE) && o.ss_sp == alt ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    printf("fork child keeps it: %s\n", WEXITSTATUS(st) == 0 ? "yes" : "no");
    pthread_t t;
    void *r;
    pthread_create(&t, NULL, thread, NULL);
    pthread_join(t, &r);
    printf("new thread starts disabled: %s\n", (long)r == SS_DISABLE ? "yes" : "no");

    c = fork();
    if (c == 0) {
        struct rlimit rl = {1 << 20, 1 << 20};
        setrlimit(RLIMIT_STACK, &rl);
        n.ss_flags = 0;
        sigaltstack(&n, NULL);
        struct sigaction s2 = {0};
        s2.sa_handler = on_segv;
        s2.sa_flags = SA_ONSTACK;
        sigaction(SIGSEGV, &s2, NULL);
        deep(0);
        _exit(1);
    }
    waitpid(c, &st, 0);
    printf("stack overflow: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 42 ? "SIGSEGV handled on the alternate stack"
                                   : WIFSIGNALED(st) ? "killed" : "other");
    return 0;
}
