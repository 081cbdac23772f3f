//! Mount points: the mount table of a namespace, and mount(2)/umount2(2) on it.
//!
//! A mount covers a directory (the mountpoint, an inode of the file system below)
//! with the root of another file system (or, for a bind mount, any directory). Path
//! resolution ([`super::namei`]) asks the table at every step: a name that leads to a
//! covered directory continues at the topmost mount's root, and `..` at a mount root
//! first goes back to the mountpoint. The table is shared by every
//! [`super::FsContext`] made from the same root [`Tmpfs`] (one mount namespace).
//!
//! sysfs and devtmpfs have one superblock per namespace, as on Linux, so mounting
//! one again on top of itself is EBUSY; every tmpfs and (as since Linux 5.8) every
//! proc mount is a new one.
//!
//! What is not here: mount propagation (every mount is private; MS_SHARED and
//! friends are accepted and change nothing), MS_MOVE (EINVAL), read-only
//! enforcement (MS_RDONLY is recorded and shown in /proc/mounts, writes still work),
//! and non-recursive bind mounts of trees with mounts inside (EINVAL: a mount covers
//! an inode here, so every bind mount behaves as MS_REC).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use spin::Mutex;

use super::inode::{Inode, NodeKind, Tmpfs};
use super::namei::{Last, Parent, Walker};
use super::perm::Creds;
use super::{makedev, FsContext};
use crate::abi::Errno;

/// The file-system types mount(2) knows, with what statfs and /proc report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsType {
    /// The initramfs root (a tmpfs that /proc/mounts calls `rootfs`).
    Rootfs,
    Tmpfs,
    Devtmpfs,
    Proc,
    Sysfs,
    /// /dev/pts: the pseudo-terminal slaves ([`super::devpts`]).
    Devpts,
}

pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
pub const SYSFS_MAGIC: i64 = 0x6265_6572;

impl FsType {
    /// The name mount(2) takes and /proc/mounts prints.
    pub fn name(self) -> &'static str {
        match self {
            FsType::Rootfs => "rootfs",
            FsType::Tmpfs => "tmpfs",
            FsType::Devtmpfs => "devtmpfs",
            FsType::Proc => "proc",
            FsType::Sysfs => "sysfs",
            FsType::Devpts => "devpts",
        }
    }

    /// The type mount(2) asks for by name (`rootfs` cannot be mounted).
    pub fn from_name(name: &[u8]) -> Option<FsType> {
        Some(match name {
            b"tmpfs" => FsType::Tmpfs,
            b"devtmpfs" => FsType::Devtmpfs,
            b"proc" => FsType::Proc,
            b"sysfs" => FsType::Sysfs,
            b"devpts" => FsType::Devpts,
            _ => return None,
        })
    }

    /// statfs's `f_type` (devtmpfs and rootfs are tmpfs underneath).
    pub fn magic(self) -> i64 {
        match self {
            FsType::Rootfs | FsType::Tmpfs | FsType::Devtmpfs => super::statfs::TMPFS_MAGIC,
            FsType::Proc => PROC_SUPER_MAGIC,
            FsType::Sysfs => SYSFS_MAGIC,
            FsType::Devpts => super::devpts::DEVPTS_SUPER_MAGIC,
        }
    }

    /// Whether it is `nodev` in /proc/filesystems (everything here is).
    pub fn all() -> &'static [FsType] {
        &[
            FsType::Sysfs,
            FsType::Tmpfs,
            FsType::Devtmpfs,
            FsType::Proc,
            FsType::Devpts,
        ]
    }
}

pub const MS_RDONLY: u64 = 1;
pub const MS_NOSUID: u64 = 2;
pub const MS_NODEV: u64 = 4;
pub const MS_NOEXEC: u64 = 8;
pub const MS_REMOUNT: u64 = 32;
pub const MS_NOATIME: u64 = 1024;
pub const MS_BIND: u64 = 4096;
pub const MS_MOVE: u64 = 8192;
pub const MS_REC: u64 = 16384;
pub const MS_SILENT: u64 = 32768;
pub const MS_UNBINDABLE: u64 = 1 << 17;
pub const MS_PRIVATE: u64 = 1 << 18;
pub const MS_SLAVE: u64 = 1 << 19;
pub const MS_SHARED: u64 = 1 << 20;
const MS_PROPAGATION: u64 = MS_UNBINDABLE | MS_PRIVATE | MS_SLAVE | MS_SHARED;
/// The per-mount flags /proc/mounts shows.
const MS_SHOWN: u64 = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME;

