//! procfs and mount semantics through the system calls, on the fake kernel.

use std::string::String;
use std::vec::Vec;

use crate::abi::nr;
use crate::abi::Errno::*;
use crate::file::flags::*;
use crate::fs::mode::*;
use crate::fs::test_kernel::FakeKernel;
use crate::uaccess::read_struct;

fn mount(
    k: &mut FakeKernel,
    src: &str,
    target: &str,
    kind: &str,
    flags: u64,
) -> Result<u64, crate::abi::Errno> {
    let s = k.cstr(src);
    let t = k.cstr(target);
    let ty = k.cstr(kind);
    k.sys(nr::MOUNT, &[s, t, ty, flags, 0])
}

fn cat(k: &mut FakeKernel, path: &str) -> Result<String, crate::abi::Errno> {
    let fd = k.open(path, O_RDONLY, 0)?;
    let mut out = Vec::new();
    loop {
        let chunk = k.read(fd, 100)?;
        if chunk.is_empty() {
            break;
        }
        out.extend_from_slice(&chunk);
    }
    k.sys(nr::CLOSE, &[fd]).unwrap();
    Ok(String::from_utf8(out).unwrap())
}

fn with_proc() -> FakeKernel {
    let mut k = FakeKernel::new();
    k.mkdir("/proc", 0o555).unwrap();
    k.mkdir("/sys", 0o555).unwrap();
    k.mkdir("/dev", 0o755).unwrap();
    k.mkdir("/tmp", 0o1777).unwrap();
    assert_eq!(mount(&mut k, "proc", "/proc", "proc", 0), Ok(0));
    k
}

#[test]
fn mount_errors_as_linux() {
    let mut k = with_proc();
    assert_eq!(mount(&mut k, "x", "/tmp", "nosuchfs", 0), Err(ENODEV));
    assert_eq!(mount(&mut k, "x", "/nowhere", "tmpfs", 0), Err(ENOENT));
    k.create("/tmp/file", b"");
    assert_eq!(mount(&mut k, "x", "/tmp/file", "tmpfs", 0), Err(ENOTDIR));
    assert_eq!(mount(&mut k, "x", "/tmp/file/x", "tmpfs", 0), Err(ENOTDIR));
    // sysfs is one superblock: on top of itself it is busy; proc is a new one.
    assert_eq!(mount(&mut k, "sysfs", "/sys", "sysfs", 0), Ok(0));
    assert_eq!(mount(&mut k, "sysfs", "/sys", "sysfs", 0), Err(EBUSY));
    assert_eq!(mount(&mut k, "proc", "/proc", "proc", 0), Ok(0));
    let t = k.cstr("/proc");
    assert_eq!(k.sys(nr::UMOUNT2, &[t, 0]), Ok(0));
    // Not root: EPERM (after the lookup).
    k.creds.euid = 1000;
    assert_eq!(mount(&mut k, "x", "/tmp", "tmpfs", 0), Err(EPERM));
    assert_eq!(mount(&mut k, "x", "/nowhere", "tmpfs", 0), Err(ENOENT));
    let t = k.cstr("/proc");
    assert_eq!(k.sys(nr::UMOUNT2, &[t, 0]), Err(EPERM));
    k.creds.euid = 0;
    let t = k.cstr("/tmp");
    assert_eq!(k.sys(nr::UMOUNT2, &[t, 0]), Err(EINVAL), "not a mountpoint");
    assert_eq!(k.sys(nr::UMOUNT2, &[t, 0x100]), Err(EINVAL), "bad flags");
}

