//! The tmpfs API as the kernel uses it: building the root from initramfs members,
//! device numbers, the space limit, getcwd after renames.

use std::string::String;
use std::vec::Vec;

use super::mode::*;
use super::namei::Walker;
use super::open::open;
use super::{dev_split, makedev, ops, CpioEntry, Creds, FsContext, NodeKind, SkippedEntry, Tmpfs};
use crate::abi::Errno;
use crate::file::flags::*;

fn read_all(ctx: &FsContext, path: &str) -> Result<Vec<u8>, Errno> {
    let o = open(ctx, &Creds::root(), &ctx.root, path.as_bytes(), O_RDONLY, 0)?;
    let mut buf = [0u8; 256];
    let n = o.ops.read(0, &mut buf)?;
    Ok(buf[..n].to_vec())
}

#[test]
fn cpio_members_build_the_tree() {
    let entries: Vec<(&str, u32, u32, u32, &[u8])> = vec![
        (".", S_IFDIR | 0o755, 0, 0, b""),
        ("./bin", S_IFDIR | 0o755, 0, 0, b""),
        ("./bin/busybox", S_IFREG | 0o755, 0, 0, b"ELF..."),
        ("bin/sh", S_IFLNK | 0o777, 0, 0, b"busybox"),
        ("/etc/passwd", S_IFREG | 0o644, 0, 0, b"root:x:0:0\n"),
        ("home/user/.profile", S_IFREG | 0o600, 1000, 100, b"PS1=$\n"),
        // A second archive: a later member wins, a directory only takes the new mode.
        ("etc/passwd", S_IFREG | 0o600, 0, 0, b"root:x:0:0:new\n"),
        ("home/user", S_IFDIR | 0o700, 1000, 100, b""),
        ("bin/busybox/x", S_IFREG | 0o644, 0, 0, b""),
        ("../escape", S_IFREG | 0o644, 0, 0, b""),
        ("weird", 0o170644, 0, 0, b""),
        ("bin", S_IFREG | 0o644, 0, 0, b""),
    ];
    let (fs, skipped) = Tmpfs::from_cpio_entries(entries, 1 << 20);
    let want = |p: &str, e| SkippedEntry {
        path: p.as_bytes().to_vec(),
        error: e,
    };
    assert_eq!(
        skipped,
        vec![
            want("bin/busybox/x", Errno::ENOTDIR),
            want("../escape", Errno::EINVAL),
            want("weird", Errno::EINVAL),
            want("bin", Errno::ENOTEMPTY),
        ]
    );
    let ctx = FsContext::new(&fs);
    assert_eq!(read_all(&ctx, "/bin/sh").unwrap(), b"ELF...");
    assert_eq!(read_all(&ctx, "/etc/passwd").unwrap(), b"root:x:0:0:new\n");
    let rc = Creds::root();
    let w = &mut Walker::new(&ctx, &rc);
    let etc = w.resolve(&ctx.root, b"/etc", true).unwrap();
    assert_eq!(etc.mode(), S_IFDIR | 0o755, "a made parent is 0755");
    assert_eq!(etc.nlink(), 2);
    assert_eq!(fs.root().nlink(), 5, "bin, etc, home");
    let home = w.resolve(&ctx.root, b"/home/user", true).unwrap();
    assert_eq!((home.mode(), home.owner()), (S_IFDIR | 0o700, (1000, 100)));
    let profile = w.resolve(&ctx.root, b"/home/user/.profile", true).unwrap();
    assert_eq!(profile.stat().size, 6);
    let sh = w.resolve(&ctx.root, b"/bin/sh", false).unwrap();
    assert_eq!(sh.link_target().unwrap(), b"busybox");
    // The user cannot read root's 0600 passwd, and its own file through a 0700 home.
    let user = Creds::user(1000, 100);
    assert_eq!(
        open(&ctx, &user, &ctx.root, b"/etc/passwd", O_RDONLY, 0).err(),
        Some(Errno::EACCES)
    );
    assert!(open(&ctx, &user, &ctx.root, b"/home/user/.profile", O_RDONLY, 0).is_ok());
}

