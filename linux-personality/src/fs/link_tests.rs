//! Hard links, RENAME_EXCHANGE and RENAME_WHITEOUT, and the open-flag corners Linux
//! 6.x has (O_CREAT|O_DIRECTORY, O_ACCMODE 3, O_PATH descriptors), through dispatch
//! with the errnos a host Linux gave for the same calls.

use crate::abi::nr;
use crate::abi::Errno::*;
use crate::file::flags::*;
use crate::fs::mode::*;
use crate::fs::test_kernel::{FakeKernel, CWD};
use crate::fs::Creds;

#[test]
fn hard_links() {
    let mut k = FakeKernel::new();
    k.create("/f", b"data");
    k.mkdir("/d", 0o755).unwrap();
    k.path2(nr::SYMLINK, "f", "/sl").unwrap();
    assert_eq!(k.path2(nr::LINK, "/f", "/f2"), Ok(0));
    assert_eq!(k.stat("/f").unwrap().st_nlink, 2);
    assert_eq!(k.stat("/f").unwrap().st_ino, k.stat("/f2").unwrap().st_ino);
    assert_eq!(k.path2(nr::LINK, "/f", "/f2"), Err(EEXIST));
    assert_eq!(k.path2(nr::LINK, "/nope", "/f3"), Err(ENOENT));
    assert_eq!(k.path2(nr::LINK, "/f", "/f4/"), Err(ENOENT));
    assert_eq!(k.path2(nr::LINK, "/f/", "/f5"), Err(ENOTDIR));
    assert_eq!(k.path2(nr::LINK, "/d", "/d2"), Err(EPERM));
    assert_eq!(k.path2(nr::LINK, "/f", "/"), Err(EEXIST));
    // link(2) links the symlink itself; linkat with AT_SYMLINK_FOLLOW its target.
    assert_eq!(k.path2(nr::LINK, "/sl", "/sl2"), Ok(0));
    assert_eq!(k.lstat("/sl2").unwrap().st_mode & S_IFMT, S_IFLNK);
    let (sl, sl3) = (k.cstr("/sl"), k.cstr("/sl3"));
    assert_eq!(k.sys(nr::LINKAT, &[CWD, sl, CWD, sl3, 0x400]), Ok(0));
    assert_eq!(k.lstat("/sl3").unwrap().st_nlink, 3);
    assert_eq!(k.sys(nr::LINKAT, &[CWD, sl, CWD, sl3, 0x1]), Err(EINVAL));
    // Renaming one name onto another of the same inode changes nothing.
    assert_eq!(k.path2(nr::RENAME, "/f", "/f2"), Ok(0));
    assert!(k.stat("/f").is_ok());
    assert_eq!(k.path_call(nr::UNLINK, "/f", &[]), Ok(0));
    assert_eq!(k.stat("/f2").unwrap().st_nlink, 2);
    let fd = k.open("/f2", O_RDONLY, 0).unwrap();
    assert_eq!(k.read(fd, 8).unwrap(), b"data");
    // Protected hardlinks: a user may not link root's file she cannot write.
    k.mkdir("/home", 0o777).unwrap();
    k.path_call(nr::CHMOD, "/home", &[0o777]).unwrap();
    k.creds = Creds::user(1000, 1000);
    assert_eq!(k.path2(nr::LINK, "/f2", "/home/mine"), Err(EPERM));
}

#[test]
fn rename_exchange_and_whiteout() {
    let mut k = FakeKernel::new();
    k.create("/a", b"A");
    k.mkdir("/d", 0o755).unwrap();
    k.mkdir("/d/in", 0o755).unwrap();
    k.mkdir("/e", 0o755).unwrap();
    let (a, d, din, e, zz) = (
        k.cstr("/a"),
        k.cstr("/d"),
        k.cstr("/d/in"),
        k.cstr("/e"),
        k.cstr("/zz"),
    );
    assert_eq!(k.sys(nr::RENAMEAT2, &[CWD, a, CWD, zz, 2]), Err(ENOENT));
    assert_eq!(k.sys(nr::RENAMEAT2, &[CWD, d, CWD, din, 2]), Err(EINVAL));
    assert_eq!(k.sys(nr::RENAMEAT2, &[CWD, din, CWD, d, 2]), Err(EINVAL));
    assert_eq!(k.sys(nr::RENAMEAT2, &[CWD, a, CWD, zz, 2 | 1]), Err(EINVAL));
    // A file and a directory swap places; the directory's `..` and link counts follow.
    assert_eq!(k.sys(nr::RENAMEAT2, &[CWD, a, CWD, din, 2]), Ok(0));
    assert_eq!(k.lstat("/a").unwrap().st_mode & S_IFMT, S_IFDIR);
    assert_eq!(k.stat("/d/in").unwrap().st_size, 1);
    assert_eq!(k.stat("/d").unwrap().st_nlink, 2);
    assert_eq!(k.stat("/").unwrap().st_nlink, 5);
    assert_eq!(k.stat("/a/..").unwrap().st_ino, k.stat("/").unwrap().st_ino);
    assert_eq!(k.sys(nr::RENAMEAT2, &[CWD, d, CWD, e, 2]), Ok(0));
    assert_eq!(k.stat("/e/in").unwrap().st_size, 1);
    // Whiteout: root leaves a 0:0 character device behind; a user may not.
    assert_eq!(k.sys(nr::RENAMEAT2, &[CWD, e, CWD, zz, 4]), Ok(0));
    let w = k.lstat("/e").unwrap();
    assert_eq!((w.st_mode, w.st_rdev), (S_IFCHR, 0));
    assert_eq!(k.stat("/zz/in").unwrap().st_size, 1);
    k.creds = Creds::user(1000, 1000);
    assert_eq!(k.sys(nr::RENAMEAT2, &[CWD, zz, CWD, a, 4]), Err(EPERM));
}

