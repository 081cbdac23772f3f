//! The file system of the Linux personality: a tmpfs tree, Linux path resolution, and
//! the open-file objects it hands out.
//!
//! ## The parts and how they fit
//!
//! - [`inode`] — the tree itself. A [`Tmpfs`] is a [`Superblock`] (device number, inode
//!   table, clock, device registry, space limit) plus its root [`Inode`]. Inodes are
//!   `Arc`s: a directory holds its children, an open file holds its inode, so an
//!   unlinked file lives until its last descriptor closes, as on Linux.
//! - [`perm`] — [`Creds`] and the owner/group/other permission check (root bypasses
//!   read and write, and exec needs some x bit).
//! - [`namei`] — path resolution: absolute or relative to a directory, `..` stopping at
//!   the process root, symlinks followed up to [`namei::MAXSYMLINKS`] (then ELOOP),
//!   trailing-slash rules, the errnos Linux gives; and getcwd's walk back up.
//! - [`open`] — open(2) (O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY, O_NOFOLLOW, O_PATH,
//!   following dangling symlinks to create) and [`open::open_exec`] for execve.
//! - [`ops`] — mkdir, mknod, symlink, link, unlink, rmdir, chmod, chown, utimens,
//!   truncate, readdir; [`rename`] — renameat2 with its three flags.
//! - [`handle`] — the [`crate::file::FileOps`] objects an open returns: regular files
//!   (read/write at an offset), directories (read is EISDIR; getdents64 walks the
//!   entries), device nodes (delegating to the kernel's driver), and O_PATH handles.
//! - [`cpio`] — building the tree from initramfs (cpio newc) members.
//! - [`devices`] — device numbers, the standard `/dev` nodes, `/dev/null` and
//!   `/dev/zero`, and a [`devices::DeviceTable`] registry.
//! - [`statfs`] — what statfs(2) reports (TMPFS_MAGIC, blocks from the space limit).
//! - [`mount`] — the mount table (a covered directory continues at the mounted
//!   root, `..` at a mount root goes back to the mountpoint), mount(2)/umount2(2) for
//!   tmpfs, proc, sysfs, devtmpfs and devpts, and /proc/mounts' text.
//! - [`proc`] — procfs, generated from the kernel's facts (a [`proc::ProcSource`])
//!   when looked up, listed or opened; [`sysfs`] — the empty top of /sys.
//! - [`devpts`] — /dev/pts (the live pseudo-terminals of [`crate::pty`]) and the opens
//!   of /dev/ptmx and /dev/pts/N.
//! - [`fifo`] — named pipes: a fifo node hands its openers the ends of one
//!   [`crate::pipe`] (opens never block; see the module for how that differs).
//!
//! The system calls on top are in `crate::syscall` (fscalls): they read the user's
//! arguments, find the starting directory (root, cwd or a dirfd capability) and call
//! these functions with the caller's [`Creds`]. A descriptor's capability holds an
//! [`crate::file::OpenFile`] whose `ops` is one of the handles; the syscall layer finds
//! the inode again through the handle's `stat()` (device [`inode::TMPFS_DEV`] and
//! inode number) and [`Superblock::inode`], so no downcast is needed and a descriptor
//! reaches only the inode its own capability names.
//!
//! ## How it is checked against Linux
//!
//! Besides unit tests and model-based property tests (link counts, `..`, no orphan
//! inodes), three kinds of test hold it to the host's Linux: `host_diff_tests` runs
//! random operations on the host file system and here and compares every result;
//! `replay_tests` runs the contract programs (`qemu/contracts/files.c`, `paths.c`)
//! under strace and makes every file-system call again here; `busybox_replay_tests`
//! does the same for busybox shell scripts, process by process.
//!
//! ## What the kernel does with it
//!
//! ```
//! use std::sync::Arc;
//! use linux_personality::fs::{devices, CpioEntry, FsContext, Tmpfs};
//! use linux_personality::fs::mode::*;
//!
//! // Boot: the tree from the initramfs members (later ones win), then /dev.
//! let members = [
//!     ("bin/sh", S_IFREG | 0o755, 0, 0, &b"\x7fELF"[..]),
//!     ("etc/passwd", S_IFREG | 0o644, 0, 0, &b"root:x:0:0::/root:/bin/sh\n"[..]),
//! ];
//! let (root_fs, skipped) = Tmpfs::from_cpio_entries(members, 64 << 20);
//! assert!(skipped.is_empty());
//! devices::add_standard_nodes(&root_fs).unwrap();
//! let mut drivers = devices::DeviceTable::with_memory_devices();
//! // drivers.insert(devices::CONSOLE, console); drivers.insert(devices::URANDOM, rng);
//! root_fs.superblock().set_devices(Arc::new(drivers));
//! fn realtime() -> (i64, i64) { (1_764_000_000, 0) }
//! root_fs.superblock().set_clock(realtime);
//!
//! // Each process: a context (fork clones it; exec keeps it).
//! let init = FsContext::new(&root_fs);
//! let child = init.clone();
//! assert_eq!(child.umask, 0o022);
//! ```

