/* File mappings: MAP_PRIVATE of a file shows its bytes (zeros past the end in the
 * last page), private writes do not reach the file, offsets must be page aligned,
 * and the access mode is checked (EACCES, EBADF, ENODEV for a pipe). */
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    mkdir("ct-mmap", 0755);
    chdir("ct-mmap");
    int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    char buf[6000];
    for (int i = 0; i < 6000; i++) buf[i] = 'a' + i % 26;
    write(fd, buf, sizeof buf);
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("mmap private: %s\n", m == MAP_FAILED ? errname(errno) : "OK");
    printf("bytes 0,25,5999: %c %c %c\n", m[0], m[25], m[5999]);
    printf("past EOF in the last page is zero: %s\n", m[6000] == 0 && m[8191] == 0 ? "yes" : "no");
    m[0] = 'Z';
    char c;
    pread(fd, &c, 1, 0);
    printf("private write reached the file: %s\n", c == 'Z' ? "yes" : "no");
    char *m2 = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    printf("offset 4096 starts with: %c\n", m2 == MAP_FAILED ? '?' : m2[0]);
    errno = 0;
    void *r = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 100);
    printf("unaligned offset: %s\n", r == MAP_FAILED ? errname(errno) : "OK");
    int wo = open("data", O_WRONLY);
    errno = 0;
    r = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, wo, 0);
    printf("write-only fd: %s\n", r == MAP_FAILED ? errname(errno) : "OK");
    int ro = open("data", O_RDONLY);
    errno = 0;
    r = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    printf("shared writable on a read-only fd: %s\n", r == MAP_FAILED ? errname(errno) : "OK");
    errno = 0;
    r = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 99, 0);
    printf("bad fd: %s\n", r == MAP_FAILED ? errname(errno) : "OK");
    int p[2];
    pipe(p);
    errno = 0;
    r = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, p[0], 0);
    printf("pipe: %s\n", r == MAP_FAILED ? errname(errno) : "OK");
    close(fd);
    close(wo);
    close(ro);
    unlink("data");
    chdir("..");
    rmdir("ct-mmap");
    return 0;
}
