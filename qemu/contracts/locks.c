/* Advisory locks. fcntl record locks: a conflicting F_SETLK is EAGAIN, F_GETLK
 * describes the holder (type, range, pid), ranges split and merge, a read lock needs a
 * readable descriptor, bad type/whence/start are EINVAL, F_SETLKW waits for the
 * holder to unlock, closing ANY descriptor of the file drops the process's locks, a
 * cycle of waiters is EDEADLK, exit drops locks. OFD locks: l_pid must be 0, F_GETLK
 * reports pid -1. flock: exclusive per open file description (dup shares it, a second
 * open conflicts), LOCK_NB gives EWOULDBLOCK, and flock never conflicts with fcntl. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int setlk(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

static void getlk(const char *label, int fd, short type, off_t start, off_t len, pid_t expect) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    errno = 0;
    int r = fcntl(fd, F_GETLK, &fl);
    printf("%s: ret=%d %s type=%s start=%ld len=%ld pid=%s\n", label, r, errname(errno),
           fl.l_type == F_UNLCK ? "UNLCK" : fl.l_type == F_RDLCK ? "RDLCK" : "WRLCK",
           (long)fl.l_start, (long)fl.l_len,
           fl.l_type == F_UNLCK ? "-" : fl.l_pid == expect ? "holder" : "other");
}

static long ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Runs `f` in a child and waits for it (the child's lock owner is a different process). */
static void in_child(void (*f)(int), int fd) {
    pid_t p = fork();
    if (p == 0) {
        f(fd);
        _exit(0);
    }
    waitpid(p, NULL, 0);
}

static pid_t parent;

static void child_probe(int fd) {
    getlk("child sees the write lock", fd, F_WRLCK, 5, 1, parent);
    getlk("child sees the read lock", fd, F_WRLCK, 25, 0, parent);
    getlk("child: a read lock fits beside the read lock", fd, F_RDLCK, 20, 10, parent);
    getlk("child: free range", fd, F_WRLCK, 15, 5, parent);
    CHECK("child F_SETLK on the write lock", setlk(fd, F_SETLK, F_WRLCK, 0, 1));
    CHECK("child F_SETLK read on the read lock", setlk(fd, F_SETLK, F_RDLCK, 20, 5));
}

/* The child's findings travel in its exit status, so nothing it prints races with
 * the parent's lines. */
static int child_wait(int fd) {
    long t0 = ms();
    int r = setlk(fd, F_SETLKW, F_WRLCK, 0, 10);
    return (r == 0) | (ms() - t0 >= 50) << 1;
}

