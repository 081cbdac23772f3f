/* Shared helpers for contract programs: each prints what it observes, one fact per
 * line, so the output on Linux and on Writ can be compared byte for byte. Nothing
 * printed may depend on addresses, pids, time or the environment. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *errname(int e) {
    switch (e) {
    case 0: return "OK";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";
    case ENOSYS: return "ENOSYS";
    case E2BIG: return "E2BIG";
    case ENOEXEC: return "ENOEXEC";
    case ESPIPE: return "ESPIPE";
    case ENODEV: return "ENODEV";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECHILD: return "ECHILD";
    case EPIPE: return "EPIPE";
    case ESRCH: return "ESRCH";
    case EMFILE: return "EMFILE";
    case EAGAIN: return "EAGAIN";
    case EISDIR: return "EISDIR";
    case ENOTDIR: return "ENOTDIR";
    case EEXIST: return "EEXIST";
    case EOVERFLOW: return "EOVERFLOW";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ELOOP: return "ELOOP";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EBUSY: return "EBUSY";
    case ERANGE: return "ERANGE";
    case ENXIO: return "ENXIO";
    case ENOSPC: return "ENOSPC";
    case EDEADLK: return "EDEADLK";
    case EINTR: return "EINTR";
    case EXDEV: return "EXDEV";
    case EFBIG: return "EFBIG";
    case EIO: return "EIO";
    default: return "E?";
    }
}

/* Prints "label: ret=R errno=NAME" for a raw syscall-style result. */
#define CHECK(label, expr) do { \
        errno = 0; \
        long _r = (long)(expr); \
        printf("%s: ret=%ld %s\n", label, _r < 0 ? -1L : _r, _r < 0 ? errname(errno) : "OK"); \
    } while (0)

/* The same, but only whether it succeeded (for results that are addresses). */
#define CHECK_OK(label, expr) do { \
        errno = 0; \
        long _r = (long)(expr); \
        printf("%s: %s\n", label, _r < 0 || _r == -1 ? errname(errno) : "OK"); \
    } while (0)
