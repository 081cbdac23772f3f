/* TCP and UDP over loopback 127.0.0.1: the nonblocking-connect lifecycle (EINPROGRESS,
 * POLLOUT, SO_ERROR 0, the second connect, EISCONN), a refused connect reported through
 * SO_ERROR once and then cleared, FIN seen as read 0 and POLLIN|POLLRDHUP, the listen
 * backlog (backlog + 1 connections complete), SO_RCVTIMEO ending a receive with EAGAIN,
 * UDP getsockname after connect, recvmsg's msg_name and MSG_TRUNC, SIGPIPE/EPIPE. */
#define _GNU_SOURCE
#include "net_common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static struct sockaddr_in lo(int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int port_of(int fd) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    return ntohs(a.sin_port);
}

static int listener(int backlog) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = lo(0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, backlog);
    return l;
}

static int so_error(int fd) {
    int e = -1;
    socklen_t l = sizeof e;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
    return e;
}

static int sigpipes;
static void on_pipe(int s) { (void)s; sigpipes++; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int l = listener(8);
    int port = port_of(l);
    printf("listener has a port: %s\n", port > 0 ? "yes" : "no");
    int one = 0;
    socklen_t ol = sizeof one;
    getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &one, &ol);
    printf("SO_ACCEPTCONN: %d\n", one);

    /* Nonblocking connect lifecycle. */
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = lo(port);
    NCHECK("nonblocking connect", connect(c, (struct sockaddr *)&a, sizeof a));
    struct pollfd p = {c, POLLOUT, 0};
    NCHECK("poll for POLLOUT", poll(&p, 1, 5000));
    printf("revents: %#x\n", p.revents);
    printf("SO_ERROR: %s\n", nerr(so_error(c)));
    NCHECK("second connect", connect(c, (struct sockaddr *)&a, sizeof a));
    NCHECK("third connect", connect(c, (struct sockaddr *)&a, sizeof a));
    struct sockaddr_in peer;
    socklen_t pl = sizeof peer;
    int s = accept(l, (struct sockaddr *)&peer, &pl);
    printf("accept: %s, peer is the client: %s, addrlen %d\n", s >= 0 ? "OK" : nerr(errno),
           ntohs(peer.sin_port) == port_of(c) && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK)
               ? "yes" : "no", (int)pl);
    int fl = fcntl(c, F_GETFL);
    fcntl(c, F_SETFL, fl & ~O_NONBLOCK);
    NCHECK("send", send(c, "hello", 5, 0));
    char buf[64];
    NCHECK("recv", recv(s, buf, sizeof buf, 0));
    NCHECK("recv MSG_DONTWAIT on empty", recv(s, buf, sizeof buf, MSG_DONTWAIT));
    int nd = 1;
    NCHECK("TCP_NODELAY", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &nd, sizeof nd));
    int ty = 0;
    socklen_t tl = sizeof ty;
    getsockopt(c, SOL_SOCKET, SO_TYPE, &ty, &tl);
    printf("SO_TYPE: %d\n", ty);

    /* FIN: read 0 and POLLIN|POLLRDHUP. */
    close(c);
    struct pollfd q = {s, POLLIN | POLLRDHUP, 0};
    NCHECK("poll after the peer closed", poll(&q, 1, 5000));
    printf("revents: %#x\n", q.revents & (POLLIN | POLLRDHUP | POLLERR));
    NCHECK("read at EOF", read(s, buf, sizeof buf));
    /* Writing to a closed peer: the first write may succeed, then EPIPE + SIGPIPE. */
    signal(SIGPIPE, on_pipe);
    for (int i = 0; i < 20; i++) {
        if (send(s, "x", 1, 0) < 0) {
            printf("send to a closed peer fails: %s\n", nerr(errno));
            break;
        }
        usleep(10000);
    }
    printf("SIGPIPE seen: %s\n", sigpipes > 0 ? "yes" : "no");
    close(s);

    /* A refused connect: EINPROGRESS, then SO_ERROR once. */
    close(l);
    int d = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    NCHECK("connect to a closed port", connect(d, (struct sockaddr *)&a, sizeof a));
    struct pollfd r = {d, POLLOUT, 0};
    poll(&r, 1, 5000);
    printf("revents: %#x\n", r.revents);
    printf("SO_ERROR: %s\n", nerr(so_error(d)));
    printf("SO_ERROR again: %s\n", nerr(so_error(d)));
    close(d);
    int e = socket(AF_INET, SOCK_STREAM, 0);
    NCHECK("blocking connect to a closed port", connect(e, (struct sockaddr *)&a, sizeof a));
    close(e);

    /* Listen backlog 1: two connections complete, the rest stay in progress. */
    l = listener(1);
    a = lo(port_of(l));
    int cs[4];
    for (int i = 0; i < 4; i++) {
        cs[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(cs[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(300000);
    int done = 0;
    for (int i = 0; i < 4; i++) {
        struct pollfd w = {cs[i], POLLOUT, 0};
        if (poll(&w, 1, 0) == 1 && so_error(cs[i]) == 0)
            done++;
    }
    printf("connections completed with backlog 1: %d\n", done);
    for (int i = 0; i < 4; i++)
        close(cs[i]);
    close(l);

    /* UDP. */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = lo(0);
    bind(u, (struct sockaddr *)&ua, sizeof ua);
    int uport = port_of(u);
    int v = socket(AF_INET, SOCK_DGRAM, 0);
    ua = lo(uport);
    NCHECK("udp connect", connect(v, (struct sockaddr *)&ua, sizeof ua));
    struct sockaddr_in me;
    socklen_t ml = sizeof me;
    getsockname(v, (struct sockaddr *)&me, &ml);
    printf("udp getsockname after connect: %s port set %s\n", inet_ntoa(me.sin_addr),
           me.sin_port ? "yes" : "no");
    NCHECK("udp send", send(v, "datagram", 8, 0));
    struct sockaddr_in from = {0};
    char small[4];
    struct iovec iov = {small, sizeof small};
    struct msghdr m = {0};
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    NCHECK("recvmsg into 4 bytes", recvmsg(u, &m, 0));
    printf("msg_flags MSG_TRUNC: %s, msg_namelen %d, from the sender: %s\n",
           m.msg_flags & MSG_TRUNC ? "yes" : "no", (int)m.msg_namelen,
           ntohs(from.sin_port) == ntohs(me.sin_port) ? "yes" : "no");
    NCHECK("udp send again", send(v, "datagram", 8, 0));
    NCHECK("recv MSG_TRUNC", recv(u, small, sizeof small, MSG_TRUNC));
    struct timeval tv = {0, 100000};
    NCHECK("SO_RCVTIMEO", setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    long long t0 = ms();
    NCHECK("recv with a timeout", recv(u, small, sizeof small, 0));
    printf("waited at least 100 ms: %s\n", ms() - t0 >= 95 ? "yes" : "no");
    t0 = ms();
    NCHECK("read(2) with a timeout", read(u, small, sizeof small));
    printf("waited at least 100 ms: %s\n", ms() - t0 >= 95 ? "yes" : "no");
    NCHECK("sendto without an address", sendto(u, "x", 1, 0, NULL, 0));
    NCHECK("listen on a UDP socket", listen(u, 1));
    NCHECK("getpeername on an unconnected UDP socket",
           getpeername(u, (struct sockaddr *)&from, &ml));
    NCHECK("shutdown on a terminal or /dev/null", shutdown(0, SHUT_RD));
    return 0;
}