#[test]
fn cpio_device_nodes_keep_rdev() {
    let e = CpioEntry {
        path: b"dev/console",
        mode: S_IFCHR | 0o600,
        uid: 0,
        gid: 0,
        rdev: makedev(5, 1),
        data: b"",
    };
    let (fs, skipped) = Tmpfs::from_cpio_entries([e], 1 << 20);
    assert!(skipped.is_empty());
    let ctx = FsContext::new(&fs);
    let node = Walker::new(&ctx, &Creds::root())
        .resolve(&ctx.root, b"/dev/console", true)
        .unwrap();
    assert_eq!(node.kind, NodeKind::CharDev);
    assert_eq!(dev_split(node.rdev()), (5, 1));
    assert_eq!(node.stat().rdev, 0x501);
}

#[test]
fn device_numbers_round_trip() {
    for (ma, mi) in [
        (0, 0),
        (1, 3),
        (5, 1),
        (4095, 255),
        (4096, 256),
        (0xfff_fff, 0xfff_ffff),
    ] {
        assert_eq!(dev_split(makedev(ma, mi)), (ma, mi));
    }
    assert_eq!(makedev(1, 3), 0x103);
    assert_eq!(makedev(136, 300), 0x10_882c, "glibc gnu_dev_makedev");
}

#[test]
fn space_limit_is_enospc_and_freed_on_unlink() {
    let fs = Tmpfs::new(10_000);
    let ctx = FsContext::new(&fs);
    let root = Creds::root();
    let o = open(&ctx, &root, &ctx.root, b"/big", O_CREAT | O_RDWR, 0o644).unwrap();
    assert_eq!(o.ops.write(0, &[1u8; 8000]), Ok(8000));
    assert_eq!(o.ops.write(8000, &[1u8; 4000]), Err(Errno::ENOSPC));
    assert_eq!(o.ops.write(u64::MAX - 1, b"xy"), Err(Errno::EFBIG));
    assert_eq!(fs.superblock().usage(), (8000, 10_000));
    ops::unlink(&ctx, &root, &ctx.root, b"/big").unwrap();
    assert_eq!(fs.superblock().usage().0, 8000, "still open");
    drop(o);
    assert_eq!(fs.superblock().usage().0, 0);
}

#[test]
fn getcwd_follows_renames() {
    let fs = Tmpfs::new(1 << 20);
    let mut ctx = FsContext::new(&fs);
    let root = Creds::root();
    ops::mkdir(&ctx, &root, &ctx.root, b"/a", 0o755).unwrap();
    ops::mkdir(&ctx, &root, &ctx.root, b"/a/b", 0o755).unwrap();
    ctx.cwd = Walker::new(&ctx, &root)
        .resolve(&ctx.root, b"/a/b", true)
        .unwrap();
    ops::rename(&ctx, &root, (&ctx.root, b"/a"), (&ctx.root, b"/z"), 0).unwrap();
    let cwd = Walker::new(&ctx, &root).path_of(&ctx.cwd).unwrap();
    assert_eq!(String::from_utf8(cwd).unwrap(), "/z/b");
    // A context rooted at /z (a chroot): `..` stops there and paths are relative to it.
    let mut jail = ctx.clone();
    jail.root = Walker::new(&ctx, &root)
        .resolve(&ctx.root, b"/z", true)
        .unwrap();
    let w = Walker::new(&jail, &root);
    assert_eq!(w.path_of(&jail.cwd).unwrap(), b"/b");
    let up = Walker::new(&jail, &root)
        .resolve(&jail.cwd, b"../../..", true)
        .unwrap();
    assert!(std::sync::Arc::ptr_eq(&up, &jail.root));
}

