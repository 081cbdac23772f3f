//! The file-system calls driven through [`super::dispatch`] with raw syscall numbers
//! and user pointers, as a C program makes them, on a fake kernel; every error case
//! asserts the errno Linux gives.

use std::format;
use std::string::String;
use std::sync::Arc;
use std::vec;
use std::vec::Vec;

use crate::abi::nr;
use crate::abi::structs::{Statx, Timespec};
use crate::abi::Errno::{self, *};
use crate::file::{flags::*, FileOps, FileStat};
use crate::fs::mode::*;
use crate::fs::test_kernel::{FakeKernel, CWD};
use crate::fs::{makedev, Creds, DeviceRegistry};
use crate::uaccess::read_struct;

#[test]
fn create_write_read_seek_and_stat() {
    let mut k = FakeKernel::new();
    let fd = k.open("/f", O_CREAT | O_RDWR, 0o666).unwrap();
    assert_eq!(fd, 0, "lowest free descriptor");
    assert_eq!(k.write(fd, b"hello world"), Ok(11));
    assert_eq!(k.sys(nr::LSEEK, &[fd, 0, 0]), Ok(0));
    assert_eq!(k.read(fd, 5).unwrap(), b"hello");
    assert_eq!(k.read(fd, 100).unwrap(), b" world");
    assert_eq!(k.read(fd, 100).unwrap(), b"");
    let buf = k.alloc(8);
    assert_eq!(k.sys(nr::PREAD64, &[fd, buf, 5, 6]), Ok(5));
    assert_eq!(k.mem.peek(buf, 5).unwrap(), b"world");
    let st = k.fstat(fd).unwrap();
    assert_eq!(st.st_mode, S_IFREG | 0o644, "umask 022 applied");
    assert_eq!(
        (st.st_size, st.st_nlink, st.st_uid, st.st_blksize),
        (11, 1, 0, 4096)
    );
    assert_eq!(k.stat("/f").unwrap().st_ino, st.st_ino);
    // O_APPEND writes at the end whatever the offset.
    let a = k.open("/f", O_WRONLY | O_APPEND, 0).unwrap();
    assert_eq!(k.write(a, b"!"), Ok(1));
    assert_eq!(k.stat("/f").unwrap().st_size, 12);
    let mut fl = k.sys(nr::FCNTL, &[a, 3, 0]).unwrap() as u32;
    fl &= !O_LARGEFILE;
    assert_eq!(fl, O_WRONLY | O_APPEND);
    // O_TRUNC empties; O_EXCL refuses an existing name; creat truncates too.
    let t = k.open("/f", O_RDONLY | O_TRUNC, 0).unwrap();
    assert_eq!(k.fstat(t).unwrap().st_size, 0);
    assert_eq!(k.open("/f", O_CREAT | O_EXCL | O_RDWR, 0o600), Err(EEXIST));
    k.create("/g", b"abc");
    let c = k.path_call(nr::CREAT, "/g", &[0o600]).unwrap();
    assert_eq!(k.fstat(c).unwrap().st_size, 0);
    assert_eq!(
        k.fstat(c).unwrap().st_mode,
        S_IFREG | 0o644,
        "creat keeps an existing mode"
    );
    // Access modes are capability rights.
    assert_eq!(k.read(a, 1), Err(EBADF));
    assert_eq!(k.write(t, b"x"), Err(EBADF));
}

