/* execve's errors and argument passing: argv and envp arrive intact; a missing file
 * is ENOENT, a file without exec permission or a directory EACCES, a file that is no
 * executable ENOEXEC, a bad pointer EFAULT; a path through a regular file ENOTDIR. */
#include "common.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void try(const char *label, const char *path) {
    char *args[] = {(char *)path, NULL};
    errno = 0;
    execve(path, args, environ);
    printf("%s: %s\n", label, errname(errno));
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "child") == 0) {
        printf("child argv[2]=%s env WRIT_T=%s\n", argv[2], getenv("WRIT_T") ? getenv("WRIT_T") : "(unset)");
        return 3;
    }
    mkdir("ct-exec", 0755);
    chdir("ct-exec");
    int fd = open("plain", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "hello\n", 6);
    close(fd);
    fd = open("garbage", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    write(fd, "\x7f" "ELFnot really an elf file at all", 34);
    close(fd);
    try("missing file", "./missing");
    try("not executable", "./plain");
    try("directory", ".");
    try("not an executable format", "./garbage");
    try("path through a file", "./plain/x");
    errno = 0;
    execve((char *)8, NULL, NULL);
    printf("bad path pointer: %s\n", errname(errno));
    char *args[] = {argv[0], "child", "two words", NULL};
    char *env[] = {"WRIT_T=42", NULL};
    pid_t p = fork();
    if (p == 0) {
        execve(argv[0][0] == '/' ? argv[0] : "../bad", args, env);
        _exit(100);
    }
    int st;
    waitpid(p, &st, 0);
    printf("child exit status %d\n", WEXITSTATUS(st));
    unlink("plain");
    unlink("garbage");
    chdir("..");
    rmdir("ct-exec");
    return 0;
}