#[test]
fn tmpfs_mount_covers_and_umount_uncovers() {
    let mut k = with_proc();
    k.create("/tmp/below", b"x");
    assert_eq!(mount(&mut k, "tmpfs", "/tmp", "tmpfs", 0), Ok(0));
    assert_eq!(k.stat("/tmp/below").err(), Some(ENOENT));
    k.create("/tmp/above", b"y");
    // `..` at the mount root crosses back.
    k.path_call(nr::CHDIR, "/tmp", &[]).unwrap();
    assert_eq!(k.getcwd().unwrap(), "/tmp");
    assert!(k.stat("../tmp/above").is_ok());
    k.path_call(nr::CHDIR, "..", &[]).unwrap();
    assert_eq!(k.getcwd().unwrap(), "/");
    // A link or rename across file systems is EXDEV; the mountpoint is busy.
    assert_eq!(k.path2(nr::LINK, "/tmp/above", "/above"), Err(EXDEV));
    assert_eq!(k.path2(nr::RENAME, "/tmp/above", "/above"), Err(EXDEV));
    assert_eq!(k.path_call(nr::RMDIR, "/tmp", &[]), Err(EBUSY));
    // Device and inode numbers differ from the root's.
    let root_dev = k.stat("/").unwrap().st_dev;
    assert_ne!(k.stat("/tmp").unwrap().st_dev, root_dev);
    let mounts = cat(&mut k, "/proc/mounts").unwrap();
    assert!(
        mounts.contains("tmpfs /tmp tmpfs rw,relatime 0 0\n"),
        "{mounts}"
    );
    let info = cat(&mut k, "/proc/self/mountinfo").unwrap();
    let lines: Vec<&str> = info.lines().collect();
    assert_eq!(lines[0], "1 1 0:27 / / rw,relatime - rootfs rootfs rw");
    assert!(lines[1].starts_with("2 1 0:"), "{info}");
    assert!(
        lines[1].ends_with(" / /proc rw,relatime - proc proc rw"),
        "{info}"
    );
    assert!(
        lines[2].ends_with(" / /tmp rw,relatime - tmpfs tmpfs rw"),
        "{info}"
    );
    let t = k.cstr("/tmp");
    assert_eq!(k.sys(nr::UMOUNT2, &[t, 0]), Ok(0));
    assert!(k.stat("/tmp/below").is_ok());
    assert!(!cat(&mut k, "/proc/mounts").unwrap().contains("/tmp"));
}

#[test]
fn umount_busy_below_and_detach() {
    let mut k = with_proc();
    assert_eq!(mount(&mut k, "a", "/tmp", "tmpfs", 0), Ok(0));
    k.mkdir("/tmp/in", 0o755).unwrap();
    assert_eq!(mount(&mut k, "b", "/tmp/in", "tmpfs", 0), Ok(0));
    let t = k.cstr("/tmp");
    assert_eq!(k.sys(nr::UMOUNT2, &[t, 0]), Err(EBUSY));
    assert_eq!(k.sys(nr::UMOUNT2, &[t, 2]), Ok(0));
    let m = cat(&mut k, "/proc/mounts").unwrap();
    assert!(!m.contains("/tmp"), "{m}");
}

#[test]
fn statfs_magic_per_mount() {
    let mut k = with_proc();
    assert_eq!(mount(&mut k, "sysfs", "/sys", "sysfs", 0), Ok(0));
    assert_eq!(mount(&mut k, "devtmpfs", "/dev", "devtmpfs", 0), Ok(0));
    let buf = k.alloc(120);
    for (path, magic) in [
        ("/", 0x0102_1994i64),
        ("/proc", 0x9fa0),
        ("/proc/self", 0x9fa0),
        ("/sys", 0x6265_6572),
        ("/dev", 0x0102_1994),
    ] {
        assert_eq!(k.path_call(nr::STATFS, path, &[buf]), Ok(0));
        let sf: crate::fs::statfs::Statfs = read_struct(&k.mem, buf).unwrap();
        assert_eq!(sf.f_type, magic, "{path}");
    }
    let fd = k.open("/proc/uptime", O_RDONLY, 0).unwrap();
    assert_eq!(k.sys(nr::FSTATFS, &[fd, buf]), Ok(0));
    let sf: crate::fs::statfs::Statfs = read_struct(&k.mem, buf).unwrap();
    assert_eq!(sf.f_type, 0x9fa0);
    assert!(k.ls("/sys").contains(&"class".into()));
}

#[test]
fn devtmpfs_holds_the_device_nodes() {
    let mut k = with_proc();
    k.path_call(
        nr::MKNOD,
        "/dev/null",
        &[u64::from(S_IFCHR | 0o666), crate::fs::makedev(1, 3)],
    )
    .unwrap();
    assert_eq!(mount(&mut k, "devtmpfs", "/dev", "devtmpfs", 0), Ok(0));
    let st = k.stat("/dev/null").unwrap();
    assert_eq!(st.st_mode, S_IFCHR | 0o644);
    assert_eq!(st.st_rdev, crate::fs::makedev(1, 3));
    assert_eq!(mount(&mut k, "devtmpfs", "/dev", "devtmpfs", 0), Err(EBUSY));
}

