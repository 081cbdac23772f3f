/* chroot and whole reads. chroot changes where absolute paths start and where `..`
 * stops, for the caller and its children, not its working directory; it needs root
 * (EPERM), a directory (ENOTDIR) that exists (ENOENT). A read fills the whole buffer
 * from a regular file and from /dev/zero (as dd counts on: one read is one record),
 * and gives a pipe reader everything that is there. */
#include "common.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void put(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, text, strlen(text));
    close(fd);
}

static void show(const char *label, const char *path) {
    char b[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: %s\n", label, errname(errno));
        return;
    }
    read(fd, b, sizeof b - 1);
    close(fd);
    printf("%s: %s", label, b);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    static char big[1 << 20];
    int z = open("/dev/zero", O_RDONLY);
    printf("read /dev/zero 1 MiB: %ld\n", (long)read(z, big, sizeof big));
    close(z);
    mkdir("/tmp", 01777);
    int f = open("/tmp/ch_file", O_RDWR | O_CREAT | O_TRUNC, 0644);
    memset(big, 'x', 300000);
    write(f, big, 300000);
    lseek(f, 0, SEEK_SET);
    printf("read 300000-byte file with 1 MiB: %ld\n", (long)read(f, big, sizeof big));
    printf("pread from 100000: %ld\n", (long)pread(f, big, sizeof big, 100000));
    close(f);
    int p[2];
    pipe(p);
    write(p[1], big, 30000);
    write(p[1], big, 20000);
    printf("read pipe holding 50000: %ld\n", (long)read(p[0], big, sizeof big));
    close(p[0]);
    close(p[1]);

    mkdir("/tmp/cr", 0755);
    mkdir("/tmp/cr/etc", 0755);
    put("/tmp/cr/etc/marker", "inside\n");
    put("/tmp/marker", "outside\n");
    CHECK("chroot to a file", chroot("/tmp/marker"));
    CHECK("chroot to nothing", chroot("/tmp/no/such"));
    pid_t c = fork();
    if (c == 0) {
        CHECK("chroot /tmp/cr", chroot("/tmp/cr"));
        show("/etc/marker", "/etc/marker");
        show("/marker", "/marker");
        CHECK("chdir /", chdir("/"));
        show("/../../etc/marker", "/../../etc/marker");
        char cwd[64] = {0};
        getcwd(cwd, sizeof cwd);
        printf("getcwd: %s\n", cwd);
        pid_t g = fork();
        if (g == 0) {
            show("grandchild sees", "/etc/marker");
            _exit(0);
        }
        waitpid(g, NULL, 0);
        if (setuid(1000) == 0) CHECK("chroot as user", chroot("/etc"));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    show("parent still sees /tmp/marker", "/tmp/marker");
    return 0;
}