#[test]
fn standard_dev_nodes_and_memory_devices() {
    let console = CpioEntry {
        path: b"dev/console",
        mode: S_IFCHR | 0o620,
        uid: 0,
        gid: 5,
        rdev: super::devices::CONSOLE,
        data: b"",
    };
    let (fs, _) = Tmpfs::from_cpio_entries([console], 1 << 20);
    super::devices::add_standard_nodes(&fs).unwrap();
    super::devices::add_standard_nodes(&fs).unwrap();
    fs.superblock().set_devices(std::sync::Arc::new(
        super::devices::DeviceTable::with_memory_devices(),
    ));
    let ctx = FsContext::new(&fs);
    let root = Creds::root();
    let names: Vec<Vec<u8>> = fs
        .root()
        .child(b"dev")
        .unwrap()
        .entries()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    // null zero random urandom tty console ptmx, and the directory pts.
    assert_eq!(names.len(), 8);
    let null = open(&ctx, &root, &ctx.root, b"/dev/null", O_RDWR, 0).unwrap();
    let mut buf = [7u8; 4];
    assert_eq!(null.ops.read(0, &mut buf), Ok(0));
    assert_eq!(null.ops.write(0, b"abc"), Ok(3));
    assert_eq!(null.ops.stat().mode, S_IFCHR | 0o666);
    let zero = open(&ctx, &root, &ctx.root, b"/dev/zero", O_RDONLY, 0).unwrap();
    assert_eq!(zero.ops.read(0, &mut buf), Ok(4));
    assert_eq!(buf, [0; 4]);
    assert_eq!(
        open(&ctx, &root, &ctx.root, b"/dev/urandom", O_RDONLY, 0).err(),
        Some(Errno::ENXIO)
    );
    let c = Walker::new(&ctx, &root)
        .resolve(&ctx.root, b"/dev/console", true)
        .unwrap();
    assert_eq!(
        (c.mode(), c.owner()),
        (S_IFCHR | 0o620, (0, 5)),
        "the archive's node is kept"
    );
}

#[test]
fn open_exec_rules() {
    use super::open::open_exec;
    let entries: Vec<(&str, u32, u32, u32, &[u8])> = vec![
        ("bin/prog", S_IFREG | 0o755, 0, 0, b"\x7fELF"),
        ("bin/data", S_IFREG | 0o644, 0, 0, b""),
        ("bin/link", S_IFLNK | 0o777, 0, 0, b"prog"),
        ("bin/mine", S_IFREG | 0o700, 0, 0, b""),
    ];
    let (fs, _) = Tmpfs::from_cpio_entries(entries, 1 << 20);
    let ctx = FsContext::new(&fs);
    let root = Creds::root();
    let prog = open_exec(&ctx, &root, &ctx.root, b"/bin/link").unwrap();
    assert_eq!(prog.contents(), b"\x7fELF");
    assert_eq!(
        open_exec(&ctx, &root, &ctx.root, b"/bin/data").err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        open_exec(&ctx, &root, &ctx.root, b"/bin").err(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        open_exec(&ctx, &root, &ctx.root, b"/bin/none").err(),
        Some(Errno::ENOENT)
    );
    assert_eq!(
        open_exec(&ctx, &root, &ctx.root, b"/bin/prog/").err(),
        Some(Errno::ENOTDIR)
    );
    let user = Creds::user(1000, 1000);
    assert!(open_exec(&ctx, &user, &ctx.root, b"/bin/prog").is_ok());
    assert_eq!(
        open_exec(&ctx, &user, &ctx.root, b"/bin/mine").err(),
        Some(Errno::EACCES)
    );
}

#[test]
fn reads_move_atime_as_relatime_does() {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NOW: AtomicI64 = AtomicI64::new(1000);
    fn clock() -> (i64, i64) {
        (NOW.load(Ordering::Relaxed), 0)
    }
    let fs = Tmpfs::new(1 << 20);
    fs.superblock().set_clock(clock);
    let ctx = FsContext::new(&fs);
    let root = Creds::root();
    let o = open(&ctx, &root, &ctx.root, b"/f", O_CREAT | O_RDWR, 0o644).unwrap();
    o.ops.write(0, b"abc").unwrap();
    let mut buf = [0u8; 4];
    NOW.store(2000, Ordering::Relaxed);
    o.ops.read(0, &mut buf).unwrap();
    assert_eq!(
        o.node.stat().atime.0,
        2000,
        "atime was not newer than mtime"
    );
    NOW.store(3000, Ordering::Relaxed);
    o.ops.read(0, &mut buf).unwrap();
    assert_eq!(
        o.node.stat().atime.0,
        2000,
        "already newer than mtime: kept"
    );
    NOW.store(2000 + 24 * 3600, Ordering::Relaxed);
    o.ops.read(0, &mut buf).unwrap();
    assert_eq!(o.node.stat().atime.0, 2000 + 24 * 3600, "a day old: moved");
    NOW.store(90_000, Ordering::Relaxed);
    ops::read_dir(&ctx, &root, &ctx.root, 0, 8).unwrap();
    assert_eq!(
        ctx.root.stat().atime.0,
        90_000,
        "listing a directory reads it"
    );
}
