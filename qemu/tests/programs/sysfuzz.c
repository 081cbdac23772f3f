/* Throws random system calls with hostile arguments at the kernel from forked
 * children (a child may well kill itself; that is fine). The kernel must survive:
 * the parent prints "survived" at the end. Numbers that would stop the test itself
 * (exit, kill of others, pause-like sleeps, execve of garbage that succeeds...) are
 * skipped. Deterministic: seeded. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static char scratch[8192];

static long arg(void) {
    switch (rnd() % 10) {
    case 0: return 0;
    case 1: return -1;
    case 2: return (long)(rnd() % 64);
    case 3: return (long)scratch + (long)(rnd() % 4096);
    case 4: return (long)0xffffffff80000000ul + (long)(rnd() % 0x100000);
    case 5: return (long)(rnd() & 0x00007ffffffff000ul);
    case 6: return (long)rnd();
    case 7: return 1L << (rnd() % 63);
    case 8: return (long)(rnd() % 4096);
    default: return (long)0x800000000000ul;
    }
}

static int skip(long nr) {
    switch (nr) {
    case SYS_exit: case SYS_exit_group: case SYS_kill: case SYS_tkill: case SYS_tgkill:
    case SYS_pause: case SYS_rt_sigsuspend: case SYS_nanosleep: case SYS_clock_nanosleep:
    case SYS_fork: case SYS_vfork: case SYS_clone: case SYS_clone3: case SYS_execve:
    case SYS_execveat: case SYS_wait4: case SYS_waitid: case SYS_futex: case SYS_reboot:
    case SYS_rt_sigreturn: case SYS_ptrace: case SYS_read: case SYS_readv: case SYS_pread64:
    case SYS_select: case SYS_pselect6: case SYS_poll: case SYS_ppoll: case SYS_epoll_wait:
    case SYS_epoll_pwait: case SYS_accept: case SYS_accept4: case SYS_recvfrom: case SYS_recvmsg:
    case SYS_msgrcv: case SYS_semop: case SYS_flock: case SYS_setrlimit: case SYS_prlimit64:
    case SYS_munmap: case SYS_mremap: case SYS_mprotect: case SYS_brk: case SYS_arch_prctl:
    case SYS_setuid: case SYS_setgid: case SYS_setresuid: case SYS_setreuid:
    case SYS_rt_sigaction: case SYS_sigaltstack: case SYS_rt_sigprocmask:
    case SYS_alarm: case SYS_setitimer: case SYS_timer_create: case SYS_chdir: case SYS_chroot:
    case SYS_unlink: case SYS_unlinkat: case SYS_rmdir: case SYS_rename: case SYS_renameat:
    case SYS_renameat2: case SYS_pipe: case SYS_pipe2: case SYS_write: case SYS_writev:
    case SYS_pwrite64: case SYS_sendto: case SYS_sendmsg: case SYS_truncate: case SYS_ftruncate:
    case SYS_close: case SYS_dup2: case SYS_dup3:
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    int per = argc > 2 ? atoi(argv[2]) : 1000;
    signal(SIGPIPE, SIG_IGN);
    int killed = 0;
    for (int r = 0; r < rounds; r++) {
        pid_t p = fork();
        if (p == 0) {
            state += (uint64_t)r * 7919;
            for (int i = 0; i < per; i++) {
                long nr = (long)(rnd() % 336);
                if (skip(nr)) continue;
                syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
            }
            _exit(0);
        }
        int st;
        while (waitpid(p, &st, 0) < 0) {}
        if (WIFSIGNALED(st)) killed++;
    }
    printf("survived %d rounds of %d random calls (%d children ended by a signal)\n", rounds, per, killed);
    return 0;
}