#[test]
fn open_errors() {
    let mut k = FakeKernel::new();
    k.create("/file", b"x");
    k.mkdir("/dir", 0o755).unwrap();
    k.path2(nr::SYMLINK, "/dir", "/ldir").unwrap();
    k.path2(nr::SYMLINK, "/file", "/lfile").unwrap();
    assert_eq!(k.open("/missing", O_RDONLY, 0), Err(ENOENT));
    assert_eq!(k.open("/missing/x", O_CREAT | O_RDWR, 0o644), Err(ENOENT));
    assert_eq!(k.open("", O_RDONLY, 0), Err(ENOENT));
    assert_eq!(k.sys(nr::OPEN, &[0, 0, 0]), Err(EFAULT));
    assert_eq!(k.sys(nr::OPEN, &[0x7fff_ffff_0000, 0, 0]), Err(EFAULT));
    let long = "a".repeat(4096);
    assert_eq!(k.open(&long, O_RDONLY, 0), Err(ENAMETOOLONG));
    let name256 = format!("/{}", "n".repeat(256));
    assert_eq!(k.open(&name256, O_CREAT | O_RDWR, 0o644), Err(ENAMETOOLONG));
    let name255 = format!("/{}", "n".repeat(255));
    assert!(k.open(&name255, O_CREAT | O_RDWR, 0o644).is_ok());
    assert_eq!(k.open("/file/x", O_RDONLY, 0), Err(ENOTDIR));
    assert_eq!(k.open("/file/", O_RDONLY, 0), Err(ENOTDIR));
    assert_eq!(k.open("/file", O_RDONLY | O_DIRECTORY, 0), Err(ENOTDIR));
    assert_eq!(k.open("/dir", O_WRONLY, 0), Err(EISDIR));
    assert_eq!(k.open("/dir", O_RDWR, 0), Err(EISDIR));
    assert_eq!(k.open("/dir", O_RDONLY | O_TRUNC, 0), Err(EISDIR));
    assert_eq!(k.open("/dir", O_CREAT | O_RDONLY, 0o644), Err(EISDIR));
    assert_eq!(k.open("/new/", O_CREAT | O_RDWR, 0o644), Err(EISDIR));
    assert_eq!(k.open("/file/", O_CREAT | O_RDWR, 0o644), Err(EISDIR));
    assert_eq!(k.open("/", O_CREAT | O_RDWR, 0o644), Err(EISDIR));
    assert_eq!(k.open("/lfile", O_RDONLY | O_NOFOLLOW, 0), Err(ELOOP));
    assert_eq!(
        k.open("/lfile", O_CREAT | O_EXCL | O_RDWR, 0o644),
        Err(EEXIST)
    );
    assert!(
        k.open("/ldir/", O_RDONLY | O_NOFOLLOW, 0).is_ok(),
        "a trailing slash follows"
    );
    assert!(k.open("/ldir", O_RDONLY | O_DIRECTORY, 0).is_ok());
    // A directory opens read-only; read on it is EISDIR.
    let d = k.open("/dir/", O_RDONLY, 0).unwrap();
    assert_eq!(k.read(d, 10), Err(EISDIR));
    // O_PATH: fstat works, read does not, and it can open the symlink itself.
    let p = k.open("/lfile", O_PATH | O_NOFOLLOW, 0).unwrap();
    assert_eq!(k.fstat(p).unwrap().st_mode & S_IFMT, S_IFLNK);
    assert_eq!(k.read(p, 1), Err(EBADF));
    assert_eq!(k.sys(nr::FCHMOD, &[p, 0o600]), Err(EBADF));
    assert_eq!(
        k.open("/tmpfile", 0o20000000 | O_DIRECTORY | O_RDWR, 0o600),
        Err(EOPNOTSUPP)
    );
}

#[test]
fn dirfd_rules() {
    let mut k = FakeKernel::new();
    k.mkdir("/d", 0o755).unwrap();
    k.create("/d/in", b"1");
    k.create("/file", b"");
    let d = k.open("/d", O_RDONLY | O_DIRECTORY, 0).unwrap();
    let f = k.open("/file", O_RDONLY, 0).unwrap();
    let rel = k.cstr("in");
    let abs = k.cstr("/file");
    assert!(k.sys(nr::OPENAT, &[d, rel, 0, 0]).is_ok());
    assert_eq!(k.sys(nr::OPENAT, &[f, rel, 0, 0]), Err(ENOTDIR));
    assert_eq!(k.sys(nr::OPENAT, &[99, rel, 0, 0]), Err(EBADF));
    assert!(
        k.sys(nr::OPENAT, &[99, abs, 0, 0]).is_ok(),
        "absolute paths ignore dirfd"
    );
    assert_eq!(k.sys(nr::OPENAT, &[CWD, rel, 0, 0]), Err(ENOENT));
    // An O_PATH directory works as a dirfd.
    let pd = k.open("/d", O_PATH, 0).unwrap();
    assert!(k.sys(nr::OPENAT, &[pd, rel, 0, 0]).is_ok());
    // AT_EMPTY_PATH stats the descriptor itself, a file or not.
    let empty = k.cstr("");
    let buf = k.alloc(144);
    assert_eq!(k.sys(nr::NEWFSTATAT, &[f, empty, buf, 0x1000]), Ok(0));
    assert_eq!(k.sys(nr::NEWFSTATAT, &[f, empty, buf, 0]), Err(ENOENT));
    assert_eq!(k.sys(nr::NEWFSTATAT, &[f, empty, buf, 0x4]), Err(EINVAL));
    let sub = k.cstr("sub");
    assert_eq!(k.sys(nr::MKDIRAT, &[d, sub, 0o700]), Ok(0));
    assert_eq!(k.stat("/d/sub").unwrap().st_mode, S_IFDIR | 0o700);
}

#[test]
fn stat_lstat_statx() {
    let mut k = FakeKernel::new();
    k.create("/f", b"12345");
    k.path2(nr::SYMLINK, "f", "/l").unwrap();
    assert_eq!(k.stat("/l").unwrap().st_size, 5);
    let ls = k.lstat("/l").unwrap();
    assert_eq!((ls.st_mode, ls.st_size), (S_IFLNK | 0o777, 1));
    assert_eq!(k.stat("/").unwrap().st_nlink, 2);
    k.mkdir("/a", 0o755).unwrap();
    k.mkdir("/a/b", 0o755).unwrap();
    assert_eq!(k.stat("/").unwrap().st_nlink, 3);
    assert_eq!(k.stat("/a").unwrap().st_nlink, 3);
    let buf = k.alloc(256);
    let p = k.cstr("/f");
    assert_eq!(k.sys(nr::STATX, &[CWD, p, 0, 0x7ff, buf]), Ok(0));
    let sx: Statx = read_struct(&k.mem, buf).unwrap();
    assert_eq!(
        (sx.stx_mask, sx.stx_size, sx.stx_mode, sx.stx_nlink),
        (0x7ff, 5, (S_IFREG | 0o644) as u16, 1)
    );
    assert_eq!(k.sys(nr::STATX, &[CWD, p, 0x6000, 0x7ff, buf]), Err(EINVAL));
    assert_eq!(
        k.sys(nr::STATX, &[CWD, p, 0, 0x8000_0000, buf]),
        Err(EINVAL)
    );
    assert_eq!(k.sys(nr::STATX, &[CWD, p, 0, 0x7ff, 0]), Err(EFAULT));
    assert_eq!(k.stat("/f/"), Err(ENOTDIR));
    assert_eq!(k.stat("/nope"), Err(ENOENT));
}

