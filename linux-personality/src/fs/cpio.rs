//! Building a tmpfs from initramfs (cpio newc) members.
//!
//! The kernel parses the archives (`kernel/src/initramfs.rs`) and hands the members
//! over in archive order. As Linux's `init/initramfs.c`: a later member of the same
//! path replaces the earlier one (a directory over a directory only takes the new
//! mode and owner), missing parent directories are made (0755, root), a symlink's data
//! is its target, and file data is copied (the initrd's memory may be freed after).
//! A member that cannot be placed (a parent that is a file, a bad type, `..` in the
//! path) is skipped and reported, never a panic.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::inode::{Body, Inode, NodeKind, Tmpfs};
use super::mode::*;
use crate::abi::Errno;

/// One archive member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpioEntry<'a> {
    /// As stored: `./etc/x`, `etc/x` and `/etc/x` all name `/etc/x`.
    pub path: &'a [u8],
    /// `st_mode` (type and permission bits).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Device number of a device node (Linux encoding; see [`super::makedev`]).
    pub rdev: u64,
    /// File contents, or a symlink's target.
    pub data: &'a [u8],
}

/// `(path, mode, uid, gid, data)`, for members without a device number.
impl<'a> From<(&'a str, u32, u32, u32, &'a [u8])> for CpioEntry<'a> {
    fn from((path, mode, uid, gid, data): (&'a str, u32, u32, u32, &'a [u8])) -> Self {
        CpioEntry {
            path: path.as_bytes(),
            mode,
            uid,
            gid,
            rdev: 0,
            data,
        }
    }
}

/// A member that was not placed, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedEntry {
    pub path: Vec<u8>,
    pub error: Errno,
}

impl Tmpfs {
    /// A tmpfs holding the members of the initramfs, later members winning; returns
    /// the members it had to skip.
    pub fn from_cpio_entries<'a, E: Into<CpioEntry<'a>>>(
        entries: impl IntoIterator<Item = E>,
        limit: u64,
    ) -> (Tmpfs, Vec<SkippedEntry>) {
        let fs = Tmpfs::new(limit);
        let mut skipped = Vec::new();
        for e in entries {
            let e = e.into();
            if let Err(error) = fs.insert(&e) {
                skipped.push(SkippedEntry {
                    path: e.path.to_vec(),
                    error,
                });
            }
        }
        (fs, skipped)
    }

    /// Places one member (see the module doc); the kernel may also use it to add nodes
    /// such as `/dev/null` that the archive lacks.
    pub fn insert(&self, e: &CpioEntry<'_>) -> Result<(), Errno> {
        let kind = NodeKind::from_mode(e.mode).ok_or(Errno::EINVAL)?;
        let comps: Vec<&[u8]> = e
            .path
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .collect();
        if comps.iter().any(|c| *c == b"..") {
            return Err(Errno::EINVAL);
        }
        if comps.iter().any(|c| c.len() > super::NAME_MAX) {
            return Err(Errno::ENAMETOOLONG);
        }
        let sb = self.superblock().clone();
        let _ns = sb.lock_namespace();
        let Some((last, parents)) = comps.split_last() else {
            // The archive's "." is the root itself.
            return if kind == NodeKind::Dir {
                set_meta(self.root(), e)
            } else {
                Err(Errno::EEXIST)
            };
        };
        let mut dir: Arc<Inode> = self.root().clone();
        for c in parents {
            let next = match dir.child(c) {
                Some(n) if n.is_dir() => n,
                Some(_) => return Err(Errno::ENOTDIR),
                None => {
                    let d = sb.new_dir(0o755, (0, 0), &dir);
                    dir.insert_entry(c.to_vec(), d.clone());
                    d
                }
            };
            dir = next;
        }
        if let Some(old) = dir.child(last) {
            if old.is_dir() && kind == NodeKind::Dir {
                return set_meta(&old, e);
            }
            if old.is_dir() && !old.is_empty_dir() {
                return Err(Errno::ENOTEMPTY);
            }
            dir.remove_entry(last);
            old.drop_link();
        }
        let perm = e.mode & S_IALLUGO;
        let owner = (e.uid, e.gid);
        let node = match kind {
            NodeKind::File => sb.new_file(perm, owner, e.data.to_vec())?,
            NodeKind::Dir => sb.new_dir(perm, owner, &dir),
            NodeKind::Symlink => {
                let target = e.data.strip_suffix(&[0]).unwrap_or(e.data);
                if target.is_empty() {
                    return Err(Errno::ENOENT);
                }
                sb.new_inode(kind, 0o777, owner, 0, Body::Symlink(target.to_vec()))
            }
            NodeKind::CharDev | NodeKind::BlockDev => {
                sb.new_inode(kind, perm, owner, e.rdev, Body::Special)
            }
            NodeKind::Fifo => sb.new_inode(kind, perm, owner, 0, Body::Fifo(Default::default())),
            NodeKind::Socket => sb.new_inode(kind, perm, owner, 0, Body::Special),
        };
        dir.insert_entry(last.to_vec(), node);
        Ok(())
    }
}

fn set_meta(node: &Inode, e: &CpioEntry<'_>) -> Result<(), Errno> {
    let mut st = node.state.lock();
    st.mode = (st.mode & S_IFMT) | (e.mode & S_IALLUGO);
    st.uid = e.uid;
    st.gid = e.gid;
    Ok(())
}