pub const MNT_FORCE: u64 = 1;
pub const MNT_DETACH: u64 = 2;
pub const MNT_EXPIRE: u64 = 4;
pub const UMOUNT_NOFOLLOW: u64 = 8;

/// One mount: `root` shown at `mountpoint`.
#[derive(Clone)]
pub struct Mount {
    pub id: u32,
    /// The mount the mountpoint belongs to (0: the root file system).
    pub parent: u32,
    pub mountpoint: Arc<Inode>,
    pub root: Arc<Inode>,
    pub source: Vec<u8>,
    pub fstype: FsType,
    pub flags: u64,
}

/// The mounts of one namespace, oldest first (a later mount on the same place covers
/// an earlier one).
#[derive(Default)]
pub struct MountTable {
    mounts: Mutex<Vec<Mount>>,
    next_id: AtomicU32,
    /// The single instances of sysfs and devtmpfs.
    singletons: Mutex<Vec<(FsType, Arc<Tmpfs>)>>,
    next_dev: AtomicU32,
}

impl MountTable {
    /// The root of the topmost mount on `node`, if something is mounted there.
    pub fn covering(&self, node: &Arc<Inode>) -> Option<Arc<Inode>> {
        let mounts = self.mounts.lock();
        let mut cur: Option<Arc<Inode>> = None;
        loop {
            let at = cur.as_ref().unwrap_or(node);
            match mounts.iter().rev().find(|m| Arc::ptr_eq(&m.mountpoint, at)) {
                Some(m) => cur = Some(m.root.clone()),
                None => return cur,
            }
        }
    }

    /// Where `root` is mounted, if it is the root of a mount.
    pub fn mountpoint_of(&self, root: &Arc<Inode>) -> Option<Arc<Inode>> {
        self.mounts
            .lock()
            .iter()
            .rev()
            .find(|m| Arc::ptr_eq(&m.root, root))
            .map(|m| m.mountpoint.clone())
    }

    /// Whether anything is mounted on a directory inside the tree under `dir`.
    pub fn has_mount_below(&self, dir: &Arc<Inode>) -> bool {
        let points: Vec<Arc<Inode>> = self
            .mounts
            .lock()
            .iter()
            .map(|m| m.mountpoint.clone())
            .collect();
        points.into_iter().any(|mut at| {
            // Bounded: a directory chain is finite, but stay safe on a broken one.
            for _ in 0..4096 {
                if Arc::ptr_eq(&at, dir) {
                    return true;
                }
                match at.parent() {
                    Some(p) => at = p,
                    None => return false,
                }
            }
            false
        })
    }

    pub fn is_mount_root(&self, node: &Arc<Inode>) -> bool {
        self.mounts
            .lock()
            .iter()
            .any(|m| Arc::ptr_eq(&m.root, node))
    }

    /// The mounts, oldest first.
    pub fn list(&self) -> Vec<Mount> {
        self.mounts.lock().clone()
    }

    /// The live inode `ino` of device `dev` on any mounted file system.
    pub fn inode(&self, dev: u64, ino: u64) -> Option<Arc<Inode>> {
        let roots: Vec<Arc<Inode>> = self.mounts.lock().iter().map(|m| m.root.clone()).collect();
        roots.iter().find_map(|r| r.superblock().inode(dev, ino))
    }

    /// The superblock behind a mount's root: the type its mount says.
    pub fn fstype_of(&self, node: &Inode) -> FsType {
        node.superblock().kind
    }

    /// A device number for a new file system (anonymous devices 0:N, as Linux).
    fn new_dev(&self) -> u64 {
        // 0:27 is the root tmpfs; the others count up from 0:40.
        makedev(0, 40 + self.next_dev.fetch_add(1, Ordering::Relaxed))
    }

    fn add(&self, mut m: Mount) {
        m.id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut mounts = self.mounts.lock();
        m.parent = mounts
            .iter()
            .rev()
            .find(|p| Arc::ptr_eq(p.root.superblock(), m.mountpoint.superblock()))
            .map_or(0, |p| p.id);
        mounts.push(m);
    }

    /// The single instance of `kind` (proc, sysfs, devtmpfs), made on first use.
    fn singleton(&self, kind: FsType, make: impl FnOnce(u64) -> Tmpfs) -> Arc<Tmpfs> {
        let mut s = self.singletons.lock();
        if let Some((_, fs)) = s.iter().find(|(k, _)| *k == kind) {
            return fs.clone();
        }
        let fs = Arc::new(make(self.new_dev()));
        s.push((kind, fs.clone()));
        fs
    }
}