#[test]
fn symlinks_loops_and_readlink() {
    let mut k = FakeKernel::new();
    k.path2(nr::SYMLINK, "/b", "/a").unwrap();
    k.path2(nr::SYMLINK, "/a", "/b").unwrap();
    assert_eq!(k.open("/a", O_RDONLY, 0), Err(ELOOP));
    assert_eq!(k.stat("/a/x"), Err(ELOOP));
    assert!(k.lstat("/a").is_ok());
    k.path2(nr::SYMLINK, "self", "/self").unwrap();
    assert_eq!(k.stat("/self"), Err(ELOOP));
    // A chain of 40 links resolves; 41 is too many.
    k.create("/t", b"x");
    k.path2(nr::SYMLINK, "/t", "/c0").unwrap();
    for i in 1..=40 {
        k.path2(nr::SYMLINK, &format!("/c{}", i - 1), &format!("/c{i}"))
            .unwrap();
    }
    assert!(k.stat("/c39").is_ok());
    assert_eq!(k.stat("/c40"), Err(ELOOP));
    // Following a dangling symlink with O_CREAT creates its target.
    k.path2(nr::SYMLINK, "made", "/dangling").unwrap();
    assert_eq!(k.open("/dangling", O_RDONLY, 0), Err(ENOENT));
    assert!(k.open("/dangling", O_CREAT | O_WRONLY, 0o600).is_ok());
    assert_eq!(k.stat("/made").unwrap().st_mode, S_IFREG | 0o600);
    assert_eq!(k.readlink("/dangling", 64).unwrap(), b"made");
    assert_eq!(
        k.readlink("/dangling", 2).unwrap(),
        b"ma",
        "truncated, no NUL"
    );
    assert_eq!(k.readlink("/t", 64), Err(EINVAL));
    assert_eq!(k.readlink("/dangling", 0), Err(EINVAL));
    assert_eq!(k.readlink("/nope", 8), Err(ENOENT));
    assert_eq!(k.path2(nr::SYMLINK, "", "/e"), Err(ENOENT));
    assert_eq!(k.path2(nr::SYMLINK, "x", "/t"), Err(EEXIST));
    assert_eq!(k.path2(nr::SYMLINK, "x", "/new/"), Err(ENOENT));
    assert_eq!(k.path2(nr::SYMLINK, "x", "/dangling/"), Err(EEXIST));
    // Relative targets resolve from the link's directory; `..` stops at the root.
    k.mkdir("/d", 0o755).unwrap();
    k.path2(nr::SYMLINK, "../../../t", "/d/up").unwrap();
    assert_eq!(k.stat("/d/up").unwrap().st_size, 1);
}

#[test]
fn mkdir_rmdir_unlink() {
    let mut k = FakeKernel::new();
    assert_eq!(k.mkdir("/d", 0o755), Ok(0));
    assert_eq!(k.mkdir("/d", 0o755), Err(EEXIST));
    assert_eq!(k.mkdir("/d/", 0o755), Err(EEXIST));
    assert_eq!(k.mkdir("/e/", 0o755), Ok(0), "mkdir takes a trailing slash");
    assert_eq!(k.mkdir("/", 0o755), Err(EEXIST));
    assert_eq!(k.mkdir("/d/.", 0o755), Err(EEXIST));
    assert_eq!(k.mkdir("/x/y", 0o755), Err(ENOENT));
    k.create("/d/f", b"");
    assert_eq!(k.mkdir("/d/f/g", 0o755), Err(ENOTDIR));
    assert_eq!(k.path_call(nr::RMDIR, "/d", &[]), Err(ENOTEMPTY));
    assert_eq!(k.path_call(nr::RMDIR, "/d/f", &[]), Err(ENOTDIR));
    assert_eq!(k.path_call(nr::RMDIR, "/d/.", &[]), Err(EINVAL));
    assert_eq!(k.path_call(nr::RMDIR, "/d/..", &[]), Err(ENOTEMPTY));
    assert_eq!(k.path_call(nr::RMDIR, "/", &[]), Err(EBUSY));
    assert_eq!(k.path_call(nr::RMDIR, "/nope", &[]), Err(ENOENT));
    assert_eq!(k.path_call(nr::UNLINK, "/d", &[]), Err(EISDIR));
    assert_eq!(k.path_call(nr::UNLINK, "/d/f/", &[]), Err(ENOTDIR));
    assert_eq!(k.path_call(nr::UNLINK, "/d/", &[]), Err(EISDIR));
    assert_eq!(k.path_call(nr::UNLINK, "/", &[]), Err(EISDIR));
    assert_eq!(k.path_call(nr::UNLINK, "/nope", &[]), Err(ENOENT));
    assert_eq!(k.path_call(nr::UNLINK, "/d/f", &[]), Ok(0));
    assert_eq!(k.stat("/d/f"), Err(ENOENT));
    assert_eq!(k.stat("/").unwrap().st_nlink, 4);
    assert_eq!(k.path_call(nr::RMDIR, "/d/", &[]), Ok(0));
    assert_eq!(k.stat("/").unwrap().st_nlink, 3);
    // unlinkat: AT_REMOVEDIR picks rmdir; other flags are EINVAL.
    let e = k.cstr("e");
    assert_eq!(k.sys(nr::UNLINKAT, &[CWD, e, 0x1]), Err(EINVAL));
    assert_eq!(k.sys(nr::UNLINKAT, &[CWD, e, 0]), Err(EISDIR));
    assert_eq!(k.sys(nr::UNLINKAT, &[CWD, e, 0x200]), Ok(0));
    // A symlink is unlinked, not followed; rmdir does not follow it either.
    k.mkdir("/t", 0o755).unwrap();
    k.path2(nr::SYMLINK, "/t", "/lt").unwrap();
    assert_eq!(k.path_call(nr::RMDIR, "/lt", &[]), Err(ENOTDIR));
    assert_eq!(k.path_call(nr::UNLINK, "/lt", &[]), Ok(0));
    assert!(k.stat("/t").is_ok());
}

