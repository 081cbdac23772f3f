//! Linux errno values for x86_64 (asm-generic `errno-base.h` and `errno.h`).
//!
//! A syscall returns `-errno` in `rax`; [`Errno::as_neg`] gives that value. Numbers 41
//! and 58 are unused by Linux and have no variant. `EWOULDBLOCK` and `EDEADLOCK` are
//! aliases (associated constants), not variants, as in Linux. The table below is the
//! single source: the enum, [`Errno::name`], [`Errno::description`],
//! [`Errno::from_code`] and [`Errno::ALL`] are all generated from it.

/// The result of a Linux system call: a non-negative return value or an errno.
pub type SysResult = Result<usize, Errno>;

macro_rules! errnos {
    ($($name:ident = $code:literal, $desc:literal;)*) => {
        /// A Linux errno. The discriminant is the Linux number.
        #[repr(i32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Errno {
            $(#[doc = $desc] $name = $code,)*
        }

        impl Errno {
            /// Every errno, in increasing numeric order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name,)*];

            /// The errno for a Linux number, if Linux defines one.
            pub const fn from_code(code: i32) -> Option<Errno> {
                match code {
                    $($code => Some(Errno::$name),)*
                    _ => None,
                }
            }

            /// The symbolic name, e.g. `"ENOENT"` (what contract tests print).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// The message Linux's headers give, e.g. `"No such file or directory"`.
            pub const fn description(self) -> &'static str {
                match self {
                    $(Errno::$name => $desc,)*
                }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "I/O error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file number";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Try again";
    ENOMEM = 12, "Out of memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    ENOTBLK = 15, "Block device required";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "File table overflow";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Not a typewriter";
    ETXTBSY = 26, "Text file busy";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    EDOM = 33, "Math argument out of domain of func";
    ERANGE = 34, "Math result not representable";
    EDEADLK = 35, "Resource deadlock would occur";
    ENAMETOOLONG = 36, "File name too long";
    ENOLCK = 37, "No record locks available";
    ENOSYS = 38, "Invalid system call number";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many symbolic links encountered";
    ENOMSG = 42, "No message of desired type";
    EIDRM = 43, "Identifier removed";
    ECHRNG = 44, "Channel number out of range";
    EL2NSYNC = 45, "Level 2 not synchronized";
    EL3HLT = 46, "Level 3 halted";
    EL3RST = 47, "Level 3 reset";
    ELNRNG = 48, "Link number out of range";
    EUNATCH = 49, "Protocol driver not attached";
    ENOCSI = 50, "No CSI structure available";
    EL2HLT = 51, "Level 2 halted";
    EBADE = 52, "Invalid exchange";
    EBADR = 53, "Invalid request descriptor";
    EXFULL = 54, "Exchange full";
    ENOANO = 55, "No anode";
    EBADRQC = 56, "Invalid request code";
    EBADSLT = 57, "Invalid slot";
    EBFONT = 59, "Bad font file format";
    ENOSTR = 60, "Device not a stream";
    ENODATA = 61, "No data available";
    ETIME = 62, "Timer expired";
    ENOSR = 63, "Out of streams resources";
    ENONET = 64, "Machine is not on the network";
    ENOPKG = 65, "Package not installed";
    EREMOTE = 66, "Object is remote";
    ENOLINK = 67, "Link has been severed";
    EADV = 68, "Advertise error";
    ESRMNT = 69, "Srmount error";
    ECOMM = 70, "Communication error on send";
    EPROTO = 71, "Protocol error";
    EMULTIHOP = 72, "Multihop attempted";
    EDOTDOT = 73, "RFS specific error";
    EBADMSG = 74, "Not a data message";
    EOVERFLOW = 75, "Value too large for defined data type";
    ENOTUNIQ = 76, "Name not unique on network";
    EBADFD = 77, "File descriptor in bad state";
    EREMCHG = 78, "Remote address changed";
    ELIBACC = 79, "Can not access a needed shared library";
    ELIBBAD = 80, "Accessing a corrupted shared library";
    ELIBSCN = 81, ".lib section in a.out corrupted";
    ELIBMAX = 82, "Attempting to link in too many shared libraries";
    ELIBEXEC = 83, "Cannot exec a shared library directly";
    EILSEQ = 84, "Illegal byte sequence";
    ERESTART = 85, "Interrupted system call should be restarted";
    ESTRPIPE = 86, "Streams pipe error";
    EUSERS = 87, "Too many users";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EDESTADDRREQ = 89, "Destination address required";
    EMSGSIZE = 90, "Message too long";
    EPROTOTYPE = 91, "Protocol wrong type for socket";
    ENOPROTOOPT = 92, "Protocol not available";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    EOPNOTSUPP = 95, "Operation not supported on transport endpoint";
    EPFNOSUPPORT = 96, "Protocol family not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETDOWN = 100, "Network is down";
    ENETUNREACH = 101, "Network is unreachable";
    ENETRESET = 102, "Network dropped connection because of reset";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    ENOBUFS = 105, "No buffer space available";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ESHUTDOWN = 108, "Cannot send after transport endpoint shutdown";
    ETOOMANYREFS = 109, "Too many references: cannot splice";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EHOSTDOWN = 112, "Host is down";
    EHOSTUNREACH = 113, "No route to host";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
    ESTALE = 116, "Stale file handle";
    EUCLEAN = 117, "Structure needs cleaning";
    ENOTNAM = 118, "Not a XENIX named type file";
    ENAVAIL = 119, "No XENIX semaphores available";
    EISNAM = 120, "Is a named type file";
    EREMOTEIO = 121, "Remote I/O error";
    EDQUOT = 122, "Quota exceeded";
    ENOMEDIUM = 123, "No medium found";
    EMEDIUMTYPE = 124, "Wrong medium type";
    ECANCELED = 125, "Operation Canceled";
    ENOKEY = 126, "Required key not available";
    EKEYEXPIRED = 127, "Key has expired";
    EKEYREVOKED = 128, "Key has been revoked";
    EKEYREJECTED = 129, "Key was rejected by service";
    EOWNERDEAD = 130, "Owner died";
    ENOTRECOVERABLE = 131, "State not recoverable";
    ERFKILL = 132, "Operation not possible due to RF-kill";
    EHWPOISON = 133, "Memory page has hardware error";
}

impl Errno {
    /// Same value as [`Errno::EAGAIN`] (Linux defines it as an alias).
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// Same value as [`Errno::EDEADLK`] (Linux defines it as an alias).
    pub const EDEADLOCK: Errno = Errno::EDEADLK;

    /// The Linux number (positive).
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The value a syscall returns in `rax` for this error: `-errno`.
    pub const fn as_neg(self) -> isize {
        -(self as i32 as isize)
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Encodes a syscall result as the value returned in `rax`: the value itself, or
/// `-errno` (the range `-4095..=-1` that libc recognises as an error).
pub fn encode_result(result: SysResult) -> isize {
    match result {
        Ok(v) => v as isize,
        Err(e) => e.as_neg(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_values() {
        assert_eq!(Errno::EPERM as i32, 1);
        assert_eq!(Errno::ENOENT as i32, 2);
        assert_eq!(Errno::EBADF as i32, 9);
        assert_eq!(Errno::EAGAIN as i32, 11);
        assert_eq!(Errno::EFAULT as i32, 14);
        assert_eq!(Errno::EINVAL as i32, 22);
        assert_eq!(Errno::ENOSYS as i32, 38);
        assert_eq!(Errno::EOPNOTSUPP as i32, 95);
        assert_eq!(Errno::EAFNOSUPPORT as i32, 97);
        assert_eq!(Errno::EINPROGRESS as i32, 115);
        assert_eq!(Errno::EHWPOISON as i32, 133);
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
        assert_eq!(Errno::ENOENT.name(), "ENOENT");
        assert_eq!(Errno::ENOENT.as_neg(), -2);
        assert_eq!(encode_result(Err(Errno::EBADF)), -9);
        assert_eq!(encode_result(Ok(7)), 7);
    }

    #[test]
    fn all_is_complete_and_round_trips() {
        // 1..=133 minus the two numbers Linux leaves unused.
        assert_eq!(Errno::ALL.len(), 131);
        for code in 1..=133 {
            match Errno::from_code(code) {
                Some(e) => {
                    assert_eq!(e.code(), code);
                    assert!(e.name().starts_with('E'));
                    assert!(!e.description().is_empty());
                }
                None => assert!(code == 41 || code == 58, "missing errno {code}"),
            }
        }
        assert!(Errno::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Errno::from_code(0), None);
        assert_eq!(Errno::from_code(134), None);
    }

    /// The host's asm-generic headers (linux-libc-dev) are an independent copy of the
    /// same table: every numeric define there must have the same name here.
    #[test]
    fn matches_host_errno_headers_when_present() {
        let mut seen = 0;
        for file in ["errno-base.h", "errno.h"] {
            let path = std::format!("/usr/include/asm-generic/{file}");
            let Ok(text) = std::fs::read_to_string(path) else {
                return;
            };
            for line in text.lines() {
                let mut words = line.split_whitespace();
                if words.next() != Some("#define") {
                    continue;
                }
                let (Some(name), Some(Ok(code))) = (words.next(), words.next().map(str::parse))
                else {
                    continue;
                };
                assert_eq!(Errno::from_code(code).map(Errno::name), Some(name));
                seen += 1;
            }
        }
        assert_eq!(seen, 131);
    }
}
