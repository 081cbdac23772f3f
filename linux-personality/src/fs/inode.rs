//! Inodes and the superblock of a tmpfs.
//!
//! Every inode is an `Arc<Inode>` with its mutable state behind one lock. A directory
//! owns its children (`BTreeMap` name -> inode, so listings come out sorted) and keeps
//! a weak pointer to its parent for `..` and getcwd. The superblock knows every live
//! inode by number (weakly) so an open file's `stat()` leads back to its inode.
//!
//! Locking: changes to the namespace (create, unlink, rename) hold the superblock's
//! namespace lock for their whole check-then-change, so they never see each other
//! half-done; within it, and everywhere else, at most one inode lock is held at a
//! time. The inode table's lock is never held while an `Arc<Inode>` is dropped
//! (dropping an inode takes that lock to remove itself).

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use spin::Mutex;

use super::mode::*;
use super::mount::{FsType, MountTable};
use super::perm::{self, Creds};
use super::DeviceRegistry;
use crate::abi::Errno;
use crate::file::FileStat;

/// The device number tmpfs reports in `st_dev` (an anonymous device, 0:27).
pub const TMPFS_DEV: u64 = super::makedev(0, 27);
/// Linux tmpfs counts a directory's size as 20 bytes per entry (`BOGO_DIRENT_SIZE`).
const BOGO_DIRENT_SIZE: u64 = 20;
/// Default space limit of a tmpfs (file data bytes), like Linux's `size=` option.
pub const DEFAULT_LIMIT: u64 = 256 << 20;

/// What kind of node an inode is (fixed at creation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Dir,
    File,
    Symlink,
    CharDev,
    BlockDev,
    Fifo,
    Socket,
}

impl NodeKind {
    pub fn from_mode(mode: u32) -> Option<NodeKind> {
        Some(match mode & S_IFMT {
            S_IFDIR => NodeKind::Dir,
            S_IFREG => NodeKind::File,
            S_IFLNK => NodeKind::Symlink,
            S_IFCHR => NodeKind::CharDev,
            S_IFBLK => NodeKind::BlockDev,
            S_IFIFO => NodeKind::Fifo,
            S_IFSOCK => NodeKind::Socket,
            _ => return None,
        })
    }

    pub fn type_bits(self) -> u32 {
        match self {
            NodeKind::Dir => S_IFDIR,
            NodeKind::File => S_IFREG,
            NodeKind::Symlink => S_IFLNK,
            NodeKind::CharDev => S_IFCHR,
            NodeKind::BlockDev => S_IFBLK,
            NodeKind::Fifo => S_IFIFO,
            NodeKind::Socket => S_IFSOCK,
        }
    }

    /// `d_type` of a `linux_dirent64` record.
    pub fn dirent_type(self) -> u8 {
        use crate::abi::structs::*;
        match self {
            NodeKind::Dir => DT_DIR,
            NodeKind::File => DT_REG,
            NodeKind::Symlink => DT_LNK,
            NodeKind::CharDev => DT_CHR,
            NodeKind::BlockDev => DT_BLK,
            NodeKind::Fifo => DT_FIFO,
            NodeKind::Socket => DT_SOCK,
        }
    }
}

/// A directory's entries. Each gets a position when linked, never reused and never
/// shifted by removals, so a getdents64 offset stays valid while the directory
/// changes (`rm -r` deletes what it has just read); listings come newest first, as
/// on Linux's tmpfs.
pub(crate) struct Directory {
    by_name: BTreeMap<Vec<u8>, (Arc<Inode>, u64)>,
    by_pos: BTreeMap<u64, Vec<u8>>,
    next: u64,
}

/// Positions 0 and 1 are `.` and `..`; link sequence numbers start here.
const FIRST_POS: u64 = 2;

impl Default for Directory {
    fn default() -> Self {
        Directory {
            by_name: BTreeMap::new(),
            by_pos: BTreeMap::new(),
            next: FIRST_POS,
        }
    }
}

