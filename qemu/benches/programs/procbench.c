/* Process-creation and syscall costs, measured inside the guest with CLOCK_MONOTONIC:
 * getpid (the bare syscall path), fork+exit+wait, fork+exec(true)+wait, and making and
 * closing a socket (on Writ an invocation of the NetStack capability that creates an
 * endpoint object in the descriptor slot, then its deletion). */
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
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
    int types[2] = {SOCK_DGRAM, SOCK_STREAM};
    const char *names[2] = {"udp", "tcp"};
    for (int k = 0; k < 2; k++) {
        int s = 2000;
        t0 = now();
        for (int i = 0; i < s; i++) {
            int fd = socket(AF_INET, types[k], 0);
            if (fd < 0) {
                perror("socket");
                return 1;
            }
            close(fd);
        }
        t1 = now();
        printf("%s_socket_close_ns %lld\n", names[k], (t1 - t0) / s);
    }
    return 0;
}