#[test]
fn unlinked_file_stays_open() {
    let mut k = FakeKernel::new();
    k.create("/f", b"data");
    let fd = k.open("/f", O_RDWR, 0).unwrap();
    k.path_call(nr::UNLINK, "/f", &[]).unwrap();
    assert_eq!(k.fstat(fd).unwrap().st_nlink, 0);
    assert_eq!(k.read(fd, 10).unwrap(), b"data");
    let live = k.tmpfs.superblock().live_inodes();
    k.sys(nr::CLOSE, &[fd]).unwrap();
    assert_eq!(
        k.tmpfs.superblock().live_inodes(),
        live - 1,
        "freed at the last close"
    );
}

#[test]
fn rename_rules() {
    let mut k = FakeKernel::new();
    k.create("/a", b"A");
    k.create("/b", b"B");
    k.mkdir("/d", 0o755).unwrap();
    k.mkdir("/e", 0o755).unwrap();
    k.mkdir("/full", 0o755).unwrap();
    k.create("/full/x", b"");
    assert_eq!(k.path2(nr::RENAME, "/a", "/b"), Ok(0));
    assert_eq!(k.stat("/a"), Err(ENOENT));
    let fd = k.open("/b", O_RDONLY, 0).unwrap();
    assert_eq!(k.read(fd, 5).unwrap(), b"A");
    assert_eq!(k.path2(nr::RENAME, "/a", "/c"), Err(ENOENT));
    assert_eq!(k.path2(nr::RENAME, "/b", "/d"), Err(EISDIR));
    assert_eq!(k.path2(nr::RENAME, "/d", "/b"), Err(ENOTDIR));
    assert_eq!(k.path2(nr::RENAME, "/d", "/full"), Err(ENOTEMPTY));
    assert_eq!(k.path2(nr::RENAME, "/d", "/d/sub"), Err(EINVAL));
    assert_eq!(k.path2(nr::RENAME, "/full/x", "/full"), Err(ENOTEMPTY));
    assert_eq!(k.path2(nr::RENAME, "/b/", "/c"), Err(ENOTDIR));
    assert_eq!(k.path2(nr::RENAME, "/b", "/c/"), Err(ENOTDIR));
    assert_eq!(k.path2(nr::RENAME, "/d/.", "/z"), Err(EBUSY));
    assert_eq!(k.path2(nr::RENAME, "/z", "/"), Err(EBUSY));
    assert_eq!(k.path2(nr::RENAME, "/b", "/b"), Ok(0));
    assert_eq!(
        k.path2(nr::RENAME, "/d", "/e"),
        Ok(0),
        "a directory replaces an empty one"
    );
    assert_eq!(k.stat("/d"), Err(ENOENT));
    // Moving a directory moves its `..` and the parents' link counts.
    assert_eq!(k.stat("/").unwrap().st_nlink, 4);
    assert_eq!(k.path2(nr::RENAME, "/e", "/full/e/"), Ok(0));
    assert_eq!(k.stat("/").unwrap().st_nlink, 3);
    assert_eq!(k.stat("/full").unwrap().st_nlink, 3);
    assert_eq!(
        k.stat("/full/e/..").unwrap().st_ino,
        k.stat("/full").unwrap().st_ino
    );
    let (o, n) = (k.cstr("/b"), k.cstr("/full/x"));
    assert_eq!(k.sys(nr::RENAMEAT2, &[CWD, o, CWD, n, 1]), Err(EEXIST));
    assert_eq!(k.sys(nr::RENAMEAT2, &[CWD, o, CWD, n, 3]), Err(EINVAL));
    assert_eq!(k.sys(nr::RENAMEAT2, &[CWD, o, CWD, n, 8]), Err(EINVAL));
    let n2 = k.cstr("/fresh");
    assert_eq!(k.sys(nr::RENAMEAT2, &[CWD, o, CWD, n2, 1]), Ok(0));
    assert_eq!(k.stat("/fresh").unwrap().st_size, 1);
}

