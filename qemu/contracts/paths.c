/* Paths: relative paths, chdir/getcwd/fchdir, `..` (and `..` at the root), symlinks
 * in the middle and at the end of a path, symlink loops (ELOOP after 40 links),
 * ENOTDIR, ENOENT, ENAMETOOLONG, trailing slashes, dirfds of openat. Permissions as
 * a non-root user are not checked here (the contract programs run as root). Works in
 * ./ct-paths, removed after. */
#include "common.h"
#include "fstree.h"
#include <limits.h>
#include <stdlib.h>
#include <sys/syscall.h>

static char base[PATH_MAX];

/* getcwd relative to the work directory, so the output does not depend on where the
 * program runs. */
static void cwd(const char *label) {
    char buf[PATH_MAX];
    if (!getcwd(buf, sizeof buf)) {
        printf("%s: %s\n", label, errname(errno));
        return;
    }
    size_t n = strlen(base);
    if (strncmp(buf, base, n) == 0)
        printf("%s: <work>%s\n", label, buf + n);
    else
        printf("%s: %s\n", label, buf);
}

static void touch(const char *path) {
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    if (fd < 0)
        printf("touch %s: %s\n", path, errname(errno));
    else
        close(fd);
}

int main(void) {
    enter_workdir("ct-paths");
    if (!getcwd(base, sizeof base)) {
        printf("getcwd: %s\n", errname(errno));
        return 1;
    }
    CHECK("mkdir a", mkdir("a", 0755));
    CHECK("mkdir a/b", mkdir("a/b", 0755));
    CHECK("mkdir a/b/c", mkdir("a/b/c", 0755));
    touch("a/b/c/f");
    touch("file");

    /* Relative paths and `..`. */
    show("relative", "a/b/c/f", 0);
    show("dot and dotdot", "./a/b/../b/./c/f", 0);
    show("slashes", "a//b///c/f", 0);
    CHECK("chdir a/b", chdir("a/b"));
    cwd("cwd");
    show("from a/b", "c/f", 0);
    show("up and down", "../b/c/f", 0);
    CHECK("chdir ..", chdir(".."));
    cwd("cwd");
    int d = open("b/c", O_RDONLY | O_DIRECTORY);
    CHECK("fchdir", fchdir(d));
    cwd("cwd");
    close(d);
    CHECK("chdir file", chdir(base) == 0 ? chdir("file") : -1);
    CHECK("chdir missing", chdir("missing"));
    CHECK("chdir empty", chdir(""));
    int f = open("file", O_RDONLY);
    CHECK("fchdir to file", fchdir(f));
    CHECK("fchdir bad fd", fchdir(99));
    close(f);
    char small[4];
    errno = 0;
    printf("getcwd small buffer: %s\n", getcwd(small, sizeof small) ? "OK" : errname(errno));
    CHECK("getcwd raw size 0", syscall(SYS_getcwd, small, 0));
    /* `..` at the root stays at the root. */
    struct stat r1, r2;
    CHECK("chdir /", chdir("/"));
    CHECK("chdir .. at root", chdir(".."));
    cwd("cwd at root");
    stat("/", &r1);
    stat("/../../..", &r2);
    printf("/../../.. is /: %s\n", r1.st_ino == r2.st_ino && r1.st_dev == r2.st_dev ? "yes" : "no");
    CHECK("chdir back", chdir(base));

    /* ENOTDIR, ENOENT, ENAMETOOLONG. */
    show("file/x", "file/x", 0);
    show("file/", "file/", 0);
    show("file/.", "file/.", 0);
    CHECK("open file/", open("file/", O_RDONLY));
    CHECK("mkdir file/d", mkdir("file/d", 0755));
    CHECK("open O_DIRECTORY file", open("file", O_RDONLY | O_DIRECTORY));
    show("missing/x", "missing/x", 0);
    show("empty path", "", 0);
    char name[300];
    memset(name, 'n', 256);
    name[256] = 0;
    CHECK("component of 256", open(name, O_CREAT | O_RDWR, 0644));
    name[255] = 0;
    int long_fd = open(name, O_CREAT | O_RDWR, 0644);
    printf("component of 255: %s\n", long_fd >= 0 ? "OK" : errname(errno));
    close(long_fd);
    unlink(name);
    static char longpath[PATH_MAX + 10];
    memset(longpath, 'p', PATH_MAX);
    longpath[PATH_MAX] = 0;
    CHECK("path of PATH_MAX", open(longpath, O_RDONLY));

    /* Trailing slashes. */
    CHECK("mkdir new/", mkdir("new/", 0755));
    show("stat new/", "new/", 0);
    CHECK("rmdir new/", rmdir("new/"));
    CHECK("open O_CREAT x/", open("x/", O_CREAT | O_RDWR, 0644));
    CHECK("open O_CREAT file/", open("file/", O_CREAT | O_RDWR, 0644));
    CHECK("unlink file/", unlink("file/"));
    CHECK("unlink a/", unlink("a/"));
    CHECK("rename file to x/", rename("file", "x/"));
    CHECK("rename file/ to x", rename("file/", "x"));
    CHECK("symlink to new/", symlink("file", "newlink/"));
    CHECK("mkdir /", mkdir("/", 0755));
    CHECK("rmdir .", rmdir("."));
    CHECK("rmdir ..", rmdir("a/.."));
    CHECK("mkdir .", mkdir(".", 0755));
    CHECK("unlink .", unlink("."));

    /* Symlinks in a path. */
    CHECK("symlink to dir", symlink("a/b", "lb"));
    CHECK("symlink absolute", symlink(base, "labs"));
    show("through link", "lb/c/f", 0);
    show("lstat link/", "lb/", 0);
    show("lstat link", "lb", 0);
    show("absolute link", "labs/a/b/c/f", 0);
    CHECK("symlink up", symlink("../../file", "a/b/up"));
    show("relative to the link", "a/b/up", 1);
    CHECK("chdir through link", chdir("lb/c"));
    cwd("cwd via link");
    CHECK("chdir back", chdir(base));
    CHECK("open link O_NOFOLLOW", open("lb", O_RDONLY | O_NOFOLLOW));
    int p = open("lb", O_PATH | O_NOFOLLOW);
    struct stat ps;
    fstat(p, &ps);
    printf("O_PATH|O_NOFOLLOW fstat: %s\n", type_name(ps.st_mode));
    CHECK("read O_PATH", read(p, small, 1));
    close(p);
    CHECK("open link/ O_NOFOLLOW", open("lb/", O_RDONLY | O_NOFOLLOW) >= 0 ? 0 : -1);
    CHECK("rmdir link", rmdir("lb"));

    /* Loops. */
    CHECK("symlink loop1", symlink("loop2", "loop1"));
    CHECK("symlink loop2", symlink("loop1", "loop2"));
    CHECK("symlink self", symlink("self", "self"));
    CHECK("open loop", open("loop1", O_RDONLY));
    show("stat loop", "loop1", 1);
    show("lstat loop", "loop1", 0);
    show("loop in middle", "loop1/x", 0);
    show("self", "self", 1);
    CHECK("open O_CREAT loop", open("self", O_CREAT | O_RDWR, 0644));
    /* A chain: c0 -> file, cN -> c(N-1). 40 links resolve, 41 do not. */
    char from[32], to[32];
    symlink("file", "c0");
    for (int i = 1; i <= 41; i++) {
        snprintf(from, sizeof from, "c%d", i - 1);
        snprintf(to, sizeof to, "c%d", i);
        symlink(from, to);
    }
    show("chain of 40", "c39", 1);
    show("chain of 41", "c40", 1);
    show("chain in middle", "c40/x", 0);

    /* openat and dirfds. */
    int ad = open("a", O_RDONLY | O_DIRECTORY);
    int fd = open("file", O_RDONLY);
    int r = openat(ad, "b/c/f", O_RDONLY);
    printf("openat dirfd: %s\n", r >= 0 ? "OK" : errname(errno));
    close(r);
    CHECK("openat file dirfd", openat(fd, "x", O_RDONLY));
    CHECK("openat bad dirfd", openat(99, "x", O_RDONLY));
    r = openat(99, base, O_RDONLY);
    printf("openat absolute bad dirfd: %s\n", r >= 0 ? "OK" : errname(errno));
    close(r);
    CHECK("mkdirat", mkdirat(ad, "m", 0700));
    show("made by mkdirat", "a/m", 0);
    CHECK("unlinkat dir without flag", unlinkat(ad, "m", 0));
    CHECK("unlinkat AT_REMOVEDIR", unlinkat(ad, "m", AT_REMOVEDIR));
    CHECK("unlinkat bad flag", unlinkat(ad, "m", 0x1));
    struct stat es;
    CHECK("fstatat AT_EMPTY_PATH", fstatat(fd, "", &es, AT_EMPTY_PATH));
    printf("AT_EMPTY_PATH type: %s\n", type_name(es.st_mode));
    CHECK("fstatat empty no flag", syscall(SYS_newfstatat, fd, "", &es, 0));
    CHECK("fstatat bad flag", syscall(SYS_newfstatat, AT_FDCWD, "file", &es, 0x4));
    CHECK("faccessat F_OK", faccessat(ad, "b/c/f", F_OK, 0));
    CHECK("access missing", access("missing", F_OK));
    CHECK("access bad mode", syscall(SYS_access, "file", 8));
    CHECK("access through file", access("file/x", F_OK));
    close(ad);
    close(fd);

    leave_workdir("ct-paths");
    return 0;
}
