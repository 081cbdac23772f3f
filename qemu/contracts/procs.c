/* fork, pipes, execve and wait4: a child's exit status and terminating signal reach
 * the parent; pipes carry data and EOF between processes; fds are inherited by fork
 * and by exec unless close-on-exec; wait4's errors and WNOHANG are Linux's. */
#include "common.h"
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what, int st) {
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by signal %d\n", what, WTERMSIG(st));
    else printf("%s: other 0x%x\n", what, st);
}

static int cow_var = 1;
static char cow_buf[8] = "parent";

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && argv[1][0] == 'x') {
        /* The exec'd image: fd 5 was inherited across exec, fd 6 was CLOEXEC. */
        char buf[32] = {0};
        int n = read(5, buf, sizeof buf - 1);
        printf("exec'd child: argv[1]=%s read %d bytes from inherited fd: %s\n", argv[1], n, buf);
        errno = 0;
        printf("exec'd child: cloexec fd 6 is %s\n", fcntl(6, F_GETFD) < 0 ? errname(errno) : "open");
        return 9;
    }
    int st;
    CHECK("wait4 with no children", wait4(-1, &st, 0, NULL));
    CHECK("wait4 bad options", wait4(-1, &st, 0x1000, NULL));

    pid_t p = fork();
    if (p == 0) _exit(42);
    printf("fork returned a pid in the parent: %s\n", p > 0 ? "yes" : "no");
    pid_t w = waitpid(p, &st, 0);
    printf("waitpid returned that pid: %s\n", w == p ? "yes" : "no");
    report("child 1", st);
    CHECK("wait again for the reaped child", waitpid(p, &st, 0));

    int fds[2];
    CHECK("pipe", pipe(fds));
    p = fork();
    if (p == 0) {
        close(fds[1]);
        char buf[64];
        int total = 0, n;
        while ((n = read(fds[0], buf, sizeof buf)) > 0) total += n;
        printf("child 2 read %d bytes then EOF (%d)\n", total, n);
        _exit(total == 11 ? 7 : 1);
    }
    close(fds[0]);
    CHECK("WNOHANG while the child waits on the pipe", waitpid(p, &st, WNOHANG));
    /* Let the child block in read first: the write must wake it. */
    usleep(50000);
    CHECK("write to pipe", write(fds[1], "hello", 5));
    usleep(50000);
    CHECK("write more", write(fds[1], " world", 6));
    close(fds[1]);
    waitpid(p, &st, 0);
    report("child 2", st);

    CHECK("pipe2 bad flags", pipe2(fds, 0x1));
    pipe(fds);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    CHECK("write with no reader", write(fds[1], "x", 1));
    close(fds[1]);

    /* Memory after fork is private to each side: writes by the child, by the parent,
     * and by the kernel into the child's buffer (read from a pipe) stay apart. */
    int cp[2];
    pipe(cp);
    p = fork();
    if (p == 0) {
        cow_var = 2;
        read(cp[0], cow_buf, 5);
        printf("child: var=%d buf=%.5s\n", cow_var, cow_buf);
        _exit(0);
    }
    cow_var = 3;
    write(cp[1], "child", 5);
    waitpid(p, &st, 0);
    printf("parent: var=%d buf=%s\n", cow_var, cow_buf);
    close(cp[0]);
    close(cp[1]);

    p = fork();
    if (p == 0) {
        volatile unsigned long addr = 16;
        *(volatile int *)addr = 1;
        _exit(0);
    }
    waitpid(p, &st, 0);
    report("child 3 (null write)", st);

    pipe(fds);
    dup2(fds[0], 5);
    dup2(fds[0], 6);
    fcntl(6, F_SETFD, FD_CLOEXEC);
    write(fds[1], "via exec", 8);
    p = fork();
    if (p == 0) {
        char *args[] = {argv[0], "xyz", NULL};
        execv(argv[0], args);
        printf("execv failed: %s\n", errname(errno));
        _exit(100);
    }
    waitpid(p, &st, 0);
    report("child 4 (exec'd)", st);

    /* waitid: WNOWAIT peeks, the next call reaps; siginfo carries pid and status. */
    p = fork();
    if (p == 0) _exit(33);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK("waitid WEXITED|WNOWAIT", waitid(P_PID, p, &si, WEXITED | WNOWAIT));
    printf("waitid: signo=%d code=%d status=%d pid-ok=%d\n", si.si_signo, si.si_code, si.si_status, si.si_pid == p);
    CHECK("waitid again reaps", waitid(P_PID, p, &si, WEXITED));
    CHECK("waitid once more", waitid(P_PID, p, &si, WEXITED));
    CHECK("waitid without event flags", waitid(P_ALL, 0, &si, 0));
    CHECK("waitid bad idtype", waitid(7, 0, &si, WEXITED));

    p = fork();
    if (p == 0) {
        char *args[] = {"/nonexistent/prog", NULL};
        execv(args[0], args);
        printf("child 5: execv of a missing file: %s\n", errname(errno));
        _exit(127);
    }
    waitpid(p, &st, 0);
    report("child 5", st);
    return 0;
}
