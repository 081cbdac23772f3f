/* Ping sockets (SOCK_DGRAM / IPPROTO_ICMP) over loopback, as busybox ping uses them
 * when it is not root: the ident (bind's port, or one picked at the first send) is
 * written into every echo request, replies carry it and arrive from port 0 without
 * an IP header, non-echo messages are EINVAL. A process
 * that gave up root gets EPERM for a raw ICMP socket and EACCES for ports below 1024,
 * and still pings. Linux allows ping sockets only to groups in
 * net.ipv4.ping_group_range: the harness runs the Linux side in a fresh network
 * namespace with the range 0..2147483647; on Writ the ICMP_ECHO right plays that part. */
#define _GNU_SOURCE
#include "net_common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sockaddr_in lo(int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int ident_of(int fd) {
    struct sockaddr_in a = {0};
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    return ntohs(a.sin_port);
}

static void echo(int p, int type, int len, const char *label) {
    unsigned char pkt[64] = {0};
    pkt[0] = type;
    pkt[4] = 0x12;
    pkt[5] = 0x34;
    pkt[7] = 7;
    memcpy(pkt + 8, "writ-ping", 9);
    struct sockaddr_in a = lo(0);
    NCHECK(label, sendto(p, pkt, len, 0, (struct sockaddr *)&a, sizeof a));
}

static void reply(int p) {
    unsigned char buf[128];
    struct sockaddr_in from = {0};
    socklen_t fl = sizeof from;
    struct pollfd q = {p, POLLIN, 0};
    poll(&q, 1, 5000);
    long n = recvfrom(p, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) {
        printf("recvfrom: %s\n", nerr(errno));
        return;
    }
    printf("reply: %ld bytes, type %d code %d, id is the ident: %s, seq %d, payload %.9s\n", n,
           buf[0], buf[1], (buf[4] << 8 | buf[5]) == ident_of(p) ? "yes" : "no",
           buf[6] << 8 | buf[7], buf + 8);
    printf("from %s port %d, addrlen %d\n", inet_ntoa(from.sin_addr), ntohs(from.sin_port),
           (int)fl);
}

static void pinger(const char *who) {
    printf("-- %s\n", who);
    int p = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    NCHECK("ping socket", p);
    printf("ident before the first send: %d\n", ident_of(p));
    echo(p, 8, 17, "echo request");
    printf("ident assigned: %s\n", ident_of(p) != 0 ? "yes" : "no");
    reply(p);
    echo(p, 13, 17, "timestamp request");
    echo(p, 8, 4, "4-byte echo");
    int v = 0;
    socklen_t vl = sizeof v;
    getsockopt(p, SOL_SOCKET, SO_TYPE, &v, &vl);
    printf("SO_TYPE %d\n", v);
    close(p);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pinger("root");
    int r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    printf("root raw ICMP socket: %s\n", r >= 0 ? "OK" : nerr(errno));
    close(r);
    int a = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    struct sockaddr_in b = lo(4242);
    NCHECK("bind ident 4242", bind(a, (struct sockaddr *)&b, sizeof b));
    printf("ident: %d\n", ident_of(a));
    echo(a, 8, 17, "echo request");
    reply(a);
    /* (A second socket binding the same ident is EADDRINUSE on Writ; Linux 6.x lets
     * it through, so this program does not compare it.) */
    close(a);

    pid_t k = fork();
    if (k == 0) {
        if (setgid(65534) < 0 || setuid(65534) < 0) {
            printf("setuid failed\n");
            _exit(1);
        }
        NCHECK("non-root raw ICMP socket", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
        int t = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in low = lo(80);
        NCHECK("non-root bind to port 80", bind(t, (struct sockaddr *)&low, sizeof low));
        pinger("nobody");
        _exit(0);
    }
    int st;
    waitpid(k, &st, 0);
    printf("child exit %d\n", WEXITSTATUS(st));
    return 0;
}