/// Resolves a mount(2)/umount2(2) target, and says whether it was reached as the
/// root of a mount (a covered directory continued there), not merely as a directory
/// that happens to be some mount's root (a bind mount's source, seen where it is).
fn resolve_target(
    ctx: &FsContext,
    creds: &Creds,
    start: &Arc<Inode>,
    path: &[u8],
    follow: bool,
) -> Result<(Arc<Inode>, bool), Errno> {
    let target = Walker::new(ctx, creds).resolve(start, path, follow)?;
    if ctx.mounts.mountpoint_of(&target).is_none() {
        return Ok((target, false));
    }
    let reached = match Walker::new(ctx, creds).parent(start, path) {
        Ok(Parent {
            dir,
            last: Last::Name(name),
            ..
        }) => dir
            .child(&name)
            .is_none_or(|raw| !Arc::ptr_eq(&raw, &target)),
        _ => true,
    };
    Ok((target, reached))
}

/// What mount(2) was asked, after the syscall layer read the user's strings.
pub struct MountArgs<'a> {
    pub source: Option<&'a [u8]>,
    pub target: &'a [u8],
    pub fstype: Option<&'a [u8]>,
    pub flags: u64,
}

/// mount(2): new mounts of proc, sysfs, devtmpfs, devpts and tmpfs, bind mounts, remounts
/// (flags only) and propagation changes, with Linux's errors in Linux's order: the
/// target's lookup (ENOENT, ENOTDIR, ...), EPERM for a non-root caller, EINVAL for
/// a remount of something not mounted, ENODEV for an unknown type, ENOTDIR for a
/// mountpoint that is not a directory, EBUSY for sysfs/devtmpfs on itself.
/// `proc_source` gives a new procfs its facts.
pub fn mount(
    ctx: &FsContext,
    creds: &Creds,
    start: &Arc<Inode>,
    a: &MountArgs<'_>,
    proc_source: impl FnOnce() -> Arc<dyn super::proc::ProcSource>,
) -> Result<(), Errno> {
    let (target, is_mount) = resolve_target(ctx, creds, start, a.target, true)?;
    if !creds.is_root() {
        return Err(Errno::EPERM);
    }
    let table = &ctx.mounts;
    let flags = a.flags;
    if flags & MS_REMOUNT != 0 {
        let mut mounts = table.mounts.lock();
        if Arc::ptr_eq(&target, &ctx.root) {
            return Ok(());
        }
        let m = mounts
            .iter_mut()
            .rev()
            .find(|m| is_mount && Arc::ptr_eq(&m.root, &target))
            .ok_or(Errno::EINVAL)?;
        m.flags = flags & MS_SHOWN;
        return Ok(());
    }
    if flags & MS_BIND != 0 {
        let src = a.source.ok_or(Errno::EFAULT)?;
        let node = Walker::new(ctx, creds).resolve(start, src, true)?;
        if node.is_dir() != target.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        // Mounts here cover directories, not (mount, directory) pairs, so a bind
        // mount always shows what is mounted below its source, as MS_REC would. A
        // plain bind of a tree with mounts in it would show them where Linux shows
        // the directories underneath, and a script cleaning those (OpenRC's
        // bootmisc empties the /run *under* the tmpfs through `mount --bind / DIR`)
        // would destroy the mounted contents: refuse it rather than do that.
        if flags & MS_REC == 0 && table.has_mount_below(&node) {
            return Err(Errno::EINVAL);
        }
        // The root file system is "rootfs" in /proc/mounts, whatever built it.
        let kind = if Arc::ptr_eq(node.superblock(), ctx.superblock()) {
            FsType::Rootfs
        } else {
            node.superblock().kind
        };
        table.add(Mount {
            id: 0,
            parent: 0,
            mountpoint: target,
            root: node,
            source: source_name(table, src, kind),
            fstype: kind,
            flags: flags & MS_SHOWN,
        });
        return Ok(());
    }
    if flags & MS_PROPAGATION != 0 {
        // No propagation exists; asking for private (or shared) mounts is harmless, on
        // a mountpoint only, as Linux says.
        if Arc::ptr_eq(&target, &ctx.root) || is_mount {
            return Ok(());
        }
        return Err(Errno::EINVAL);
    }
    if flags & MS_MOVE != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = a.fstype.ok_or(Errno::EINVAL)?;
    let kind = FsType::from_name(kind).ok_or(Errno::ENODEV)?;
    if !target.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let root_sb = ctx.superblock().clone();
    let fresh = |dev: u64, kind: FsType| {
        let fs = Tmpfs::new_kind(super::inode::DEFAULT_LIMIT, dev, kind, None);
        fs.superblock().set_clock_from(&root_sb);
        if let Some(d) = root_sb.devices() {
            fs.superblock().set_devices(d);
        }
        fs
    };
    let fs: Arc<Tmpfs> = match kind {
        FsType::Tmpfs => Arc::new(fresh(table.new_dev(), kind)),
        FsType::Proc => {
            // Each proc mount is a new instance, as since Linux 5.8.
            let fs = Tmpfs::new_kind(0, table.new_dev(), kind, Some(proc_source()));
            fs.superblock().set_clock_from(&root_sb);
            Arc::new(fs)
        }
        FsType::Sysfs => table.singleton(kind, |dev| {
            let fs = fresh(dev, kind);
            super::sysfs::populate(&fs);
            fs
        }),
        FsType::Devtmpfs => table.singleton(kind, |_| {
            // Linux's devtmpfs is 0:5; it holds the device nodes the kernel made.
            let fs = fresh(makedev(0, 5), kind);
            copy_device_nodes(&target, &fs);
            fs
        }),
        FsType::Devpts => {
            // Every mount shows the one set of terminals (an instance each, as since
            // Linux 4.7, but all of them the system's ptys).
            let fs = super::devpts::new(table.new_dev());
            fs.superblock().set_clock_from(&root_sb);
            Arc::new(fs)
        }
        FsType::Rootfs => return Err(Errno::ENODEV),
    };
    if is_mount && Arc::ptr_eq(target.superblock(), fs.superblock()) {
        return Err(Errno::EBUSY);
    }
    let source = a.source.unwrap_or(b"none");
    table.add(Mount {
        id: 0,
        parent: 0,
        mountpoint: target,
        root: fs.root().clone(),
        source: source.to_vec(),
        fstype: kind,
        flags: flags & MS_SHOWN,
    });
    Ok(())
}

