//! Namespace and attribute operations, with Linux's checks in Linux's order.
//!
//! Each path operation resolves its parent with a [`Walker`], then takes the
//! superblock's namespace lock and re-reads the last component under it, so the
//! check and the change cannot be separated by another process's change.
//!
//! | call    | errors, in the order Linux reports them |
//! |---------|------------------------------------------|
//! | mkdir   | EEXIST (also `.`, `..`, `/`), ENOENT (removed parent), EACCES |
//! | mknod   | EINVAL (bad type), EPERM (directory), EEXIST, ENOENT, EACCES, EPERM (device, not root) |
//! | symlink | ENOENT (empty target, or `new/` with a trailing slash), EEXIST, EACCES |
//! | unlink  | EISDIR (`.`, `..`, `/`), ENOENT, ENOTDIR/EISDIR (trailing slash), EACCES, EPERM (sticky), EISDIR |
//! | rmdir   | EINVAL (`.`), ENOTEMPTY (`..`), EBUSY (`/`), ENOENT, EACCES, EPERM, ENOTDIR, EBUSY (root), ENOTEMPTY |
//! | rename  | EINVAL (flags), EBUSY (dots), ENOENT, EEXIST (NOREPLACE), ENOTDIR (slash), EINVAL (into itself), ENOTEMPTY (onto an ancestor), EACCES, EPERM, EISDIR/ENOTDIR, ENOTEMPTY |

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::inode::{Body, Inode, NodeKind};
use super::mode::*;
use super::namei::{Last, Parent, Walker};
use super::perm::{self, Creds, MAY_EXEC, MAY_READ, MAY_WRITE};
use super::{FsContext, NAME_MAX};
use crate::abi::Errno;

pub use super::rename::{rename, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT};

/// Owner of a node created in `dir`: the caller's fsuid, and the directory's group if
/// the directory is set-group-ID (else the caller's fsgid). The bool says whether the
/// directory is set-group-ID (new subdirectories inherit the bit).
pub(crate) fn new_owner(dir: &Inode, creds: &Creds) -> ((u32, u32), bool) {
    let (mode, (_, dgid)) = (dir.mode(), dir.owner());
    if mode & S_ISGID != 0 {
        ((creds.euid, dgid), true)
    } else {
        ((creds.euid, creds.egid), false)
    }
}

