/* AF_UNIX sockets as musl's syslog and OpenRC use them: socketpair (stream keeps no
 * edges, datagram keeps them), bind creating a socket file, connect to a missing path
 * (ENOENT), to a file that is not a listening socket (ECONNREFUSED), EADDRINUSE,
 * accept and the names each side sees, EOF and POLLHUP after the peer closes, EPIPE
 * with MSG_NOSIGNAL, a datagram socket bound to a path receiving from an unnamed one. */
#define _GNU_SOURCE
#include "net_common.h"
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t sun(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    char buf[64];
    int sv[2];
    NCHECK("socketpair stream", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    write(sv[0], "one", 3);
    write(sv[0], "two", 3);
    long n = read(sv[1], buf, sizeof buf);
    printf("stream read: %.*s\n", (int)n, buf);
    struct pollfd p = {sv[1], POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    printf("idle stream revents: %#x\n", p.revents);
    close(sv[0]);
    poll(&p, 1, 0);
    printf("after the peer closed: %#x\n", p.revents);
    NCHECK("read at EOF", read(sv[1], buf, sizeof buf));
    NCHECK("send to a closed peer (MSG_NOSIGNAL)", send(sv[1], "x", 1, MSG_NOSIGNAL));
    close(sv[1]);

    NCHECK("socketpair dgram", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    write(sv[0], "one", 3);
    write(sv[0], "two", 3);
    n = read(sv[1], buf, sizeof buf);
    printf("dgram read 1: %.*s\n", (int)n, buf);
    n = read(sv[1], buf, sizeof buf);
    printf("dgram read 2: %.*s\n", (int)n, buf);
    close(sv[0]);
    close(sv[1]);
    NCHECK("socketpair AF_INET", socketpair(AF_INET, SOCK_STREAM, 0, sv));

    struct sockaddr_un a;
    socklen_t al;
    unlink("contract.sock");
    unlink("contract.file");
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    al = sun(&a, "nonexistent.sock");
    NCHECK("connect to a missing path", connect(c, (struct sockaddr *)&a, al));
    close(open("contract.file", O_CREAT | O_WRONLY, 0644));
    al = sun(&a, "contract.file");
    NCHECK("connect to a plain file", connect(c, (struct sockaddr *)&a, al));
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    al = sun(&a, "contract.sock");
    NCHECK("bind", bind(l, (struct sockaddr *)&a, al));
    struct stat st;
    stat("contract.sock", &st);
    printf("bound path is a socket: %s\n", S_ISSOCK(st.st_mode) ? "yes" : "no");
    NCHECK("connect before listen", connect(c, (struct sockaddr *)&a, al));
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    NCHECK("bind the same path again", bind(l2, (struct sockaddr *)&a, al));
    NCHECK("listen", listen(l, 4));
    NCHECK("connect", connect(c, (struct sockaddr *)&a, al));
    struct sockaddr_un got;
    socklen_t gl = sizeof got;
    int s = accept(l, (struct sockaddr *)&got, &gl);
    printf("accept: %s, client address length %d\n", s >= 0 ? "OK" : nerr(errno), (int)gl);
    gl = sizeof got;
    getpeername(c, (struct sockaddr *)&got, &gl);
    printf("client's peer: %s (length %d)\n", got.sun_path, (int)gl);
    gl = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &gl);
    printf("server side's name: %s\n", got.sun_path);
    struct ucred uc;
    socklen_t ul = sizeof uc;
    NCHECK("SO_PEERCRED", getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &ul));
    printf("peer is this process: %s, uid %d\n", uc.pid == getpid() ? "yes" : "no", (int)uc.uid);
    ul = sizeof uc;
    int lone = socket(AF_UNIX, SOCK_STREAM, 0);
    getsockopt(lone, SOL_SOCKET, SO_PEERCRED, &uc, &ul);
    printf("unconnected SO_PEERCRED: pid %d uid %d\n", (int)uc.pid, (int)uc.uid);
    close(lone);
    write(c, "ping", 4);
    n = read(s, buf, sizeof buf);
    printf("server read: %.*s\n", (int)n, buf);
    close(c);
    close(s);
    close(l);
    close(l2);
    unlink("contract.sock");

    /* Backlog 1 holds two connections; a third nonblocking connect is EAGAIN. */
    int bl = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(bl, (struct sockaddr *)&a, al);
    listen(bl, 1);
    for (int i = 0; i < 3; i++) {
        int q = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        char label[32];
        snprintf(label, sizeof label, "connect %d to backlog 1", i + 1);
        NCHECK(label, connect(q, (struct sockaddr *)&a, al));
    }
    close(bl);
    unlink("contract.sock");

    int log = socket(AF_UNIX, SOCK_DGRAM, 0);
    al = sun(&a, "contract.sock");
    NCHECK("bind dgram", bind(log, (struct sockaddr *)&a, al));
    int cl = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    NCHECK("connect dgram", connect(cl, (struct sockaddr *)&a, al));
    NCHECK("send", send(cl, "<13>hello", 9, 0));
    NCHECK("sendto", sendto(cl, "<13>again", 9, 0, (struct sockaddr *)&a, al));
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    n = recvfrom(log, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    printf("received: %.*s from an unnamed socket (length %d)\n", (int)n, buf, (int)fl);
    n = recv(log, buf, sizeof buf, 0);
    printf("received: %.*s\n", (int)n, buf);
    close(log);
    NCHECK("send after the receiver closed", send(cl, "x", 1, 0));
    unlink("contract.sock");
    unlink("contract.file");
    return 0;
}
