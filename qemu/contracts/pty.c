/* Pseudo-terminals: posix_openpt makes a master that is a terminal; grantpt succeeds;
 * ptsname is /dev/pts/N for the N of TIOCGPTN; the slave is locked (EIO) until
 * unlockpt; the slave is character device 136:N, a terminal whose ttyname is its
 * ptsname (musl reads /proc/self/fd/N and compares stat with fstat), and stat by name
 * is the same inode as fstat; /proc/self/fd of the master is /dev/ptmx; TIOCGPTPEER
 * opens the same slave (EIO on the slave, ENOTTY on a pipe). The default
 * termios is canonical with echo, ISIG, ICRNL and OPOST|ONLCR: a line typed at the
 * master is echoed back (erase as "\b \b") and read whole by the slave, and the
 * slave's output gets CR LF. In raw mode (cfmakeraw) bytes pass unchanged both ways
 * and nothing is echoed. When the slave closes, the master reads EIO and polls
 * POLLHUP. A session leader opening the slave without O_NOCTTY gets it as its
 * controlling terminal (not a non-leader with TIOCSCTTY: EPERM), and /dev/tty is then
 * the slave. When the master closes, a session leader whose controlling terminal is the
 * slave gets SIGHUP, and afterwards reads end of file and writes fail with EIO.
 *
 * On Writ nothing mounts devpts before this runs (nor /proc): it mounts them itself
 * if the slave (or /proc/self) is not there; on Linux both are already there. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER 0x5441
#endif

static void nap(int ms) {
    struct timespec d = {0, ms * 1000000L};
    while (nanosleep(&d, &d) < 0)
        ;
}

/* Reads from fd until `want` bytes came or nothing more arrives within `ms`. */
static int read_for(int fd, char *buf, int want, int ms) {
    int got = 0;
    while (got < want) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, ms);
        if (r <= 0)
            break;
        if (!(p.revents & POLLIN))
            break;
        int n = read(fd, buf + got, want - got);
        if (n <= 0)
            break;
        got += n;
    }
    return got;
}

static void show(const char *label, const char *buf, int n) {
    printf("%s: \"", label);
    for (int i = 0; i < n; i++) {
        unsigned char c = buf[i];
        if (c == '\r') printf("\\r");
        else if (c == '\n') printf("\\n");
        else if (c == '\b') printf("\\b");
        else if (c < 32 || c >= 127) printf("\\x%02x", c);
        else putchar(c);
    }
    printf("\"\n");
}

static void expect_from(const char *label, int fd, int want) {
    char buf[256];
    int n = read_for(fd, buf, want, 2000);
    show(label, buf, n);
}

static volatile int hups;
static void on_hup(int sig) {
    (void)sig;
    hups++;
}

static void ensure_mounted(const char *slave) {
    struct stat st;
    if (stat("/proc/self", &st) != 0) {
        mkdir("/proc", 0555);
        mount("proc", "/proc", "proc", 0, "");
    }
    if (stat(slave, &st) != 0) {
        mkdir("/dev/pts", 0755);
        mount("devpts", "/dev/pts", "devpts", 0, "");
    }
}