#[test]
fn getdents64_lists_and_resumes() {
    let mut k = FakeKernel::new();
    k.mkdir("/d", 0o755).unwrap();
    for n in ["zeta", "alpha", "mid"] {
        k.create(&format!("/d/{n}"), b"");
    }
    k.mkdir("/d/sub", 0o755).unwrap();
    k.path2(nr::SYMLINK, "x", "/d/link").unwrap();
    let fd = k.open("/d", O_RDONLY | O_DIRECTORY, 0).unwrap();
    let all = k.getdents(fd, 4096).unwrap();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [".", "..", "link", "sub", "mid", "alpha", "zeta"],
        "newest first, as Linux 6.18's tmpfs"
    );
    assert_eq!(all[2].1, 10, "DT_LNK");
    assert_eq!(all[3].1, 4, "DT_DIR");
    assert_eq!(all[6].1, 8, "DT_REG");
    assert_eq!(k.getdents(fd, 4096).unwrap(), vec![], "end of directory");
    assert_eq!(k.sys(nr::LSEEK, &[fd, 0, 0]), Ok(0));
    // A 48-byte buffer holds two 24-byte records at a time.
    let mut got = Vec::new();
    loop {
        let part = k.getdents(fd, 48).unwrap();
        if part.is_empty() {
            break;
        }
        assert!(part.len() <= 2);
        got.extend(part.into_iter().map(|(n, _)| n));
    }
    assert_eq!(got, names);
    k.sys(nr::LSEEK, &[fd, 0, 0]).unwrap();
    assert_eq!(k.getdents(fd, 10), Err(EINVAL));
    let f = k.open("/d/alpha", O_RDONLY, 0).unwrap();
    assert_eq!(k.getdents(f, 4096), Err(ENOTDIR));
    assert_eq!(k.getdents(77, 4096), Err(EBADF));
    let p = k.open("/d", O_PATH, 0).unwrap();
    assert_eq!(k.getdents(p, 4096), Err(EBADF));
    assert_eq!(
        k.sys(nr::GETDENTS64, &[fd, 0x7fff_ffff_0000, 4096]),
        Err(EFAULT)
    );
}

#[test]
fn getdents64_survives_removal_while_listing() {
    // `rm -r`: read a few entries, remove them, read on. Nothing may be skipped.
    let mut k = FakeKernel::new();
    k.mkdir("/d", 0o755).unwrap();
    let want: Vec<String> = (0..30).map(|i| format!("f{i:02}")).collect();
    for n in &want {
        k.create(&format!("/d/{n}"), b"");
    }
    let fd = k.open("/d", O_RDONLY | O_DIRECTORY, 0).unwrap();
    let mut seen = Vec::new();
    loop {
        let part = k.getdents(fd, 64).unwrap();
        if part.is_empty() {
            break;
        }
        for (n, _) in part {
            if n != "." && n != ".." {
                k.path_call(nr::UNLINK, &format!("/d/{n}"), &[]).unwrap();
                seen.push(n);
            }
        }
    }
    seen.reverse();
    assert_eq!(seen, want, "each name once, newest first");
    assert_eq!(k.path_call(nr::RMDIR, "/d", &[]), Ok(0));
}

#[test]
fn chdir_getcwd_and_dotdot() {
    let mut k = FakeKernel::new();
    assert_eq!(k.getcwd().unwrap(), "/");
    k.mkdir("/a", 0o755).unwrap();
    k.mkdir("/a/b", 0o755).unwrap();
    k.create("/a/f", b"");
    assert_eq!(k.path_call(nr::CHDIR, "/a/b", &[]), Ok(0));
    assert_eq!(k.getcwd().unwrap(), "/a/b");
    assert_eq!(k.path_call(nr::CHDIR, "../..", &[]), Ok(0));
    assert_eq!(k.getcwd().unwrap(), "/");
    assert_eq!(
        k.path_call(nr::CHDIR, "../../..", &[]),
        Ok(0),
        "`..` at the root stays"
    );
    assert_eq!(k.getcwd().unwrap(), "/");
    assert_eq!(k.path_call(nr::CHDIR, "a", &[]), Ok(0));
    assert!(k.stat("f").is_ok());
    assert!(k.stat("./b/../f").is_ok());
    assert_eq!(k.path_call(nr::CHDIR, "f", &[]), Err(ENOTDIR));
    assert_eq!(k.path_call(nr::CHDIR, "nope", &[]), Err(ENOENT));
    let buf = k.alloc(8);
    assert_eq!(k.sys(nr::GETCWD, &[buf, 2]), Err(ERANGE));
    assert_eq!(k.sys(nr::GETCWD, &[buf, 3]), Ok(3));
    assert_eq!(k.sys(nr::GETCWD, &[0x7fff_ffff_0000, 64]), Err(EFAULT));
    let fd = k.open("/a/b", O_RDONLY, 0).unwrap();
    assert_eq!(k.sys(nr::FCHDIR, &[fd]), Ok(0));
    assert_eq!(k.getcwd().unwrap(), "/a/b");
    let ff = k.open("/a/f", O_RDONLY, 0).unwrap();
    assert_eq!(k.sys(nr::FCHDIR, &[ff]), Err(ENOTDIR));
    assert_eq!(k.sys(nr::FCHDIR, &[99]), Err(EBADF));
    // The cwd removed: getcwd is ENOENT and nothing can be created in it.
    assert_eq!(k.path_call(nr::RMDIR, "/a/b", &[]), Ok(0));
    assert_eq!(k.getcwd(), Err(ENOENT));
    assert_eq!(k.open("new", O_CREAT | O_RDWR, 0o644), Err(ENOENT));
    assert_eq!(k.mkdir("new", 0o755), Err(ENOENT));
}

