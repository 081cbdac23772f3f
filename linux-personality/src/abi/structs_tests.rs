//! Layout tests: the Rust structs against hard-coded Linux x86_64 numbers and, when
//! `musl-gcc` is installed, against what a C compiler says about the same structs.

use super::*;
use core::mem::{offset_of, size_of};
use std::string::String;
use std::vec::Vec;
use zerocopy::FromBytes;

/// `(what, value)` for every size and field offset the tests check, in the exact text
/// form the C program prints.
fn rust_layout() -> Vec<(String, usize)> {
    let mut v = Vec::new();
    macro_rules! size {
        ($c:literal, $t:ty) => {
            v.push((std::format!("{} size", $c), size_of::<$t>()));
        };
    }
    macro_rules! off {
        ($c:literal, $t:ty, $($f:ident => $cf:literal),*) => {
            $(v.push((std::format!("{}.{}", $c, $cf), offset_of!($t, $f)));)*
        };
    }
    size!("stat", Stat);
    off!("stat", Stat, st_dev => "st_dev", st_ino => "st_ino", st_nlink => "st_nlink",
        st_mode => "st_mode", st_uid => "st_uid", st_gid => "st_gid", st_rdev => "st_rdev",
        st_size => "st_size", st_blksize => "st_blksize", st_blocks => "st_blocks",
        st_atime => "st_atim", st_mtime => "st_mtim", st_ctime => "st_ctim");
    size!("timespec", Timespec);
    off!("timespec", Timespec, tv_nsec => "tv_nsec");
    size!("timeval", Timeval);
    off!("timeval", Timeval, tv_usec => "tv_usec");
    size!("iovec", Iovec);
    off!("iovec", Iovec, iov_len => "iov_len");
    size!("utsname", Utsname);
    off!("utsname", Utsname, nodename => "nodename", release => "release",
        version => "version", machine => "machine", domainname => "domainname");
    size!("winsize", Winsize);
    off!("winsize", Winsize, ws_col => "ws_col", ws_ypixel => "ws_ypixel");
    size!("rlimit", Rlimit);
    off!("rlimit", Rlimit, rlim_max => "rlim_max");
    size!("k_sigaction", KernelSigaction);
    off!("k_sigaction", KernelSigaction, handler => "handler", flags => "flags",
        restorer => "restorer", mask => "mask");
    off!("dirent64", Dirent64Header, d_ino => "d_ino", d_off => "d_off",
        d_reclen => "d_reclen", d_type => "d_type");
    v.push(("dirent64.d_name".into(), DIRENT64_NAME_OFFSET));
    size!("statx", Statx);
    off!("statx", Statx, stx_blksize => "stx_blksize", stx_attributes => "stx_attributes",
        stx_nlink => "stx_nlink", stx_mode => "stx_mode", stx_ino => "stx_ino",
        stx_size => "stx_size", stx_blocks => "stx_blocks",
        stx_attributes_mask => "stx_attributes_mask", stx_atime => "stx_atime",
        stx_btime => "stx_btime", stx_ctime => "stx_ctime", stx_mtime => "stx_mtime",
        stx_rdev_major => "stx_rdev_major", stx_dev_minor => "stx_dev_minor",
        stx_mnt_id => "stx_mnt_id", stx_dio_offset_align => "stx_dio_offset_align");
    size!("pollfd", Pollfd);
    off!("pollfd", Pollfd, events => "events", revents => "revents");
    size!("sockaddr_in", SockaddrIn);
    off!("sockaddr_in", SockaddrIn, sin_port => "sin_port", sin_addr => "sin_addr");
    v
}

