/* Signals for one thread, and who may signal whom. pthread_kill and raise (tkill) reach
 * exactly the thread they name: its handler runs in that thread, and a signal one
 * thread blocks stays pending for it alone (sigpending in another thread does not
 * show it) until it unblocks; a fault's signal goes to the faulting thread. tgkill
 * checks its arguments (EINVAL, ESRCH for a tid of another process). kill and tgkill
 * check credentials: a process that gave up root may not signal root's processes
 * (EPERM, also for signal 0), may signal its own, and may send SIGCONT within its
 * session; kill(-1) skips what it may not signal. */
#include "common.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t ran_in;
static void on_usr(int sig) {
    (void)sig;
    ran_in = (pid_t)syscall(SYS_gettid);
}

static sigjmp_buf jb;
static volatile pid_t segv_in;
static void on_segv(int sig) {
    (void)sig;
    segv_in = (pid_t)syscall(SYS_gettid);
    siglongjmp(jb, 1);
}

static pid_t main_tid;
static volatile pid_t worker_tid;
static volatile int step, seen_pending_in_worker;

static void *worker(void *arg) {
    (void)arg;
    worker_tid = (pid_t)syscall(SYS_gettid);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    step = 1;
    /* Wait until main has a SIGUSR2 pending for itself, then look. */
    while (step < 2) usleep(1000);
    sigset_t p;
    sigpending(&p);
    seen_pending_in_worker = sigismember(&p, SIGUSR2);
    /* raise: this thread's own handler. */
    ran_in = 0;
    raise(SIGUSR1);
    printf("raise in worker runs its handler there: %s\n",
           ran_in == worker_tid ? "yes" : "no");
    /* A fault's signal is the faulting thread's. */
    if (sigsetjmp(jb, 1) == 0) {
        *(volatile int *)8 = 1;
    }
    printf("SIGSEGV handled in the faulting thread: %s\n",
           segv_in == worker_tid ? "yes" : "no");
    step = 3;
    while (step < 4) usleep(1000);
    return NULL;
}

static void threads(void) {
    main_tid = (pid_t)syscall(SYS_gettid);
    signal(SIGUSR1, on_usr);
    signal(SIGUSR2, on_usr);
    signal(SIGSEGV, on_segv);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    while (step < 1) usleep(1000);

    ran_in = 0;
    pthread_kill(t, SIGUSR1);
    while (ran_in == 0) usleep(1000);
    printf("pthread_kill runs the handler in that thread: %s\n",
           ran_in == worker_tid ? "yes" : "no");

    /* SIGUSR2 to main, which blocks it: pending for main only, even though the
     * worker does not block it. */
    ran_in = 0;
    pthread_kill(pthread_self(), SIGUSR2);
    usleep(20000);
    sigset_t p;
    sigpending(&p);
    printf("blocked thread signal pending in its thread: %s\n",
           sigismember(&p, SIGUSR2) ? "yes" : "no");
    printf("not taken by the other thread: %s\n", ran_in == 0 ? "yes" : "no");
    step = 2;
    while (step < 3) usleep(1000);
    printf("pending in the other thread's sigpending: %s\n",
           seen_pending_in_worker ? "yes" : "no");
    pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
    printf("delivered in its thread when unblocked: %s\n",
           ran_in == main_tid ? "yes" : "no");
    step = 4;
    pthread_join(t, NULL);

    CHECK("tgkill tid 0", syscall(SYS_tgkill, getpid(), 0, SIGUSR1));
    CHECK("tgkill tgid 0", syscall(SYS_tgkill, 0, main_tid, SIGUSR1));
    CHECK("tgkill bad signal", syscall(SYS_tgkill, getpid(), main_tid, 99));
    CHECK("tgkill signal 0 to self", syscall(SYS_tgkill, getpid(), main_tid, 0));
    CHECK("tkill signal 0 to self", syscall(SYS_tkill, main_tid, 0));
    /* A thread of another process named with our tgid. */
    pid_t c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    CHECK("tgkill child's tid with our tgid", syscall(SYS_tgkill, getpid(), c, 0));
    CHECK("tgkill child's tid with its tgid", syscall(SYS_tgkill, c, c, 0));
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    CHECK("tgkill a reaped tid", syscall(SYS_tgkill, c, c, 0));
}

static void credentials(void) {
    pid_t root_child = fork();
    if (root_child == 0) {
        pause();
        _exit(0);
    }
    pid_t c = fork();
    if (c == 0) {
        if (setuid(1000) != 0) {
            printf("setuid failed\n");
            _exit(1);
        }
        pid_t parent = getppid();
        CHECK("kill root's process, signal 0", kill(parent, 0));
        CHECK("kill root's process, SIGTERM", kill(root_child, SIGTERM));
        CHECK("tgkill root's process", syscall(SYS_tgkill, root_child, root_child, SIGTERM));
        CHECK("SIGCONT to root's process in the session", kill(root_child, SIGCONT));
        CHECK("kill own process", kill(getpid(), 0));
        pid_t own = fork();
        if (own == 0) {
            pause();
            _exit(0);
        }
        CHECK("kill own child", kill(own, SIGTERM));
        int st;
        waitpid(own, &st, 0);
        printf("own child ended by SIGTERM: %s\n",
               WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? "yes" : "no");
        CHECK("kill(-1, 0) skips what it may not signal", kill(-1, 0));
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("unprivileged child exited: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    /* Root's child survived the SIGTERM. */
    CHECK("root's child still there", kill(root_child, 0));
    kill(root_child, SIGKILL);
    waitpid(root_child, NULL, 0);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    threads();
    credentials();
    return 0;
}