#[test]
fn proc_root_lists_globals_self_and_pids() {
    let mut k = with_proc();
    let names = k.ls("/proc");
    for n in [
        ".",
        "..",
        "1",
        "self",
        "thread-self",
        "meminfo",
        "mounts",
        "sys",
        "uptime",
    ] {
        assert!(names.contains(&n.into()), "{n} in {names:?}");
    }
    assert_eq!(k.readlink("/proc/self", 64).unwrap(), b"1");
    assert_eq!(k.readlink("/proc/thread-self", 64).unwrap(), b"1/task/1");
    assert_eq!(k.stat("/proc/999999").err(), Some(ENOENT));
    let st = k.lstat("/proc/self").unwrap();
    assert_eq!(st.st_mode, S_IFLNK | 0o777);
    assert_eq!(k.stat("/proc/self").unwrap().st_mode, S_IFDIR | 0o555);
    // The same node looked up twice is the same inode.
    assert_eq!(
        k.stat("/proc/1/stat").unwrap().st_ino,
        k.stat("/proc/self/stat").unwrap().st_ino
    );
}

#[test]
fn pid_files_in_linux_format() {
    let mut k = with_proc();
    let stat = cat(&mut k, "/proc/self/stat").unwrap();
    let f: Vec<&str> = stat.trim_end().split(' ').collect();
    assert_eq!(f.len(), 52, "{stat}");
    assert_eq!(&f[..5], ["1", "(sh)", "R", "0", "1"]);
    let status = cat(&mut k, "/proc/1/status").unwrap();
    assert!(
        status.starts_with("Name:\tsh\nUmask:\t0022\nState:\tR (running)\nTgid:\t1\n"),
        "{status}"
    );
    assert!(status.contains("\nPid:\t1\nPPid:\t0\n"));
    assert!(status.contains("\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"));
    assert!(status.contains("\nGroups:\t \n"));
    assert!(status.contains("\nVmRSS:\t     400 kB\n"));
    assert!(status.contains("\nThreads:\t1\n"));
    assert_eq!(
        cat(&mut k, "/proc/self/cmdline").unwrap(),
        "/bin/sh\0-c\0true\0"
    );
    assert_eq!(cat(&mut k, "/proc/self/comm").unwrap(), "sh\n");
    assert_eq!(k.readlink("/proc/self/exe", 64).unwrap(), b"/bin/busybox");
    assert_eq!(k.readlink("/proc/self/cwd", 64).unwrap(), b"/");
    assert_eq!(k.readlink("/proc/self/root", 64).unwrap(), b"/");
    assert_eq!(k.ls("/proc/self/task"), [".", "..", "1"]);
    assert!(cat(&mut k, "/proc/self/task/1/stat")
        .unwrap()
        .starts_with("1 (sh) R "));
    assert_eq!(k.stat("/proc/self/task/2").err(), Some(ENOENT));
    assert_eq!(k.stat("/proc/self/task/1/task").err(), Some(ENOENT));
}

#[test]
fn maps_lines_pad_the_name() {
    let m = crate::fs::proc::MapEntry {
        start: 0x400000,
        end: 0x401000,
        read: true,
        exec: true,
        name: b"/bin/busybox".to_vec(),
        ..Default::default()
    };
    let l = String::from_utf8(super::text::map_line(&m)).unwrap();
    assert_eq!(
        l,
        "00400000-00401000 r-xp 00000000 00:00 0                                  /bin/busybox\n"
    );
    let anon = crate::fs::proc::MapEntry {
        start: 0x7fff_0000_0000,
        end: 0x7fff_0000_1000,
        read: true,
        write: true,
        ..Default::default()
    };
    assert_eq!(
        String::from_utf8(super::text::map_line(&anon)).unwrap(),
        "7fff00000000-7fff00001000 rw-p 00000000 00:00 0 \n"
    );
}

