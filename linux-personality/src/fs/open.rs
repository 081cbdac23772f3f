//! open(2) on the tmpfs: the lookup (with O_CREAT's create and the following of a
//! last-component symlink, even a dangling one, as Linux does), then Linux's
//! `do_open` checks, then the handle.
//!
//! Errors in Linux's order: the parent walk's (ENOENT, ENOTDIR, EACCES, ELOOP,
//! ENAMETOOLONG); with O_CREAT a trailing slash is EISDIR; O_CREAT|O_EXCL on anything
//! existing (a symlink too) is EEXIST; O_NOFOLLOW on a symlink is ELOOP (unless
//! O_PATH); a missing name without O_CREAT is ENOENT; creating needs write and search
//! on the directory (EACCES); then: O_CREAT on a directory EISDIR, O_DIRECTORY or a
//! trailing slash on a non-directory ENOTDIR, writing (or O_TRUNC) a directory EISDIR,
//! the file's permission for the access mode EACCES (not for a file just created),
//! a device without a driver ENXIO, a fifo written with O_NONBLOCK and no reader ENXIO.

use alloc::sync::Arc;
use alloc::vec::Vec;

use caps::Rights;

use super::handle::{DeviceHandle, DirHandle, PathHandle, RegularHandle};
use super::inode::{Inode, NodeKind};
use super::mode::*;
use super::namei::{Followed, Last, Walker};
use super::ops::create;
use super::perm::{Creds, MAY_READ, MAY_WRITE};
use super::FsContext;
use crate::abi::Errno;
use crate::file::flags::*;
use crate::file::{FileOps, OpenFile};

/// O_TMPFILE (with O_DIRECTORY, as the ABI defines it).
pub const O_TMPFILE: u32 = 0o20000000 | O_DIRECTORY;

/// What an open produced: the object, the status flags for the open file
/// description, and the rights its capability carries.
pub struct Opened {
    pub ops: Arc<dyn FileOps>,
    pub status: u32,
    pub rights: Rights,
    pub node: Arc<Inode>,
    pub created: bool,
}

