//! Path resolution as Linux's namei does it.
//!
//! A path is split at `/`; empty components (from `//`) are skipped. An absolute path
//! starts at the process root, a relative one at the starting directory (the cwd or a
//! dirfd). Each step needs the current inode to be a directory (ENOTDIR) that the
//! caller may search (EACCES); `.` stays, `..` goes to the parent but never above the
//! process root; a name longer than [`NAME_MAX`] is ENAMETOOLONG, a missing one ENOENT.
//! A symlink met in the middle of a path is always followed; the last component's only
//! if the caller asks (or a trailing slash forces it). More than [`MAXSYMLINKS`]
//! symlinks in one resolution is ELOOP. A trailing slash demands a directory.
//!
//! Resolution is iterative (a queue of components, a symlink's target spliced in
//! front), so a chain of 40 links costs no kernel stack.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::inode::Inode;
use super::perm::{Creds, MAY_EXEC};
use super::{FsContext, NAME_MAX};
use crate::abi::Errno;

/// Linux's limit on symlinks followed in one path resolution.
pub const MAXSYMLINKS: u32 = 40;

/// The last component of a path, as the create/remove calls need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Last {
    Name(Vec<u8>),
    Dot,
    DotDot,
    /// The path was `/` (or only slashes).
    Root,
}

/// Where a followed symlink leads.
pub enum Followed {
    /// A path to resolve from the link's directory (or the root, if absolute).
    Path(Vec<u8>),
    /// A procfs magic link's object.
    Node(Arc<Inode>),
}

/// A path resolved up to its last component.
pub struct Parent {
    pub dir: Arc<Inode>,
    pub last: Last,
    /// The path ended in `/` (after a name).
    pub trailing: bool,
}

/// One resolution: the context it runs in and its symlink count.
pub struct Walker<'a> {
    pub ctx: &'a FsContext,
    pub creds: &'a Creds,
    links: u32,
}

/// The trailing-slash marker in the component queue: "must be a directory".
const MUST_DIR: &[u8] = b"";

fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

