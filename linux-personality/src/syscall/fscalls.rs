//! File-system calls: open/openat/creat, the stat family, access, getdents64, mkdir,
//! unlink, rmdir, rename, symlink, readlink, chmod, chown, utimensat, truncate, chdir,
//! getcwd, umask, statfs, mknod.
//!
//! Each call reads its arguments through the checked user-memory accessor (EFAULT,
//! ENAMETOOLONG past PATH_MAX, ENOENT for an empty path), finds its starting directory
//! (the process root for an absolute path, whatever the dirfd; the cwd for AT_FDCWD;
//! else the directory behind the dirfd capability: EBADF if none, ENOTDIR if not a
//! directory), and then runs the tmpfs operation ([`crate::fs`]) with the caller's
//! credentials. A descriptor reaches its inode through its capability only: the
//! handle's `stat()` names the inode, [`crate::fs::Superblock::inode`] finds it.

use alloc::sync::Arc;
use alloc::vec::Vec;

use caps::Rights;

use super::fdcalls::stat_of;
use super::{Kernel, SysResult};
use crate::abi::structs::{push_dirent64, Statx, StatxTimestamp, Timespec, STATX_BASIC_STATS};
use crate::abi::Errno;
use crate::file::{flags::*, FileStat, OpenFile};
use crate::fs::namei::Walker;
use crate::fs::ops::{self, TimeSet};
use crate::fs::perm::Creds;
use crate::fs::{dev_split, open, FsContext, Inode};
use crate::uaccess::{read_cstring, write_struct, UserSlice, MAX_RW_COUNT, PATH_MAX};

pub const AT_FDCWD: i64 = -100;
pub const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
pub const AT_REMOVEDIR: u64 = 0x200;
pub const AT_EACCESS: u64 = 0x200;
pub const AT_NO_AUTOMOUNT: u64 = 0x800;
pub const AT_EMPTY_PATH: u64 = 0x1000;
pub const AT_STATX_SYNC_TYPE: u64 = 0x6000;
const STATX_RESERVED: u64 = 0x8000_0000;
pub const UTIME_NOW: i64 = (1 << 30) - 1;
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

fn path_arg<K: Kernel>(k: &mut K, addr: u64) -> Result<Vec<u8>, Errno> {
    read_cstring(k.mem(), addr, PATH_MAX)
}

/// A path argument that must not be empty (ENOENT, as Linux's getname says).
fn nonempty_path<K: Kernel>(k: &mut K, addr: u64) -> Result<Vec<u8>, Errno> {
    let p = path_arg(k, addr)?;
    if p.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(p)
}

fn fd_file<K: Kernel>(k: &mut K, fd: i64, need: Rights) -> Result<Arc<OpenFile>, Errno> {
    k.with_caps(|sys, t| t.get(sys, fd, need))
}

fn inode_of(ctx: &FsContext, f: &OpenFile) -> Option<Arc<Inode>> {
    let st = f.ops.stat();
    ctx.inode(st.dev, st.ino)
}

/// The tmpfs inode behind descriptor `fd` (EBADF if none; `other` if the descriptor
/// is not a tmpfs file).
fn fd_inode<K: Kernel>(
    k: &mut K,
    ctx: &FsContext,
    fd: u64,
    other: Errno,
) -> Result<(Arc<OpenFile>, Arc<Inode>), Errno> {
    let f = fd_file(k, fd as i32 as i64, Rights::empty())?;
    let node = inode_of(ctx, &f).ok_or(other)?;
    Ok((f, node))
}

fn is_o_path(f: &OpenFile) -> bool {
    f.status() & O_PATH != 0
}

/// Where a relative `path` starts.
fn start_dir<K: Kernel>(
    k: &mut K,
    ctx: &FsContext,
    dirfd: u64,
    path: &[u8],
) -> Result<Arc<Inode>, Errno> {
    if path.first() == Some(&b'/') {
        return Ok(ctx.root.clone());
    }
    let dirfd = dirfd as i32 as i64;
    if dirfd == AT_FDCWD {
        return Ok(ctx.cwd.clone());
    }
    let f = fd_file(k, dirfd, Rights::empty())?;
    match inode_of(ctx, &f) {
        Some(n) if n.is_dir() => Ok(n),
        _ => Err(Errno::ENOTDIR),
    }
}

fn context<K: Kernel>(k: &mut K) -> (FsContext, Creds) {
    (k.fs().clone(), k.creds())
}

/// The start of the `*at` calls that take AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH: check
/// the flags (EINVAL for others), read the path, resolve it as they say.
fn at_target<K: Kernel>(
    k: &mut K,
    dirfd: u64,
    path: u64,
    flags: u64,
) -> Result<(Arc<Inode>, Creds), Errno> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(k, path)?;
    let (ctx, creds) = context(k);
    let node = target_at(k, &ctx, &creds, dirfd, &path, flags)?;
    Ok((node, creds))
}

