/* Run-time revocation of a process's NetStack capability (the kernel's
 * writ.net_revoke=PID:MS test hook revokes it while this program sleeps): the
 * endpoint capabilities made through it go too, so the open TCP connection's
 * descriptor is closed (EBADF on its next use, POLLNVAL), no new Internet socket can
 * be made (EPERM), and AF_UNIX still works (it needs no NetStack authority). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 4);
    socklen_t al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    int s = accept(l, NULL, NULL);
    printf("pid %d connected: %s, send before: %ld\n", getpid(), r == 0 && s >= 0 ? "yes" : "no",
           (long)send(c, "x", 1, MSG_NOSIGNAL));
    struct timespec t = {3, 0};
    while (nanosleep(&t, &t) < 0 && errno == EINTR) {
    }
    errno = 0;
    long n = send(c, "y", 1, MSG_NOSIGNAL);
    printf("send after revoke: %ld %s\n", n, n < 0 ? strerror(errno) : "OK");
    struct pollfd p = {s, POLLIN, 0};
    poll(&p, 1, 0);
    printf("poll revents: %#x\n", p.revents);
    errno = 0;
    int d = socket(AF_INET, SOCK_DGRAM, 0);
    printf("new UDP socket: %s\n", d < 0 ? strerror(errno) : "OK");
    int sv[2];
    printf("socketpair: %s\n", socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 ? "OK" : strerror(errno));
    return 0;
}