pub mod cpio;
pub mod devices;
pub mod devpts;
pub mod fifo;
pub mod handle;
pub mod inode;
pub mod mount;
pub mod namei;
pub mod open;
pub mod ops;
pub mod perm;
pub mod proc;
pub mod rename;
pub mod statfs;
pub mod sysfs;

#[cfg(test)]
mod bench_tests;
#[cfg(test)]
mod busybox_replay_tests;
#[cfg(test)]
mod devpts_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod host_diff_tests;
#[cfg(test)]
mod io_tests;
#[cfg(test)]
mod link_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod replay_tests;
#[cfg(test)]
pub(crate) mod test_kernel;
#[cfg(test)]
mod tests;

use alloc::sync::Arc;

use crate::abi::Errno;
use crate::file::FileOps;

pub use cpio::{CpioEntry, SkippedEntry};
pub use inode::{Inode, NodeKind, Superblock, Tmpfs};
pub use mount::{FsType, MountTable};
pub use perm::Creds;

/// File type and permission bits of `st_mode`.
pub mod mode {
    pub const S_IFMT: u32 = 0o170000;
    pub const S_IFSOCK: u32 = 0o140000;
    pub const S_IFLNK: u32 = 0o120000;
    pub const S_IFREG: u32 = 0o100000;
    pub const S_IFBLK: u32 = 0o060000;
    pub const S_IFDIR: u32 = 0o040000;
    pub const S_IFCHR: u32 = 0o020000;
    pub const S_IFIFO: u32 = 0o010000;
    pub const S_ISUID: u32 = 0o4000;
    pub const S_ISGID: u32 = 0o2000;
    pub const S_ISVTX: u32 = 0o1000;
    /// Every permission bit chmod may set.
    pub const S_IALLUGO: u32 = 0o7777;
}

/// The longest name of one directory entry.
pub const NAME_MAX: usize = 255;

/// Where the kernel's character (and block) device drivers are found: opening a device
/// node asks the registry for the driver of its `rdev` (Linux's encoding, as `mknod`
/// and `st_rdev` carry it). A number with no driver is ENXIO, as on Linux.
pub trait DeviceRegistry: Send + Sync {
    /// The driver object for device `rdev` opened with `flags` (the open(2) flags).
    fn open(&self, rdev: u64, flags: u32) -> Result<Arc<dyn FileOps>, Errno>;
}

/// Linux's `new_encode_dev`: the `st_rdev` / `mknod` number of (major, minor).
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (major as u64, minor as u64);
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
}

/// The (major, minor) of an encoded device number (the inverse of [`makedev`]).
pub const fn dev_split(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

/// A process's view of the file system (Linux's `fs_struct`): its root (`/` and where
/// `..` stops), its working directory, and its umask. The kernel keeps one per process;
/// fork gives the child a clone (the same directories, the same umask); exec keeps it.
#[derive(Clone)]
pub struct FsContext {
    pub root: Arc<Inode>,
    pub cwd: Arc<Inode>,
    pub umask: u32,
    /// The mount namespace (shared by every context made from the same root).
    pub mounts: Arc<MountTable>,
}

impl FsContext {
    /// A context rooted at the file system's root, cwd `/`, umask 022 (Linux's default
    /// for init).
    pub fn new(fs: &Tmpfs) -> FsContext {
        FsContext {
            root: fs.root().clone(),
            cwd: fs.root().clone(),
            umask: 0o022,
            mounts: fs.mounts().clone(),
        }
    }

    pub fn superblock(&self) -> &Arc<Superblock> {
        self.root.superblock()
    }

    /// The live inode `ino` of device `dev`: on the root file system or any mounted
    /// one (how a descriptor's `stat()` leads back to its inode).
    pub fn inode(&self, dev: u64, ino: u64) -> Option<Arc<Inode>> {
        self.superblock()
            .inode(dev, ino)
            .or_else(|| self.mounts.inode(dev, ino))
    }
}