/// The source a bind mount shows: the source of the file system it came from.
fn source_name(table: &MountTable, path: &[u8], kind: FsType) -> Vec<u8> {
    if kind == FsType::Rootfs {
        return b"rootfs".to_vec();
    }
    table
        .list()
        .iter()
        .rev()
        .find(|m| m.fstype == kind)
        .map_or_else(|| path.to_vec(), |m| m.source.clone())
}

/// devtmpfs starts with the device nodes (and subdirectories, and symlinks) that the
/// kernel put in the `/dev` it now covers.
fn copy_device_nodes(dev_dir: &Arc<Inode>, fs: &Tmpfs) {
    fn copy(from: &Arc<Inode>, prefix: &mut Vec<u8>, fs: &Tmpfs, depth: u32) {
        if depth > 8 {
            return;
        }
        for (name, node) in from.entries() {
            let st = node.stat();
            let len = prefix.len();
            prefix.extend_from_slice(&name);
            let data = node.link_target().unwrap_or_default();
            let keep = matches!(
                node.kind,
                NodeKind::CharDev | NodeKind::BlockDev | NodeKind::Dir | NodeKind::Symlink
            );
            if keep {
                let _ = fs.insert(&super::CpioEntry {
                    path: prefix,
                    mode: st.mode,
                    uid: st.uid,
                    gid: st.gid,
                    rdev: st.rdev,
                    data: &data,
                });
            }
            if node.kind == NodeKind::Dir {
                prefix.push(b'/');
                copy(&node, prefix, fs, depth + 1);
            }
            prefix.truncate(len);
        }
    }
    copy(dev_dir, &mut Vec::new(), fs, 0);
}

/// umount2(2): EINVAL for unknown flags, the target's lookup errors, EPERM for a
/// non-root caller, EINVAL for something not mounted, EBUSY while something is
/// mounted below it (MNT_DETACH takes those along).
pub fn umount(
    ctx: &FsContext,
    creds: &Creds,
    start: &Arc<Inode>,
    path: &[u8],
    flags: u64,
) -> Result<(), Errno> {
    if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let follow = flags & UMOUNT_NOFOLLOW == 0;
    let (target, is_mount) = resolve_target(ctx, creds, start, path, follow)?;
    if !creds.is_root() {
        return Err(Errno::EPERM);
    }
    if !is_mount {
        return Err(Errno::EINVAL);
    }
    let mut mounts = ctx.mounts.mounts.lock();
    let i = mounts
        .iter()
        .rposition(|m| Arc::ptr_eq(&m.root, &target))
        .ok_or(Errno::EINVAL)?;
    let id = mounts[i].id;
    // The mounts below this one, transitively.
    let mut gone = alloc::vec![id];
    let mut k = 0;
    while k < gone.len() {
        let p = gone[k];
        gone.extend(mounts.iter().filter(|m| m.parent == p).map(|m| m.id));
        k += 1;
    }
    if gone.len() > 1 && flags & MNT_DETACH == 0 {
        return Err(Errno::EBUSY);
    }
    // The mount's inodes (and the mountpoint) must not be dropped under the lock: an
    // inode's drop takes its superblock's inode table lock, never this one, but keep
    // the rule simple.
    let removed: Vec<Mount> = {
        let (out, keep): (Vec<Mount>, Vec<Mount>) =
            mounts.drain(..).partition(|m| gone.contains(&m.id));
        *mounts = keep;
        out
    };
    drop(mounts);
    drop(removed);
    Ok(())
}