impl<'a> Walker<'a> {
    pub fn new(ctx: &'a FsContext, creds: &'a Creds) -> Walker<'a> {
        Walker {
            ctx,
            creds,
            links: 0,
        }
    }

    /// Counts one more symlink followed (ELOOP past the limit) and returns its target
    /// (ENOENT for an empty one).
    pub fn follow(&mut self, link: &Inode) -> Result<Vec<u8>, Errno> {
        self.links += 1;
        if self.links > MAXSYMLINKS {
            return Err(Errno::ELOOP);
        }
        let target = link.link_target().unwrap_or_default();
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        Ok(target)
    }

    /// Where a path starting at `start` begins: the root if absolute.
    fn origin(&self, start: &Arc<Inode>, path: &[u8]) -> Arc<Inode> {
        if path.first() == Some(&b'/') {
            self.ctx.root.clone()
        } else {
            start.clone()
        }
    }

    /// One step from directory `cur` by `name`.
    pub fn step(&self, cur: &Arc<Inode>, name: &[u8]) -> Result<Arc<Inode>, Errno> {
        if !cur.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if name == MUST_DIR {
            return Ok(cur.clone());
        }
        cur.permission(self.creds, MAY_EXEC)?;
        self.lookup_in(cur, name)
    }

    /// Looks `name` up in directory `dir` without a permission check.
    fn lookup_in(&self, dir: &Arc<Inode>, name: &[u8]) -> Result<Arc<Inode>, Errno> {
        match name {
            b"." => Ok(dir.clone()),
            b".." => Ok(self.dotdot(dir)),
            _ if name.len() > NAME_MAX => Err(Errno::ENAMETOOLONG),
            _ => {
                let child = dir.child(name).ok_or(Errno::ENOENT)?;
                // A covered directory continues at the topmost mount's root.
                Ok(self.ctx.mounts.covering(&child).unwrap_or(child))
            }
        }
    }

    /// `..` of `dir`: itself at the process root; at a mount's root, first back to
    /// where it is mounted (as often as mounts are stacked there).
    pub fn dotdot(&self, dir: &Arc<Inode>) -> Arc<Inode> {
        let mut d = dir.clone();
        loop {
            if Arc::ptr_eq(&d, &self.ctx.root) {
                return d;
            }
            match self.ctx.mounts.mountpoint_of(&d) {
                Some(mp) => d = mp,
                None => break,
            }
        }
        d.parent().unwrap_or(d)
    }

    /// What following symlink `link` leads to: a path to walk, or, for the procfs
    /// "magic" links (/proc/PID/fd/N, cwd, root, exe), the object itself, as Linux
    /// jumps to it. Counts the link (ELOOP past the limit).
    pub fn follow_link(&mut self, link: &Arc<Inode>) -> Result<Followed, Errno> {
        if link.proc_node().is_some() {
            self.links += 1;
            if self.links > MAXSYMLINKS {
                return Err(Errno::ELOOP);
            }
            let (target, node) = super::proc::link(link, self.ctx, self.creds)?;
            if let Some(node) = node {
                return Ok(Followed::Node(node));
            }
            if target.is_empty() {
                return Err(Errno::ENOENT);
            }
            return Ok(Followed::Path(target));
        }
        self.follow(link).map(Followed::Path)
    }

    /// readlink: the text of a symlink (procfs links generated for this caller).
    pub fn link_text(&self, link: &Arc<Inode>) -> Result<Vec<u8>, Errno> {
        if link.proc_node().is_some() {
            return super::proc::link(link, self.ctx, self.creds).map(|(t, _)| t);
        }
        link.link_target().ok_or(Errno::EINVAL)
    }

    /// Walks the queued components from `cur`.
    fn walk_queue(
        &mut self,
        mut cur: Arc<Inode>,
        mut queue: VecDeque<Vec<u8>>,
        follow_last: bool,
    ) -> Result<Arc<Inode>, Errno> {
        while let Some(name) = queue.pop_front() {
            let next = self.step(&cur, &name)?;
            let last = queue.is_empty();
            if next.is_symlink() && (!last || follow_last) {
                let target = match self.follow_link(&next)? {
                    Followed::Path(t) => t,
                    Followed::Node(n) => {
                        cur = n;
                        continue;
                    }
                };
                if target[0] == b'/' {
                    cur = self.ctx.root.clone();
                }
                if target.ends_with(b"/") {
                    queue.push_front(MUST_DIR.to_vec());
                }
                let comps: Vec<&[u8]> = components(&target).collect();
                for c in comps.into_iter().rev() {
                    queue.push_front(c.to_vec());
                }
                continue;
            }
            cur = next;
        }
        Ok(cur)
    }

    /// Resolves `path` from `start`; the last symlink is followed if `follow`.
    pub fn resolve(
        &mut self,
        start: &Arc<Inode>,
        path: &[u8],
        follow: bool,
    ) -> Result<Arc<Inode>, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let cur = self.origin(start, path);
        let mut queue: VecDeque<Vec<u8>> = components(path).map(<[u8]>::to_vec).collect();
        if path.ends_with(b"/") && !queue.is_empty() {
            queue.push_back(MUST_DIR.to_vec());
        }
        self.walk_queue(cur, queue, follow)
    }

    /// Resolves all but the last component of `path`: the directory the last name is
    /// to be found in (which the caller may search), and that name.
    pub fn parent(&mut self, start: &Arc<Inode>, path: &[u8]) -> Result<Parent, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let cur = self.origin(start, path);
        let mut queue: VecDeque<Vec<u8>> = components(path).map(<[u8]>::to_vec).collect();
        let Some(last) = queue.pop_back() else {
            return Ok(Parent {
                dir: self.ctx.root.clone(),
                last: Last::Root,
                trailing: false,
            });
        };
        let dir = self.walk_queue(cur, queue, true)?;
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        dir.permission(self.creds, MAY_EXEC)?;
        let last = match last.as_slice() {
            b"." => Last::Dot,
            b".." => Last::DotDot,
            _ => Last::Name(last),
        };
        Ok(Parent {
            dir,
            last,
            trailing: path.ends_with(b"/"),
        })
    }

    /// The inode a [`Parent`]'s last component names right now (no symlink follow).
    pub fn last_inode(&self, p: &Parent) -> Result<Arc<Inode>, Errno> {
        match &p.last {
            Last::Name(n) => self.lookup_in(&p.dir, n),
            Last::Dot => Ok(p.dir.clone()),
            Last::DotDot => Ok(self.dotdot(&p.dir)),
            Last::Root => Ok(self.ctx.root.clone()),
        }
    }

    /// getcwd: the path of directory `dir` from the process root. ENOENT if it has been
    /// removed.
    pub fn path_of(&self, dir: &Arc<Inode>) -> Result<Vec<u8>, Errno> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = dir.clone();
        while !Arc::ptr_eq(&cur, &self.ctx.root) {
            if let Some(mp) = self.ctx.mounts.mountpoint_of(&cur) {
                cur = mp;
                continue;
            }
            if cur.nlink() == 0 {
                return Err(Errno::ENOENT);
            }
            let Some(parent) = cur.parent() else {
                // Outside the process root (a chroot escape is not possible here, but
                // a directory reached through an fd may be): Linux's answer.
                return Err(Errno::ENOENT);
            };
            parts.push(parent.name_of(&cur).ok_or(Errno::ENOENT)?);
            cur = parent;
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        Ok(out)
    }
}