impl Directory {
    pub fn get(&self, name: &[u8]) -> Option<&Arc<Inode>> {
        self.by_name.get(name).map(|(n, _)| n)
    }

    pub fn insert(&mut self, name: Vec<u8>, node: Arc<Inode>) {
        self.remove(&name);
        let pos = self.next;
        self.next += 1;
        self.by_pos.insert(pos, name.clone());
        self.by_name.insert(name, (node, pos));
    }

    pub fn remove(&mut self, name: &[u8]) -> Option<Arc<Inode>> {
        let (node, pos) = self.by_name.remove(name)?;
        self.by_pos.remove(&pos);
        Some(node)
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// By name.
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Arc<Inode>)> {
        self.by_name.iter().map(|(k, (n, _))| (k, n))
    }

    /// The entries at getdents position `pos` or later, in position order. Listings
    /// run newest first, as Linux 6.18's tmpfs lists them: an entry's position is
    /// [`cookie`] of its link sequence number, which falls as the sequence rises.
    pub fn at_or_after(&self, pos: u64, max: usize) -> Vec<(u64, Vec<u8>, Arc<Inode>)> {
        let max_seq = SEQ_TOP - pos.max(FIRST_POS).saturating_sub(FIRST_POS).min(SEQ_TOP);
        self.by_pos
            .range(..=max_seq)
            .rev()
            .filter_map(|(seq, name)| {
                self.by_name
                    .get(name)
                    .map(|(n, _)| (cookie(*seq), name.clone(), n.clone()))
            })
            .take(max)
            .collect()
    }
}

/// Link sequence numbers stay below this (2^62 links per directory).
const SEQ_TOP: u64 = 1 << 62;

/// The getdents position of the entry linked with sequence number `seq`.
const fn cookie(seq: u64) -> u64 {
    FIRST_POS + (SEQ_TOP - seq)
}

pub(crate) enum Body {
    Dir {
        entries: Directory,
        parent: Weak<Inode>,
    },
    File(Vec<u8>),
    Symlink(Vec<u8>),
    /// Devices and sockets: only the metadata lives here.
    Special,
    /// A named pipe: the pipe its openers share.
    Fifo(super::fifo::FifoState),
    /// A node of a procfs: generated from kernel facts when looked up or read.
    Proc(super::proc::ProcBody),
}

pub(crate) struct State {
    /// Type and permission bits, as `st_mode`.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub rdev: u64,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
    pub body: Body,
}

pub struct Inode {
    pub ino: u64,
    pub kind: NodeKind,
    sb: Arc<Superblock>,
    pub(crate) state: Mutex<State>,
}

/// Clock used for timestamps: seconds and nanoseconds of CLOCK_REALTIME.
pub type Clock = fn() -> (i64, i64);

fn zero_clock() -> (i64, i64) {
    (0, 0)
}

/// What one tmpfs instance shares among its inodes.
pub struct Superblock {
    pub dev: u64,
    next_ino: AtomicU64,
    inodes: Mutex<BTreeMap<u64, Weak<Inode>>>,
    clock: Mutex<Clock>,
    devices: Mutex<Option<Arc<dyn DeviceRegistry>>>,
    used: AtomicU64,
    limit: u64,
    namespace: Mutex<()>,
    /// What kind of file system this is (statfs's f_type, /proc/mounts' type).
    pub kind: FsType,
    /// Where a procfs's facts come from (None for every other kind).
    pub(crate) proc_source: Option<Arc<dyn super::proc::ProcSource>>,
}

/// A tmpfs: its superblock and root directory, and the mount table of the namespace
/// it is the root of (every [`super::FsContext`] made from it shares that table).
pub struct Tmpfs {
    sb: Arc<Superblock>,
    root: Arc<Inode>,
    mounts: Arc<MountTable>,
}

impl Superblock {
    /// Sets the clock timestamps come from (the kernel's CLOCK_REALTIME).
    pub fn set_clock(&self, clock: Clock) {
        *self.clock.lock() = clock;
    }

