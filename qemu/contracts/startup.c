/* What a program finds at its entry: argc/argv, a NULL-terminated environment, and
 * the auxiliary vector the loader and libc rely on (AT_PAGESZ, AT_PHDR/PHNUM/PHENT,
 * AT_ENTRY, AT_RANDOM, AT_EXECFN, AT_PLATFORM); the exit status reaches the parent. */
#include "common.h"
#include <elf.h>
#include <stdlib.h>
#include <sys/auxv.h>

/* The host runs the program from its build directory, Writ from "/": compare names. */
static const char *base(const char *p) {
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : (p ? p : "(none)");
}

extern char **environ;

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, i == 0 ? base(argv[0]) : argv[i]);
    printf("argv[argc]=%s\n", argv[argc] == NULL ? "NULL" : "non-NULL");
    int n = 0;
    while (environ[n]) n++;
    printf("environ terminated: yes\n");
    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
    printf("AT_PHNUM>0: %s\n", getauxval(AT_PHNUM) > 0 ? "yes" : "no");
    const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
    int has_load = 0;
    for (unsigned long i = 0; ph && i < getauxval(AT_PHNUM); i++)
        if (ph[i].p_type == PT_LOAD) has_load = 1;
    printf("AT_PHDR points at program headers with PT_LOAD: %s\n", has_load ? "yes" : "no");
    printf("AT_ENTRY set: %s\n", getauxval(AT_ENTRY) ? "yes" : "no");
    const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
    int nonzero = 0;
    for (int i = 0; r && i < 16; i++) nonzero |= r[i];
    printf("AT_RANDOM 16 bytes, not all zero: %s\n", nonzero ? "yes" : "no");
    const char *fn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN=%s\n", base(fn));
    const char *pl = (const char *)getauxval(AT_PLATFORM);
    printf("AT_PLATFORM=%s\n", pl ? pl : "(none)");
    printf("stack aligned: %s\n", ((unsigned long)&argc & 0x3) == 0 ? "yes" : "no");
    fflush(stdout);
    return argc + 40;
}
