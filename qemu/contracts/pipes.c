/* Pipes in detail: end access modes, a non-blocking end gives EAGAIN, the capacity is
 * 64 KiB, PIPE_BUF-sized writes are atomic, fstat says FIFO, EOF after the last
 * writer closes, EPIPE (with SIGPIPE ignored) after the last reader closes. */
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    CHECK("pipe2 O_NONBLOCK|O_CLOEXEC", pipe2(p, O_NONBLOCK | O_CLOEXEC));
    printf("read end mode: %s\n", (fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : "other");
    printf("write end mode: %s\n", (fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "other");
    printf("nonblocking flag: %s\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) ? "yes" : "no");
    printf("cloexec: %s\n", fcntl(p[1], F_GETFD) == FD_CLOEXEC ? "yes" : "no");
    struct stat st;
    fstat(p[0], &st);
    printf("fstat is FIFO: %s\n", S_ISFIFO(st.st_mode) ? "yes" : "no");
    char c;
    CHECK("read empty nonblocking", read(p[0], &c, 1));
    CHECK("write to read end", write(p[0], "x", 1));
    CHECK("read from write end", read(p[1], &c, 1));
    char buf[4096] = {0};
    long total = 0;
    for (;;) {
        ssize_t n = write(p[1], buf, sizeof buf);
        if (n < 0) {
            printf("filled: %ld bytes, then %s\n", total, errname(errno));
            break;
        }
        total += n;
    }
    char big[100];
    CHECK("read 100", read(p[0], big, 100));
    CHECK("atomic 4096-byte write into 100 free bytes", write(p[1], buf, 4096));
    CHECK("50-byte write fits", write(p[1], buf, 50));
    close(p[1]);
    long drained = 0;
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0) drained += n;
    printf("drained %ld bytes then read returned %zd\n", drained, n);
    close(p[0]);
    pipe(p);
    close(p[0]);
    CHECK("write with no readers", write(p[1], "x", 1));
    return 0;
}