#[test]
fn layouts_match_linux_x86_64_numbers() {
    let expected: &[(&str, usize)] = &[
        ("stat size", 144),
        ("stat.st_nlink", 16),
        ("stat.st_mode", 24),
        ("stat.st_uid", 28),
        ("stat.st_rdev", 40),
        ("stat.st_size", 48),
        ("stat.st_blocks", 64),
        ("stat.st_atim", 72),
        ("stat.st_mtim", 88),
        ("stat.st_ctim", 104),
        ("utsname size", 390),
        ("utsname.machine", 260),
        ("k_sigaction size", 32),
        ("k_sigaction.mask", 24),
        ("dirent64.d_reclen", 16),
        ("dirent64.d_type", 18),
        ("dirent64.d_name", 19),
        ("statx size", 256),
        ("statx.stx_mode", 28),
        ("statx.stx_ino", 32),
        ("statx.stx_atime", 64),
        ("statx.stx_mtime", 112),
        ("statx.stx_rdev_major", 128),
        ("statx.stx_mnt_id", 144),
        ("sockaddr_in.sin_port", 2),
        ("sockaddr_in.sin_addr", 4),
        ("pollfd.revents", 6),
    ];
    let rust = rust_layout();
    for (what, value) in expected {
        let got = rust.iter().find(|(w, _)| w == what).map(|(_, v)| *v);
        assert_eq!(got, Some(*value), "{what}");
    }
}

/// The C side of the comparison. `struct stat`, `timespec`, `timeval`, `iovec`,
/// `utsname`, `winsize`, `rlimit`, `pollfd`, `sockaddr_in` and `dirent` come from musl's
/// own headers; the kernel-only structs (the kernel's sigaction and statx, which musl
/// 1.2.3 lacks) are declared as in the Linux uapi headers.
const LAYOUT_C: &str = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <poll.h>
#include <netinet/in.h>
#include <dirent.h>
struct k_sigaction { void *handler; unsigned long flags; void *restorer; uint64_t mask; };
struct statx_timestamp { int64_t tv_sec; uint32_t tv_nsec; int32_t __reserved; };
struct statx {
  uint32_t stx_mask, stx_blksize; uint64_t stx_attributes;
  uint32_t stx_nlink, stx_uid, stx_gid; uint16_t stx_mode, __spare0;
  uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
  struct statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
  uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
  uint64_t stx_mnt_id; uint32_t stx_dio_mem_align, stx_dio_offset_align;
  uint64_t __spare3[12];
};
#define S(n, t) printf("%s size %zu\n", n, sizeof(t))
#define O(n, t, f) printf("%s.%s %zu\n", n, #f, offsetof(t, f))
int main(void) {
  S("stat", struct stat);
  O("stat", struct stat, st_dev); O("stat", struct stat, st_ino);
  O("stat", struct stat, st_nlink); O("stat", struct stat, st_mode);
  O("stat", struct stat, st_uid); O("stat", struct stat, st_gid);
  O("stat", struct stat, st_rdev); O("stat", struct stat, st_size);
  O("stat", struct stat, st_blksize); O("stat", struct stat, st_blocks);
  O("stat", struct stat, st_atim); O("stat", struct stat, st_mtim);
  O("stat", struct stat, st_ctim);
  S("timespec", struct timespec); O("timespec", struct timespec, tv_nsec);
  S("timeval", struct timeval); O("timeval", struct timeval, tv_usec);
  S("iovec", struct iovec); O("iovec", struct iovec, iov_len);
  S("utsname", struct utsname);
  O("utsname", struct utsname, nodename); O("utsname", struct utsname, release);
  O("utsname", struct utsname, version); O("utsname", struct utsname, machine);
  O("utsname", struct utsname, domainname);
  S("winsize", struct winsize);
  O("winsize", struct winsize, ws_col); O("winsize", struct winsize, ws_ypixel);
  S("rlimit", struct rlimit); O("rlimit", struct rlimit, rlim_max);
  S("k_sigaction", struct k_sigaction);
  O("k_sigaction", struct k_sigaction, handler); O("k_sigaction", struct k_sigaction, flags);
  O("k_sigaction", struct k_sigaction, restorer); O("k_sigaction", struct k_sigaction, mask);
  O("dirent64", struct dirent, d_ino); O("dirent64", struct dirent, d_off);
  O("dirent64", struct dirent, d_reclen); O("dirent64", struct dirent, d_type);
  O("dirent64", struct dirent, d_name);
  S("statx", struct statx);
  O("statx", struct statx, stx_blksize); O("statx", struct statx, stx_attributes);
  O("statx", struct statx, stx_nlink); O("statx", struct statx, stx_mode);
  O("statx", struct statx, stx_ino); O("statx", struct statx, stx_size);
  O("statx", struct statx, stx_blocks); O("statx", struct statx, stx_attributes_mask);
  O("statx", struct statx, stx_atime); O("statx", struct statx, stx_btime);
  O("statx", struct statx, stx_ctime); O("statx", struct statx, stx_mtime);
  O("statx", struct statx, stx_rdev_major); O("statx", struct statx, stx_dev_minor);
  O("statx", struct statx, stx_mnt_id); O("statx", struct statx, stx_dio_offset_align);
  S("pollfd", struct pollfd);
  O("pollfd", struct pollfd, events); O("pollfd", struct pollfd, revents);
  S("sockaddr_in", struct sockaddr_in);
  O("sockaddr_in", struct sockaddr_in, sin_port); O("sockaddr_in", struct sockaddr_in, sin_addr);
  return 0;
}
"#;