#[test]
fn permissions_as_a_user() {
    let mut k = FakeKernel::new();
    k.create("/secret", b"s");
    k.path_call(nr::CHMOD, "/secret", &[0o600]).unwrap();
    k.create("/pub", b"p");
    k.mkdir("/noexec", 0o644).unwrap();
    k.create("/noexec/f", b"");
    k.mkdir("/home", 0o755).unwrap();
    k.path_call(nr::CHOWN, "/home", &[1000, 1000]).unwrap();
    k.mkdir("/tmp", 0o1777).unwrap();
    assert_eq!(
        k.stat("/tmp").unwrap().st_mode,
        S_IFDIR | 0o1755,
        "umask applies to mkdir"
    );
    k.path_call(nr::CHMOD, "/tmp", &[0o1777]).unwrap();
    k.create("/tmp/rootfile", b"");
    // Root may read anything but execute only what has an x bit.
    let x = k.cstr("/pub");
    assert_eq!(k.sys(nr::ACCESS, &[x, 4 | 2]), Ok(0));
    assert_eq!(k.sys(nr::ACCESS, &[x, 1]), Err(EACCES));
    assert_eq!(k.sys(nr::ACCESS, &[x, 8]), Err(EINVAL));
    k.creds = Creds::user(1000, 1000);
    assert_eq!(k.open("/secret", O_RDONLY, 0), Err(EACCES));
    assert!(k.open("/pub", O_RDONLY, 0).is_ok());
    assert_eq!(k.open("/pub", O_WRONLY, 0), Err(EACCES));
    assert_eq!(k.open("/pub", O_RDONLY | O_TRUNC, 0), Err(EACCES));
    assert_eq!(k.stat("/noexec/f"), Err(EACCES));
    assert_eq!(k.open("/newfile", O_CREAT | O_RDWR, 0o644), Err(EACCES));
    assert_eq!(k.mkdir("/x", 0o755), Err(EACCES));
    assert_eq!(k.mkdir("/home", 0o755), Err(EEXIST), "EEXIST before EACCES");
    assert_eq!(k.path_call(nr::UNLINK, "/pub", &[]), Err(EACCES));
    assert_eq!(k.path_call(nr::CHMOD, "/pub", &[0o777]), Err(EPERM));
    assert_eq!(
        k.path_call(nr::CHOWN, "/home", &[0, u64::from(u32::MAX)]),
        Err(EPERM)
    );
    assert_eq!(
        k.path_call(nr::CHOWN, "/home", &[u64::from(u32::MAX), 5]),
        Err(EPERM)
    );
    let p = k.cstr("/pub");
    assert_eq!(k.sys(nr::ACCESS, &[p, 4]), Ok(0));
    assert_eq!(k.sys(nr::ACCESS, &[p, 2]), Err(EACCES));
    // In her home directory she does as she likes.
    let fd = k.open("/home/mine", O_CREAT | O_RDWR, 0o640).unwrap();
    let st = k.fstat(fd).unwrap();
    assert_eq!(
        (st.st_uid, st.st_gid, st.st_mode),
        (1000, 1000, S_IFREG | 0o640)
    );
    assert_eq!(k.path_call(nr::CHMOD, "/home/mine", &[0o4755]), Ok(0));
    assert_eq!(
        k.path_call(nr::CHOWN, "/home/mine", &[u64::from(u32::MAX), 1000]),
        Ok(0)
    );
    assert_eq!(
        k.stat("/home/mine").unwrap().st_mode,
        S_IFREG | 0o755,
        "chown drops setuid"
    );
    // Sticky /tmp: her file is hers, root's file is not hers to remove.
    k.create("/tmp/herfile", b"");
    assert_eq!(k.path_call(nr::UNLINK, "/tmp/rootfile", &[]), Err(EPERM));
    assert_eq!(k.path_call(nr::UNLINK, "/tmp/herfile", &[]), Ok(0));
    // Device nodes need root; fifos do not.
    assert_eq!(
        k.path_call(
            nr::MKNOD,
            "/home/null",
            &[u64::from(S_IFCHR | 0o666), 0x103]
        ),
        Err(EPERM)
    );
    assert_eq!(
        k.path_call(nr::MKNOD, "/home/fifo", &[u64::from(S_IFIFO | 0o600), 0]),
        Ok(0)
    );
    // utimensat: "now" needs write access, explicit times ownership.
    let t = k.alloc(32);
    k.mem.poke(t, &[0u8; 32]).unwrap();
    let pubp = k.cstr("/pub");
    assert_eq!(k.sys(nr::UTIMENSAT, &[CWD, pubp, t, 0]), Err(EPERM));
    assert_eq!(k.sys(nr::UTIMENSAT, &[CWD, pubp, 0, 0]), Err(EACCES));
    // access() checks the real ids: a set-uid-root process is still the user.
    k.creds = Creds {
        euid: 0,
        ..Creds::user(1000, 1000)
    };
    let s = k.cstr("/secret");
    assert_eq!(k.sys(nr::ACCESS, &[s, 4]), Err(EACCES));
    assert_eq!(k.sys(nr::FACCESSAT2, &[CWD, s, 4, 0x200]), Ok(0));
}

