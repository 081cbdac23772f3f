/* The stack grows on demand: a 6 MiB-deep recursion (inside Linux's default 8 MiB
 * RLIMIT_STACK) works, and its result is the same as on Linux. */
#include <stdio.h>
#include <string.h>

static int rec(int n) {
    volatile char buf[4096];
    memset((char *)buf, n, sizeof buf);
    return n ? rec(n - 1) + buf[100] : 0;
}

int main(void) {
    printf("deep recursion result: %d\n", rec(1500));
    return 0;
}
