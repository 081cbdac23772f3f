/* Helpers for the file-system contract programs: a private work directory under the
 * current one (a fixed name, so the output is the same wherever the program runs),
 * removed recursively before and after; and stat printing limited to the fields
 * every Linux file system reports alike (no sizes of directories, no times, no
 * device or inode numbers). */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                    continue;
                char sub[4096];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                remove_tree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Makes `name` afresh under the cwd and enters it. */
static void enter_workdir(const char *name) {
    umask(022);
    remove_tree(name);
    if (mkdir(name, 0755) != 0 || chdir(name) != 0) {
        printf("cannot make work directory: %s\n", errname(errno));
        exit(1);
    }
}

static void leave_workdir(const char *name) {
    if (chdir("..") != 0)
        printf("chdir ..: %s\n", errname(errno));
    remove_tree(name);
    struct stat st;
    printf("work directory removed: %s\n", lstat(name, &st) != 0 && errno == ENOENT ? "yes" : "no");
}

static const char *type_name(mode_t m) {
    if (S_ISREG(m)) return "file";
    if (S_ISDIR(m)) return "dir";
    if (S_ISLNK(m)) return "symlink";
    if (S_ISCHR(m)) return "chardev";
    if (S_ISFIFO(m)) return "fifo";
    return "other";
}

/* lstat (or stat when follow) of `path`: type and permission bits, and for
 * non-directories the link count and size. */
static void show(const char *label, const char *path, int follow) {
    struct stat st;
    errno = 0;
    int r = follow ? stat(path, &st) : lstat(path, &st);
    if (r != 0) {
        printf("%s: %s\n", label, errname(errno));
        return;
    }
    if (S_ISDIR(st.st_mode))
        printf("%s: %s %04o\n", label, type_name(st.st_mode), (unsigned)(st.st_mode & 07777));
    else
        printf("%s: %s %04o nlink=%lu size=%lld\n", label, type_name(st.st_mode),
               (unsigned)(st.st_mode & 07777), (unsigned long)st.st_nlink, (long long)st.st_size);
}