#[test]
fn global_files() {
    let mut k = with_proc();
    let mi = cat(&mut k, "/proc/meminfo").unwrap();
    assert!(
        mi.starts_with("MemTotal:         524288 kB\nMemFree:          262144 kB\n"),
        "{mi}"
    );
    assert_eq!(cat(&mut k, "/proc/uptime").unwrap(), "12.34 5.67\n");
    assert!(cat(&mut k, "/proc/loadavg")
        .unwrap()
        .starts_with("0.00 0.00 0.00 1/1 1\n"));
    assert!(cat(&mut k, "/proc/stat").unwrap().starts_with("cpu  "));
    assert!(cat(&mut k, "/proc/filesystems")
        .unwrap()
        .contains("nodev\tproc\n"));
    assert!(cat(&mut k, "/proc/cpuinfo")
        .unwrap()
        .starts_with("processor\t: 0\nvendor_id\t: GenuineIntel\n"));
    assert_eq!(cat(&mut k, "/proc/sys/kernel/ostype").unwrap(), "Linux\n");
    assert_eq!(cat(&mut k, "/proc/sys/kernel/hostname").unwrap(), "fake\n");
    let m = cat(&mut k, "/proc/self/mounts").unwrap();
    assert_eq!(
        m,
        "rootfs / rootfs rw,relatime 0 0\nproc /proc proc rw,relatime 0 0\n"
    );
}

#[test]
fn sysctl_and_readonly_writes() {
    let mut k = with_proc();
    // Root may not write a 0444 sysctl (no override), may write a 0444 proc file but
    // the write is EINVAL; hostname is writable.
    assert_eq!(
        k.open("/proc/sys/kernel/osrelease", O_WRONLY, 0).err(),
        Some(EACCES)
    );
    let fd = k.open("/proc/self/stat", O_WRONLY, 0).unwrap();
    assert_eq!(k.write(fd, b"x"), Err(EINVAL));
    let fd = k.open("/proc/sys/kernel/hostname", O_WRONLY, 0).unwrap();
    assert_eq!(k.write(fd, b"newname\n"), Ok(8));
    assert_eq!(
        cat(&mut k, "/proc/sys/kernel/hostname").unwrap(),
        "newname\n"
    );
    k.creds.euid = 1000;
    k.creds.uid = 1000;
    assert_eq!(k.open("/proc/self/stat", O_WRONLY, 0).err(), Some(EACCES));
    assert_eq!(
        k.open("/proc/sys/kernel/hostname", O_WRONLY, 0).err(),
        Some(EACCES)
    );
    assert_eq!(
        k.open("/proc/newfile", O_WRONLY | O_CREAT, 0o644).err(),
        Some(ENOENT)
    );
    assert_eq!(k.mkdir("/proc/newdir", 0o755).err(), Some(ENOENT));
    k.creds.euid = 0;
    assert_eq!(k.path_call(nr::UNLINK, "/proc/uptime", &[]), Err(EPERM));
}

#[test]
fn fd_links_name_the_files_and_open_them() {
    let mut k = with_proc();
    k.mkdir("/data", 0o755).unwrap();
    k.create("/data/f", b"hello");
    let fd = k.open("/data/f", O_RDONLY, 0).unwrap();
    let p = k.alloc(8);
    k.sys(nr::PIPE2, &[p, 0]).unwrap();
    k.sync_proc_files();
    assert_eq!(
        k.readlink(&format!("/proc/self/fd/{fd}"), 64).unwrap(),
        b"/data/f"
    );
    let names = k.ls("/proc/self/fd");
    assert!(names.contains(&format!("{fd}")), "{names:?}");
    let pipe_fd = fd + 1;
    let t =
        String::from_utf8(k.readlink(&format!("/proc/self/fd/{pipe_fd}"), 64).unwrap()).unwrap();
    assert!(t.starts_with("pipe:["), "{t}");
    // Opening the link opens the file (a magic link: even once it is unlinked).
    k.path_call(nr::UNLINK, "/data/f", &[]).unwrap();
    let again = k.open(&format!("/proc/self/fd/{fd}"), O_RDONLY, 0).unwrap();
    assert_eq!(k.read(again, 10).unwrap(), b"hello");
    let st = k.lstat(&format!("/proc/self/fd/{fd}")).unwrap();
    assert_eq!(st.st_mode, S_IFLNK | 0o500);
    assert_eq!(st.st_size, 64);
    let info = cat(&mut k, &format!("/proc/self/fdinfo/{fd}")).unwrap();
    assert!(info.starts_with("pos:\t0\nflags:\t0100000\n"), "{info}");
    assert_eq!(k.stat("/proc/self/fd/77").err(), Some(ENOENT));
}

