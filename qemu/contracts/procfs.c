/* procfs contract: what /proc says about the calling process, checked against
 * what the process knows of itself (nothing printed depends on pids, paths of the
 * host or time): /proc/self and /proc/thread-self, /proc/self/exe, the pid, comm,
 * state and ppid fields of /proc/self/stat, the Name/Pid/PPid/Uid lines of status,
 * comm and cmdline, fd/N links (a file, a pipe) and opening them, readdir of fd/
 * and task/, errors (ENOENT for a process that does not exist and for creating in
 * /proc, EPERM for unlinking there, EACCES for writing a read-only sysctl, EINVAL
 * for writing a read-only proc file as root), statfs's magic, and mount(2)'s
 * ENODEV/ENOENT/EINVAL answers.
 *
 * On Writ nothing mounts /proc before this runs: it mounts it itself (on Linux the
 * mount stacks a second proc instance, which the program unmounts again). */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common.h"

static char buf[8192];

static long slurp(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long n = 0, r;
    while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    close(fd);
    buf[n] = 0;
    return n;
}

static const char *base(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The value after "Key:\t" in status, up to the newline. */
static const char *field(const char *text, const char *key, char *out, size_t len) {
    const char *p = strstr(text, key);
    if (!p)
        return "(missing)";
    p += strlen(key);
    size_t i = 0;
    while (p[i] && p[i] != '\n' && i + 1 < len) {
        out[i] = p[i];
        i++;
    }
    out[i] = 0;
    return out;
}

int main(void) {
    mkdir("/proc", 0555);
    mkdir("/tmp", 01777);
    int mounted = mount("proc", "/proc", "proc", 0, 0) == 0;

    char link[512], want[512];
    long n = readlink("/proc/self", link, sizeof link - 1);
    link[n < 0 ? 0 : n] = 0;
    snprintf(want, sizeof want, "%d", getpid());
    printf("self is pid: %s\n", strcmp(link, want) == 0 ? "yes" : link);
    n = readlink("/proc/thread-self", link, sizeof link - 1);
    link[n < 0 ? 0 : n] = 0;
    snprintf(want, sizeof want, "%d/task/%d", getpid(), getpid());
    printf("thread-self: %s\n", strcmp(link, want) == 0 ? "yes" : link);
    n = readlink("/proc/self/exe", link, sizeof link - 1);
    link[n < 0 ? 0 : n] = 0;
    printf("exe: absolute=%s base=%s\n", link[0] == '/' ? "yes" : "no", base(link));

    /* stat: pid (comm) state ppid ... */
    slurp("/proc/self/stat");
    int spid = 0, sppid = 0;
    char comm[64] = "", state = '?';
    sscanf(buf, "%d (%63[^)]) %c %d", &spid, comm, &state, &sppid);
    printf("stat: pid=%s comm=%s state=%c ppid=%s fields=", spid == getpid() ? "yes" : "no",
           comm, state, sppid == getppid() ? "yes" : "no");
    int fields = 1;
    for (char *p = strchr(buf, ')'); p && *p; p++)
        fields += *p == ' ';
    printf("%d\n", fields);

    slurp("/proc/self/status");
    char v[128];
    printf("status Name first: %s\n",
           strncmp(buf, "Name:\t", 6) == 0 ? field(buf, "Name:\t", v, sizeof v) : "no");
    snprintf(want, sizeof want, "%d", getpid());
    printf("status Pid: %s\n", strcmp(field(buf, "\nPid:\t", v, sizeof v), want) == 0 ? "yes" : v);
    snprintf(want, sizeof want, "%d", getppid());
    printf("status PPid: %s\n", strcmp(field(buf, "\nPPid:\t", v, sizeof v), want) == 0 ? "yes" : v);
    snprintf(want, sizeof want, "%d\t%d\t%d\t%d", getuid(), geteuid(), getuid(), geteuid());
    printf("status Uid: %s\n", strcmp(field(buf, "\nUid:\t", v, sizeof v), want) == 0 ? "yes" : v);
    printf("status State: %s\n", field(buf, "\nState:\t", v, sizeof v));

    slurp("/proc/self/comm");
    printf("comm: %s", buf);
    n = slurp("/proc/self/cmdline");
    int nuls = 0;
    for (long i = 0; i < n; i++)
        nuls += buf[i] == 0;
    printf("cmdline: strings=%d argv0=%s\n", nuls, base(buf));

    /* A file and a pipe, seen through fd/. */
    int fd = open("/tmp/procfs-contract", O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "contents\n", 9);
    int p[2];
    pipe(p);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    n = readlink(path, link, sizeof link - 1);
    link[n < 0 ? 0 : n] = 0;
    printf("fd link: %s\n", link);
    int again = open(path, O_RDONLY);
    n = again < 0 ? -1 : read(again, link, sizeof link - 1);
    link[n < 0 ? 0 : n] = 0;
    printf("fd reopen: %s", again < 0 ? "failed\n" : link);
    struct stat a, b;
    fstat(fd, &a);
    fstat(again, &b);
    printf("fd reopen same inode: %s\n", a.st_ino == b.st_ino && a.st_dev == b.st_dev ? "yes" : "no");
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
    n = readlink(path, link, sizeof link - 1);
    link[n < 0 ? 0 : n] = 0;
    printf("pipe link: %.6s...%s\n", link, link[n > 0 ? n - 1 : 0] == ']' ? "]" : "?");
    lstat(path, &a);
    printf("pipe link mode: %o\n", a.st_mode);

    DIR *d = opendir("/proc/self/fd");
    int seen[4] = {0};
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int k = atoi(e->d_name);
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (k == fd) seen[0] = 1;
        if (k == p[0]) seen[1] = 1;
        if (k == p[1]) seen[2] = 1;
        if (k == dirfd(d)) seen[3] = 1;
    }
    printf("fd dir lists: file=%d pipe=%d,%d itself=%d\n", seen[0], seen[1], seen[2], seen[3]);
    closedir(d);
    d = opendir("/proc/self/task");
    int tasks = 0, mine = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        tasks++;
        mine += atoi(e->d_name) == getpid();
    }
    closedir(d);
    printf("task dir: entries=%d mine=%d\n", tasks, mine);

    /* Errors. */
    CHECK("open /proc/999999/stat", open("/proc/999999/stat", O_RDONLY));
    CHECK("stat /proc/999999", stat("/proc/999999", &a));
    CHECK("readlink /proc/self/fd/999", readlink("/proc/self/fd/999", link, sizeof link));
    CHECK("mkdir /proc/newdir", mkdir("/proc/newdir", 0755));
    CHECK("creat /proc/newfile", open("/proc/newfile", O_WRONLY | O_CREAT, 0644));
    CHECK("unlink /proc/uptime", unlink("/proc/uptime"));
    CHECK("open osrelease O_WRONLY", open("/proc/sys/kernel/osrelease", O_WRONLY));
    int w = open("/proc/self/stat", O_WRONLY);
    printf("open stat O_WRONLY: %s\n", w < 0 ? errname(errno) : "OK");
    if (w >= 0)
        CHECK("write stat", write(w, "x", 1));
    CHECK("readlink /proc/uptime", readlink("/proc/uptime", link, sizeof link));

    struct statfs sf;
    statfs("/proc", &sf);
    printf("statfs /proc: %lx\n", (unsigned long)sf.f_type);
    CHECK("mount nosuchfs", mount("x", "/tmp", "nosuchfs", 0, 0));
    CHECK("mount on missing", mount("x", "/no/such/dir", "tmpfs", 0, 0));
    CHECK("umount missing", umount2("/no/such/dir", 0));
    CHECK("umount not mounted", umount2("/tmp", 0));
    CHECK("umount bad flags", umount2("/proc", 0x100));

    unlink("/tmp/procfs-contract");
    if (mounted)
        umount2("/proc", 0);
    return 0;
}