/// Looks up (and with O_CREAT creates) the file `path` names.
fn lookup_open(
    ctx: &FsContext,
    creds: &Creds,
    start: &Arc<Inode>,
    path: &[u8],
    flags: u32,
    mode: u32,
) -> Result<(Arc<Inode>, bool, bool), Errno> {
    let o_path = flags & O_PATH != 0;
    let creat = flags & O_CREAT != 0 && !o_path;
    let excl = creat && flags & O_EXCL != 0;
    let nofollow = flags & O_NOFOLLOW != 0;
    let w = &mut Walker::new(ctx, creds);
    let mut start = start.clone();
    let mut path: Vec<u8> = path.to_vec();
    loop {
        let p = w.parent(&start, &path)?;
        // `.`, `..` and `/` exist: O_EXCL says so before anything else (Linux handles
        // these before its trailing-slash check).
        if !matches!(p.last, Last::Name(_)) {
            if excl {
                return Err(Errno::EEXIST);
            }
            return Ok((w.last_inode(&p)?, false, false));
        }
        if creat && p.trailing {
            return Err(Errno::EISDIR);
        }
        let found = match w.last_inode(&p) {
            Ok(n) => Some(n),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        match found {
            Some(node) => {
                if excl {
                    return Err(Errno::EEXIST);
                }
                if node.is_symlink() && (!nofollow || p.trailing) {
                    let mut target = match w.follow_link(&node)? {
                        Followed::Path(t) => t,
                        // A procfs magic link: the object itself.
                        Followed::Node(n) => return Ok((n, false, p.trailing)),
                    };
                    if p.trailing {
                        target.push(b'/');
                    }
                    start = p.dir.clone();
                    path = target;
                    continue;
                }
                return Ok((node, false, p.trailing));
            }
            None if !creat => return Err(Errno::ENOENT),
            None => {
                let perm = mode & S_IALLUGO & !ctx.umask;
                let sb = p.dir.superblock().clone();
                let made = create(
                    &p,
                    creds,
                    false,
                    || Ok(()),
                    |owner, _| sb.new_file(perm, owner, Vec::new()),
                );
                match made {
                    Ok(node) => return Ok((node, true, false)),
                    // Lost a race with another creator: open what is there now.
                    Err(Errno::EEXIST) if !excl => continue,
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

/// open/openat/creat on the tmpfs (the syscall layer installs the result in the fd
/// table with O_CLOEXEC as the descriptor flag).
pub fn open(
    ctx: &FsContext,
    creds: &Creds,
    start: &Arc<Inode>,
    path: &[u8],
    flags: u32,
    mode: u32,
) -> Result<Opened, Errno> {
    if flags & O_TMPFILE == O_TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    let o_path = flags & O_PATH != 0;
    if !o_path && flags & (O_CREAT | O_DIRECTORY) == O_CREAT | O_DIRECTORY {
        return Err(Errno::EINVAL);
    }
    let flags = if o_path {
        flags & (O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC)
    } else {
        flags
    };
    let (node, created, trailing) = lookup_open(ctx, creds, start, path, flags, mode)?;
    // F_GETFL shows the open flags but the create-time ones; O_LARGEFILE is forced on
    // 64-bit, except for O_PATH, which keeps only its own few flags.
    let status = if o_path {
        flags & (O_DIRECTORY | O_NOFOLLOW | O_PATH)
    } else {
        (flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)) | O_LARGEFILE
    };
    if (flags & O_DIRECTORY != 0 || trailing) && !node.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if o_path {
        let ops: Arc<dyn FileOps> = Arc::new(PathHandle(node.clone()));
        return Ok(Opened {
            ops,
            status,
            rights: Rights::DUP,
            node,
            created,
        });
    }
    if node.is_symlink() {
        return Err(Errno::ELOOP);
    }
    if flags & O_CREAT != 0 && node.is_dir() {
        return Err(Errno::EISDIR);
    }
    let acc = flags & O_ACCMODE;
    let mut may = match acc {
        O_RDONLY => MAY_READ,
        O_WRONLY => MAY_WRITE,
        _ => MAY_READ | MAY_WRITE,
    };
    let truncate = flags & O_TRUNC != 0 && !created;
    if truncate {
        may |= MAY_WRITE;
    }
    if node.is_dir() && may & MAY_WRITE != 0 {
        return Err(Errno::EISDIR);
    }
    if !created {
        node.permission(creds, may)?;
    }
    let ops: Arc<dyn FileOps> = match node.kind {
        NodeKind::File if node.proc_node().is_some() => {
            Arc::new(super::proc::ProcFile::open(node.clone(), ctx, creds)?)
        }
        NodeKind::File => {
            if truncate {
                node.set_size(0)?;
            }
            Arc::new(RegularHandle(node.clone()))
        }
        NodeKind::Dir => Arc::new(DirHandle(node.clone())),
        NodeKind::CharDev => {
            // Pseudo-terminals are the personality's own devices (a new pair per
            // open of ptmx); everything else is the kernel's driver.
            let driver = match super::devpts::open_device(node.rdev(), flags, creds) {
                Some(pty) => pty?,
                None => {
                    let registry = node.superblock().devices().ok_or(Errno::ENXIO)?;
                    registry.open(node.rdev(), flags)?
                }
            };
            Arc::new(DeviceHandle {
                node: node.clone(),
                driver,
            })
        }
        NodeKind::Fifo => Arc::new(node.open_fifo(flags)?),
        // Block devices and sockets have no driver in this personality yet.
        NodeKind::BlockDev | NodeKind::Socket => return Err(Errno::ENXIO),
        NodeKind::Symlink => return Err(Errno::ELOOP),
    };
    // O_ACCMODE 3 asks for both permissions and grants neither (Linux's ioctl-only
    // opens).
    let rights = if acc == O_ACCMODE {
        Rights::DUP
    } else {
        OpenFile::rights_for(status)
    };
    Ok(Opened {
        ops,
        status,
        rights,
        node,
        created,
    })
}

/// What execve needs of the program file: the inode `path` names (symlinks followed),
/// which must be a regular file the caller may execute (EACCES otherwise, also for a
/// directory or a device, as Linux says; root needs some x bit too).
pub fn open_exec(
    ctx: &FsContext,
    creds: &Creds,
    start: &Arc<Inode>,
    path: &[u8],
) -> Result<Arc<Inode>, Errno> {
    let node = Walker::new(ctx, creds).resolve(start, path, true)?;
    if node.kind != NodeKind::File {
        return Err(Errno::EACCES);
    }
    node.permission(creds, super::perm::MAY_EXEC)?;
    Ok(node)
}