/// [`target`] with AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH taken from `flags`.
fn target_at<K: Kernel>(
    k: &mut K,
    ctx: &FsContext,
    creds: &Creds,
    dirfd: u64,
    path: &[u8],
    flags: u64,
) -> Result<Arc<Inode>, Errno> {
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    target(
        k,
        ctx,
        creds,
        dirfd,
        path,
        follow,
        flags & AT_EMPTY_PATH != 0,
    )
}

/// The inode `dirfd` + `path` names; an empty path with `empty_ok` (AT_EMPTY_PATH)
/// names the dirfd itself.
fn target<K: Kernel>(
    k: &mut K,
    ctx: &FsContext,
    creds: &Creds,
    dirfd: u64,
    path: &[u8],
    follow: bool,
    empty_ok: bool,
) -> Result<Arc<Inode>, Errno> {
    if path.is_empty() {
        if !empty_ok {
            return Err(Errno::ENOENT);
        }
        if dirfd as i32 as i64 == AT_FDCWD {
            return Ok(ctx.cwd.clone());
        }
        return fd_inode(k, ctx, dirfd, Errno::EPERM).map(|(_, n)| n);
    }
    let start = start_dir(k, ctx, dirfd, path)?;
    Walker::new(ctx, creds).resolve(&start, path, follow)
}

pub fn openat<K: Kernel>(k: &mut K, dirfd: u64, path: u64, flags: u64, mode: u64) -> SysResult {
    let path = nonempty_path(k, path)?;
    let (ctx, creds) = context(k);
    let start = start_dir(k, &ctx, dirfd, &path)?;
    let flags = flags as u32;
    let o = open::open(&ctx, &creds, &start, &path, flags, mode as u32)?;
    let file = OpenFile::new(o.ops, o.status);
    let cloexec = flags & O_CLOEXEC != 0;
    k.with_caps(|sys, t| t.install(sys, file, o.rights, cloexec))
        .map(u64::from)
}

/// ioctl(master, TIOCGPTPEER, flags): the slave of pty `n` on a new descriptor opened
/// with `flags` (access mode, O_NONBLOCK, O_CLOEXEC, O_NOCTTY), as if by its path but
/// without the path's permission check (holding the master is the right to it). EIO
/// while locked. The descriptor names the /dev/pts/N node when devpts is mounted there
/// (fstat, ttyname), else the bare device.
pub fn open_pty_peer<K: Kernel>(k: &mut K, n: u32, flags: u32) -> SysResult {
    use crate::fs::devpts::pts_dev;
    if flags & !(O_ACCMODE | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) != 0 {
        return Err(Errno::EINVAL);
    }
    let slave: Arc<dyn crate::file::FileOps> = crate::pty::open_slave(n)?;
    let (ctx, creds) = context(k);
    let path = alloc::format!("/dev/pts/{n}");
    let node = Walker::new(&ctx, &creds)
        .resolve(&ctx.root, path.as_bytes(), true)
        .ok()
        .filter(|node| node.kind == crate::fs::NodeKind::CharDev && node.rdev() == pts_dev(n));
    let ops: Arc<dyn crate::file::FileOps> = match node {
        Some(node) => Arc::new(crate::fs::handle::DeviceHandle {
            node,
            driver: slave,
        }),
        None => slave,
    };
    let status = flags & (O_ACCMODE | O_NONBLOCK);
    let file = OpenFile::new(ops, status);
    let cloexec = flags & O_CLOEXEC != 0;
    k.with_caps(|sys, t| t.install(sys, file, OpenFile::rights_for(status), cloexec))
        .map(u64::from)
}

pub fn creat<K: Kernel>(k: &mut K, path: u64, mode: u64) -> SysResult {
    openat(
        k,
        AT_FDCWD as u64,
        path,
        u64::from(O_CREAT | O_WRONLY | O_TRUNC),
        mode,
    )
}

/// What the stat family reports for `dirfd` + `path` under `flags`.
fn stat_at<K: Kernel>(k: &mut K, dirfd: u64, path: u64, flags: u64) -> Result<FileStat, Errno> {
    // Since Linux 6.11 a NULL path with AT_EMPTY_PATH means "".
    let path = if path == 0 && flags & AT_EMPTY_PATH != 0 {
        Vec::new()
    } else {
        path_arg(k, path)?
    };
    let (ctx, creds) = context(k);
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 && dirfd as i32 as i64 != AT_FDCWD {
        // fstat semantics: any descriptor, tmpfs or not.
        let f = fd_file(k, dirfd as i32 as i64, Rights::empty())?;
        return Ok(f.ops.stat());
    }
    let node = target_at(k, &ctx, &creds, dirfd, &path, flags)?;
    Ok(node.stat())
}