/// Linux's may_create: a removed directory takes no new entries (ENOENT), and the
/// caller needs write and search permission on it.
pub(crate) fn may_create(dir: &Inode, creds: &Creds) -> Result<(), Errno> {
    // procfs directories are generated: nothing can be made in them (Linux's lookup
    // of a new name there fails first, with ENOENT).
    if dir.proc_node().is_some() {
        return Err(Errno::ENOENT);
    }
    if dir.nlink() == 0 {
        return Err(Errno::ENOENT);
    }
    dir.permission(creds, MAY_WRITE | MAY_EXEC)?;
    // devpts makes its own entries: Linux's devpts directory has no mkdir, mknod,
    // symlink or link (EPERM).
    if super::devpts::is_root(dir) {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// Linux's may_delete: write and search on the directory, and in a sticky directory
/// only the file's or the directory's owner (or root) may remove (EPERM).
pub(crate) fn may_delete(dir: &Inode, victim: &Inode, creds: &Creds) -> Result<(), Errno> {
    if dir.proc_node().is_some() {
        return Err(Errno::EPERM);
    }
    dir.permission(creds, MAY_WRITE | MAY_EXEC)?;
    // Nor unlink or rmdir.
    if super::devpts::is_root(dir) {
        return Err(Errno::EPERM);
    }
    let (dmode, (duid, _)) = (dir.mode(), dir.owner());
    if dmode & S_ISVTX != 0
        && !creds.is_root()
        && creds.euid != victim.owner().0
        && creds.euid != duid
    {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// The name a create-type call makes, or its error for `.`, `..` and `/`.
fn new_name(p: &Parent) -> Result<&[u8], Errno> {
    match &p.last {
        Last::Name(n) if n.len() > NAME_MAX => Err(Errno::ENAMETOOLONG),
        Last::Name(n) => Ok(n),
        _ => Err(Errno::EEXIST),
    }
}

/// Creates a node called by `p`'s last name with `make` (given the owner and whether
/// the directory is set-group-ID). `dir_ok` says a trailing slash is acceptable (only
/// for mkdir).
pub(crate) fn create(
    p: &Parent,
    creds: &Creds,
    dir_ok: bool,
    checks: impl FnOnce() -> Result<(), Errno>,
    make: impl FnOnce((u32, u32), bool) -> Result<Arc<Inode>, Errno>,
) -> Result<Arc<Inode>, Errno> {
    let name = new_name(p)?;
    let sb = p.dir.superblock().clone();
    let _ns = sb.lock_namespace();
    if p.dir.child(name).is_some() {
        return Err(Errno::EEXIST);
    }
    if p.trailing && !dir_ok {
        return Err(Errno::ENOENT);
    }
    may_create(&p.dir, creds)?;
    checks()?;
    let (owner, setgid) = new_owner(&p.dir, creds);
    let node = make(owner, setgid)?;
    p.dir.insert_entry(name.to_vec(), node.clone());
    Ok(node)
}

pub fn mkdir(
    ctx: &FsContext,
    creds: &Creds,
    start: &Arc<Inode>,
    path: &[u8],
    mode: u32,
) -> Result<Arc<Inode>, Errno> {
    let p = Walker::new(ctx, creds).parent(start, path)?;
    let perm = mode & 0o1777 & !ctx.umask;
    let dir = p.dir.clone();
    create(
        &p,
        creds,
        true,
        || Ok(()),
        |owner, setgid| {
            let perm = if setgid { perm | S_ISGID } else { perm };
            Ok(dir.superblock().new_dir(perm, owner, &dir))
        },
    )
}

/// mknod: regular files, fifos, sockets, and (for root) character and block devices.
pub fn mknod(
    ctx: &FsContext,
    creds: &Creds,
    start: &Arc<Inode>,
    path: &[u8],
    mode: u32,
    rdev: u64,
) -> Result<Arc<Inode>, Errno> {
    let kind = match mode & S_IFMT {
        0 => NodeKind::File,
        S_IFDIR => return Err(Errno::EPERM),
        t => NodeKind::from_mode(t).ok_or(Errno::EINVAL)?,
    };
    let p = Walker::new(ctx, creds).parent(start, path)?;
    let perm = mode & S_IALLUGO & !ctx.umask;
    let sb = p.dir.superblock().clone();
    let device = matches!(kind, NodeKind::CharDev | NodeKind::BlockDev);
    let checks = || {
        if device && !creds.is_root() {
            Err(Errno::EPERM)
        } else {
            Ok(())
        }
    };
    create(&p, creds, false, checks, |owner, _| match kind {
        NodeKind::File => sb.new_file(perm, owner, Vec::new()),
        NodeKind::Fifo => Ok(sb.new_inode(kind, perm, owner, 0, Body::Fifo(Default::default()))),
        _ => Ok(sb.new_inode(
            kind,
            perm,
            owner,
            if device { rdev } else { 0 },
            Body::Special,
        )),
    })
}

pub fn symlink(
    ctx: &FsContext,
    creds: &Creds,
    target: &[u8],
    start: &Arc<Inode>,
    path: &[u8],
) -> Result<Arc<Inode>, Errno> {
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let p = Walker::new(ctx, creds).parent(start, path)?;
    let sb = p.dir.superblock().clone();
    create(
        &p,
        creds,
        false,
        || Ok(()),
        |owner, _| {
            Ok(sb.new_inode(
                NodeKind::Symlink,
                0o777,
                owner,
                0,
                Body::Symlink(target.to_vec()),
            ))
        },
    )
}

pub fn unlink(
    ctx: &FsContext,
    creds: &Creds,
    start: &Arc<Inode>,
    path: &[u8],
) -> Result<(), Errno> {
    let w = &mut Walker::new(ctx, creds);
    let p = w.parent(start, path)?;
    let Last::Name(name) = &p.last else {
        return Err(Errno::EISDIR);
    };
    let sb = p.dir.superblock().clone();
    let _ns = sb.lock_namespace();
    let victim = w.last_inode(&p)?;
    if p.trailing {
        return Err(if victim.is_dir() {
            Errno::EISDIR
        } else {
            Errno::ENOTDIR
        });
    }
    may_delete(&p.dir, &victim, creds)?;
    if victim.is_dir() {
        return Err(Errno::EISDIR);
    }
    p.dir.remove_entry(name);
    victim.drop_link();
    Ok(())
}

pub fn rmdir(ctx: &FsContext, creds: &Creds, start: &Arc<Inode>, path: &[u8]) -> Result<(), Errno> {
    let w = &mut Walker::new(ctx, creds);
    let p = w.parent(start, path)?;
    let name = match &p.last {
        Last::Name(n) => n,
        Last::Dot => return Err(Errno::EINVAL),
        Last::DotDot => return Err(Errno::ENOTEMPTY),
        Last::Root => return Err(Errno::EBUSY),
    };
    let sb = p.dir.superblock().clone();
    let _ns = sb.lock_namespace();
    let victim = w.last_inode(&p)?;
    may_delete(&p.dir, &victim, creds)?;
    if !victim.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if Arc::ptr_eq(&victim, &ctx.root) || ctx.mounts.is_mount_root(&victim) {
        return Err(Errno::EBUSY);
    }
    if !victim.is_empty_dir() {
        return Err(Errno::ENOTEMPTY);
    }
    p.dir.remove_entry(name);
    victim.drop_link();
    Ok(())
}

/// link/linkat: a new name for an existing non-directory. `old` is resolved with
/// `follow` (linkat's AT_SYMLINK_FOLLOW; link(2) does not follow).
pub fn link(
    ctx: &FsContext,
    creds: &Creds,
    old: (&Arc<Inode>, &[u8]),
    follow: bool,
    new: (&Arc<Inode>, &[u8]),
) -> Result<(), Errno> {
    let node = Walker::new(ctx, creds).resolve(old.0, old.1, follow)?;
    link_inode(ctx, creds, &node, new)
}

/// The second half of [`link`], for an inode already found (linkat's AT_EMPTY_PATH).
pub fn link_inode(
    ctx: &FsContext,
    creds: &Creds,
    node: &Arc<Inode>,
    new: (&Arc<Inode>, &[u8]),
) -> Result<(), Errno> {
    let p = Walker::new(ctx, creds).parent(new.0, new.1)?;
    if !Arc::ptr_eq(p.dir.superblock(), node.superblock()) {
        return Err(Errno::EXDEV);
    }
    let checks = || {
        if node.is_dir() {
            return Err(Errno::EPERM);
        }
        if node.nlink() == 0 {
            return Err(Errno::ENOENT);
        }
        // fs.protected_hardlinks (on by default): only the owner, or someone who may
        // read and write a regular file, may link to it.
        let (uid, _) = node.owner();
        if !perm::is_owner(uid, creds)
            && (node.kind != NodeKind::File
                || node.permission(creds, MAY_READ | MAY_WRITE).is_err())
        {
            return Err(Errno::EPERM);
        }
        Ok(())
    };
    create(&p, creds, false, checks, |_, _| {
        node.add_link();
        Ok(node.clone())
    })
    .map(|_| ())
}

/// chmod: the owner or root; a non-member of the file's group loses S_ISGID.
pub fn chmod(node: &Inode, creds: &Creds, mode: u32) -> Result<(), Errno> {
    let now = node.superblock().now();
    let mut st = node.state.lock();
    if !perm::is_owner(st.uid, creds) {
        return Err(Errno::EPERM);
    }
    let mut bits = mode & S_IALLUGO;
    if !creds.is_root() && !creds.in_group(st.gid) {
        bits &= !S_ISGID;
    }
    st.mode = (st.mode & S_IFMT) | bits;
    st.ctime = now;
    Ok(())
}

/// chown: root may give a file to anyone; the owner may only change its group, to one
/// of its own groups. A non-directory loses S_ISUID (and S_ISGID if group-executable).
pub fn chown(node: &Inode, creds: &Creds, uid: Option<u32>, gid: Option<u32>) -> Result<(), Errno> {
    let now = node.superblock().now();
    let mut st = node.state.lock();
    let owner = creds.euid == st.uid;
    if let Some(u) = uid {
        if !(creds.is_root() || owner && u == st.uid) {
            return Err(Errno::EPERM);
        }
    }
    if let Some(g) = gid {
        if !(creds.is_root() || owner && (creds.in_group(g) || g == st.gid)) {
            return Err(Errno::EPERM);
        }
    }
    st.uid = uid.unwrap_or(st.uid);
    st.gid = gid.unwrap_or(st.gid);
    if node.kind != NodeKind::Dir {
        st.mode &= !S_ISUID;
        if st.mode & (S_ISGID | 0o010) == (S_ISGID | 0o010) {
            st.mode &= !S_ISGID;
        }
    }
    st.ctime = now;
    Ok(())
}

/// One timestamp argument of utimensat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSet {
    Now,
    Omit,
    At(i64, i64),
}

/// utimensat: setting both to now needs ownership or write permission (EACCES);
/// setting an explicit time needs ownership (EPERM). Both omitted changes nothing.
pub fn utimens(node: &Inode, creds: &Creds, atime: TimeSet, mtime: TimeSet) -> Result<(), Errno> {
    if atime == TimeSet::Omit && mtime == TimeSet::Omit {
        return Ok(());
    }
    let explicit = matches!(atime, TimeSet::At(..)) || matches!(mtime, TimeSet::At(..));
    let (uid, _) = node.owner();
    if !perm::is_owner(uid, creds) {
        if explicit {
            return Err(Errno::EPERM);
        }
        node.permission(creds, MAY_WRITE)?;
    }
    let now = node.superblock().now();
    let mut st = node.state.lock();
    let pick = |t: TimeSet, old: (i64, i64)| match t {
        TimeSet::Now => now,
        TimeSet::Omit => old,
        TimeSet::At(s, ns) => (s, ns),
    };
    st.atime = pick(atime, st.atime);
    st.mtime = pick(mtime, st.mtime);
    st.ctime = now;
    Ok(())
}

/// truncate(2) on a resolved inode: EISDIR, EINVAL (not a regular file), EACCES.
pub fn truncate(node: &Inode, creds: &Creds, len: u64) -> Result<(), Errno> {
    match node.kind {
        NodeKind::Dir => return Err(Errno::EISDIR),
        NodeKind::File => {}
        _ => return Err(Errno::EINVAL),
    }
    node.permission(creds, MAY_WRITE)?;
    node.set_size(len)
}

/// One directory entry as getdents64 reports it; `next` is the position to resume
/// from after it (its `d_off`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    pub d_type: u8,
    pub next: u64,
}

/// The entries of `dir` from position `pos` on: `.` is 0, `..` is 1, then the entries
/// newest first, each at a position that removals do not move.
/// At most `max` entries (a getdents64 buffer of N bytes holds at most N / 24).
/// ENOENT for a removed directory, as Linux says.
pub fn read_dir(
    ctx: &FsContext,
    creds: &Creds,
    dir: &Arc<Inode>,
    pos: u64,
    max: usize,
) -> Result<Vec<DirEntry>, Errno> {
    if !dir.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if dir.nlink() == 0 {
        return Err(Errno::ENOENT);
    }
    let mut out = Vec::new();
    let dt = crate::abi::structs::DT_DIR;
    if pos == 0 {
        out.push(DirEntry {
            name: b".".to_vec(),
            ino: dir.ino,
            d_type: dt,
            next: 1,
        });
    }
    if pos <= 1 {
        let up = Walker::new(ctx, creds).dotdot(dir);
        out.push(DirEntry {
            name: b"..".to_vec(),
            ino: up.ino,
            d_type: dt,
            next: 2,
        });
    }
    dir.accessed();
    for (at, name, node) in dir.entries_from(pos, max) {
        out.push(DirEntry {
            name,
            ino: node.ino,
            d_type: node.kind.dirent_type(),
            next: at + 1,
        });
    }
    Ok(out)
}
