/* Runs a shell on a pseudo-terminal, as script(1), ssh or a terminal emulator would:
 * opens /dev/ptmx (posix_openpt, grantpt, unlockpt, ptsname), forks a child that
 * makes a new session with the slave as its controlling terminal and standard streams
 * and execs `/bin/sh -i`; the parent types the lines given as arguments (each followed
 * by CR, as a keyboard does; `^?` is DEL, `^C` is ^C) and copies everything the master reads to its own
 * standard output until the shell's side closes (read EIO), then reports how the
 * shell ended: "ptyshell: exited N". Used by qemu/tests/alpine.rs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Copies the master's output until nothing comes for `ms` (0: until EIO/EOF). */
static int pump(int m, int ms) {
    char buf[512];
    for (;;) {
        struct pollfd p = {m, POLLIN, 0};
        int r = poll(&p, 1, ms ? ms : -1);
        if (r == 0)
            return 0;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        ssize_t n = read(m, buf, sizeof buf);
        if (n <= 0)
            return -1;
        write(1, buf, n);
    }
}

int main(int argc, char **argv) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) {
        printf("ptyshell: no pty: %s\n", strerror(errno));
        return 1;
    }
    char *name = ptsname(m);
    printf("ptyshell: slave %s\n", name);
    fflush(stdout);
    struct winsize ws = {24, 80, 0, 0};
    ioctl(m, TIOCSWINSZ, &ws);
    pid_t child = fork();
    if (child == 0) {
        setsid();
        int s = open(name, O_RDWR);
        if (s < 0) {
            printf("ptyshell: open %s: %s\n", name, strerror(errno));
            _exit(127);
        }
        ioctl(s, TIOCSCTTY, 0);
        dup2(s, 0);
        dup2(s, 1);
        dup2(s, 2);
        if (s > 2)
            close(s);
        close(m);
        setenv("PS1", "pty$ ", 1);
        execl("/bin/sh", "sh", "-i", (char *)0);
        _exit(127);
    }
    pump(m, 1000);
    for (int i = 1; i < argc; i++) {
        /* "^?" in an argument is typed as DEL (the erase key), "^C" as ETX. */
        for (char *a = argv[i]; *a; a++) {
            if (a[0] == '^' && (a[1] == '?' || (a[1] >= '@' && a[1] <= '_'))) {
                char c = a[1] ^ 0x40;
                write(m, &c, 1);
                a++;
            } else {
                write(m, a, 1);
            }
        }
        write(m, "\r", 1);
        pump(m, 700);
    }
    pump(m, 0);
    int st = 0;
    waitpid(child, &st, 0);
    if (WIFEXITED(st))
        printf("\nptyshell: exited %d\n", WEXITSTATUS(st));
    else
        printf("\nptyshell: killed by %d\n", WTERMSIG(st));
    return 0;
}