#[test]
fn layouts_match_musl_gcc_when_installed() {
    let Some(out) = crate::test_support::compile_and_run_c("layout", LAYOUT_C) else {
        std::eprintln!("musl-gcc not installed: C layout comparison skipped");
        return;
    };
    let c: Vec<(String, usize)> = out
        .lines()
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').expect("C output line");
            (k.into(), v.parse().expect("C output number"))
        })
        .collect();
    assert_eq!(c, rust_layout());
}

#[test]
fn utsname_fields_are_cut_and_nul_terminated() {
    let long = [b'x'; 100];
    let u = Utsname::new(b"Linux", &long, b"6.1.0", b"#1", b"x86_64", b"(none)");
    assert_eq!(&u.sysname[..6], b"Linux\0");
    assert_eq!(&u.nodename[..64], &long[..64]);
    assert_eq!(u.nodename[64], 0);
    assert_eq!(&u.machine[..7], b"x86_64\0");
    assert_eq!(u.as_bytes().len(), 390);
    assert_eq!(&u.as_bytes()[260..266], b"x86_64");
}

#[test]
fn dirent64_records_are_padded_and_bounded() {
    let mut out = Vec::new();
    assert!(push_dirent64(&mut out, 64, 7, 1, DT_REG, b"hello"));
    assert_eq!(out.len(), 32); // 19 + 5 + NUL = 25, rounded to 32
    let hdr = Dirent64Header::read_from_prefix(&out).unwrap().0;
    assert_eq!({ hdr.d_ino }, 7);
    assert_eq!({ hdr.d_reclen }, 32);
    assert_eq!(hdr.d_type, DT_REG);
    assert_eq!(&out[19..24], b"hello");
    assert_eq!(out[24], 0);
    // A one-byte name needs 19 + 1 + NUL = 21, rounded to 24.
    assert_eq!(dirent64_reclen(1), 24);
    assert!(!push_dirent64(&mut out, 23, 8, 2, DT_DIR, b"a"));
    assert_eq!(
        out.len(),
        32,
        "a record that does not fit leaves the buffer alone"
    );
    assert!(push_dirent64(&mut out, 24, 8, 2, DT_DIR, b"a"));
    assert_eq!(out.len(), 56);
}

#[test]
fn sockaddr_in_is_network_order() {
    let sa = SockaddrIn::new([127, 0, 0, 1], 18080);
    assert_eq!(
        sa.as_bytes(),
        &[2, 0, 0x46, 0xa0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    let back = SockaddrIn::read_from_bytes(sa.as_bytes()).unwrap();
    assert_eq!(back.port(), 18080);
}

#[test]
fn timespec_validity() {
    assert!(Timespec {
        tv_sec: 1,
        tv_nsec: 999_999_999
    }
    .is_valid());
    assert!(!Timespec {
        tv_sec: 1,
        tv_nsec: 1_000_000_000
    }
    .is_valid());
    assert!(!Timespec {
        tv_sec: 0,
        tv_nsec: -1
    }
    .is_valid());
    assert!(!Timespec {
        tv_sec: -1,
        tv_nsec: 0
    }
    .is_valid());
}
