/* Threads and futexes: pthread_create/join, a mutex-protected counter hammered by
 * four threads, a condition variable handshake, distinct thread ids in one process
 * (getpid is the same), a timed futex wait that times out, FUTEX_WAKE counts, and
 * exit_group from a side thread ending every thread. */
#include "common.h"
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static pid_t tids[4];

static void *work(void *arg) {
    long idx = (long)arg;
    tids[idx] = syscall(SYS_gettid);
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        if (i % 1000 == 0) sched_yield();
    }
    return (void *)(idx * 10);
}

static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready;

static void *signaler(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *exiter(void *arg) {
    (void)arg;
    exit(5); /* exit_group from a side thread */
}

static void *sleeper(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t t[4];
    for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, work, (void *)i);
    long sum = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    printf("counter=%ld (expect 80000), join results sum=%ld\n", counter, sum);
    int distinct = 1;
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (tids[i] == tids[j]) distinct = 0;
    printf("thread ids distinct and not the pid: %s\n",
           distinct && tids[0] != getpid() ? "yes" : "no");
    printf("main thread's tid is the pid: %s\n", syscall(SYS_gettid) == getpid() ? "yes" : "no");

    pthread_t s;
    pthread_mutex_lock(&lock);
    pthread_create(&s, NULL, signaler, NULL);
    while (!ready) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    pthread_join(s, NULL);
    printf("condition variable handshake: done\n");

    int word = 7;
    struct timespec to = {0, 50 * 1000 * 1000};
    CHECK("futex wait, wrong value", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 6, NULL, NULL, 0));
    CHECK("futex wait, 50 ms timeout", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 7, &to, NULL, 0));
    CHECK("futex wake, nobody waiting", syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    CHECK("futex unaligned", syscall(SYS_futex, (char *)&word + 1, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    CHECK("futex bad address", syscall(SYS_futex, (void *)8, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
    struct timespec bad = {0, 2000000000L};
    CHECK("futex bad timeout", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 7, &bad, NULL, 0));

    pid_t p = fork();
    if (p == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, sleeper, NULL);
        pthread_create(&b, NULL, exiter, NULL);
        for (;;) pause();
    }
    int st;
    waitpid(p, &st, 0);
    printf("child with threads, exit(5) in a side thread: %s %d\n",
           WIFEXITED(st) ? "exited" : "other", WIFEXITED(st) ? WEXITSTATUS(st) : st);
    return 0;
}
