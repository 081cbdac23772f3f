/* Files: open/read/write/lseek/pread, O_APPEND/O_TRUNC/O_EXCL, the stat fields every
 * file system reports alike, a sorted getdents64 listing, and the errors of unlink,
 * rename, mkdir, rmdir, symlink and readlink. Works in ./ct-files, removed after. */
#include "common.h"
#include "fstree.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists a directory with raw getdents64 (small buffer, several calls), sorted. */
static void list(const char *label, const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        printf("%s: open %s\n", label, errname(errno));
        return;
    }
    char buf[64];
    char *names[64];
    int n = 0, calls = 0;
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (got < 0) {
            printf("%s: getdents64 %s\n", label, errname(errno));
            break;
        }
        if (got == 0)
            break;
        calls++;
        for (long at = 0; at < got;) {
            unsigned short reclen;
            memcpy(&reclen, buf + at + 16, 2);
            unsigned char type = (unsigned char)buf[at + 18];
            char *name = buf + at + 19;
            char *entry = malloc(strlen(name) + 4);
            sprintf(entry, "%s/%c", name, type == DT_DIR ? 'd' : type == DT_REG ? 'f' : type == DT_LNK ? 'l' : '?');
            if (n < 64)
                names[n++] = entry;
            at += reclen;
        }
    }
    close(fd);
    qsort(names, n, sizeof names[0], cmp);
    printf("%s:", label);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf(" (%s call)\n", calls > 1 ? "more than one" : "one");
}

static void show_content(const char *label, const char *path) {
    char buf[128];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: %s\n", label, errname(errno));
        return;
    }
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        printf("%s: read %s\n", label, errname(errno));
        return;
    }
    printf("%s: %ld bytes \"", label, n);
    for (long i = 0; i < n; i++)
        putchar(buf[i] >= 32 && buf[i] < 127 ? buf[i] : '.');
    printf("\"\n");
}