pub fn newfstatat<K: Kernel>(k: &mut K, dirfd: u64, path: u64, buf: u64, flags: u64) -> SysResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_at(k, dirfd, path, flags)?;
    write_struct(k.mem(), buf, &stat_of(&st))?;
    Ok(0)
}

fn statx_time(t: (i64, i64)) -> StatxTimestamp {
    StatxTimestamp {
        tv_sec: t.0,
        tv_nsec: t.1 as u32,
        reserved: 0,
    }
}

pub fn statx<K: Kernel>(
    k: &mut K,
    dirfd: u64,
    path: u64,
    flags: u64,
    mask: u64,
    buf: u64,
) -> SysResult {
    let known = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE;
    if flags & !known != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
        || mask & STATX_RESERVED != 0
    {
        return Err(Errno::EINVAL);
    }
    let st = stat_at(k, dirfd, path, flags)?;
    let (rmaj, rmin) = dev_split(st.rdev);
    let (dmaj, dmin) = dev_split(st.dev);
    let sx = Statx {
        stx_mask: STATX_BASIC_STATS,
        stx_blksize: st.blksize,
        stx_nlink: st.nlink,
        stx_uid: st.uid,
        stx_gid: st.gid,
        stx_mode: st.mode as u16,
        stx_ino: st.ino,
        stx_size: st.size,
        stx_blocks: st.blocks,
        stx_atime: statx_time(st.atime),
        stx_ctime: statx_time(st.ctime),
        stx_mtime: statx_time(st.mtime),
        stx_rdev_major: rmaj,
        stx_rdev_minor: rmin,
        stx_dev_major: dmaj,
        stx_dev_minor: dmin,
        ..Statx::default()
    };
    write_struct(k.mem(), buf, &sx)?;
    Ok(0)
}

pub fn faccessat2<K: Kernel>(k: &mut K, dirfd: u64, path: u64, mode: u64, flags: u64) -> SysResult {
    if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(k, path)?;
    let (ctx, creds) = context(k);
    // access(2) asks about the real ids unless AT_EACCESS; the lookup uses them too.
    let creds = if flags & AT_EACCESS != 0 {
        creds
    } else {
        creds.real()
    };
    let node = target_at(k, &ctx, &creds, dirfd, &path, flags)?;
    // R_OK, W_OK, X_OK are MAY_READ, MAY_WRITE, MAY_EXEC bit for bit.
    if mode != 0 {
        node.permission(&creds, mode as u32)?;
    }
    Ok(0)
}

