/* execve's errors and argument passing: argv and envp arrive intact; a missing file
 * is ENOENT, a file without exec permission or a directory EACCES, a file that is no
 * executable ENOEXEC, a bad pointer EFAULT; a path through a regular file ENOTDIR.
 * `#!` scripts: the interpreter gets `interp [one arg] path argv[1..]`; an empty
 * interpreter line is ENOEXEC, a missing interpreter ENOENT, a script that names
 * itself ELOOP, a script without exec permission EACCES. */
#include "common.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void script(const char *name, const char *text, int mode) {
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, mode);
    write(fd, text, strlen(text));
    close(fd);
}

static void run(const char *label, const char *path, char *const args[]) {
    pid_t p = fork();
    if (p == 0) {
        execve(path, args, environ);
        printf("%s: %s\n", label, errname(errno));
        _exit(101);
    }
    int st;
    waitpid(p, &st, 0);
    printf("%s: exit status %d\n", label, WEXITSTATUS(st));
}

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
    if (argc >= 2 && (strncmp(argv[1], "script", 6) == 0 || strncmp(argv[1], "./s", 3) == 0)) {
        /* Run as a script's interpreter: argv[0] is our own path, which differs
         * between the host and Writ, so print from argv[1]. */
        printf("interpreter argc=%d", argc);
        for (int i = 1; i < argc; i++)
            printf(" [%s]", argv[i]);
        printf("\n");
        return 4;
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
    if (argv[0][0] == '/') {
        char line[512];
        snprintf(line, sizeof line, "#!%s script  two words \t\nrest of the script\n", argv[0]);
        script("s1", line, 0755);
        snprintf(line, sizeof line, "#!  %s", argv[0]);
        script("s2", line, 0755);
        script("s3", "#!./s1\n", 0755);
        script("s4", "#!./s4\n", 0755);
        script("s5", "#!\n", 0755);
        script("s6", "#!/nonexistent/interp\n", 0755);
        script("s7", "#!/bin/sh\n", 0644);
        char *a1[] = {"./s1", "x", "y", NULL};
        run("script with an argument", "./s1", a1);
        char *a2[] = {"name-ignored", NULL};
        run("script without newline", "./s2", a2);
        char *a3[] = {"./s3", "z", NULL};
        run("script as interpreter", "./s3", a3);
        char *a4[] = {"./s4", NULL};
        run("script naming itself", "./s4", a4);
        run("empty interpreter line", "./s5", a4);
        run("missing interpreter", "./s6", a4);
        run("script not executable", "./s7", a4);
        const char *names[] = {"s1", "s2", "s3", "s4", "s5", "s6", "s7"};
        for (int i = 0; i < 7; i++)
            unlink(names[i]);
    }
    unlink("plain");
    unlink("garbage");
    chdir("..");
    rmdir("ct-exec");
    return 0;
}