#[test]
fn cwd_in_proc_and_getcwd() {
    let mut k = with_proc();
    k.path_call(nr::CHDIR, "/proc/self/task", &[]).unwrap();
    assert_eq!(k.getcwd().unwrap(), "/proc/1/task");
    k.path_call(nr::CHDIR, "../../..", &[]).unwrap();
    assert_eq!(k.getcwd().unwrap(), "/");
}

#[test]
fn thread_ids_are_found_but_not_listed() {
    let mut k = with_proc();
    k.proc.0.lock().procs.get_mut(&1).unwrap().threads = vec![1, 7];
    assert!(!k.ls("/proc").contains(&"7".into()));
    assert!(cat(&mut k, "/proc/7/stat")
        .unwrap()
        .starts_with("7 (sh) R "));
    assert_eq!(k.ls("/proc/1/task"), [".", "..", "1", "7"]);
}

#[test]
fn fd_link_of_a_proc_directory() {
    let mut k = with_proc();
    let fd = k.open("/proc/self/fd", O_RDONLY | O_DIRECTORY, 0).unwrap();
    k.sync_proc_files();
    assert_eq!(
        k.readlink(&format!("/proc/self/fd/{fd}"), 64).unwrap(),
        b"/proc/1/fd"
    );
}

#[test]
fn bind_mount_and_remount_flags() {
    let mut k = with_proc();
    k.mkdir("/data", 0o755).unwrap();
    k.create("/data/f", b"x");
    k.mkdir("/mnt", 0o755).unwrap();
    // MS_BIND: the same directory seen at a second place.
    assert_eq!(mount(&mut k, "/data", "/mnt", "", 4096), Ok(0));
    assert_eq!(
        k.stat("/mnt/f").unwrap().st_ino,
        k.stat("/data/f").unwrap().st_ino
    );
    // MS_REMOUNT | MS_RDONLY | MS_NOSUID: shown in /proc/mounts (not enforced).
    assert_eq!(mount(&mut k, "", "/mnt", "", 32 | 1 | 2), Ok(0));
    let m = cat(&mut k, "/proc/mounts").unwrap();
    assert!(
        m.contains("rootfs /mnt rootfs ro,nosuid,relatime 0 0\n"),
        "{m}"
    );
    // A remount of what is not mounted is EINVAL; propagation flags need a mount.
    // The bind's source seen where it is, is not a mount.
    assert_eq!(mount(&mut k, "", "/data", "", 32), Err(EINVAL));
    assert_eq!(mount(&mut k, "", "/data", "", 1 << 18), Err(EINVAL));
    let t = k.cstr("/data");
    assert_eq!(k.sys(nr::UMOUNT2, &[t, 0]), Err(EINVAL));
    assert_eq!(mount(&mut k, "", "/mnt", "", 1 << 18), Ok(0));
    let t = k.cstr("/mnt");
    assert_eq!(k.sys(nr::UMOUNT2, &[t, 0]), Ok(0));
    assert_eq!(k.stat("/mnt/f").err(), Some(ENOENT));
    // A plain bind of a tree with a mount inside (here /proc under /) would show the
    // mount's contents where Linux shows the directory under it: refused. With
    // MS_REC that is what Linux shows too.
    assert_eq!(mount(&mut k, "/", "/mnt", "", 4096), Err(EINVAL));
    assert_eq!(mount(&mut k, "/", "/mnt", "", 4096 | 16384), Ok(0));
    assert!(k.stat("/mnt/proc/self").is_ok());
}

#[test]
fn other_users_links_are_eacces() {
    let mut k = with_proc();
    k.creds.euid = 1000;
    k.creds.uid = 1000;
    k.creds.gid = 1000;
    k.creds.egid = 1000;
    // Process 1 is root's: its exe, cwd and root cannot be read; its stat can.
    assert_eq!(k.readlink("/proc/1/exe", 64), Err(EACCES));
    assert_eq!(k.readlink("/proc/1/cwd", 64), Err(EACCES));
    assert!(cat(&mut k, "/proc/1/stat").is_ok());
    assert_eq!(k.open("/proc/1/environ", O_RDONLY, 0).err(), Some(EACCES));
}