pub fn getdents64<K: Kernel>(k: &mut K, fd: u64, dirp: u64, count: u64) -> SysResult {
    let f = fd_file(k, fd as i32 as i64, Rights::READ)?;
    let (ctx, creds) = context(k);
    let node = inode_of(&ctx, &f)
        .filter(|n| n.is_dir())
        .ok_or(Errno::ENOTDIR)?;
    let user = UserSlice::new(dirp, count)?;
    let pos = *f.offset.lock();
    // No record is shorter than 24 bytes: more entries than that cannot fit.
    let max = usize::try_from(count / 24)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let entries = ops::read_dir(&ctx, &creds, &node, pos, max)?;
    let space = usize::try_from(count).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let mut next = pos;
    for e in &entries {
        let room = space - out.len();
        if !push_dirent64(&mut out, room, e.ino, e.next as i64, e.d_type, &e.name) {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        next = e.next;
    }
    user.write_at(k.mem(), 0, &out)?;
    *f.offset.lock() = next;
    Ok(out.len() as u64)
}

pub fn mkdirat<K: Kernel>(k: &mut K, dirfd: u64, path: u64, mode: u64) -> SysResult {
    let path = nonempty_path(k, path)?;
    let (ctx, creds) = context(k);
    let start = start_dir(k, &ctx, dirfd, &path)?;
    ops::mkdir(&ctx, &creds, &start, &path, mode as u32).map(|_| 0)
}

pub fn mknodat<K: Kernel>(k: &mut K, dirfd: u64, path: u64, mode: u64, dev: u64) -> SysResult {
    use crate::fs::mode::*;
    let mode = mode as u32;
    // Linux judges the type before it looks at the path.
    match mode & S_IFMT {
        0 | S_IFREG | S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK => {}
        S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    let path = nonempty_path(k, path)?;
    let (ctx, creds) = context(k);
    let start = start_dir(k, &ctx, dirfd, &path)?;
    ops::mknod(&ctx, &creds, &start, &path, mode, u64::from(dev as u32)).map(|_| 0)
}

pub fn unlinkat<K: Kernel>(k: &mut K, dirfd: u64, path: u64, flags: u64) -> SysResult {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let path = nonempty_path(k, path)?;
    let (ctx, creds) = context(k);
    let start = start_dir(k, &ctx, dirfd, &path)?;
    if flags & AT_REMOVEDIR != 0 {
        ops::rmdir(&ctx, &creds, &start, &path).map(|_| 0)
    } else {
        ops::unlink(&ctx, &creds, &start, &path).map(|_| 0)
    }
}

pub fn renameat2<K: Kernel>(
    k: &mut K,
    olddir: u64,
    old: u64,
    newdir: u64,
    new: u64,
    flags: u64,
) -> SysResult {
    let old = nonempty_path(k, old)?;
    let new = nonempty_path(k, new)?;
    let flags = u32::try_from(flags).map_err(|_| Errno::EINVAL)?;
    let known = ops::RENAME_NOREPLACE | ops::RENAME_EXCHANGE | ops::RENAME_WHITEOUT;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let (ctx, creds) = context(k);
    let from = start_dir(k, &ctx, olddir, &old)?;
    let to = start_dir(k, &ctx, newdir, &new)?;
    ops::rename(&ctx, &creds, (&from, &old), (&to, &new), flags).map(|_| 0)
}

pub const AT_SYMLINK_FOLLOW: u64 = 0x400;

pub fn linkat<K: Kernel>(
    k: &mut K,
    olddir: u64,
    old: u64,
    newdir: u64,
    new: u64,
    flags: u64,
) -> SysResult {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let old = path_arg(k, old)?;
    let new = nonempty_path(k, new)?;
    let (ctx, creds) = context(k);
    let follow = flags & AT_SYMLINK_FOLLOW != 0;
    let node = target(
        k,
        &ctx,
        &creds,
        olddir,
        &old,
        follow,
        flags & AT_EMPTY_PATH != 0,
    )?;
    let to = start_dir(k, &ctx, newdir, &new)?;
    ops::link_inode(&ctx, &creds, &node, (&to, &new)).map(|_| 0)
}

pub fn symlinkat<K: Kernel>(k: &mut K, target: u64, dirfd: u64, path: u64) -> SysResult {
    let target = nonempty_path(k, target)?;
    let path = nonempty_path(k, path)?;
    let (ctx, creds) = context(k);
    let start = start_dir(k, &ctx, dirfd, &path)?;
    ops::symlink(&ctx, &creds, &target, &start, &path).map(|_| 0)
}

pub fn readlinkat<K: Kernel>(k: &mut K, dirfd: u64, path: u64, buf: u64, size: u64) -> SysResult {
    let size = size as i32;
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(k, path)?;
    let (ctx, creds) = context(k);
    let node = if path.is_empty() {
        // readlinkat(fd, "") reads the symlink an O_PATH|O_NOFOLLOW descriptor names.
        if dirfd as i32 as i64 == AT_FDCWD {
            return Err(Errno::ENOENT);
        }
        let (_, n) = fd_inode(k, &ctx, dirfd, Errno::ENOENT)?;
        if !n.is_symlink() {
            return Err(Errno::ENOENT);
        }
        n
    } else {
        target(k, &ctx, &creds, dirfd, &path, false, false)?
    };
    let link = Walker::new(&ctx, &creds).link_text(&node)?;
    let n = link.len().min(size as usize);
    UserSlice::new(buf, n as u64)?.write_at(k.mem(), 0, &link[..n])?;
    Ok(n as u64)
}

pub fn fchmodat<K: Kernel>(k: &mut K, dirfd: u64, path: u64, mode: u64) -> SysResult {
    let path = nonempty_path(k, path)?;
    let (ctx, creds) = context(k);
    let node = target(k, &ctx, &creds, dirfd, &path, true, false)?;
    ops::chmod(&node, &creds, mode as u32).map(|_| 0)
}

/// fchmodat2: fchmodat with flags; a symlink's own mode cannot change (EOPNOTSUPP).
pub fn fchmodat2<K: Kernel>(k: &mut K, dirfd: u64, path: u64, mode: u64, flags: u64) -> SysResult {
    let (node, creds) = at_target(k, dirfd, path, flags)?;
    if node.is_symlink() {
        return Err(Errno::EOPNOTSUPP);
    }
    ops::chmod(&node, &creds, mode as u32).map(|_| 0)
}

pub fn fchmod<K: Kernel>(k: &mut K, fd: u64, mode: u64) -> SysResult {
    let (ctx, creds) = context(k);
    let (f, node) = fd_inode(k, &ctx, fd, Errno::EPERM)?;
    if is_o_path(&f) {
        return Err(Errno::EBADF);
    }
    ops::chmod(&node, &creds, mode as u32).map(|_| 0)
}

fn id_arg(v: u64) -> Option<u32> {
    let v = v as u32;
    (v != u32::MAX).then_some(v)
}

pub fn fchownat<K: Kernel>(
    k: &mut K,
    dirfd: u64,
    path: u64,
    uid: u64,
    gid: u64,
    flags: u64,
) -> SysResult {
    let (node, creds) = at_target(k, dirfd, path, flags)?;
    ops::chown(&node, &creds, id_arg(uid), id_arg(gid)).map(|_| 0)
}

pub fn fchown<K: Kernel>(k: &mut K, fd: u64, uid: u64, gid: u64) -> SysResult {
    let (ctx, creds) = context(k);
    let (f, node) = fd_inode(k, &ctx, fd, Errno::EPERM)?;
    if is_o_path(&f) {
        return Err(Errno::EBADF);
    }
    ops::chown(&node, &creds, id_arg(uid), id_arg(gid)).map(|_| 0)
}

fn time_arg(t: &Timespec) -> Result<TimeSet, Errno> {
    match t.tv_nsec {
        UTIME_NOW => Ok(TimeSet::Now),
        UTIME_OMIT => Ok(TimeSet::Omit),
        n if (0..1_000_000_000).contains(&n) => Ok(TimeSet::At(t.tv_sec, n)),
        _ => Err(Errno::EINVAL),
    }
}

pub fn utimensat<K: Kernel>(k: &mut K, dirfd: u64, path: u64, times: u64, flags: u64) -> SysResult {
    let (atime, mtime) = if times == 0 {
        (TimeSet::Now, TimeSet::Now)
    } else {
        let t: [Timespec; 2] = crate::uaccess::read_struct(k.mem(), times)?;
        (time_arg(&t[0])?, time_arg(&t[1])?)
    };
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    if atime == TimeSet::Omit && mtime == TimeSet::Omit {
        return Ok(0);
    }
    let (ctx, creds) = context(k);
    let node = if path == 0 && dirfd as i32 as i64 != AT_FDCWD {
        // utimensat(fd, NULL, ...) is futimens(fd).
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let (f, node) = fd_inode(k, &ctx, dirfd, Errno::EPERM)?;
        if is_o_path(&f) {
            return Err(Errno::EBADF);
        }
        node
    } else {
        let path = path_arg(k, path)?;
        target_at(k, &ctx, &creds, dirfd, &path, flags)?
    };
    ops::utimens(&node, &creds, atime, mtime).map(|_| 0)
}

pub fn truncate<K: Kernel>(k: &mut K, path: u64, len: u64) -> SysResult {
    if (len as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let path = nonempty_path(k, path)?;
    let (ctx, creds) = context(k);
    let node = target(k, &ctx, &creds, AT_FDCWD as u64, &path, true, false)?;
    ops::truncate(&node, &creds, len).map(|_| 0)
}

pub fn ftruncate<K: Kernel>(k: &mut K, fd: u64, len: u64) -> SysResult {
    if (len as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let fd = fd as i32 as i64;
    let f = fd_file(k, fd, Rights::empty())?;
    if is_o_path(&f) {
        return Err(Errno::EBADF);
    }
    // Linux: a descriptor not open for writing, or not a regular file, is EINVAL.
    fd_file(k, fd, Rights::WRITE).map_err(|_| Errno::EINVAL)?;
    let ctx = k.fs().clone();
    let node = inode_of(&ctx, &f)
        .filter(|n| n.kind == crate::fs::NodeKind::File)
        .ok_or(Errno::EINVAL)?;
    node.set_size(len).map(|_| 0)
}

fn enter_dir<K: Kernel>(k: &mut K, creds: &Creds, node: Arc<Inode>) -> SysResult {
    if !node.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    node.permission(creds, crate::fs::perm::MAY_EXEC)?;
    k.fs().cwd = node;
    Ok(0)
}

pub fn chdir<K: Kernel>(k: &mut K, path: u64) -> SysResult {
    let path = nonempty_path(k, path)?;
    let (ctx, creds) = context(k);
    let node = target(k, &ctx, &creds, AT_FDCWD as u64, &path, true, false)?;
    enter_dir(k, &creds, node)
}

/// chroot: the caller's root becomes the directory `path` names (`..` stops there and
/// absolute paths start there); the working directory stays. Linux's order: the
/// lookup's errors, search permission (EACCES), then privilege (EPERM: CAP_SYS_CHROOT
/// is root's).
pub fn chroot<K: Kernel>(k: &mut K, path: u64) -> SysResult {
    let path = nonempty_path(k, path)?;
    let (ctx, creds) = context(k);
    let node = target(k, &ctx, &creds, AT_FDCWD as u64, &path, true, false)?;
    if !node.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    node.permission(&creds, crate::fs::perm::MAY_EXEC)?;
    if !creds.is_root() {
        return Err(Errno::EPERM);
    }
    k.fs().root = node;
    Ok(0)
}

pub fn fchdir<K: Kernel>(k: &mut K, fd: u64) -> SysResult {
    let (ctx, creds) = context(k);
    let (_, node) = fd_inode(k, &ctx, fd, Errno::ENOTDIR)?;
    enter_dir(k, &creds, node)
}

pub fn getcwd<K: Kernel>(k: &mut K, buf: u64, size: u64) -> SysResult {
    let (ctx, creds) = context(k);
    let mut path = Walker::new(&ctx, &creds).path_of(&ctx.cwd)?;
    path.push(0);
    if path.len() as u64 > size {
        return Err(Errno::ERANGE);
    }
    UserSlice::new(buf, path.len() as u64)?.write_at(k.mem(), 0, &path)?;
    Ok(path.len() as u64)
}

pub fn umask<K: Kernel>(k: &mut K, mask: u64) -> SysResult {
    let ctx = k.fs();
    let old = ctx.umask;
    ctx.umask = mask as u32 & 0o777;
    Ok(u64::from(old))
}

pub fn statfs<K: Kernel>(k: &mut K, path: u64, buf: u64) -> SysResult {
    let path = nonempty_path(k, path)?;
    let (ctx, creds) = context(k);
    let node = target(k, &ctx, &creds, AT_FDCWD as u64, &path, true, false)?;
    write_struct(k.mem(), buf, &node.superblock().statfs())?;
    Ok(0)
}

pub fn fstatfs<K: Kernel>(k: &mut K, fd: u64, buf: u64) -> SysResult {
    let f = fd_file(k, fd as i32 as i64, Rights::empty())?;
    let ctx = k.fs().clone();
    // A descriptor on a mounted file system reports that one; pipes and the rest
    // report the root's (they have no file system here).
    let sb =
        inode_of(&ctx, &f).map_or_else(|| ctx.superblock().clone(), |n| n.superblock().clone());
    write_struct(k.mem(), buf, &sb.statfs())?;
    Ok(0)
}

/// A string argument that may be NULL.
fn opt_string<K: Kernel>(k: &mut K, addr: u64, max: usize) -> Result<Option<Vec<u8>>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    read_cstring(k.mem(), addr, max).map(Some)
}

/// mount(2): see [`crate::fs::mount::mount`]. The options string (`data`) is not
/// read: no file system here takes options.
pub fn mount<K: Kernel>(k: &mut K, source: u64, target: u64, fstype: u64, flags: u64) -> SysResult {
    let fstype = opt_string(k, fstype, 4096)?;
    let source = opt_string(k, source, PATH_MAX)?;
    let target = nonempty_path(k, target)?;
    let (ctx, creds) = context(k);
    let start = start_dir(k, &ctx, AT_FDCWD as u64, &target)?;
    let args = crate::fs::mount::MountArgs {
        source: source.as_deref(),
        target: &target,
        fstype: fstype.as_deref(),
        // MS_MGC_VAL in the top half is the old magic, ignored as Linux ignores it.
        flags: if flags >> 16 == 0xC0ED {
            flags & 0xffff
        } else {
            flags
        },
    };
    let src = k.proc_source();
    crate::fs::mount::mount(&ctx, &creds, &start, &args, || src).map(|_| 0)
}

pub fn umount2<K: Kernel>(k: &mut K, target: u64, flags: u64) -> SysResult {
    let target = nonempty_path(k, target)?;
    let (ctx, creds) = context(k);
    let start = start_dir(k, &ctx, AT_FDCWD as u64, &target)?;
    crate::fs::mount::umount(&ctx, &creds, &start, &target, flags).map(|_| 0)
}

/// The tmpfs inode behind a descriptor open for I/O (not O_PATH): EBADF otherwise.
fn io_inode<K: Kernel>(k: &mut K, fd: u64) -> Result<(Arc<OpenFile>, Option<Arc<Inode>>), Errno> {
    let f = fd_file(k, fd as i32 as i64, Rights::empty())?;
    if is_o_path(&f) {
        return Err(Errno::EBADF);
    }
    let ctx = k.fs().clone();
    let node = inode_of(&ctx, &f);
    Ok((f, node))
}

/// fsync/fdatasync: tmpfs has nothing to write back; pipes, sockets and ttys are
/// EINVAL, as on Linux.
pub fn fsync<K: Kernel>(k: &mut K, fd: u64) -> SysResult {
    match io_inode(k, fd)? {
        (_, Some(_)) => Ok(0),
        (_, None) => Err(Errno::EINVAL),
    }
}

pub fn syncfs<K: Kernel>(k: &mut K, fd: u64) -> SysResult {
    fd_file(k, fd as i32 as i64, Rights::empty())?;
    Ok(0)
}

const POSIX_FADV_NOREUSE: u64 = 5;

/// fadvise64: advice is accepted and ignored for files; a pipe is ESPIPE.
pub fn fadvise64<K: Kernel>(k: &mut K, fd: u64, _off: u64, _len: u64, advice: u64) -> SysResult {
    if io_inode(k, fd)?.1.is_none() {
        return Err(Errno::ESPIPE);
    }
    if advice > POSIX_FADV_NOREUSE {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

const FALLOC_FL_KEEP_SIZE: u64 = 1;
const FALLOC_FL_PUNCH_HOLE: u64 = 2;

/// fallocate: mode 0 grows the file to `off + len`, KEEP_SIZE does nothing more (no
/// preallocation in memory), PUNCH_HOLE|KEEP_SIZE zeros the range; tmpfs supports
/// nothing else (EOPNOTSUPP). Checks in Linux's order.
pub fn fallocate<K: Kernel>(k: &mut K, fd: u64, mode: u64, off: u64, len: u64) -> SysResult {
    let (off, len) = (off as i64, len as i64);
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    let supported = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE;
    let punch = mode & FALLOC_FL_PUNCH_HOLE != 0;
    if mode & !supported != 0 || (punch && mode & FALLOC_FL_KEEP_SIZE == 0) {
        return Err(Errno::EOPNOTSUPP);
    }
    let fd = fd as i32 as i64;
    let f = fd_file(k, fd, Rights::empty())?;
    fd_file(k, fd, Rights::WRITE).map_err(|_| Errno::EBADF)?;
    let ctx = k.fs().clone();
    let Some(node) = inode_of(&ctx, &f) else {
        return Err(Errno::ESPIPE);
    };
    match node.kind {
        crate::fs::NodeKind::Dir => return Err(Errno::EISDIR),
        crate::fs::NodeKind::File => {}
        _ => return Err(Errno::ENODEV),
    }
    let end = off.checked_add(len).ok_or(Errno::EFBIG)? as u64;
    if punch {
        node.punch_hole(off as u64, len as u64)?;
    } else if mode & FALLOC_FL_KEEP_SIZE == 0 && end > node.size() {
        node.set_size(end)?;
    }
    Ok(0)
}

/// sendfile: copies up to `count` bytes from `in_fd` (a file, read at `*offset` if
/// given, else at and advancing its own offset) to `out_fd`, in kernel buffers. EBADF
/// without READ on `in_fd` or WRITE on `out_fd`; EINVAL for an unseekable input or an
/// O_APPEND output, as Linux says.
pub fn sendfile<K: Kernel>(
    k: &mut K,
    out_fd: u64,
    in_fd: u64,
    offset: u64,
    count: u64,
) -> SysResult {
    let input = fd_file(k, in_fd as i32 as i64, Rights::READ)?;
    let output = fd_file(k, out_fd as i32 as i64, Rights::WRITE)?;
    let ctx = k.fs().clone();
    let dir_input = inode_of(&ctx, &input).is_some_and(|n| n.is_dir());
    if !input.ops.seekable() || dir_input || output.status() & O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let mut pos = if offset == 0 {
        *input.offset.lock()
    } else {
        let p: i64 = crate::uaccess::read_struct(k.mem(), offset)?;
        u64::try_from(p).map_err(|_| Errno::EINVAL)?
    };
    let count = count.min(MAX_RW_COUNT);
    let mut done = 0u64;
    let mut buf = alloc::vec![0u8; (count as usize).min(64 * 1024)];
    while done < count {
        let want = ((count - done) as usize).min(buf.len());
        let n = match input.ops.read(pos, &mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        match send_all(k, &output, &buf[..n]) {
            Ok(w) => {
                done += w as u64;
                pos += w as u64;
                if w < n {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    if offset == 0 {
        *input.offset.lock() = pos;
    } else {
        crate::uaccess::write_struct(k.mem(), offset, &(pos as i64))?;
    }
    Ok(done)
}

/// Writes `data` to an open file as write(2) would (at and advancing its offset when
/// seekable, waiting while a pipe or socket is full unless non-blocking); returns how
/// much was written before the first short write.
fn send_all<K: Kernel>(k: &mut K, f: &OpenFile, data: &[u8]) -> Result<usize, Errno> {
    let mut done = 0;
    while done < data.len() {
        let r = if f.ops.seekable() {
            let mut off = f.offset.lock();
            let r = f.ops.write(*off, &data[done..]);
            if let Ok(n) = r {
                *off += n as u64;
            }
            r
        } else {
            f.ops.write(0, &data[done..])
        };
        match r {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(Errno::EAGAIN) if done == 0 && !f.nonblocking() => {
                let ops = f.ops.clone();
                let want = crate::file::poll::POLLOUT
                    | crate::file::poll::POLLERR
                    | crate::file::poll::POLLHUP;
                k.wait(ops.wait_key(), &mut || ops.poll() & want != 0)?;
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

/// Every call of this module by number, for [`super::dispatch`].
pub fn call<K: Kernel>(k: &mut K, n: usize, a: [u64; 6]) -> Option<SysResult> {
    use crate::abi::nr;
    let cwd = AT_FDCWD as u64;
    Some(match n {
        nr::OPEN => openat(k, cwd, a[0], a[1], a[2]),
        nr::OPENAT => openat(k, a[0], a[1], a[2], a[3]),
        nr::CREAT => creat(k, a[0], a[1]),
        nr::STAT => newfstatat(k, cwd, a[0], a[1], 0),
        nr::LSTAT => newfstatat(k, cwd, a[0], a[1], AT_SYMLINK_NOFOLLOW),
        nr::NEWFSTATAT => newfstatat(k, a[0], a[1], a[2], a[3]),
        nr::STATX => statx(k, a[0], a[1], a[2], a[3], a[4]),
        nr::ACCESS => faccessat2(k, cwd, a[0], a[1], 0),
        nr::FACCESSAT => faccessat2(k, a[0], a[1], a[2], 0),
        nr::FACCESSAT2 => faccessat2(k, a[0], a[1], a[2], a[3]),
        nr::GETDENTS64 => getdents64(k, a[0], a[1], a[2]),
        nr::MKDIR => mkdirat(k, cwd, a[0], a[1]),
        nr::MKDIRAT => mkdirat(k, a[0], a[1], a[2]),
        nr::MKNOD => mknodat(k, cwd, a[0], a[1], a[2]),
        nr::MKNODAT => mknodat(k, a[0], a[1], a[2], a[3]),
        nr::UNLINK => unlinkat(k, cwd, a[0], 0),
        nr::UNLINKAT => unlinkat(k, a[0], a[1], a[2]),
        nr::RMDIR => unlinkat(k, cwd, a[0], AT_REMOVEDIR),
        nr::RENAME => renameat2(k, cwd, a[0], cwd, a[1], 0),
        nr::RENAMEAT => renameat2(k, a[0], a[1], a[2], a[3], 0),
        nr::RENAMEAT2 => renameat2(k, a[0], a[1], a[2], a[3], a[4]),
        nr::LINK => linkat(k, cwd, a[0], cwd, a[1], 0),
        nr::LINKAT => linkat(k, a[0], a[1], a[2], a[3], a[4]),
        nr::SYMLINK => symlinkat(k, a[0], cwd, a[1]),
        nr::SYMLINKAT => symlinkat(k, a[0], a[1], a[2]),
        nr::READLINK => readlinkat(k, cwd, a[0], a[1], a[2]),
        nr::READLINKAT => readlinkat(k, a[0], a[1], a[2], a[3]),
        nr::CHMOD => fchmodat(k, cwd, a[0], a[1]),
        nr::FCHMOD => fchmod(k, a[0], a[1]),
        nr::FCHMODAT => fchmodat(k, a[0], a[1], a[2]),
        nr::FCHMODAT2 => fchmodat2(k, a[0], a[1], a[2], a[3]),
        nr::CHOWN => fchownat(k, cwd, a[0], a[1], a[2], 0),
        nr::LCHOWN => fchownat(k, cwd, a[0], a[1], a[2], AT_SYMLINK_NOFOLLOW),
        nr::FCHOWN => fchown(k, a[0], a[1], a[2]),
        nr::FCHOWNAT => fchownat(k, a[0], a[1], a[2], a[3], a[4]),
        nr::UTIMENSAT => utimensat(k, a[0], a[1], a[2], a[3]),
        nr::TRUNCATE => truncate(k, a[0], a[1]),
        nr::FTRUNCATE => ftruncate(k, a[0], a[1]),
        nr::CHDIR => chdir(k, a[0]),
        nr::FCHDIR => fchdir(k, a[0]),
        nr::GETCWD => getcwd(k, a[0], a[1]),
        nr::UMASK => umask(k, a[0]),
        nr::FSYNC | nr::FDATASYNC => fsync(k, a[0]),
        nr::SYNC => Ok(0),
        nr::SYNCFS => syncfs(k, a[0]),
        nr::FADVISE64 => fadvise64(k, a[0], a[1], a[2], a[3]),
        nr::FALLOCATE => fallocate(k, a[0], a[1], a[2], a[3]),
        nr::SENDFILE => sendfile(k, a[0], a[1], a[2], a[3]),
        nr::STATFS => statfs(k, a[0], a[1]),
        nr::FSTATFS => fstatfs(k, a[0], a[1]),
        nr::MOUNT => mount(k, a[0], a[1], a[2], a[3]),
        nr::UMOUNT2 => umount2(k, a[0], a[1]),
        _ => return None,
    })
}
