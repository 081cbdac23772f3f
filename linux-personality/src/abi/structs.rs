//! Linux x86_64 struct layouts that early syscalls copy to and from user memory.
//!
//! Each type is `#[repr(C)]` with every padding byte spelled out as a named field, so
//! zerocopy can derive `IntoBytes`/`FromBytes` (the derive holds the `unsafe`; this
//! crate stays `forbid(unsafe_code)`). Host and target are both x86_64 little-endian,
//! so the in-memory bytes are the Linux bytes. Sizes are asserted at compile time and
//! checked against a C compiler in the tests.
//!
//! Names follow Linux with the `struct` prefix dropped and the type in CamelCase:
//! `struct stat` is [`Stat`], the kernel's `struct sigaction` is [`KernelSigaction`].

use alloc::vec::Vec;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct stat` as `newfstatat`/`fstat` write it (x86_64 layout, 144 bytes).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_nlink: u64,
    pub st_mode: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub pad0: u32,
    pub st_rdev: u64,
    pub st_size: i64,
    pub st_blksize: i64,
    pub st_blocks: i64,
    pub st_atime: i64,
    pub st_atime_nsec: i64,
    pub st_mtime: i64,
    pub st_mtime_nsec: i64,
    pub st_ctime: i64,
    pub st_ctime_nsec: i64,
    pub unused: [i64; 3],
}

/// `struct timespec` (16 bytes).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

impl Timespec {
    /// A duration or timeout from user space (`nanosleep`, `ppoll`, futex waits) is
    /// valid when `tv_sec >= 0` and `0 <= tv_nsec < 1e9`; otherwise Linux says EINVAL.
    pub fn is_valid(&self) -> bool {
        (0..1_000_000_000).contains(&self.tv_nsec) && self.tv_sec >= 0
    }
}

/// `struct timeval` (16 bytes).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Timeval {
    pub tv_sec: i64,
    pub tv_usec: i64,
}

/// `struct iovec` (16 bytes): one buffer of `readv`/`writev`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Iovec {
    pub iov_base: u64,
    pub iov_len: u64,
}

/// Length of each `struct utsname` field, NUL included.
pub const UTSNAME_FIELD: usize = 65;

/// `struct utsname` (6 fields of 65 bytes, 390 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct Utsname {
    pub sysname: [u8; UTSNAME_FIELD],
    pub nodename: [u8; UTSNAME_FIELD],
    pub release: [u8; UTSNAME_FIELD],
    pub version: [u8; UTSNAME_FIELD],
    pub machine: [u8; UTSNAME_FIELD],
    pub domainname: [u8; UTSNAME_FIELD],
}

impl Utsname {
    /// Builds a utsname; each string is cut to 64 bytes so a NUL always follows.
    pub fn new(
        sysname: &[u8],
        nodename: &[u8],
        release: &[u8],
        version: &[u8],
        machine: &[u8],
        domainname: &[u8],
    ) -> Utsname {
        Utsname {
            sysname: utsname_field(sysname),
            nodename: utsname_field(nodename),
            release: utsname_field(release),
            version: utsname_field(version),
            machine: utsname_field(machine),
            domainname: utsname_field(domainname),
        }
    }
}

fn utsname_field(s: &[u8]) -> [u8; UTSNAME_FIELD] {
    let mut field = [0u8; UTSNAME_FIELD];
    let n = s.len().min(UTSNAME_FIELD - 1);
    field[..n].copy_from_slice(&s[..n]);
    field
}

/// `struct winsize` for `TIOCGWINSZ` (8 bytes).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Winsize {
    pub ws_row: u16,
    pub ws_col: u16,
    pub ws_xpixel: u16,
    pub ws_ypixel: u16,
}

/// `struct rlimit` as `prlimit64` uses it (16 bytes). `u64::MAX` is `RLIM_INFINITY`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Rlimit {
    pub rlim_cur: u64,
    pub rlim_max: u64,
}

/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// The kernel's `struct sigaction` as `rt_sigaction` reads it on x86_64 (32 bytes).
/// This is not libc's layout: the mask comes last and is one 64-bit word
/// (`rt_sigaction` insists on `sigsetsize == 8`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct KernelSigaction {
    /// `SIG_DFL` (0), `SIG_IGN` (1) or the handler's address.
    pub handler: u64,
    /// `SA_*` flags; x86_64 libcs always set `SA_RESTORER`.
    pub flags: u64,
    /// Where the handler returns to (libc's `__restore_rt`, which calls `rt_sigreturn`).
    pub restorer: u64,
    /// Signals blocked while the handler runs; bit `n - 1` is signal `n`.
    pub mask: u64,
}

/// The fixed header of `struct linux_dirent64`; the NUL-terminated name follows at
/// offset 19 and the record is padded to a multiple of 8 (`d_reclen`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C, packed)]
pub struct Dirent64Header {
    pub d_ino: u64,
    pub d_off: i64,
    pub d_reclen: u16,
    pub d_type: u8,
}

/// Offset of `d_name` in `struct linux_dirent64`.
pub const DIRENT64_NAME_OFFSET: usize = 19;

/// `d_type` values.
pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;

/// Length of the `linux_dirent64` record for a name of `name_len` bytes: header, name,
/// NUL, rounded up to 8 as Linux does.
pub const fn dirent64_reclen(name_len: usize) -> usize {
    (DIRENT64_NAME_OFFSET + name_len + 1 + 7) & !7
}

/// Appends one `linux_dirent64` record to `out` if it fits in `space` more bytes;
/// returns whether it was appended (`getdents64` stops at the first entry that does
/// not fit, and returns EINVAL only if not even the first one fits).
pub fn push_dirent64(
    out: &mut Vec<u8>,
    space: usize,
    ino: u64,
    off: i64,
    d_type: u8,
    name: &[u8],
) -> bool {
    let reclen = dirent64_reclen(name.len());
    let Ok(reclen16) = u16::try_from(reclen) else {
        return false;
    };
    if reclen > space {
        return false;
    }
    let header = Dirent64Header {
        d_ino: ino,
        d_off: off,
        d_reclen: reclen16,
        d_type,
    };
    let start = out.len();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(name);
    out.resize(start + reclen, 0);
    true
}

/// `struct statx_timestamp` (16 bytes).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct StatxTimestamp {
    pub tv_sec: i64,
    pub tv_nsec: u32,
    pub reserved: i32,
}

/// `struct statx` (256 bytes). Fields after `stx_dio_offset_align` (newer kernels'
/// subvolume and atomic-write fields) are left in `spare` as zero, which is what an
/// older kernel reports and what `stx_mask` then says.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Statx {
    pub stx_mask: u32,
    pub stx_blksize: u32,
    pub stx_attributes: u64,
    pub stx_nlink: u32,
    pub stx_uid: u32,
    pub stx_gid: u32,
    pub stx_mode: u16,
    pub spare0: u16,
    pub stx_ino: u64,
    pub stx_size: u64,
    pub stx_blocks: u64,
    pub stx_attributes_mask: u64,
    pub stx_atime: StatxTimestamp,
    pub stx_btime: StatxTimestamp,
    pub stx_ctime: StatxTimestamp,
    pub stx_mtime: StatxTimestamp,
    pub stx_rdev_major: u32,
    pub stx_rdev_minor: u32,
    pub stx_dev_major: u32,
    pub stx_dev_minor: u32,
    pub stx_mnt_id: u64,
    pub stx_dio_mem_align: u32,
    pub stx_dio_offset_align: u32,
    pub spare: [u64; 12],
}

/// `STATX_*` mask bits a basic filesystem fills in (`STATX_BASIC_STATS`).
pub const STATX_BASIC_STATS: u32 = 0x7ff;

/// `struct pollfd` (8 bytes).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Pollfd {
    pub fd: i32,
    pub events: i16,
    pub revents: i16,
}

/// `AF_INET`.
pub const AF_INET: u16 = 2;

/// `struct sockaddr_in` (16 bytes). Port and address are stored in network byte order
/// exactly as in memory; use the accessors for host-order values.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct SockaddrIn {
    pub sin_family: u16,
    /// Big-endian bytes of the port.
    pub sin_port: [u8; 2],
    /// The IPv4 address, first octet first.
    pub sin_addr: [u8; 4],
    pub sin_zero: [u8; 8],
}

impl SockaddrIn {
    /// An `AF_INET` address from host-order parts.
    pub fn new(addr: [u8; 4], port: u16) -> SockaddrIn {
        SockaddrIn {
            sin_family: AF_INET,
            sin_port: port.to_be_bytes(),
            sin_addr: addr,
            sin_zero: [0; 8],
        }
    }

    /// The port in host order.
    pub fn port(&self) -> u16 {
        u16::from_be_bytes(self.sin_port)
    }
}

// The sizes Linux x86_64 has; a mistake here fails the build, not a program.
const _: () = {
    assert!(core::mem::size_of::<Stat>() == 144);
    assert!(core::mem::size_of::<Timespec>() == 16);
    assert!(core::mem::size_of::<Timeval>() == 16);
    assert!(core::mem::size_of::<Iovec>() == 16);
    assert!(core::mem::size_of::<Utsname>() == 390);
    assert!(core::mem::size_of::<Winsize>() == 8);
    assert!(core::mem::size_of::<Rlimit>() == 16);
    assert!(core::mem::size_of::<KernelSigaction>() == 32);
    assert!(core::mem::size_of::<Dirent64Header>() == DIRENT64_NAME_OFFSET);
    assert!(core::mem::size_of::<StatxTimestamp>() == 16);
    assert!(core::mem::size_of::<Statx>() == 256);
    assert!(core::mem::size_of::<Pollfd>() == 8);
    assert!(core::mem::size_of::<SockaddrIn>() == 16);
};

#[cfg(test)]
#[path = "structs_tests.rs"]
mod tests;
