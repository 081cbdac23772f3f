//! devpts: the directory of pseudo-terminal slaves (`mount -t devpts devpts /dev/pts`),
//! and the opens of `/dev/ptmx` (5:2) and `/dev/pts/N` (136:N).
//!
//! The terminals themselves are [`crate::pty`]'s: one set for the whole system (as in
//! Linux's single initial devpts instance, which every mount here shows). A devpts
//! mount is an ordinary tree of this crate whose root holds `ptmx` and one character
//! device per live terminal. The root is brought up to date whenever it is looked up
//! or listed ([`refresh`]): nodes for new terminals are added, owned by whoever opened
//! their master, and the nodes of terminals that are gone are removed. A node stays
//! the same inode while its terminal lives, so `stat("/dev/pts/3")` and `fstat` of an
//! open slave agree (musl's `ttyname` checks that) and /proc/PID/fd/N of a slave reads
//! `/dev/pts/N`.
//!
//! Opening a device node with number 5:2 or 136:N (wherever the node is: /dev/ptmx in
//! the root file system or devtmpfs, or `ptmx` inside devpts) goes to [`open_device`],
//! not to the kernel's driver table: a new pair per open of ptmx, owned by the caller.

use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;

use spin::Mutex;

use super::inode::{Body, Inode, NodeKind, Tmpfs};
use super::mount::FsType;
use super::perm::Creds;
use super::{dev_split, makedev};
use crate::abi::Errno;
use crate::file::FileOps;

/// /dev/tty: the caller's controlling terminal.
pub const TTY: u64 = makedev(5, 0);
/// /dev/ptmx and devpts' `ptmx`.
pub const PTMX: u64 = makedev(5, 2);
/// The major of the slaves (Linux's UNIX98_PTY_SLAVE_MAJOR; the minor is N, past 255
/// too, in the 20-bit minor of the new device encoding).
pub const PTS_MAJOR: u32 = 136;
/// The slave nodes' permission bits (Alpine mounts devpts with mode=620, gid=5).
const PTS_MODE: u32 = 0o620;
/// statfs's `f_type` for devpts.
pub const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;

/// The device number of /dev/pts/`n`.
pub const fn pts_dev(n: u32) -> u64 {
    makedev(PTS_MAJOR, n)
}

/// The terminal number of a slave device number, if it is one.
fn pts_index(rdev: u64) -> Option<u32> {
    let (major, minor) = dev_split(rdev);
    (major == PTS_MAJOR).then_some(minor)
}

/// The open of a pseudo-terminal device node, if `rdev` is one (or /dev/tty in a
/// session whose controlling terminal is a pty: its slave): a new pair for ptmx
/// (ENOSPC past [`crate::pty::PTY_MAX`]), the slave for 136:N (EIO while locked or
/// after the master closed, EIO for a number with no terminal, as Linux's devpts
/// gives for a stale node).
pub fn open_device(
    rdev: u64,
    flags: u32,
    creds: &Creds,
) -> Option<Result<Arc<dyn FileOps>, Errno>> {
    if rdev == TTY {
        // /dev/tty is the caller's controlling terminal: a pty's slave when its
        // session has one (a shell on a pty opens /dev/tty for job control), else the
        // kernel's console driver.
        let s = crate::pty::open_controlling()?;
        return Some(s.map(|s| s as Arc<dyn FileOps>));
    }
    if rdev == PTMX {
        let m = crate::pty::open_master_as((creds.euid, creds.egid));
        return Some(m.map(|m| m as Arc<dyn FileOps>));
    }
    let n = pts_index(rdev)?;
    let open = if flags & crate::file::flags::O_NOCTTY == 0 {
        crate::pty::open_slave_acquiring(n)
    } else {
        crate::pty::open_slave(n)
    };
    Some(match open {
        Ok(s) => Ok(s as Arc<dyn FileOps>),
        Err(Errno::ENOENT) => Err(Errno::EIO),
        Err(e) => Err(e),
    })
}

/// Serializes [`refresh`] (not the namespace lock: lookups run under that one).
static REFRESH: Mutex<()> = Mutex::new(());

/// A new devpts instance on device `dev`: a root 0755 holding `ptmx` (c 5:2, mode 0,
/// Linux's default ptmxmode) and, once looked at, the live terminals.
pub(crate) fn new(dev: u64) -> Tmpfs {
    let fs = Tmpfs::new_kind(0, dev, FsType::Devpts, None);
    let sb = fs.superblock().clone();
    let ptmx = sb.new_inode(NodeKind::CharDev, 0, (0, 0), PTMX, Body::Special);
    fs.root().insert_entry(b"ptmx".to_vec(), ptmx);
    fs
}

/// Whether `dir` is the root of a devpts (its only directory).
pub(crate) fn is_root(dir: &Inode) -> bool {
    dir.superblock().kind == FsType::Devpts && dir.kind == NodeKind::Dir
}

/// Brings a devpts root's entries up to date with the terminals that exist.
pub(crate) fn refresh(root: &Arc<Inode>) {
    let _serial = REFRESH.lock();
    let live = crate::pty::list_owned();
    // The entries as they are (not through `entries()`, which refreshes).
    let present: Vec<(Vec<u8>, u64)> = match &root.state.lock().body {
        Body::Dir { entries, .. } => entries
            .iter()
            .map(|(name, node)| (name.clone(), node.rdev()))
            .collect(),
        _ => return,
    };
    let mut gone: Vec<Arc<Inode>> = Vec::new();
    for (name, rdev) in &present {
        let Some(n) = pts_index(*rdev) else { continue };
        if !live.iter().any(|(i, _)| *i == n) {
            if let Some(node) = root.remove_entry(name) {
                node.drop_link();
                gone.push(node);
            }
        }
    }
    let sb = root.superblock().clone();
    for (n, owner) in live {
        let name = format!("{n}").into_bytes();
        if present.iter().any(|(have, _)| *have == name) {
            continue;
        }
        let node = sb.new_inode(
            NodeKind::CharDev,
            PTS_MODE,
            owner,
            pts_dev(n),
            Body::Special,
        );
        root.insert_entry(name, node);
    }
    drop(_serial);
    // The removed inodes go outside the lock.
    drop(gone);
}