    /// Takes the clock of another superblock (a new mount keeps the root's time).
    pub fn set_clock_from(&self, other: &Superblock) {
        let clock = *other.clock.lock();
        self.set_clock(clock);
    }

    pub fn now(&self) -> (i64, i64) {
        let clock = *self.clock.lock();
        clock()
    }

    /// Installs the registry that opens device nodes.
    pub fn set_devices(&self, devices: Arc<dyn DeviceRegistry>) {
        *self.devices.lock() = Some(devices);
    }

    pub fn devices(&self) -> Option<Arc<dyn DeviceRegistry>> {
        self.devices.lock().clone()
    }

    /// The live inode numbered `ino` of the device `dev` (None for another device).
    pub fn inode(&self, dev: u64, ino: u64) -> Option<Arc<Inode>> {
        if dev != self.dev {
            return None;
        }
        let weak = self.inodes.lock().get(&ino).cloned();
        weak?.upgrade()
    }

    /// How many inodes are alive (reachable or held open).
    pub fn live_inodes(&self) -> usize {
        self.inodes.lock().len()
    }

    /// Bytes of file data stored, and the limit.
    pub fn usage(&self) -> (u64, u64) {
        (self.used.load(Ordering::Relaxed), self.limit)
    }

    /// Serializes namespace changes (see the module doc).
    pub(crate) fn lock_namespace(&self) -> spin::MutexGuard<'_, ()> {
        self.namespace.lock()
    }

    /// Charges `grow` more bytes of file data (ENOSPC past the limit).
    fn charge(&self, grow: u64) -> Result<(), Errno> {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                u.checked_add(grow).filter(|n| *n <= self.limit)
            })
            .map(|_| ())
            .map_err(|_| Errno::ENOSPC)
    }

    fn uncharge(&self, shrink: u64) {
        self.used.fetch_sub(shrink, Ordering::Relaxed);
    }

    /// A new inode of `kind` with permission bits `perm` (not yet linked anywhere).
    /// Regular files start empty; see [`Superblock::new_file`].
    pub(crate) fn new_inode(
        self: &Arc<Self>,
        kind: NodeKind,
        perm: u32,
        owner: (u32, u32),
        rdev: u64,
        body: Body,
    ) -> Arc<Inode> {
        let ino = self.next_ino.fetch_add(1, Ordering::Relaxed);
        self.make_inode(ino, kind, perm, owner, rdev, body)
    }

    /// Builds inode `ino` with fresh times and registers it in the superblock's table.
    fn make_inode(
        self: &Arc<Self>,
        ino: u64,
        kind: NodeKind,
        perm: u32,
        owner: (u32, u32),
        rdev: u64,
        body: Body,
    ) -> Arc<Inode> {
        let now = self.now();
        let nlink = if kind == NodeKind::Dir { 2 } else { 1 };
        let inode = Arc::new(Inode {
            ino,
            kind,
            sb: self.clone(),
            state: Mutex::new(State {
                mode: kind.type_bits() | (perm & S_IALLUGO),
                uid: owner.0,
                gid: owner.1,
                nlink,
                rdev,
                atime: now,
                mtime: now,
                ctime: now,
                body,
            }),
        });
        self.inodes.lock().insert(ino, Arc::downgrade(&inode));
        inode
    }

    /// The procfs inode numbered `ino` (numbers are derived from what the node is, so
    /// looking the same thing up twice finds the same inode while it lives): the live
    /// one, its mode and owner refreshed, or a new one with `body`.
    pub(crate) fn proc_inode(
        self: &Arc<Self>,
        ino: u64,
        kind: NodeKind,
        perm: u32,
        owner: (u32, u32),
        body: impl FnOnce() -> Body,
    ) -> Arc<Inode> {
        let live = self.inodes.lock().get(&ino).and_then(Weak::upgrade);
        if let Some(node) = live.filter(|n| n.kind == kind) {
            let mut st = node.state.lock();
            st.mode = kind.type_bits() | (perm & S_IALLUGO);
            (st.uid, st.gid) = owner;
            drop(st);
            return node;
        }
        self.make_inode(ino, kind, perm, owner, 0, body())
    }

    /// The procfs facts of this superblock (procfs only).
    pub(crate) fn proc_source(&self) -> Option<&Arc<dyn super::proc::ProcSource>> {
        self.proc_source.as_ref()
    }

    /// A new regular file holding `data` (charged to the space limit: ENOSPC).
    pub(crate) fn new_file(
        self: &Arc<Self>,
        perm: u32,
        owner: (u32, u32),
        data: Vec<u8>,
    ) -> Result<Arc<Inode>, Errno> {
        self.charge(data.len() as u64)?;
        Ok(self.new_inode(NodeKind::File, perm, owner, 0, Body::File(data)))
    }

    /// A new empty directory whose `..` is `parent`.
    pub(crate) fn new_dir(
        self: &Arc<Self>,
        perm: u32,
        owner: (u32, u32),
        parent: &Arc<Inode>,
    ) -> Arc<Inode> {
        let body = Body::Dir {
            entries: Directory::default(),
            parent: Arc::downgrade(parent),
        };
        self.new_inode(NodeKind::Dir, perm, owner, 0, body)
    }
}