/* A new unlocked pair: the master, and the slave's name in `name`. */
static int new_pair(char *name, size_t len) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, name, len) != 0) {
        printf("new pair failed: %s\n", errname(errno));
        exit(1);
    }
    return m;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    errno = 0;
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    printf("posix_openpt: %s\n", m >= 0 ? "ok" : errname(errno));
    if (m < 0)
        return 1;
    printf("master isatty: %d\n", isatty(m));
    printf("grantpt: %d\n", grantpt(m));
    char name[64], want[64];
    printf("ptsname_r: %d\n", ptsname_r(m, name, sizeof name));
    int n = -1;
    printf("TIOCGPTN: %d\n", ioctl(m, TIOCGPTN, &n));
    snprintf(want, sizeof want, "/dev/pts/%d", n);
    printf("ptsname is /dev/pts/TIOCGPTN: %d\n", strcmp(name, want) == 0);
    ensure_mounted(name);
    int locked = -1;
    ioctl(m, TIOCGPTLCK, &locked);
    printf("locked before unlockpt: %d\n", locked);
    errno = 0;
    int s = open(name, O_RDWR | O_NOCTTY);
    printf("open locked slave: %s\n", s >= 0 ? "opened" : errname(errno));
    printf("unlockpt: %d\n", unlockpt(m));
    ioctl(m, TIOCGPTLCK, &locked);
    printf("locked after unlockpt: %d\n", locked);
    errno = 0;
    s = open(name, O_RDWR | O_NOCTTY);
    printf("open slave: %s\n", s >= 0 ? "ok" : errname(errno));
    if (s < 0)
        return 1;
    printf("slave isatty: %d\n", isatty(s));
    struct stat fs, ns;
    fstat(s, &fs);
    printf("slave is chr %d, major %u, minor is N %d\n", S_ISCHR(fs.st_mode) != 0,
           major(fs.st_rdev), (int)minor(fs.st_rdev) == n);
    stat(name, &ns);
    printf("stat by name is fstat: %d\n", ns.st_dev == fs.st_dev && ns.st_ino == fs.st_ino);
    char *tn = ttyname(s);
    printf("ttyname is ptsname: %d\n", tn && strcmp(tn, name) == 0);
    char link[64], path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", m);
    ssize_t ll = readlink(path, link, sizeof link - 1);
    link[ll < 0 ? 0 : ll] = 0;
    printf("master fd link: %s\n", link);
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    struct stat ps;
    printf("TIOCGPTPEER: %s, same inode %d\n", peer >= 0 ? "ok" : errname(errno),
           peer >= 0 && fstat(peer, &ps) == 0 && ps.st_ino == fs.st_ino && ps.st_dev == fs.st_dev);
    errno = 0;
    int pr = ioctl(s, TIOCGPTPEER, O_RDWR);
    printf("TIOCGPTPEER on the slave: %d %s\n", pr, errname(errno));
    close(peer);
    int pp[2];
    pipe(pp);
    errno = 0;
    pr = ioctl(pp[0], TIOCGPTPEER, O_RDWR);
    printf("TIOCGPTPEER on a pipe: %d %s\n", pr, errname(errno));
    close(pp[0]);
    close(pp[1]);

    struct termios t;
    printf("tcgetattr slave: %d\n", tcgetattr(s, &t));
    printf("ICANON %d ECHO %d ECHOE %d ISIG %d ICRNL %d OPOST %d ONLCR %d\n",
           !!(t.c_lflag & ICANON), !!(t.c_lflag & ECHO), !!(t.c_lflag & ECHOE),
           !!(t.c_lflag & ISIG), !!(t.c_iflag & ICRNL), !!(t.c_oflag & OPOST),
           !!(t.c_oflag & ONLCR));
    struct termios tm;
    printf("tcgetattr master is the slave's: %d\n",
           tcgetattr(m, &tm) == 0 && tm.c_lflag == t.c_lflag && tm.c_iflag == t.c_iflag);

    /* Canonical mode with echo. */
    write(m, "hello\r", 6);
    expect_from("echo at master", m, 7);
    expect_from("slave reads", s, 6);
    write(m, "abx\x7f" "c\r", 6);
    expect_from("erase echo", m, 10);
    expect_from("slave reads edited", s, 4);
    write(s, "out\n", 4);
    expect_from("master reads output", m, 5);

    /* Raw mode. */
    cfmakeraw(&t);
    printf("tcsetattr raw: %d\n", tcsetattr(s, TCSANOW, &t));
    write(m, "ab\r\x03", 4);
    expect_from("raw slave reads", s, 4);
    char buf[64];
    printf("raw echo bytes: %d\n", read_for(m, buf, sizeof buf, 200));
    write(s, "x\ny", 3);
    expect_from("raw master reads", m, 3);

    /* The slave closes: the master reads EIO and polls HUP. */
    close(s);
    struct pollfd p = {m, POLLIN, 0};
    poll(&p, 1, 1000);
    printf("master poll after slave close: HUP %d\n", !!(p.revents & POLLHUP));
    errno = 0;
    ssize_t r = read(m, buf, sizeof buf);
    printf("master read after slave close: %zd %s\n", r, errname(errno));
    close(m);

    /* A session leader that opens the slave without O_NOCTTY gets it as its
     * controlling terminal, and /dev/tty is then that terminal; a process that is not
     * a session leader cannot take one. */
    m = new_pair(name, sizeof name);
    fflush(stdout);
    pid_t c2 = fork();
    if (c2 == 0) {
        int fd = open(name, O_RDWR | O_NOCTTY);
        errno = 0;
        int r2 = ioctl(fd, TIOCSCTTY, 0);
        printf("child not leader: TIOCSCTTY %d %s\n", r2, errname(errno));
        close(fd);
        setsid();
        fd = open(name, O_RDWR);
        printf("leader opened slave: it is the controlling terminal %d\n",
               tcgetsid(fd) == getsid(0));
        errno = 0;
        int t2 = open("/dev/tty", O_RDWR);
        printf("open /dev/tty: %s\n", t2 >= 0 ? "ok" : errname(errno));
        fflush(stdout);
        write(t2, "via-tty\n", 8);
        _exit(0);
    }
    waitpid(c2, NULL, 0);
    expect_from("master reads /dev/tty's output", m, 9);
    close(m);

    /* The master closes under a session whose controlling terminal is the slave. */
    m = new_pair(name, sizeof name);
    int up[2], go[2];
    pipe(up);
    pipe(go);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        close(m); /* the parent's master must be its last descriptor */
        struct sigaction sa = {0};
        sa.sa_handler = on_hup;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGHUP, &sa, NULL);
        setsid();
        int cs = open(name, O_RDWR | O_NOCTTY);
        printf("child: TIOCSCTTY %d\n", ioctl(cs, TIOCSCTTY, 0));
        printf("child: tcgetpgrp is own group: %d\n", tcgetpgrp(cs) == getpgrp());
        fflush(stdout);
        write(up[1], "r", 1);
        char c;
        while (read(go[0], &c, 1) < 0 && errno == EINTR)
            ;
        printf("child: SIGHUP %d\n", hups > 0);
        errno = 0;
        ssize_t cr = read(cs, &c, 1);
        printf("child: read after hangup %zd %s\n", cr, errname(errno));
        errno = 0;
        ssize_t cw = write(cs, "z", 1);
        printf("child: write after hangup %zd %s\n", cw, errname(errno));
        fflush(stdout);
        _exit(0);
    }
    char c;
    read(up[0], &c, 1);
    nap(100);
    close(m);
    nap(300);
    write(go[1], "g", 1);
    int st = 0;
    waitpid(child, &st, 0);
    printf("child exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
    return 0;
}
