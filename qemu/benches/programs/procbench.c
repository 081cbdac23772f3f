/* Process-creation and syscall costs, measured inside the guest with CLOCK_MONOTONIC:
 * getpid (the bare syscall path), fork+exit+wait, and fork+exec(true)+wait. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc > 1) return 0; /* the exec'd "true" */
    int n = 20000;
    long long t0 = now();
    for (int i = 0; i < n; i++) getpid();
    long long t1 = now();
    printf("getpid_ns %lld\n", (t1 - t0) / n);
    int m = 200;
    t0 = now();
    for (int i = 0; i < m; i++) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        waitpid(p, NULL, 0);
    }
    t1 = now();
    printf("fork_exit_wait_ns %lld\n", (t1 - t0) / m);
    t0 = now();
    for (int i = 0; i < m; i++) {
        pid_t p = fork();
        if (p == 0) {
            char *args[] = {argv[0], "true", NULL};
            execv(argv[0], args);
            _exit(127);
        }
        waitpid(p, NULL, 0);
    }
    t1 = now();
    printf("fork_exec_wait_ns %lld\n", (t1 - t0) / m);
    return 0;
}