int main(void) {
    enter_workdir("ct-files");
    char buf[64];

    /* Create, write, seek, read, pread. */
    int fd = open("a", O_CREAT | O_EXCL | O_RDWR, 0666);
    printf("open new: fd=%d\n", fd);
    CHECK("write", write(fd, "hello world", 11));
    CHECK("lseek cur", lseek(fd, 0, SEEK_CUR));
    CHECK("lseek set 0", lseek(fd, 0, SEEK_SET));
    memset(buf, 0, sizeof buf);
    CHECK("read 5", read(fd, buf, 5));
    printf("read data: %s\n", buf);
    memset(buf, 0, sizeof buf);
    CHECK("pread 5 at 6", pread(fd, buf, 5, 6));
    printf("pread data: %s\n", buf);
    CHECK("offset after pread", lseek(fd, 0, SEEK_CUR));
    CHECK("lseek end -5", lseek(fd, -5, SEEK_END));
    memset(buf, 0, sizeof buf);
    CHECK("read rest", read(fd, buf, sizeof buf));
    printf("rest data: %s\n", buf);
    CHECK("read at end", read(fd, buf, sizeof buf));
    CHECK("lseek negative", lseek(fd, -100, SEEK_SET));
    CHECK("lseek bad whence", lseek(fd, 0, 7));
    CHECK("lseek past end", lseek(fd, 20, SEEK_SET));
    CHECK("write past end", write(fd, "X", 1));
    show_content("with hole", "a");
    CHECK("pwrite at 0", pwrite(fd, "J", 1, 0));
    CHECK("pread negative offset", pread(fd, buf, 1, -1));
    show("stat a", "a", 0);
    struct stat st;
    CHECK("fstat", fstat(fd, &st));
    printf("fstat: %s %04o size=%lld owner is me: %s\n", type_name(st.st_mode), (unsigned)(st.st_mode & 07777),
           (long long)st.st_size, st.st_uid == getuid() && st.st_gid == getgid() ? "yes" : "no");
    struct stat st2;
    stat("a", &st2);
    printf("stat and fstat same inode: %s\n", st.st_ino == st2.st_ino && st.st_dev == st2.st_dev ? "yes" : "no");
    close(fd);

    /* O_EXCL, O_TRUNC, O_APPEND, access modes. */
    CHECK("O_EXCL existing", open("a", O_CREAT | O_EXCL | O_RDWR, 0644));
    CHECK("open missing", open("missing", O_RDONLY));
    fd = open("a", O_WRONLY | O_TRUNC);
    show("after O_TRUNC", "a", 0);
    CHECK("write ab", write(fd, "ab", 2));
    close(fd);
    fd = open("a", O_WRONLY | O_APPEND);
    CHECK("lseek 0 on O_APPEND", lseek(fd, 0, SEEK_SET));
    CHECK("append cd", write(fd, "cd", 2));
    printf("F_GETFL: %s%s\n", (fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "?",
           fcntl(fd, F_GETFL) & O_APPEND ? "|O_APPEND" : "");
    CHECK("read on O_WRONLY", read(fd, buf, 1));
    close(fd);
    show_content("after append", "a");
    fd = open("a", O_RDONLY);
    CHECK("write on O_RDONLY", write(fd, "x", 1));
    CHECK("ftruncate on O_RDONLY", ftruncate(fd, 0));
    close(fd);
    fd = creat("c", 0600);
    CHECK("creat write", write(fd, "123456", 6));
    CHECK("ftruncate 3", ftruncate(fd, 3));
    CHECK("ftruncate negative", ftruncate(fd, -1));
    CHECK("fsync", fsync(fd));
    CHECK("fdatasync", fdatasync(fd));
    CHECK("fallocate grow", syscall(SYS_fallocate, fd, 0, 0, 5));
    CHECK("fallocate zero length", syscall(SYS_fallocate, fd, 0, 0, 0));
    CHECK("fsync bad fd", fsync(99));
    close(fd);
    show("creat c", "c", 0);
    CHECK("truncate 8", truncate("c", 8));
    show_content("truncated c", "c");
    CHECK("chmod 640", chmod("c", 0640));
    show("chmod c", "c", 0);

    /* Directories. */
    CHECK("mkdir d", mkdir("d", 0755));
    CHECK("mkdir d again", mkdir("d", 0755));
    CHECK("mkdir d/sub", mkdir("d/sub", 0700));
    CHECK("mkdir in missing", mkdir("nope/x", 0755));
    CHECK("mkdir under file", mkdir("a/x", 0755));
    const char *files[] = {"d/zeta", "d/alpha", "d/mid", "d/bravo", "d/x1", "d/x2"};
    for (unsigned i = 0; i < sizeof files / sizeof files[0]; i++)
        close(open(files[i], O_CREAT | O_WRONLY, 0644));
    CHECK("symlink in d", symlink("alpha", "d/link"));
    show("stat d", "d", 0);
    show("stat d/sub", "d/sub", 0);
    list("listing d", "d");
    CHECK("rmdir non-empty", rmdir("d"));
    CHECK("unlink dir", unlink("d"));
    CHECK("rmdir file", rmdir("d/alpha"));
    CHECK("rmdir missing", rmdir("d/none"));
    CHECK("open dir O_WRONLY", open("d", O_WRONLY));
    CHECK("open dir O_RDWR", open("d", O_RDWR));
    fd = open("d", O_RDONLY);
    CHECK("read on dir", read(fd, buf, 1));
    close(fd);
    fd = open("a", O_RDONLY);
    CHECK("getdents64 on file", syscall(SYS_getdents64, fd, buf, sizeof buf));
    CHECK("getdents64 tiny buffer", syscall(SYS_getdents64, open("d", O_RDONLY), buf, 8));
    close(fd);
    CHECK("getdents64 bad fd", syscall(SYS_getdents64, 99, buf, sizeof buf));

    /* Unlink. */
    fd = open("d/x1", O_RDWR);
    CHECK("write x1", write(fd, "still here", 10));
    CHECK("unlink x1", unlink("d/x1"));
    CHECK("unlink x1 again", unlink("d/x1"));
    CHECK("fstat unlinked", fstat(fd, &st));
    printf("unlinked nlink=%lu\n", (unsigned long)st.st_nlink);
    memset(buf, 0, sizeof buf);
    CHECK("pread unlinked", pread(fd, buf, sizeof buf, 0));
    printf("unlinked data: %s\n", buf);
    close(fd);

    /* Rename. */
    CHECK("rename a->b", rename("a", "b"));
    show("old name", "a", 0);
    show_content("new name", "b");
    CHECK("rename missing", rename("a", "z"));
    CHECK("rename b over c", rename("b", "c"));
    show_content("c now", "c");
    CHECK("rename file over dir", rename("c", "d"));
    CHECK("rename dir over file", rename("d", "c"));
    CHECK("mkdir e", mkdir("e", 0755));
    CHECK("rename dir over non-empty", rename("e", "d"));
    CHECK("rename dir into itself", rename("d", "d/sub/deeper"));
    CHECK("rename dir over empty dir", rename("d/sub", "e"));
    show("d/sub gone", "d/sub", 0);
    CHECK("rename to same name", rename("c", "c"));
    CHECK("renameat2 NOREPLACE existing", syscall(SYS_renameat2, AT_FDCWD, "c", AT_FDCWD, "d/mid", RENAME_NOREPLACE));
    CHECK("renameat2 NOREPLACE new", syscall(SYS_renameat2, AT_FDCWD, "c", AT_FDCWD, "d/c", RENAME_NOREPLACE));
    CHECK("renameat2 bad flags", syscall(SYS_renameat2, AT_FDCWD, "d/c", AT_FDCWD, "c", 0x80));
    list("listing d after", "d");

    /* Symlinks and readlink. */
    CHECK("symlink", symlink("d/c", "l"));
    CHECK("symlink existing", symlink("x", "l"));
    CHECK("symlink empty target", symlink("", "l2"));
    memset(buf, 0, sizeof buf);
    CHECK("readlink", readlink("l", buf, sizeof buf));
    printf("readlink data: %s\n", buf);
    memset(buf, 0, sizeof buf);
    CHECK("readlink short", readlink("l", buf, 2));
    printf("readlink short data: %s\n", buf);
    CHECK("readlink file", readlink("d/c", buf, sizeof buf));
    CHECK("readlink missing", readlink("none", buf, sizeof buf));
    CHECK("readlink size 0", syscall(SYS_readlink, "l", buf, 0));
    show("lstat l", "l", 0);
    show("stat l", "l", 1);
    CHECK("symlink dangling", symlink("made-by-open", "dl"));
    CHECK("open dangling", open("dl", O_RDONLY));
    fd = open("dl", O_CREAT | O_WRONLY, 0600);
    printf("open dangling O_CREAT: %s\n", fd >= 0 ? "OK" : errname(errno));
    close(fd);
    show("target made", "made-by-open", 0);
    CHECK("unlink symlink", unlink("l"));
    show("target kept", "d/c", 0);

    /* A fifo, opened without blocking. */
    CHECK("mkfifo", mkfifo("fifo", 0644));
    show("fifo", "fifo", 0);
    CHECK("fifo writer without reader", open("fifo", O_WRONLY | O_NONBLOCK));
    int fr = open("fifo", O_RDONLY | O_NONBLOCK);
    printf("fifo reader: %s\n", fr >= 0 ? "OK" : errname(errno));
    int fw = open("fifo", O_WRONLY | O_NONBLOCK);
    printf("fifo writer: %s\n", fw >= 0 ? "OK" : errname(errno));
    CHECK("fifo write", write(fw, "pipe", 4));
    memset(buf, 0, sizeof buf);
    CHECK("fifo read", read(fr, buf, sizeof buf));
    printf("fifo data: %s\n", buf);
    CHECK("fifo lseek", lseek(fr, 0, SEEK_SET));
    close(fw);
    CHECK("fifo read after writer closed", read(fr, buf, sizeof buf));
    close(fr);
    CHECK("unlink fifo", unlink("fifo"));

    /* Hard links. */
    CHECK("link", link("d/c", "hl"));
    show("linked", "hl", 0);
    CHECK("link existing", link("d/c", "hl"));
    CHECK("link dir", link("d", "dl2"));
    CHECK("link missing", link("none", "x"));
    CHECK("unlink one name", unlink("d/c"));
    show("other name", "hl", 0);

    leave_workdir("ct-files");
    return 0;
}