#[test]
fn chmod_chown_utimens_truncate() {
    let mut k = FakeKernel::new();
    k.create("/f", b"abcdef");
    assert_eq!(k.path_call(nr::CHMOD, "/f", &[0o7640]), Ok(0));
    assert_eq!(k.stat("/f").unwrap().st_mode, S_IFREG | 0o7640);
    assert_eq!(k.path_call(nr::CHOWN, "/f", &[5, 6]), Ok(0));
    let st = k.stat("/f").unwrap();
    assert_eq!(
        (st.st_uid, st.st_gid, st.st_mode),
        (5, 6, S_IFREG | 0o3640),
        "S_ISUID dropped, S_ISGID kept (no group x)"
    );
    k.path2(nr::SYMLINK, "/f", "/l").unwrap();
    assert_eq!(k.path_call(nr::LCHOWN, "/l", &[7, 7]), Ok(0));
    assert_eq!(k.lstat("/l").unwrap().st_uid, 7);
    assert_eq!(k.stat("/l").unwrap().st_uid, 5);
    let fd = k.open("/f", O_RDONLY, 0).unwrap();
    assert_eq!(k.sys(nr::FCHMOD, &[fd, 0o600]), Ok(0));
    assert_eq!(k.sys(nr::FCHOWN, &[fd, 9, u64::from(u32::MAX)]), Ok(0));
    assert_eq!(k.stat("/f").unwrap().st_uid, 9);
    let l = k.cstr("/l");
    assert_eq!(k.sys(nr::FCHOWNAT, &[CWD, l, 1, 1, 0x4]), Err(EINVAL));
    // utimensat with explicit times, UTIME_OMIT, and bad nanoseconds.
    let t = k.alloc(32);
    let times = [
        Timespec {
            tv_sec: 100,
            tv_nsec: 5,
        },
        Timespec {
            tv_sec: 200,
            tv_nsec: (1 << 30) - 2,
        },
    ];
    k.mem
        .poke(t, zerocopy::IntoBytes::as_bytes(&times))
        .unwrap();
    let p = k.cstr("/f");
    let before = k.stat("/f").unwrap();
    assert_eq!(k.sys(nr::UTIMENSAT, &[CWD, p, t, 0]), Ok(0));
    let after = k.stat("/f").unwrap();
    assert_eq!((after.st_atime, after.st_atime_nsec), (100, 5));
    assert_eq!(after.st_mtime, before.st_mtime, "UTIME_OMIT keeps mtime");
    let bad = [
        Timespec {
            tv_sec: 0,
            tv_nsec: 1_000_000_000,
        },
        Timespec::default(),
    ];
    k.mem.poke(t, zerocopy::IntoBytes::as_bytes(&bad)).unwrap();
    assert_eq!(k.sys(nr::UTIMENSAT, &[CWD, p, t, 0]), Err(EINVAL));
    assert_eq!(k.sys(nr::UTIMENSAT, &[CWD, p, 0, 0x2]), Err(EINVAL));
    assert_eq!(k.sys(nr::UTIMENSAT, &[fd, 0, 0, 0]), Ok(0), "futimens");
    // truncate grows with zeros and shrinks.
    assert_eq!(k.path_call(nr::TRUNCATE, "/f", &[8]), Ok(0));
    assert_eq!(k.read(fd, 16).unwrap(), b"abcdef\0\0");
    assert_eq!(k.path_call(nr::TRUNCATE, "/f", &[2]), Ok(0));
    assert_eq!(k.stat("/f").unwrap().st_size, 2);
    assert_eq!(k.path_call(nr::TRUNCATE, "/f", &[u64::MAX]), Err(EINVAL));
    assert_eq!(k.path_call(nr::TRUNCATE, "/", &[0]), Err(EISDIR));
    assert_eq!(
        k.path_call(nr::TRUNCATE, "/f", &[1 << 30]),
        Err(ENOSPC),
        "past the tmpfs size"
    );
    assert_eq!(
        k.sys(nr::FTRUNCATE, &[fd, 0]),
        Err(EINVAL),
        "read-only descriptor"
    );
    let w = k.open("/f", O_WRONLY, 0).unwrap();
    assert_eq!(k.sys(nr::FTRUNCATE, &[w, 0]), Ok(0));
    assert_eq!(k.sys(nr::FTRUNCATE, &[99, 0]), Err(EBADF));
    let d = k.open("/", O_RDONLY, 0).unwrap();
    assert_eq!(k.sys(nr::FTRUNCATE, &[d, 0]), Err(EINVAL));
}