#[test]
fn open_flag_corners() {
    let mut k = FakeKernel::new();
    k.create("/f", b"xy");
    k.mkdir("/d", 0o755).unwrap();
    assert_eq!(
        k.open("/new", O_CREAT | O_DIRECTORY | O_RDWR, 0o644),
        Err(EINVAL)
    );
    assert_eq!(
        k.open("/d", O_CREAT | O_DIRECTORY | O_RDONLY, 0o644),
        Err(EINVAL)
    );
    assert!(
        k.open("/d", O_CREAT | O_DIRECTORY | O_PATH, 0).is_ok(),
        "O_PATH drops O_CREAT"
    );
    let both = k.open("/f", O_ACCMODE, 0).unwrap();
    assert_eq!(k.read(both, 1), Err(EBADF));
    assert_eq!(k.write(both, b"z"), Err(EBADF));
    // O_PATH descriptors: fchmod, fchown, futimens, ftruncate refuse; fchdir and
    // AT_EMPTY_PATH calls accept; readlinkat(fd, "") reads a symlink.
    k.path2(nr::SYMLINK, "f", "/sl").unwrap();
    let p = k.open("/f", O_PATH, 0).unwrap();
    assert_eq!(
        k.sys(nr::FCNTL, &[p, 3, 0]),
        Ok(u64::from(O_PATH)),
        "F_GETFL"
    );
    let d = k
        .open("/d", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW, 0)
        .unwrap();
    let want = O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW;
    assert_eq!(
        k.sys(nr::FCNTL, &[d, 3, 0]),
        Ok(u64::from(want)),
        "as Linux 6.18 shows"
    );
    assert_eq!(k.sys(nr::FCHMOD, &[p, 0o600]), Err(EBADF));
    assert_eq!(k.sys(nr::FCHOWN, &[p, 0, 0]), Err(EBADF));
    assert_eq!(k.sys(nr::UTIMENSAT, &[p, 0, 0, 0]), Err(EBADF));
    assert_eq!(k.sys(nr::FTRUNCATE, &[p, 0]), Err(EBADF));
    let empty = k.cstr("");
    assert_eq!(k.sys(nr::FCHOWNAT, &[p, empty, 7, 7, 0x1000]), Ok(0));
    let buf = k.alloc(256);
    assert_eq!(
        k.sys(nr::NEWFSTATAT, &[p, 0, buf, 0x1000]),
        Ok(0),
        "NULL path, 6.11+"
    );
    assert_eq!(k.sys(nr::STATX, &[p, 0, 0x1000, 0x7ff, buf]), Ok(0));
    assert_eq!(k.sys(nr::NEWFSTATAT, &[p, 0, buf, 0]), Err(EFAULT));
    assert_eq!(k.stat("/f").unwrap().st_uid, 7);
    let pd = k.open("/d", O_PATH, 0).unwrap();
    assert_eq!(k.sys(nr::FCHDIR, &[pd]), Ok(0));
    let ps = k.open("/sl", O_PATH | O_NOFOLLOW, 0).unwrap();
    assert_eq!(k.sys(nr::READLINKAT, &[ps, empty, buf, 8]), Ok(1));
    assert_eq!(k.mem.peek(buf, 1).unwrap(), b"f");
    assert_eq!(k.sys(nr::READLINKAT, &[pd, empty, buf, 8]), Err(ENOENT));
    assert_eq!(k.sys(nr::READLINKAT, &[CWD, empty, buf, 8]), Err(ENOENT));
    // utimensat: both UTIME_OMIT succeeds without even looking the path up.
    let t = k.alloc(32);
    let omit = [0i64, (1 << 30) - 2, 0, (1 << 30) - 2];
    k.mem.poke(t, zerocopy::IntoBytes::as_bytes(&omit)).unwrap();
    let missing = k.cstr("/missing");
    assert_eq!(k.sys(nr::UTIMENSAT, &[CWD, missing, t, 0]), Ok(0));
    assert_eq!(k.sys(nr::UTIMENSAT, &[CWD, 0, 0, 0]), Err(EFAULT));
}

#[test]
fn fchmodat2_flags() {
    let mut k = FakeKernel::new();
    k.create("/f", b"");
    k.path2(nr::SYMLINK, "f", "/sl").unwrap();
    let (sl, f, bad) = (k.cstr("/sl"), k.cstr("/f"), k.cstr(""));
    assert_eq!(
        k.sys(nr::FCHMODAT2, &[CWD, sl, 0o600, 0x100]),
        Err(EOPNOTSUPP)
    );
    assert_eq!(k.sys(nr::FCHMODAT2, &[CWD, f, 0o600, 0x100]), Ok(0));
    assert_eq!(k.sys(nr::FCHMODAT2, &[CWD, sl, 0o640, 0]), Ok(0));
    assert_eq!(k.stat("/f").unwrap().st_mode, S_IFREG | 0o640);
    assert_eq!(k.sys(nr::FCHMODAT2, &[CWD, f, 0o640, 0x4]), Err(EINVAL));
    let fd = k.open("/f", O_RDONLY, 0).unwrap();
    assert_eq!(k.sys(nr::FCHMODAT2, &[fd, bad, 0o644, 0x1000]), Ok(0));
    assert_eq!(k.sys(nr::FCHMODAT, &[CWD, bad, 0o644]), Err(ENOENT));
    // chmod ignores the type bits it is given.
    assert_eq!(k.path_call(nr::CHMOD, "/f", &[0o107777]), Ok(0));
    assert_eq!(k.stat("/f").unwrap().st_mode, S_IFREG | 0o7777);
}
