/* RLIMIT_NOFILE is the fd table's real limit: lowered to 16, descriptors stop at 15
 * with EMFILE, dup2 past it is EBADF, F_DUPFD past it EINVAL; the soft limit moves
 * below the hard one and back; bad resources and inverted limits are EINVAL. (Raising
 * a hard limit needs CAP_SYS_RESOURCE, which the host's root may not have: not
 * compared.) */
#include "common.h"
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct rlimit r = {16, 16};
    CHECK("setrlimit NOFILE 16", setrlimit(RLIMIT_NOFILE, &r));
    getrlimit(RLIMIT_NOFILE, &r);
    printf("NOFILE now %ld/%ld\n", (long)r.rlim_cur, (long)r.rlim_max);
    int last = -1;
    for (;;) {
        int fd = dup(1);
        if (fd < 0) {
            printf("dup stopped after fd %d: %s\n", last, errname(errno));
            break;
        }
        last = fd;
    }
    CHECK("dup2 to 16", dup2(1, 16));
    CHECK("dup2 to 15 (replaces)", dup2(1, 15));
    CHECK("F_DUPFD min 16", fcntl(1, F_DUPFD, 16));
    for (int fd = 3; fd < 16; fd++) close(fd);
    struct rlimit low = {8, 16};
    CHECK("soft 8, hard 16", setrlimit(RLIMIT_NOFILE, &low));
    getrlimit(RLIMIT_NOFILE, &r);
    printf("NOFILE now %ld/%ld\n", (long)r.rlim_cur, (long)r.rlim_max);
    CHECK("dup above the soft limit", fcntl(1, F_DUPFD, 9));
    struct rlimit up = {16, 16};
    CHECK("raise soft back to hard", setrlimit(RLIMIT_NOFILE, &up));
    struct rlimit inv = {17, 16};
    CHECK("soft above hard", setrlimit(RLIMIT_NOFILE, &inv));
    CHECK("bad resource", syscall(SYS_prlimit64, 0, 99, NULL, &r));
    CHECK("prlimit64 of a missing pid", syscall(SYS_prlimit64, 999999, RLIMIT_NOFILE, NULL, &r));
    return 0;
}