impl Drop for Inode {
    fn drop(&mut self) {
        if let Body::File(data) = &self.state.get_mut().body {
            self.sb.uncharge(data.len() as u64);
        }
        // A procfs inode number can already name a new inode for the same node.
        let mut inodes = self.sb.inodes.lock();
        if inodes.get(&self.ino).is_some_and(|w| w.strong_count() == 0) {
            inodes.remove(&self.ino);
        }
    }
}

impl Tmpfs {
    /// An empty tmpfs: a root directory 0755 owned by root, holding at most `limit`
    /// bytes of file data.
    pub fn new(limit: u64) -> Tmpfs {
        Tmpfs::new_kind(limit, TMPFS_DEV, FsType::Tmpfs, None)
    }

    /// An empty file system of `kind` on device `dev` (a procfs gets its facts from
    /// `proc_source`, and its root is the generated /proc directory).
    pub(crate) fn new_kind(
        limit: u64,
        dev: u64,
        kind: FsType,
        proc_source: Option<Arc<dyn super::proc::ProcSource>>,
    ) -> Tmpfs {
        let is_proc = proc_source.is_some();
        let sb = Arc::new(Superblock {
            kind,
            proc_source,
            dev,
            next_ino: AtomicU64::new(1),
            inodes: Mutex::new(BTreeMap::new()),
            clock: Mutex::new(zero_clock as Clock),
            devices: Mutex::new(None),
            used: AtomicU64::new(0),
            limit,
            namespace: Mutex::new(()),
        });
        let (body, perm) = if is_proc {
            (Body::Proc(super::proc::ProcBody::root()), 0o555)
        } else {
            let body = Body::Dir {
                entries: Directory::default(),
                parent: Weak::new(),
            };
            (body, 0o755)
        };
        let root = sb.new_inode(NodeKind::Dir, perm, (0, 0), 0, body);
        Tmpfs {
            sb,
            root,
            mounts: Arc::new(MountTable::default()),
        }
    }

    /// The mount table of the namespace this file system is the root of.
    pub fn mounts(&self) -> &Arc<MountTable> {
        &self.mounts
    }

    pub fn root(&self) -> &Arc<Inode> {
        &self.root
    }

    pub fn superblock(&self) -> &Arc<Superblock> {
        &self.sb
    }
}

impl Inode {
    pub fn superblock(&self) -> &Arc<Superblock> {
        &self.sb
    }

    pub fn is_dir(&self) -> bool {
        self.kind == NodeKind::Dir
    }

    pub fn is_symlink(&self) -> bool {
        self.kind == NodeKind::Symlink
    }

    pub fn mode(&self) -> u32 {
        self.state.lock().mode
    }

    pub fn nlink(&self) -> u32 {
        self.state.lock().nlink
    }