static void child_after_close(int fd) {
    CHECK("child locks after the parent closed another fd", setlk(fd, F_SETLK, F_WRLCK, 0, 0));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    parent = getpid();
    const char *path = "ct-locks";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789abcdefghij", 20);

    CHECK("write lock 0..9", setlk(fd, F_SETLK, F_WRLCK, 0, 10));
    CHECK("read lock 20..", setlk(fd, F_SETLK, F_RDLCK, 20, 0));
    CHECK("relock own range", setlk(fd, F_SETLK, F_WRLCK, 5, 10));
    in_child(child_probe, fd);
    getlk("own locks never conflict", fd, F_WRLCK, 0, 0, parent);

    CHECK("bad type", setlk(fd, F_SETLK, 7, 0, 1));
    struct flock bad = {.l_type = F_WRLCK, .l_whence = 9};
    CHECK("bad whence", fcntl(fd, F_SETLK, &bad));
    CHECK("negative start", setlk(fd, F_SETLK, F_WRLCK, -5, 1));
    CHECK("range ending before 0", setlk(fd, F_SETLK, F_WRLCK, 2, -5));
    CHECK("GETLK with F_UNLCK", setlk(fd, F_GETLK, F_UNLCK, 0, 1));
    int wo = open(path, O_WRONLY);
    CHECK("read lock on a write-only fd", setlk(wo, F_SETLK, F_RDLCK, 100, 1));
    CHECK("bad pointer", fcntl(fd, F_SETLK, (void *)8));
    CHECK("bad fd", setlk(99, F_SETLK, F_WRLCK, 0, 1));

    /* F_SETLKW: the child blocks until the parent unlocks. */
    pid_t p = fork();
    if (p == 0)
        _exit(child_wait(fd));
    struct timespec d = {0, 80 * 1000000};
    nanosleep(&d, NULL);
    CHECK("unlock 0..", setlk(fd, F_SETLK, F_UNLCK, 0, 0));
    int st;
    waitpid(p, &st, 0);
    printf("child's F_SETLKW succeeded: %s, after waiting: %s\n",
           WEXITSTATUS(st) & 1 ? "yes" : "no", WEXITSTATUS(st) & 2 ? "yes" : "no");

    /* Closing another descriptor of the file drops every lock this process holds on it. */
    CHECK("lock the whole file", setlk(fd, F_SETLK, F_WRLCK, 0, 0));
    close(wo);
    in_child(child_after_close, fd);

    /* Deadlock: the parent holds 0, the child holds 1 and waits for 0; the parent asking
     * for 1 would wait for its own waiter. */
    CHECK("parent locks byte 0", setlk(fd, F_SETLK, F_WRLCK, 0, 1));
    int sync[2];
    pipe(sync);
    p = fork();
    if (p == 0) {
        setlk(fd, F_SETLK, F_WRLCK, 1, 1);
        write(sync[1], "x", 1);
        _exit(setlk(fd, F_SETLKW, F_WRLCK, 0, 1) == 0 ? 0 : errno);
    }
    char c;
    read(sync[0], &c, 1);
    nanosleep(&d, NULL);
    CHECK("parent waiting for byte 1", setlk(fd, F_SETLKW, F_WRLCK, 1, 1));
    CHECK("parent unlocks byte 0", setlk(fd, F_SETLK, F_UNLCK, 0, 1));
    waitpid(p, &st, 0);
    printf("child got byte 0: %s\n", errname(WEXITSTATUS(st)));
    CHECK("the child's locks went with it", setlk(fd, F_SETLK, F_WRLCK, 0, 0));
    setlk(fd, F_SETLK, F_UNLCK, 0, 0);

    /* OFD locks. */
    struct flock ofd = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 4, .l_pid = 1};
    CHECK("OFD lock with l_pid set", fcntl(fd, F_OFD_SETLK, &ofd));
    ofd.l_pid = 0;
    CHECK("OFD lock", fcntl(fd, F_OFD_SETLK, &ofd));
    int fd2 = open(path, O_RDWR);
    struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    CHECK("OFD lock from another description", fcntl(fd2, F_OFD_SETLK, &q));
    fcntl(fd2, F_OFD_GETLK, &q);
    printf("OFD GETLK: type=%s pid=%d\n", q.l_type == F_WRLCK ? "WRLCK" : "other", q.l_pid);
    close(fd2);
    ofd.l_type = F_UNLCK;
    CHECK("OFD unlock", fcntl(fd, F_OFD_SETLK, &ofd));

    /* flock. */
    int a = open(path, O_RDONLY), b = open(path, O_RDONLY);
    CHECK("flock EX", flock(a, LOCK_EX));
    CHECK("flock EX|NB on a second open", flock(b, LOCK_EX | LOCK_NB));
    CHECK("flock SH|NB on a second open", flock(b, LOCK_SH | LOCK_NB));
    int a2 = dup(a);
    CHECK("flock EX again through a dup", flock(a2, LOCK_EX | LOCK_NB));
    CHECK("fcntl lock beside flock", setlk(fd, F_SETLK, F_WRLCK, 0, 0));
    CHECK("flock bad op", flock(a, 3));
    CHECK("flock bad fd", flock(99, LOCK_EX));
    close(a);
    CHECK("flock held while a dup lives", flock(b, LOCK_EX | LOCK_NB));
    close(a2);
    CHECK("flock free after the last close", flock(b, LOCK_EX | LOCK_NB));
    CHECK("flock UN", flock(b, LOCK_UN));
    close(b);
    close(fd);
    unlink(path);
    return 0;
}