/// The text of /proc/mounts for a process whose view is `ctx`: one line per mount
/// visible from its root, `source mountpoint type options 0 0`.
pub fn mounts_text(ctx: &FsContext, creds: &Creds) -> Vec<u8> {
    let mut out = Vec::new();
    let w = Walker::new(ctx, creds);
    push_line(&mut out, b"rootfs", b"/", "rootfs", 0);
    for m in ctx.mounts.list() {
        let Ok(at) = w.path_of(&m.mountpoint) else {
            continue;
        };
        push_line(&mut out, &m.source, &at, m.fstype.name(), m.flags);
    }
    out
}

/// /proc/PID/mountinfo: `id parent major:minor root mountpoint options - type
/// source superoptions`, the root file system first (id 1).
pub fn mountinfo_text(ctx: &FsContext, creds: &Creds) -> Vec<u8> {
    let mut out = Vec::new();
    let w = Walker::new(ctx, creds);
    let (maj, min) = super::dev_split(ctx.superblock().dev);
    out.extend_from_slice(
        alloc::format!("1 1 {maj}:{min} / / rw,relatime - rootfs rootfs rw\n").as_bytes(),
    );
    for m in ctx.mounts.list() {
        let Ok(at) = w.path_of(&m.mountpoint) else {
            continue;
        };
        // The mount's root within its own file system ("/" unless a bind mount).
        let root = if m.root.parent().is_none() {
            b"/".to_vec()
        } else {
            w.path_of(&m.root).unwrap_or_else(|_| b"/".to_vec())
        };
        let (maj, min) = super::dev_split(m.root.superblock().dev);
        let head = alloc::format!("{} {} {maj}:{min} ", m.id + 1, m.parent + 1);
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&escape(&root));
        out.push(b' ');
        out.extend_from_slice(&escape(&at));
        out.push(b' ');
        out.extend_from_slice(&options(m.flags));
        out.extend_from_slice(b" - ");
        out.extend_from_slice(m.fstype.name().as_bytes());
        out.push(b' ');
        out.extend_from_slice(&escape(&m.source));
        let ro = m.flags & MS_RDONLY != 0;
        out.extend_from_slice(if ro { b" ro\n" } else { b" rw\n" });
    }
    out
}

fn push_line(out: &mut Vec<u8>, source: &[u8], at: &[u8], kind: &str, flags: u64) {
    out.extend_from_slice(&escape(source));
    out.push(b' ');
    out.extend_from_slice(&escape(at));
    out.push(b' ');
    out.extend_from_slice(kind.as_bytes());
    out.push(b' ');
    out.extend_from_slice(&options(flags));
    out.extend_from_slice(b" 0 0\n");
}

/// The per-mount options /proc/mounts shows: `rw` or `ro`, then the flags.
fn options(flags: u64) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(if flags & MS_RDONLY != 0 { b"ro" } else { b"rw" });
    for (bit, name) in [
        (MS_NOSUID, &b",nosuid"[..]),
        (MS_NODEV, b",nodev"),
        (MS_NOEXEC, b",noexec"),
    ] {
        if flags & bit != 0 {
            out.extend_from_slice(name);
        }
    }
    let atime: &[u8] = if flags & MS_NOATIME != 0 {
        b",noatime"
    } else {
        b",relatime"
    };
    out.extend_from_slice(atime);
    out
}

/// Linux's mangling of spaces, tabs, newlines and backslashes in /proc/mounts.
fn escape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &b in s {
        if matches!(b, b' ' | b'\t' | b'\n' | b'\\') {
            out.push(b'\\');
            out.push(b'0' + (b >> 6));
            out.push(b'0' + ((b >> 3) & 7));
            out.push(b'0' + (b & 7));
        } else {
            out.push(b);
        }
    }
    out
}
