//! Pseudo-terminals through the system calls, on the fake kernel: /dev/ptmx makes a
//! pair, the slave opens at /dev/pts/N once unlocked, bytes go both ways through the
//! line discipline, /dev/pts lists the live terminals, and /proc/self/fd names them.

use std::format;
use std::string::String;

use crate::abi::nr;
use crate::abi::Errno::*;
use crate::file::flags::*;
use crate::fs::mode::*;
use crate::fs::test_kernel::FakeKernel;
use crate::tty::ioctl::{TCGETS, TCSETS, TIOCGPTN, TIOCGPTPEER, TIOCSPTLCK};

fn mount(k: &mut FakeKernel, kind: &str, target: &str) -> Result<u64, crate::abi::Errno> {
    let s = k.cstr(kind);
    let t = k.cstr(target);
    let ty = k.cstr(kind);
    k.sys(nr::MOUNT, &[s, t, ty, 0, 0])
}

fn ioctl_u32(k: &mut FakeKernel, fd: u64, cmd: u32, v: u32) -> Result<u32, crate::abi::Errno> {
    let at = k.alloc(4);
    k.mem.poke(at, &v.to_le_bytes()).unwrap();
    k.sys(nr::IOCTL, &[fd, u64::from(cmd), at])?;
    let b = k.mem.peek(at, 4).unwrap();
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Whether terminal `n`, whose node was inode `ino`, is gone from /dev/pts (another
/// test running at the same time may have made a new terminal with the same number:
/// that one is a new node).
fn gone(k: &mut FakeKernel, n: u32, ino: u64) -> bool {
    match k.stat(&format!("/dev/pts/{n}")) {
        Err(e) => e == ENOENT && !k.ls("/dev/pts").contains(&format!("{n}")),
        Ok(st) => st.st_ino != ino,
    }
}

/// A fake kernel with /dev (standard nodes, devpts mounted on /dev/pts) and /proc.
fn with_devpts() -> FakeKernel {
    let mut k = FakeKernel::new();
    k.std_streams_on_null();
    k.mkdir("/proc", 0o555).unwrap();
    assert_eq!(mount(&mut k, "proc", "/proc"), Ok(0));
    assert_eq!(mount(&mut k, "devpts", "/dev/pts"), Ok(0));
    k
}

#[test]
fn ptmx_unlock_open_slave_and_talk_both_ways() {
    let mut k = with_devpts();
    let st = k.stat("/dev/ptmx").unwrap();
    assert_eq!(st.st_mode, S_IFCHR | 0o666);
    assert_eq!(st.st_rdev, (5 << 8) | 2);
    // Non-blocking, so that "nothing to read" is EAGAIN here.
    let m = k
        .open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK, 0)
        .unwrap();
    let n = ioctl_u32(&mut k, m, TIOCGPTN, 0).unwrap();
    let name = format!("/dev/pts/{n}");
    // Listed at once, but locked until unlockpt.
    assert!(k.ls("/dev/pts").contains(&format!("{n}")));
    assert_eq!(k.open(&name, O_RDWR, 0), Err(EIO));
    let peer = u64::from(TIOCGPTPEER);
    assert_eq!(k.sys(nr::IOCTL, &[m, peer, u64::from(O_RDWR)]), Err(EIO));
    ioctl_u32(&mut k, m, TIOCSPTLCK, 0).unwrap();
    let s = k.open(&name, O_RDWR | O_NOCTTY, 0).unwrap();
    // The slave is 136:N, 0620, owned by whoever opened ptmx; stat by name and fstat
    // are the same inode (musl's ttyname compares them).
    let by_name = k.stat(&name).unwrap();
    let by_fd = k.fstat(s).unwrap();
    assert_eq!(by_name.st_mode, S_IFCHR | 0o620);
    assert_eq!(by_name.st_rdev, crate::fs::devpts::pts_dev(n));
    assert_eq!(
        (by_name.st_dev, by_name.st_ino),
        (by_fd.st_dev, by_fd.st_ino)
    );
    // TIOCGPTPEER: the same slave on a new descriptor (EIO on a slave, EINVAL for bad
    // flags, ENOTTY on a file that is no terminal).
    let p = k
        .sys(nr::IOCTL, &[m, peer, u64::from(O_RDWR | O_NOCTTY)])
        .unwrap();
    let by_peer = k.fstat(p).unwrap();
    assert_eq!(
        (by_peer.st_dev, by_peer.st_ino),
        (by_fd.st_dev, by_fd.st_ino)
    );
    k.write(p, b"peer\n").unwrap();
    assert_eq!(k.read(m, 64).unwrap(), b"peer\r\n");
    k.sys(nr::CLOSE, &[p]).unwrap();
    assert_eq!(k.sys(nr::IOCTL, &[s, peer, u64::from(O_RDWR)]), Err(EIO));
    assert_eq!(k.sys(nr::IOCTL, &[0, peer, u64::from(O_RDWR)]), Err(ENOTTY));
    assert_eq!(k.sys(nr::IOCTL, &[m, peer, 0o1_000_000_000]), Err(EINVAL));
    // isatty: TCGETS works on both sides.
    let t = k.alloc(64);
    assert_eq!(k.sys(nr::IOCTL, &[s, u64::from(TCGETS), t]), Ok(0));
    assert_eq!(k.sys(nr::IOCTL, &[m, u64::from(TCGETS), t]), Ok(0));
    // Typed at the master: echoed back, a line for the slave.
    k.write(m, b"hello\r").unwrap();
    assert_eq!(k.read(m, 64).unwrap(), b"hello\r\n");
    assert_eq!(k.read(s, 64).unwrap(), b"hello\n");
    // Written by the slave: ONLCR on the way to the master.
    k.write(s, b"out\n").unwrap();
    assert_eq!(k.read(m, 64).unwrap(), b"out\r\n");
    // Raw mode (cfmakeraw's flags): no echo, no line editing, no output processing.
    let tio = k.mem.peek(t, 60).unwrap();
    let mut raw = tio.clone();
    let flag = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let iflag = flag(&tio, 0) & !0o2752; // IGNBRK BRKINT PARMRK ISTRIP INLCR IGNCR ICRNL IXON
    let oflag = flag(&tio, 4) & !0o1; // OPOST
    let lflag = flag(&tio, 12) & !0o100113; // ECHO ECHONL ICANON ISIG IEXTEN
    raw[0..4].copy_from_slice(&iflag.to_le_bytes());
    raw[4..8].copy_from_slice(&oflag.to_le_bytes());
    raw[12..16].copy_from_slice(&lflag.to_le_bytes());
    raw[17 + 6] = 1; // VMIN
    raw[17 + 5] = 0; // VTIME
    let r = k.alloc(64);
    k.mem.poke(r, &raw).unwrap();
    assert_eq!(k.sys(nr::IOCTL, &[s, u64::from(TCSETS), r]), Ok(0));
    k.write(m, b"ab\r").unwrap();
    assert_eq!(k.read(s, 64).unwrap(), b"ab\r");
    assert_eq!(k.read(m, 64), Err(EAGAIN));
    k.write(s, b"x\n").unwrap();
    assert_eq!(k.read(m, 64).unwrap(), b"x\n");
    // /proc/self/fd names both ends as Linux does.
    k.sync_proc_files();
    assert_eq!(
        k.readlink(&format!("/proc/self/fd/{s}"), 64).unwrap(),
        name.as_bytes()
    );
    assert_eq!(
        k.readlink(&format!("/proc/self/fd/{m}"), 64).unwrap(),
        b"/dev/ptmx"
    );
    // The master closes: the slave reads end of file and writes fail.
    k.sys(nr::CLOSE, &[m]).unwrap();
    // (The fake /proc's copy of the descriptor table held the master too.)
    k.sync_proc_files();
    assert_eq!(k.read(s, 64).unwrap(), b"");
    assert_eq!(k.write(s, b"x"), Err(EIO));
    // Once the slave closes too the terminal is gone from /dev/pts.
    k.sys(nr::CLOSE, &[s]).unwrap();
    k.sync_proc_files();
    assert!(gone(&mut k, n, by_name.st_ino));
}

#[test]
fn devpts_lists_ptmx_and_the_live_slaves() {
    let mut k = with_devpts();
    let a = k.open("/dev/ptmx", O_RDWR, 0).unwrap();
    let b = k.open("/dev/pts/ptmx", O_RDWR, 0).unwrap();
    let na = ioctl_u32(&mut k, a, TIOCGPTN, 0).unwrap();
    let nb = ioctl_u32(&mut k, b, TIOCGPTN, 0).unwrap();
    assert_ne!(na, nb);
    let names = k.ls("/dev/pts");
    for want in [".", "..", "ptmx", &format!("{na}"), &format!("{nb}")] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    // devpts' own ptmx is mode 0 (Linux's default ptmxmode), root may open it.
    assert_eq!(k.lstat("/dev/pts/ptmx").unwrap().st_mode, S_IFCHR);
    // /proc/mounts and statfs know it.
    let fd = k.open("/proc/mounts", O_RDONLY, 0).unwrap();
    let text = String::from_utf8(k.read(fd, 4096).unwrap()).unwrap();
    assert!(text.contains("devpts /dev/pts devpts rw"), "{text}");
    let buf = k.alloc(120);
    k.path_call(nr::STATFS, "/dev/pts", &[buf]).unwrap();
    let magic = k.mem.peek(buf, 8).unwrap();
    assert_eq!(
        i64::from_le_bytes(magic.try_into().unwrap()),
        crate::fs::devpts::DEVPTS_SUPER_MAGIC
    );
    // Mounting it again (as Alpine's init scripts may) works, and shows the same.
    assert_eq!(mount(&mut k, "devpts", "/dev/pts"), Ok(0));
    assert!(k.ls("/dev/pts").contains(&format!("{na}")));
    // Its entries are its own: no mkdir, mknod or unlink there.
    assert_eq!(k.mkdir("/dev/pts/x", 0o755), Err(EPERM));
    assert_eq!(
        k.path_call(nr::UNLINK, &format!("/dev/pts/{na}"), &[]),
        Err(EPERM)
    );
    assert_eq!(k.path_call(nr::UNLINK, "/dev/pts/ptmx", &[]), Err(EPERM));
    // A slave number with no terminal behind it.
    let c = crate::fs::devpts::pts_dev(4000);
    let p = k.cstr("/dev/stale");
    k.sys(nr::MKNOD, &[p, u64::from(S_IFCHR | 0o600), c])
        .unwrap();
    assert_eq!(k.open("/dev/stale", O_RDWR, 0), Err(EIO));
    let ino = k.stat(&format!("/dev/pts/{na}")).unwrap().st_ino;
    k.sys(nr::CLOSE, &[a]).unwrap();
    k.sys(nr::CLOSE, &[b]).unwrap();
    assert!(gone(&mut k, na, ino));
}

#[test]
fn a_user_owns_the_slave_of_the_ptmx_it_opened() {
    let mut k = with_devpts();
    k.creds.uid = 1000;
    k.creds.euid = 1000;
    k.creds.gid = 100;
    k.creds.egid = 100;
    let m = k.open("/dev/ptmx", O_RDWR, 0).unwrap();
    let n = ioctl_u32(&mut k, m, TIOCGPTN, 0).unwrap();
    ioctl_u32(&mut k, m, TIOCSPTLCK, 0).unwrap();
    let st = k.stat(&format!("/dev/pts/{n}")).unwrap();
    assert_eq!((st.st_uid, st.st_gid), (1000, 100));
    let s = k.open(&format!("/dev/pts/{n}"), O_RDWR, 0).unwrap();
    k.write(s, b"hi\n").unwrap();
    assert_eq!(k.read(m, 16).unwrap(), b"hi\r\n");
}
