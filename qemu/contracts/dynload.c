/* Run by qemu/tests/contracts.rs with compile_dynamic. Dynamic linking: this program is a dynamic executable (PT_INTERP
 * /lib/ld-musl-x86_64.so.1), so the kernel maps the interpreter and passes AT_BASE,
 * AT_PHDR and AT_ENTRY; the interpreter maps libc and then, at dlopen, a plugin with
 * file-backed private mappings and RELRO mprotect. The plugin's constructor runs, its
 * functions and relocated data work, each thread gets its own copy of its TLS
 * variable, dlsym of a missing symbol and dlopen of a missing file fail, dlclose
 * succeeds. */
#include "common.h"
#include <dlfcn.h>
#include <elf.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>

static int *(*tls_addr)(void);

static void *thread(void *arg) {
    (void)arg;
    int *p = tls_addr();
    int first = *p;
    *p = 7;
    return (void *)(long)(first * 100 + *tls_addr());
}

int main(int argc, char **argv) {
    (void)argc;
    setvbuf(stdout, NULL, _IONBF, 0);
    (void)errname;
    printf("AT_BASE set (an interpreter ran): %s\n", getauxval(AT_BASE) ? "yes" : "no");
    printf("AT_ENTRY is main's image: %s\n",
           getauxval(AT_ENTRY) && getauxval(AT_PHDR) ? "yes" : "no");
    printf("AT_PHENT: %lu\n", getauxval(AT_PHENT));

    char dir[PATH_MAX];
    strncpy(dir, argv[0], sizeof dir - 1);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        strcpy(dir, ".");
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/libplug.so", dir);

    void *missing = dlopen("/nonexistent/libnothing.so", RTLD_NOW);
    printf("dlopen of a missing file: %s\n", missing ? "loaded?!" : "NULL");
    void *h = dlopen(path, RTLD_NOW);
    printf("dlopen plugin: %s\n", h ? "ok" : dlerror());
    if (!h)
        return 1;
    int (*constructed)(void) = (int (*)(void))dlsym(h, "plug_constructed");
    int (*sum)(int) = (int (*)(int))dlsym(h, "plug_sum");
    const char *(*name)(int) = (const char *(*)(int))dlsym(h, "plug_name");
    tls_addr = (int *(*)(void))dlsym(h, "plug_tls_addr");
    printf("dlsym of a missing symbol: %s\n", dlsym(h, "plug_nothing") ? "found?!" : "NULL");
    printf("constructor ran: %d\n", constructed());
    printf("plug_sum(100) = %d\n", sum(100));
    printf("plug_name(1) = %s, plug_name(5) = %s\n", name(1), name(5));
    int *mine = tls_addr();
    printf("TLS initial value %d\n", *mine);
    *mine = 1;
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, thread, NULL);
    pthread_join(t, &ret);
    printf("other thread saw %ld then its own 7: %ld; main still %d\n", (long)ret / 100,
           (long)ret % 100, *tls_addr());
    Dl_info info;
    int ok = dladdr((void *)sum, &info);
    const char *base = ok && info.dli_fname ? strrchr(info.dli_fname, '/') : NULL;
    printf("dladdr names the plugin: %s\n", base && strcmp(base, "/libplug.so") == 0 ? "yes" : "no");
    printf("dlclose: %d\n", dlclose(h));
    return 0;
}