    pub fn owner(&self) -> (u32, u32) {
        let st = self.state.lock();
        (st.uid, st.gid)
    }

    pub fn rdev(&self) -> u64 {
        self.state.lock().rdev
    }

    /// EACCES unless `creds` may access this inode as `mask` (perm::MAY_*) asks.
    pub fn permission(&self, creds: &Creds, mask: u32) -> Result<(), Errno> {
        let st = self.state.lock();
        if let Body::Proc(p) = &st.body {
            if p.node.is_sysctl() && self.kind == NodeKind::File {
                return super::proc::sysctl_perm(st.mode, creds, mask);
            }
        }
        perm::check(st.mode, st.uid, st.gid, creds, mask)
    }

    /// The child called `name` (directories only; None otherwise).
    pub fn child(self: &Arc<Self>, name: &[u8]) -> Option<Arc<Inode>> {
        self.refresh_devpts();
        let node = match &self.state.lock().body {
            Body::Dir { entries, .. } => return entries.get(name).cloned(),
            Body::Proc(p) => p.node.clone(),
            _ => return None,
        };
        super::proc::lookup(self, &node, name)
    }

    /// The parent directory (None for the root, and for anything not a directory).
    pub fn parent(&self) -> Option<Arc<Inode>> {
        match &self.state.lock().body {
            Body::Dir { parent, .. } => parent.upgrade(),
            Body::Proc(p) if self.kind == NodeKind::Dir => p.parent.clone(),
            _ => None,
        }
    }

