//! rename, renameat, renameat2 (RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT).
//!
//! Errors in Linux's order: EINVAL (flags), EPERM (whiteout, not root), EBUSY (`.`,
//! `..` or `/` as either name), ENOENT (no source; with EXCHANGE no target either),
//! EEXIST (NOREPLACE and the target exists), ENOTDIR (a trailing slash on a
//! non-directory), EINVAL (a directory into itself), ENOTEMPTY (onto an ancestor of the
//! source; EINVAL with EXCHANGE), success if both names are the same inode, EACCES or
//! EPERM (write and search on both directories, sticky bits), EISDIR/ENOTDIR (kinds
//! differ), EACCES (a directory changing parents needs write permission on itself, its
//! `..` changes), ENOTEMPTY (target a non-empty directory).

use alloc::sync::Arc;

use super::inode::{Body, Inode, NodeKind};
use super::namei::{Last, Walker};
use super::ops::{may_create, may_delete};
use super::perm::{Creds, MAY_WRITE};
use super::FsContext;
use crate::abi::Errno;

pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const RENAME_WHITEOUT: u32 = 4;

/// Whether `anc` is `node` or one of its ancestors.
fn is_ancestor(anc: &Arc<Inode>, node: &Arc<Inode>) -> bool {
    let mut cur = node.clone();
    loop {
        if Arc::ptr_eq(&cur, anc) {
            return true;
        }
        match cur.parent() {
            Some(p) => cur = p,
            None => return false,
        }
    }
}

pub fn rename(
    ctx: &FsContext,
    creds: &Creds,
    from: (&Arc<Inode>, &[u8]),
    to: (&Arc<Inode>, &[u8]),
    flags: u32,
) -> Result<(), Errno> {
    let exchange = flags & RENAME_EXCHANGE != 0;
    let whiteout = flags & RENAME_WHITEOUT != 0;
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        || (exchange && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0)
    {
        return Err(Errno::EINVAL);
    }
    if whiteout && !creds.is_root() {
        return Err(Errno::EPERM);
    }
    let wo = &mut Walker::new(ctx, creds);
    let po = wo.parent(from.0, from.1)?;
    let wn = &mut Walker::new(ctx, creds);
    let pn = wn.parent(to.0, to.1)?;
    let (Last::Name(old_name), Last::Name(new_name)) = (&po.last, &pn.last) else {
        return Err(Errno::EBUSY);
    };
    if !Arc::ptr_eq(po.dir.superblock(), pn.dir.superblock()) {
        return Err(Errno::EXDEV);
    }
    let sb = po.dir.superblock().clone();
    let _ns = sb.lock_namespace();
    let old = wo.last_inode(&po)?;
    let new = match wn.last_inode(&pn) {
        Ok(n) => Some(n),
        Err(Errno::ENOENT) if !exchange => None,
        Err(e) => return Err(e),
    };
    if ctx.mounts.is_mount_root(&old) || new.as_ref().is_some_and(|n| ctx.mounts.is_mount_root(n)) {
        return Err(Errno::EBUSY);
    }
    if flags & RENAME_NOREPLACE != 0 && new.is_some() {
        return Err(Errno::EEXIST);
    }
    if exchange {
        let new_is_dir = new.as_ref().is_some_and(|n| n.is_dir());
        if (!old.is_dir() && po.trailing) || (!new_is_dir && pn.trailing) {
            return Err(Errno::ENOTDIR);
        }
    } else if !old.is_dir() && (po.trailing || pn.trailing) {
        return Err(Errno::ENOTDIR);
    }
    if old.is_dir() && is_ancestor(&old, &pn.dir) {
        return Err(Errno::EINVAL);
    }
    if let Some(n) = &new {
        if n.is_dir() && is_ancestor(n, &po.dir) {
            return Err(if exchange {
                Errno::EINVAL
            } else {
                Errno::ENOTEMPTY
            });
        }
        if Arc::ptr_eq(n, &old) {
            return Ok(());
        }
    }
    may_delete(&po.dir, &old, creds)?;
    match &new {
        Some(n) => {
            may_delete(&pn.dir, n, creds)?;
            if !exchange && old.is_dir() && !n.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if !exchange && !old.is_dir() && n.is_dir() {
                return Err(Errno::EISDIR);
            }
        }
        None => may_create(&pn.dir, creds)?,
    }
    let same_dir = Arc::ptr_eq(&po.dir, &pn.dir);
    // A directory changing parents has its `..` rewritten: Linux asks for write
    // permission on it.
    if !same_dir {
        if old.is_dir() {
            old.permission(creds, MAY_WRITE)?;
        }
        if let Some(n) = new.as_ref().filter(|n| exchange && n.is_dir()) {
            n.permission(creds, MAY_WRITE)?;
        }
    }
    if let Some(n) = new.as_ref().filter(|n| !exchange && n.is_dir()) {
        if !n.is_empty_dir() {
            return Err(Errno::ENOTEMPTY);
        }
    }
    // Perform: nothing below can fail.
    po.dir.remove_entry(old_name);
    if let Some(n) = &new {
        pn.dir.remove_entry(new_name);
        if exchange {
            po.dir.insert_entry(old_name.clone(), n.clone());
            if n.is_dir() && !same_dir {
                n.set_parent(&po.dir);
            }
            n.touch(false);
        } else {
            n.drop_link();
        }
    }
    pn.dir.insert_entry(new_name.clone(), old.clone());
    if old.is_dir() && !same_dir {
        old.set_parent(&pn.dir);
    }
    old.touch(false);
    if whiteout {
        // overlayfs's marker: a character device 0:0 where the source was.
        let owner = (creds.euid, creds.egid);
        let w = sb.new_inode(NodeKind::CharDev, 0, owner, 0, Body::Special);
        po.dir.insert_entry(old_name.clone(), w);
    }
    Ok(())
}