#[test]
fn umask_shapes_new_modes() {
    let mut k = FakeKernel::new();
    assert_eq!(k.sys(nr::UMASK, &[0o077]), Ok(0o022));
    assert_eq!(k.sys(nr::UMASK, &[0o027]), Ok(0o077));
    k.mkdir("/d", 0o777).unwrap();
    assert_eq!(k.stat("/d").unwrap().st_mode, S_IFDIR | 0o750);
    k.open("/f", O_CREAT | O_RDWR, 0o666).unwrap();
    assert_eq!(k.stat("/f").unwrap().st_mode, S_IFREG | 0o640);
}

struct Zeros;

impl FileOps for Zeros {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        Ok(data.len())
    }
    fn stat(&self) -> FileStat {
        FileStat::default()
    }
}

struct Registry;

impl DeviceRegistry for Registry {
    fn open(&self, rdev: u64, _flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        if rdev == makedev(1, 5) {
            Ok(Arc::new(Zeros))
        } else {
            Err(ENXIO)
        }
    }
}

#[test]
fn mknod_devices_and_fifos() {
    let mut k = FakeKernel::new();
    let zero = u64::from(S_IFCHR | 0o666);
    assert_eq!(
        k.path_call(nr::MKNOD, "/zero", &[zero, makedev(1, 5)]),
        Ok(0)
    );
    assert_eq!(k.open("/zero", O_RDONLY, 0), Err(ENXIO), "no registry yet");
    k.tmpfs.superblock().set_devices(Arc::new(Registry));
    let fd = k.open("/zero", O_RDWR, 0).unwrap();
    assert_eq!(k.read(fd, 4).unwrap(), [0, 0, 0, 0]);
    assert_eq!(k.write(fd, b"gone"), Ok(4));
    let st = k.fstat(fd).unwrap();
    assert_eq!(
        (st.st_mode, st.st_rdev),
        (S_IFCHR | 0o644, makedev(1, 5)),
        "the node's stat"
    );
    assert_eq!(
        k.path_call(nr::MKNOD, "/other", &[zero, makedev(9, 9)]),
        Ok(0)
    );
    assert_eq!(k.open("/other", O_RDONLY, 0), Err(ENXIO));
    assert_eq!(
        k.path_call(nr::MKNOD, "/fifo", &[u64::from(S_IFIFO | 0o644), 0]),
        Ok(0)
    );
    assert_eq!(k.lstat("/fifo").unwrap().st_mode, S_IFIFO | 0o644);
    assert_eq!(k.path_call(nr::MKNOD, "/reg", &[0o644, 0]), Ok(0));
    assert_eq!(k.stat("/reg").unwrap().st_mode, S_IFREG | 0o644);
    assert_eq!(
        k.path_call(nr::MKNOD, "/dir", &[u64::from(S_IFDIR | 0o755), 0]),
        Err(EPERM)
    );
    assert_eq!(k.path_call(nr::MKNOD, "/bad", &[0o170644, 0]), Err(EINVAL));
    assert_eq!(
        k.path_call(nr::MKNOD, "/fifo", &[u64::from(S_IFIFO), 0]),
        Err(EEXIST)
    );
    assert_eq!(
        k.path_call(nr::MKNOD, "/new/", &[u64::from(S_IFIFO), 0]),
        Err(ENOENT)
    );
}

#[test]
fn statfs_reports_tmpfs() {
    let mut k = FakeKernel::new();
    let buf = k.alloc(120);
    assert_eq!(k.path_call(nr::STATFS, "/", &[buf]), Ok(0));
    let sf: crate::fs::statfs::Statfs = read_struct(&k.mem, buf).unwrap();
    assert_eq!(
        (sf.f_type, sf.f_bsize, sf.f_namelen),
        (0x0102_1994, 4096, 255)
    );
    assert_eq!(k.path_call(nr::STATFS, "/nope", &[buf]), Err(ENOENT));
    let fd = k.open("/", O_RDONLY, 0).unwrap();
    assert_eq!(k.sys(nr::FSTATFS, &[fd, buf]), Ok(0));
    assert_eq!(k.sys(nr::FSTATFS, &[42, buf]), Err(EBADF));
    assert_eq!(k.sys(nr::FSTATFS, &[fd, 0]), Err(EFAULT));
}

#[test]
fn timestamps_come_from_the_clock() {
    fn clock() -> (i64, i64) {
        (1_700_000_000, 42)
    }
    let mut k = FakeKernel::new();
    k.tmpfs.superblock().set_clock(clock);
    k.create("/f", b"x");
    let st = k.stat("/f").unwrap();
    assert_eq!(
        (st.st_mtime, st.st_mtime_nsec, st.st_ctime),
        (1_700_000_000, 42, 1_700_000_000)
    );
    assert_eq!(
        k.stat("/").unwrap().st_mtime,
        1_700_000_000,
        "the directory changed too"
    );
}
