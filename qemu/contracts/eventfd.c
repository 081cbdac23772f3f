/* eventfd: the counter (reads take it all, or 1 in semaphore mode), reads and writes
 * of the wrong size, the value that is never allowed, overflow that would block,
 * EFD_NONBLOCK and EFD_CLOEXEC, poll readiness, and a blocking read woken by a write
 * from another process. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long wr(int fd, uint64_t v) { return write(fd, &v, sizeof v); }

static uint64_t last;
static long rd(int fd) {
    last = 0;
    return read(fd, &last, sizeof last);
}

static int revents(int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    return p.revents;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK("eventfd2 unknown flag", syscall(SYS_eventfd2, 0, 0x10));
    int e = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
    printf("created: %s\n", e >= 0 ? "yes" : "no");
    printf("F_GETFL: %#x\n", fcntl(e, F_GETFL) & ~O_LARGEFILE);
    printf("F_GETFD: %d\n", fcntl(e, F_GETFD));
    printf("poll with count 3: %#x\n", revents(e));
    char small[4];
    CHECK("read 4 bytes", read(e, small, 4));
    CHECK("read 8 bytes", rd(e));
    printf("value: %llu\n", (unsigned long long)last);
    CHECK("read at zero, nonblocking", rd(e));
    printf("poll with count 0: %#x\n", revents(e));
    CHECK("write 4 bytes", write(e, small, 4));
    CHECK("write all ones", wr(e, UINT64_MAX));
    CHECK("write 5", wr(e, 5));
    CHECK("write 6", wr(e, 6));
    CHECK("read", rd(e));
    printf("value: %llu\n", (unsigned long long)last);
    uint64_t big[2] = {1, 2};
    CHECK("read into 16 bytes", (wr(e, 9), read(e, big, sizeof big)));
    printf("value: %llu, second word untouched: %llu\n", (unsigned long long)big[0],
           (unsigned long long)big[1]);
    CHECK("write max-1", wr(e, UINT64_MAX - 1));
    printf("poll at max-1: %#x\n", revents(e));
    CHECK("write 1 would overflow", wr(e, 1));
    CHECK("write 0 still fits", wr(e, 0));
    CHECK("read", rd(e));
    printf("value is max-1: %s\n", last == UINT64_MAX - 1 ? "yes" : "no");

    int s = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK("semaphore read", rd(s));
    printf("value: %llu\n", (unsigned long long)last);
    CHECK("semaphore read", rd(s));
    printf("value: %llu\n", (unsigned long long)last);
    CHECK("semaphore read at zero", rd(s));

    int b = eventfd(0, 0);
    printf("blocking F_GETFL: %#x\n", fcntl(b, F_GETFL) & ~O_LARGEFILE);
    pid_t k = fork();
    if (k == 0) {
        usleep(50000);
        wr(b, 42);
        _exit(0);
    }
    CHECK("blocking read woken by another process", rd(b));
    printf("value: %llu\n", (unsigned long long)last);
    waitpid(k, NULL, 0);

    /* A blocking write past the limit waits for a reader. */
    wr(b, UINT64_MAX - 1);
    k = fork();
    if (k == 0) {
        usleep(50000);
        rd(b);
        _exit(0);
    }
    CHECK("blocking write woken by a read", wr(b, 7));
    waitpid(k, NULL, 0);
    CHECK("read", rd(b));
    printf("value: %llu\n", (unsigned long long)last);

    int old = syscall(SYS_eventfd, 4);
    printf("eventfd(4) F_GETFL: %#x\n", fcntl(old, F_GETFL) & ~O_LARGEFILE);
    CHECK("read", rd(old));
    printf("value: %llu\n", (unsigned long long)last);
    return 0;
}
