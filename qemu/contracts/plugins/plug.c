/* The shared library dynload.c loads with dlopen: a constructor, a function, data with
 * relocations, and a thread-local variable (dynamic TLS). */
static int constructed;
static const char *names[] = {"alpha", "beta", "gamma"}; /* relocated pointers */
__thread int plug_tls = 41;

__attribute__((constructor)) static void init(void) { constructed = 1; }

int plug_constructed(void) { return constructed; }

int plug_sum(int n) {
    int s = 0;
    for (int i = 1; i <= n; i++)
        s += i;
    return s;
}

const char *plug_name(int i) { return names[i % 3]; }

int *plug_tls_addr(void) { return &plug_tls; }