    /// The entries of a directory, sorted by name (empty for other kinds).
    pub fn entries(self: &Arc<Self>) -> Vec<(Vec<u8>, Arc<Inode>)> {
        self.refresh_devpts();
        match &self.state.lock().body {
            Body::Dir { entries, .. } => {
                return entries
                    .iter()
                    .map(|(n, i)| (n.clone(), i.clone()))
                    .collect()
            }
            Body::Proc(_) => {}
            _ => return Vec::new(),
        }
        let mut v: Vec<_> = self
            .entries_from(0, usize::MAX)
            .into_iter()
            .map(|(_, n, i)| (n, i))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// At most `max` entries at getdents position `pos` or later: (position, name,
    /// inode).
    pub fn entries_from(self: &Arc<Self>, pos: u64, max: usize) -> Vec<(u64, Vec<u8>, Arc<Inode>)> {
        self.refresh_devpts();
        let node = match &self.state.lock().body {
            Body::Dir { entries, .. } => return entries.at_or_after(pos, max),
            Body::Proc(p) => p.node.clone(),
            _ => return Vec::new(),
        };
        super::proc::list(self, &node, pos, max)
    }

    /// A devpts root shows the terminals that exist now.
    fn refresh_devpts(self: &Arc<Self>) {
        if super::devpts::is_root(self) {
            super::devpts::refresh(self);
        }
    }

    pub fn is_empty_dir(&self) -> bool {
        matches!(&self.state.lock().body, Body::Dir { entries, .. } if entries.is_empty())
    }

    /// The procfs node this inode is, if it is one.
    pub(crate) fn proc_node(&self) -> Option<super::proc::ProcNode> {
        match &self.state.lock().body {
            Body::Proc(p) => Some(p.node.clone()),
            _ => None,
        }
    }

    /// The target of a symlink.
    pub fn link_target(&self) -> Option<Vec<u8>> {
        match &self.state.lock().body {
            Body::Symlink(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// The name under which `child` is linked here (getcwd walks up with it).
    pub fn name_of(&self, child: &Arc<Inode>) -> Option<Vec<u8>> {
        if let Body::Proc(p) = &child.state.lock().body {
            return Some(p.name.clone());
        }
        match &self.state.lock().body {
            Body::Dir { entries, .. } => entries
                .iter()
                .find(|(_, i)| Arc::ptr_eq(i, child))
                .map(|(n, _)| n.clone()),
            _ => None,
        }
    }

    pub fn size(&self) -> u64 {
        let st = self.state.lock();
        size_of_state(&st)
    }

    pub fn stat(&self) -> FileStat {
        let st = self.state.lock();
        let size = size_of_state(&st);
        let blocks = match st.body {
            Body::File(ref d) => (d.len() as u64).div_ceil(4096) * 8,
            _ => 0,
        };
        FileStat {
            dev: self.sb.dev,
            ino: self.ino,
            mode: st.mode,
            nlink: st.nlink,
            uid: st.uid,
            gid: st.gid,
            rdev: st.rdev,
            size,
            blksize: 4096,
            blocks,
            atime: st.atime,
            mtime: st.mtime,
            ctime: st.ctime,
        }
    }

    /// Reads file data at `offset` (0 bytes at or past the end).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let now = self.sb.now();
        let mut st = self.state.lock();
        let n = match &st.body {
            Body::File(data) => match usize::try_from(offset) {
                Ok(off) if off < data.len() => {
                    let n = buf.len().min(data.len() - off);
                    buf[..n].copy_from_slice(&data[off..off + n]);
                    n
                }
                _ => 0,
            },
            Body::Dir { .. } => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        };
        if !buf.is_empty() {
            relatime(&mut st, now);
        }
        Ok(n)
    }

    /// A read of the contents (file data, directory listing) happened.
    pub(crate) fn accessed(&self) {
        let now = self.sb.now();
        relatime(&mut self.state.lock(), now);
    }

    /// A copy of a regular file's whole contents (for exec; empty for other kinds).
    pub fn contents(&self) -> Vec<u8> {
        match &self.state.lock().body {
            Body::File(d) => d.clone(),
            _ => Vec::new(),
        }
    }

    /// Writes file data at `offset`, growing the file (with zeros in any hole).
    pub fn write_at(&self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|e| *e <= i64::MAX as u64)
            .ok_or(Errno::EFBIG)?;
        let now = self.sb.now();
        let mut st = self.state.lock();
        let Body::File(file) = &mut st.body else {
            return Err(Errno::EINVAL);
        };
        if data.is_empty() {
            return Ok(0);
        }
        resize_file(&self.sb, file, end.max(file.len() as u64))?;
        let off = offset as usize;
        file[off..off + data.len()].copy_from_slice(data);
        st.mtime = now;
        st.ctime = now;
        Ok(data.len())
    }

    /// Sets a regular file's length (truncate/ftruncate/O_TRUNC).
    pub fn set_size(&self, len: u64) -> Result<(), Errno> {
        if len > i64::MAX as u64 {
            return Err(Errno::EFBIG);
        }
        let now = self.sb.now();
        let mut st = self.state.lock();
        let Body::File(file) = &mut st.body else {
            return Err(if self.kind == NodeKind::Dir {
                Errno::EISDIR
            } else {
                Errno::EINVAL
            });
        };
        resize_file(&self.sb, file, len)?;
        st.mtime = now;
        st.ctime = now;
        Ok(())
    }

    /// fallocate's PUNCH_HOLE: zeros `[offset, offset + len)` within the file (the size
    /// stays; tmpfs frees the pages, here the bytes read back as zeros either way).
    pub fn punch_hole(&self, offset: u64, len: u64) -> Result<(), Errno> {
        let now = self.sb.now();
        let mut st = self.state.lock();
        let Body::File(file) = &mut st.body else {
            return Err(Errno::ENODEV);
        };
        let size = file.len() as u64;
        let start = offset.min(size) as usize;
        let end = offset.saturating_add(len).min(size) as usize;
        file[start..end].fill(0);
        st.mtime = now;
        st.ctime = now;
        Ok(())
    }

    /// Marks a change of metadata (ctime) or contents (mtime and ctime).
    pub(crate) fn touch(&self, contents: bool) {
        let now = self.sb.now();
        let mut st = self.state.lock();
        st.ctime = now;
        if contents {
            st.mtime = now;
        }
    }
}

/// Changes to directories, made under the namespace lock by [`crate::fs::ops`].
impl Inode {
    /// Links `node` as `name` here; a subdirectory adds one to our link count.
    pub(crate) fn insert_entry(&self, name: Vec<u8>, node: Arc<Inode>) {
        let now = self.sb.now();
        let subdir = node.is_dir();
        let mut st = self.state.lock();
        if let Body::Dir { entries, .. } = &mut st.body {
            entries.insert(name, node);
            if subdir {
                st.nlink += 1;
            }
            st.mtime = now;
            st.ctime = now;
        }
    }

    /// Unlinks `name` here (a subdirectory takes one from our link count).
    pub(crate) fn remove_entry(&self, name: &[u8]) -> Option<Arc<Inode>> {
        let now = self.sb.now();
        let mut st = self.state.lock();
        let Body::Dir { entries, .. } = &mut st.body else {
            return None;
        };
        let node = entries.remove(name)?;
        if node.is_dir() {
            st.nlink = st.nlink.saturating_sub(1);
        }
        st.mtime = now;
        st.ctime = now;
        Some(node)
    }

    /// The unlinked node loses a name (a directory loses both of its own).
    pub(crate) fn drop_link(&self) {
        let now = self.sb.now();
        let mut st = self.state.lock();
        st.nlink = if self.kind == NodeKind::Dir {
            0
        } else {
            st.nlink.saturating_sub(1)
        };
        st.ctime = now;
    }

    /// Opens a fifo node: the pipe ends an open with `flags` gets.
    pub(crate) fn open_fifo(
        self: &Arc<Self>,
        flags: u32,
    ) -> Result<super::fifo::FifoHandle, Errno> {
        let ends = match &mut self.state.lock().body {
            Body::Fifo(f) => f.open(flags)?,
            _ => return Err(Errno::ENXIO),
        };
        Ok(super::fifo::FifoHandle::new(self.clone(), ends))
    }

    /// A hard link adds a name.
    pub(crate) fn add_link(&self) {
        let now = self.sb.now();
        let mut st = self.state.lock();
        st.nlink += 1;
        st.ctime = now;
    }

    pub(crate) fn set_parent(&self, parent: &Arc<Inode>) {
        if let Body::Dir { parent: p, .. } = &mut self.state.lock().body {
            *p = Arc::downgrade(parent);
        }
    }
}

/// Linux's default `relatime`: a read moves atime only if it is not newer than mtime
/// or ctime, or is a day old.
fn relatime(st: &mut State, now: (i64, i64)) {
    const DAY: i64 = 24 * 60 * 60;
    if st.atime <= st.mtime || st.atime <= st.ctime || now.0 - st.atime.0 >= DAY {
        st.atime = now;
    }
}

fn size_of_state(st: &State) -> u64 {
    match &st.body {
        Body::File(d) => d.len() as u64,
        Body::Symlink(t) => t.len() as u64,
        Body::Dir { entries, .. } => (entries.len() as u64 + 2) * BOGO_DIRENT_SIZE,
        // Linux gives /proc/PID/fd/N links the size 64; other proc nodes 0.
        Body::Proc(p) if matches!(p.node, super::proc::ProcNode::Fd(..)) => 64,
        Body::Special | Body::Fifo(_) | Body::Proc(_) => 0,
    }
}

/// Resizes file data, charging the superblock and never aborting on a failed
/// allocation (ENOSPC instead).
fn resize_file(sb: &Superblock, file: &mut Vec<u8>, len: u64) -> Result<(), Errno> {
    let old = file.len() as u64;
    let new = usize::try_from(len).map_err(|_| Errno::EFBIG)?;
    if len > old {
        sb.charge(len - old)?;
        // Amortized growth: appending a file chunk by chunk must not copy it each time.
        if file.try_reserve(new - file.len()).is_err() {
            sb.uncharge(len - old);
            return Err(Errno::ENOSPC);
        }
        file.resize(new, 0);
    } else if len < old {
        file.truncate(new);
        file.shrink_to_fit();
        sb.uncharge(old - len);
    }
    Ok(())
}
