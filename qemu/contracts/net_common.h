/* Helpers shared by the net_*.c contract programs: errno names for the socket errors
 * common.h does not know, and a CHECK that uses them. */
#include "common.h"

static const char *nerr(int e) {
    switch (e) {
    case EINPROGRESS: return "EINPROGRESS";
    case EALREADY: return "EALREADY";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOTSOCK: return "ENOTSOCK";
    case EPROTOTYPE: return "EPROTOTYPE";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EMSGSIZE: return "EMSGSIZE";
    case ENETDOWN: return "ENETDOWN";
    case ENETUNREACH: return "ENETUNREACH";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    default: return errname(e);
    }
}

#define NCHECK(label, expr) do { \
        errno = 0; \
        long _r = (long)(expr); \
        printf("%s: ret=%ld %s\n", label, _r < 0 ? -1L : _r, _r < 0 ? nerr(errno) : "OK"); \
    } while (0)
