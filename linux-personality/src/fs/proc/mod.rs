//! procfs: /proc generated from the kernel's facts whenever it is looked at.
//!
//! Every node is an ordinary [`Inode`] of the procfs superblock whose body is a
//! [`ProcNode`] (what it stands for: /proc/PID/stat of process 42, ...). Directories
//! are listed and looked up by asking the kernel (through the [`ProcSource`] the
//! mount got from `Kernel::proc_source`) which processes, threads and descriptors
//! exist right now; a file's text is generated when it is opened (the open file keeps
//! that snapshot, as a seq_file read from offset 0 would); a symlink's target when it
//! is read or followed. Inode numbers are derived from the node, so the same node
//! looked up twice is the same inode while anyone holds it.
//!
//! The /proc/PID/fd/N, cwd, root and exe links are Linux's "magic" links: following
//! one goes straight to the object ([`link`] returns it) instead of resolving the
//! text, so a deleted file or a directory outside the caller's root is still reached.
//!
//! ## Adding a generated file
//!
//! A global file is one line in [`GLOBAL`]: its path under /proc, mode, and a
//! function from an [`Env`] (the facts, the caller's file-system view) to its bytes.
//! Directories on the way are entries with [`Gen::Dir`]. Files whose contents live
//! elsewhere in the kernel (the network stack's /proc/net/*) go through
//! [`ProcSource::net_file`] (and writes through [`ProcSource::net_write`]): add the
//! path to [`GLOBAL`] with [`Gen::Net`], e.g. `("net/tcp", 0o444, Gen::Net)` or
//! `("sys/net/ipv4/ping_group_range", 0o644, Gen::Net)`, and answer it in the
//! kernel's `ProcSource` (kernel/src/vfs/procsrc.rs).

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;
mod text;

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use spin::Mutex;

use super::inode::{Body, Inode, NodeKind};
use super::namei::Walker;
use super::perm::Creds;
use super::FsContext;
use crate::abi::Errno;
use crate::file::{FileOps, FileStat, OpenFile};
use crate::syscall::Ids;

pub use text::{cpuinfo, meminfo, stat_line, status_text};

/// One process as /proc shows it.
#[derive(Clone, Debug, Default)]
pub struct ProcInfo {
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    /// The controlling terminal (an encoded device number, 0 for none) and its
    /// foreground process group (-1 for none).
    pub tty_nr: u32,
    pub tpgid: i32,
    /// `R`, `S`, `T`, `Z`.
    pub state: u8,
    pub comm: Vec<u8>,
    /// The argument and environment strings, each NUL-terminated.
    pub cmdline: Vec<u8>,
    pub environ: Vec<u8>,
    /// The path of the executable (None: not known, e.g. a kernel-started program).
    pub exe: Option<Vec<u8>>,
    pub ids: Ids,
    /// Thread ids, the first being the pid.
    pub threads: Vec<u32>,
    /// CPU time in clock ticks (USER_HZ, 100 a second).
    pub utime: u64,
    pub stime: u64,
    /// Start time, ticks after boot.
    pub start_time: u64,
    /// Virtual size (bytes) and resident pages.
    pub vsize: u64,
    pub rss_pages: u64,
    pub sig_pending: u64,
    /// The nice value (setpriority); /proc shows priority 20 + nice beside it.
    pub nice: i32,
    pub sig_blocked: u64,
    pub sig_ignored: u64,
    pub sig_caught: u64,
    pub umask: u32,
}

/// One line of /proc/PID/maps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapEntry {
    pub start: u64,
    pub end: u64,
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    pub shared: bool,
    pub offset: u64,
    /// Path, `[heap]`, `[stack]`, or empty.
    pub name: Vec<u8>,
}

/// System-wide figures.
#[derive(Clone, Debug, Default)]
pub struct SystemInfo {
    pub uptime_ns: u64,
    /// Idle time of all CPUs together.
    pub idle_ns: u64,
    /// CPU time spent in user mode and in the kernel, system-wide.
    pub user_ns: u64,
    pub system_ns: u64,
    pub mem_total: u64,
    pub mem_free: u64,
    /// Boot time, seconds since the epoch.
    pub boot_time: i64,
    pub ncpus: u32,
    /// CPUID's vendor string, family, model, stepping, brand string and feature
    /// flags (Linux's names, space-separated).
    pub cpu_vendor: Vec<u8>,
    pub cpu_family: u32,
    pub cpu_model: u32,
    pub cpu_stepping: u32,
    pub cpu_name: Vec<u8>,
    pub cpu_flags: Vec<u8>,
    pub cpu_mhz: u32,
    pub hostname: Vec<u8>,
    pub cmdline: Vec<u8>,
    /// Processes created since boot.
    pub forks: u64,
    pub running: u32,
    pub last_pid: u32,
    pub ctxt: u64,
}

/// What procfs needs from the kernel. The kernel implements it once (the caller is
/// the current thread); each procfs superblock holds one.
pub trait ProcSource: Send + Sync {
    /// The calling process and thread.
    fn caller(&self) -> (u32, u32);
    /// Every process, lowest pid first.
    fn pids(&self) -> Vec<u32>;
    fn proc_info(&self, pid: u32) -> Option<ProcInfo>;
    fn vm_maps(&self, pid: u32) -> Vec<MapEntry>;
    /// A process's descriptors: (fd, open file, close-on-exec).
    fn files(&self, pid: u32) -> Vec<(u32, Arc<OpenFile>, bool)>;
    /// Another process's root and cwd (never asked for the caller's own, which the
    /// caller's context has).
    fn fs_context(&self, pid: u32) -> Option<FsContext>;
    /// /proc/PID/caps: the process's CSpace, in the debug console's `caps PID` format.
    fn caps_text(&self, pid: u32) -> Vec<u8>;
    fn system(&self) -> SystemInfo;
    /// A write of /proc/sys/kernel/hostname (length already checked).
    fn set_hostname(&self, name: &[u8]);
    /// Contents of a file the network stack generates (/proc/net/*, ...): None if
    /// there is none.
    fn net_file(&self, _path: &[u8]) -> Option<Vec<u8>> {
        None
    }
    /// A write of such a file (/proc/sys/net/ipv4/ping_group_range, ...): EINVAL if
    /// it takes none.
    fn net_write(&self, _path: &[u8], _data: &[u8]) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
}

/// What a procfs node stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcNode {
    Root,
    /// An entry of [`GLOBAL`].
    Global(usize),
    SelfLink,
    ThreadSelf,
    Pid(u32),
    /// /proc/PID/task
    Tasks(u32),
    /// /proc/PID/task/TID
    Task(u32, u32),
    /// An entry of [`PER_PID`] of a process (and thread, inside task/).
    Entry(u32, Option<u32>, usize),
    /// /proc/PID/fd (false) or fdinfo (true).
    Fds(u32, Option<u32>, bool),
    Fd(u32, u32),
    FdInfo(u32, u32),
}

impl ProcNode {
    /// Under /proc/sys (sysctl permission rules).
    pub fn is_sysctl(&self) -> bool {
        matches!(self, ProcNode::Global(i) if GLOBAL[*i].0.starts_with("sys/"))
    }
}

/// The body of a procfs inode.
pub(crate) struct ProcBody {
    pub node: ProcNode,
    /// Held strongly: a procfs directory is made on lookup and nothing else keeps
    /// its parent, which `..` and getcwd need (no cycle: parents hold no children).
    pub parent: Option<Arc<Inode>>,
    pub name: Vec<u8>,
}

impl ProcBody {
    pub fn root() -> ProcBody {
        ProcBody {
            node: ProcNode::Root,
            parent: None,
            name: Vec::new(),
        }
    }
}

/// What a generator sees: the facts and the caller's view of the file system.
pub struct Env<'a> {
    pub src: &'a dyn ProcSource,
    pub ctx: &'a FsContext,
    pub creds: &'a Creds,
}

/// How a global entry is made.
#[derive(Clone, Copy)]
pub enum Gen {
    Dir,
    File(fn(&Env<'_>) -> Vec<u8>),
    /// Contents from [`ProcSource::net_file`] with this entry's path.
    Net,
}

/// /proc's fixed entries: path, permission bits, generator.
pub const GLOBAL: &[(&str, u32, Gen)] = &[
    ("cmdline", 0o444, Gen::File(text::cmdline)),
    ("cpuinfo", 0o444, Gen::File(text::cpuinfo_file)),
    ("filesystems", 0o444, Gen::File(text::filesystems)),
    ("loadavg", 0o444, Gen::File(text::loadavg)),
    ("meminfo", 0o444, Gen::File(text::meminfo_file)),
    ("mounts", 0o444, Gen::File(text::mounts)),
    ("stat", 0o444, Gen::File(text::stat_file)),
    ("uptime", 0o444, Gen::File(text::uptime)),
    ("version", 0o444, Gen::File(text::version)),
    ("partitions", 0o444, Gen::File(text::partitions)),
    ("net", 0o555, Gen::Dir),
    ("sys", 0o555, Gen::Dir),
    ("sys/kernel", 0o555, Gen::Dir),
    ("sys/kernel/hostname", 0o644, Gen::File(text::hostname)),
    ("sys/kernel/osrelease", 0o444, Gen::File(text::osrelease)),
    ("sys/kernel/ostype", 0o444, Gen::File(text::ostype)),
    ("sys/kernel/pid_max", 0o644, Gen::File(text::pid_max)),
    (
        "sys/kernel/ngroups_max",
        0o444,
        Gen::File(text::ngroups_max),
    ),
    ("sys/vm", 0o555, Gen::Dir),
    (
        "sys/vm/overcommit_memory",
        0o644,
        Gen::File(text::overcommit),
    ),
    ("sys/net", 0o555, Gen::Dir),
    ("sys/net/ipv4", 0o555, Gen::Dir),
    // What Writ's ICMP_ECHO right means, in Linux's words (read-only: the right, not
    // this file, decides).
    ("sys/net/ipv4/ping_group_range", 0o444, Gen::Net),
    ("net/dev", 0o444, Gen::Net),
    ("net/route", 0o444, Gen::Net),
    ("net/tcp", 0o444, Gen::Net),
    ("net/udp", 0o444, Gen::Net),
    ("net/icmp", 0o444, Gen::Net),
    ("net/tcp6", 0o444, Gen::Net),
    ("net/udp6", 0o444, Gen::Net),
    ("net/if_inet6", 0o444, Gen::Net),
];

/// What a per-process entry is.
#[derive(Clone, Copy)]
enum PidGen {
    File(fn(&Env<'_>, &ProcInfo, Option<u32>) -> Vec<u8>),
    Link,
    Fds(bool),
    Tasks,
}

/// The entries of /proc/PID (and, but for `task`, of /proc/PID/task/TID).
const PER_PID: &[(&str, u32, PidGen)] = &[
    // The CSpace: its owner (and root) may read it, as environ.
    ("caps", 0o400, PidGen::File(text::caps)),
    ("cmdline", 0o444, PidGen::File(text::pid_cmdline)),
    ("comm", 0o644, PidGen::File(text::comm)),
    ("cwd", 0o777, PidGen::Link),
    ("environ", 0o400, PidGen::File(text::environ)),
    ("exe", 0o777, PidGen::Link),
    ("fd", 0o500, PidGen::Fds(false)),
    ("fdinfo", 0o555, PidGen::Fds(true)),
    ("maps", 0o444, PidGen::File(text::maps)),
    ("mountinfo", 0o444, PidGen::File(text::mountinfo)),
    ("mounts", 0o444, PidGen::File(text::pid_mounts)),
    ("root", 0o777, PidGen::Link),
    ("stat", 0o444, PidGen::File(text::pid_stat)),
    ("statm", 0o444, PidGen::File(text::statm)),
    ("status", 0o444, PidGen::File(text::status)),
    ("task", 0o555, PidGen::Tasks),
];

/// The getdents position of the first process directory in /proc (the fixed entries
/// come before it), so a process ending between two reads moves nothing.
const PID_POS: u64 = 1 << 20;

fn source(dir: &Inode) -> Option<Arc<dyn ProcSource>> {
    dir.superblock().proc_source().cloned()
}

/// FNV-1a: inode numbers from what a node is.
fn ino_of(node: &ProcNode) -> u64 {
    if *node == ProcNode::Root {
        return 1;
    }
    let key = format!("{node:?}");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Clear of the small numbers (the root is 1) and positive as an i64.
    (h >> 2) | (1 << 32)
}

fn parse_num(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 || (name[0] == b'0' && name.len() > 1) {
        return None;
    }
    core::str::from_utf8(name).ok()?.parse().ok()
}

/// The inode of `node`, named `name` in `dir`.
fn make(
    dir: &Arc<Inode>,
    node: ProcNode,
    name: &[u8],
    kind: NodeKind,
    perm: u32,
    owner: (u32, u32),
) -> Arc<Inode> {
    let sb = dir.superblock().clone();
    let ino = ino_of(&node);
    sb.proc_inode(ino, kind, perm, owner, || {
        Body::Proc(ProcBody {
            node,
            parent: Some(dir.clone()),
            name: name.to_vec(),
        })
    })
}

fn owner_of(info: &ProcInfo) -> (u32, u32) {
    (info.ids.euid, info.ids.egid)
}

/// The children of a global directory `prefix` ("" for /proc): (index, name).
fn global_children(prefix: &str) -> impl Iterator<Item = (usize, &'static str)> + '_ {
    GLOBAL
        .iter()
        .enumerate()
        .filter_map(move |(i, (path, _, _))| {
            let rest = if prefix.is_empty() {
                *path
            } else {
                path.strip_prefix(prefix)?.strip_prefix('/')?
            };
            (!rest.contains('/')).then_some((i, rest))
        })
}

fn global_inode(dir: &Arc<Inode>, i: usize, name: &[u8]) -> Arc<Inode> {
    let (_, perm, gen) = GLOBAL[i];
    let kind = match gen {
        Gen::Dir => NodeKind::Dir,
        _ => NodeKind::File,
    };
    make(dir, ProcNode::Global(i), name, kind, perm, (0, 0))
}

fn per_pid_inode(dir: &Arc<Inode>, info: &ProcInfo, tid: Option<u32>, i: usize) -> Arc<Inode> {
    let (name, perm, gen) = PER_PID[i];
    let pid = info.pid;
    let (node, kind) = match gen {
        PidGen::File(_) => (ProcNode::Entry(pid, tid, i), NodeKind::File),
        PidGen::Link => (ProcNode::Entry(pid, tid, i), NodeKind::Symlink),
        PidGen::Fds(info) => (ProcNode::Fds(pid, tid, info), NodeKind::Dir),
        PidGen::Tasks => (ProcNode::Tasks(pid), NodeKind::Dir),
    };
    make(dir, node, name.as_bytes(), kind, perm, owner_of(info))
}

fn pid_dir(dir: &Arc<Inode>, info: &ProcInfo, tid: Option<u32>) -> Arc<Inode> {
    let (node, name) = match tid {
        None => (ProcNode::Pid(info.pid), format!("{}", info.pid)),
        Some(t) => (ProcNode::Task(info.pid, t), format!("{t}")),
    };
    make(
        dir,
        node,
        name.as_bytes(),
        NodeKind::Dir,
        0o555,
        owner_of(info),
    )
}

/// A descriptor's link, fd/N: lrwx------ with the rights the open gave.
fn fd_inode(dir: &Arc<Inode>, info: &ProcInfo, fd: u32, status: u32, infofile: bool) -> Arc<Inode> {
    use crate::file::flags::*;
    let name = format!("{fd}");
    if infofile {
        return make(
            dir,
            ProcNode::FdInfo(info.pid, fd),
            name.as_bytes(),
            NodeKind::File,
            0o444,
            owner_of(info),
        );
    }
    let perm = match status & O_ACCMODE {
        O_RDONLY => 0o500,
        O_WRONLY => 0o300,
        _ => 0o700,
    };
    make(
        dir,
        ProcNode::Fd(info.pid, fd),
        name.as_bytes(),
        NodeKind::Symlink,
        perm,
        owner_of(info),
    )
}

/// Looks `name` up in procfs directory `dir` (which is `node`).
pub(crate) fn lookup(dir: &Arc<Inode>, node: &ProcNode, name: &[u8]) -> Option<Arc<Inode>> {
    let src = source(dir)?;
    match node {
        ProcNode::Root => {
            if name == b"self" {
                return Some(make(
                    dir,
                    ProcNode::SelfLink,
                    name,
                    NodeKind::Symlink,
                    0o777,
                    (0, 0),
                ));
            }
            if name == b"thread-self" {
                return Some(make(
                    dir,
                    ProcNode::ThreadSelf,
                    name,
                    NodeKind::Symlink,
                    0o777,
                    (0, 0),
                ));
            }
            if let Some(pid) = parse_num(name) {
                if let Some(info) = src.proc_info(pid) {
                    return Some(pid_dir(dir, &info, None));
                }
                // A thread id: not listed, but found, as on Linux.
                let info = src
                    .pids()
                    .into_iter()
                    .filter_map(|p| src.proc_info(p))
                    .find(|i| i.threads.contains(&pid))?;
                return Some(pid_dir(dir, &info, Some(pid)));
            }
            let (i, _) = global_children("").find(|(_, n)| n.as_bytes() == name)?;
            Some(global_inode(dir, i, name))
        }
        ProcNode::Global(g) => {
            let (i, _) = global_children(GLOBAL[*g].0).find(|(_, n)| n.as_bytes() == name)?;
            Some(global_inode(dir, i, name))
        }
        ProcNode::Pid(pid) | ProcNode::Task(pid, _) => {
            let tid = match node {
                ProcNode::Task(_, t) => Some(*t),
                _ => None,
            };
            let info = src.proc_info(*pid)?;
            let i = PER_PID.iter().position(|(n, _, g)| {
                n.as_bytes() == name && !(tid.is_some() && matches!(g, PidGen::Tasks))
            })?;
            Some(per_pid_inode(dir, &info, tid, i))
        }
        ProcNode::Tasks(pid) => {
            let info = src.proc_info(*pid)?;
            let tid = parse_num(name)?;
            info.threads
                .contains(&tid)
                .then(|| pid_dir(dir, &info, Some(tid)))
        }
        ProcNode::Fds(pid, _, infofile) => {
            let info = src.proc_info(*pid)?;
            let fd = parse_num(name)?;
            let (_, f, _) = src.files(*pid).into_iter().find(|(n, _, _)| *n == fd)?;
            Some(fd_inode(dir, &info, fd, f.status(), *infofile))
        }
        _ => None,
    }
}

/// The entries of procfs directory `dir` at getdents position `pos` or later.
pub(crate) fn list(
    dir: &Arc<Inode>,
    node: &ProcNode,
    pos: u64,
    max: usize,
) -> Vec<(u64, Vec<u8>, Arc<Inode>)> {
    let Some(src) = source(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(u64, Vec<u8>, Arc<Inode>)> = Vec::new();
    let mut push = |at: u64, name: &[u8], make: &dyn Fn() -> Option<Arc<Inode>>| {
        if at >= pos && out.len() < max {
            if let Some(n) = make() {
                out.push((at, name.to_vec(), n));
            }
        }
    };
    match node {
        ProcNode::Root => {
            let mut at = 2;
            for (i, name) in global_children("") {
                push(at, name.as_bytes(), &|| {
                    Some(global_inode(dir, i, name.as_bytes()))
                });
                at += 1;
            }
            push(at, b"self", &|| lookup(dir, node, b"self"));
            push(at + 1, b"thread-self", &|| {
                lookup(dir, node, b"thread-self")
            });
            for pid in src.pids() {
                let name = format!("{pid}");
                push(PID_POS + u64::from(pid), name.as_bytes(), &|| {
                    src.proc_info(pid).map(|info| pid_dir(dir, &info, None))
                });
            }
        }
        ProcNode::Global(g) => {
            for (k, (i, name)) in global_children(GLOBAL[*g].0).enumerate() {
                push(2 + k as u64, name.as_bytes(), &|| {
                    Some(global_inode(dir, i, name.as_bytes()))
                });
            }
        }
        ProcNode::Pid(pid) | ProcNode::Task(pid, _) => {
            let tid = match node {
                ProcNode::Task(_, t) => Some(*t),
                _ => None,
            };
            let Some(info) = src.proc_info(*pid) else {
                return out;
            };
            for (i, (name, _, g)) in PER_PID.iter().enumerate() {
                if tid.is_some() && matches!(g, PidGen::Tasks) {
                    continue;
                }
                push(2 + i as u64, name.as_bytes(), &|| {
                    Some(per_pid_inode(dir, &info, tid, i))
                });
            }
        }
        ProcNode::Tasks(pid) => {
            let Some(info) = src.proc_info(*pid) else {
                return out;
            };
            for &t in &info.threads {
                let name = format!("{t}");
                push(2 + u64::from(t), name.as_bytes(), &|| {
                    Some(pid_dir(dir, &info, Some(t)))
                });
            }
        }
        ProcNode::Fds(pid, _, infofile) => {
            let Some(info) = src.proc_info(*pid) else {
                return out;
            };
            for (fd, f, _) in src.files(*pid) {
                let name = format!("{fd}");
                push(2 + u64::from(fd), name.as_bytes(), &|| {
                    Some(fd_inode(dir, &info, fd, f.status(), *infofile))
                });
            }
        }
        _ => {}
    }
    out
}

/// The caller's own context, or another process's.
fn context_of(src: &dyn ProcSource, ctx: &FsContext, pid: u32) -> Result<FsContext, Errno> {
    if src.caller().0 == pid {
        Ok(ctx.clone())
    } else {
        src.fs_context(pid).ok_or(Errno::ENOENT)
    }
}

/// A procfs symlink's target as the caller (`ctx`, `creds`) sees it, and for the
/// magic links the object itself.
pub(crate) fn link(
    link: &Arc<Inode>,
    ctx: &FsContext,
    creds: &Creds,
) -> Result<(Vec<u8>, Option<Arc<Inode>>), Errno> {
    let node = link.proc_node().ok_or(Errno::EINVAL)?;
    let src = source(link).ok_or(Errno::ENOENT)?;
    let w = Walker::new(ctx, creds);
    if let ProcNode::Entry(pid, ..) | ProcNode::Fd(pid, _) = node {
        may_look_inside(&*src, creds, pid)?;
    }
    match node {
        ProcNode::SelfLink => Ok((format!("{}", src.caller().0).into_bytes(), None)),
        ProcNode::ThreadSelf => {
            let (p, t) = src.caller();
            Ok((format!("{p}/task/{t}").into_bytes(), None))
        }
        ProcNode::Entry(pid, _, i) => {
            let pctx = context_of(&*src, ctx, pid)?;
            let target = match PER_PID[i].0 {
                "cwd" => pctx.cwd.clone(),
                "root" => pctx.root.clone(),
                "exe" => {
                    let info = src.proc_info(pid).ok_or(Errno::ENOENT)?;
                    let exe = info.exe.ok_or(Errno::ENOENT)?;
                    // The executable as its own process sees it.
                    let node = Walker::new(&pctx, creds)
                        .resolve(&pctx.root, &exe, true)
                        .ok();
                    return Ok((exe, node));
                }
                _ => return Err(Errno::EINVAL),
            };
            let text = w.path_of(&target).unwrap_or_else(|_| b"/".to_vec());
            Ok((text, Some(target)))
        }
        ProcNode::Fd(pid, fd) => {
            let (_, f, _) = src
                .files(pid)
                .into_iter()
                .find(|(n, _, _)| *n == fd)
                .ok_or(Errno::ENOENT)?;
            Ok(describe_file(ctx, creds, &f))
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Linux's ptrace read check for the exe, cwd, root and fd links: root, or a caller
/// whose ids are the process's own (EACCES otherwise).
fn may_look_inside(src: &dyn ProcSource, creds: &Creds, pid: u32) -> Result<(), Errno> {
    let info = src.proc_info(pid).ok_or(Errno::ENOENT)?;
    let i = &info.ids;
    let same_user = [i.ruid, i.euid, i.suid].iter().all(|u| *u == creds.uid)
        && [i.rgid, i.egid, i.sgid].iter().all(|g| *g == creds.gid);
    if creds.euid == 0 || same_user {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// What fd/N says for an open file: its path (a tmpfs or procfs inode, or the /dev
/// node of a device), `pipe:[ino]`, `socket:[ino]`, `anon_inode:[...]`.
fn describe_file(ctx: &FsContext, creds: &Creds, f: &OpenFile) -> (Vec<u8>, Option<Arc<Inode>>) {
    use super::mode::*;
    let st: FileStat = f.ops.stat();
    let w = Walker::new(ctx, creds);
    if let Some(node) = ctx.inode(st.dev, st.ino) {
        // Unlinked: Linux appends " (deleted)" to the old path, which is not kept
        // here; the link still leads to the file.
        let text = path_of_any(&w, ctx, &node).unwrap_or_else(|| b"(deleted)".to_vec());
        return (text, Some(node));
    }
    match st.mode & S_IFMT {
        S_IFIFO => (format!("pipe:[{}]", st.ino).into_bytes(), None),
        S_IFSOCK => (format!("socket:[{}]", st.ino).into_bytes(), None),
        S_IFCHR => {
            // A driver opened without a node (the console the kernel gave init): the
            // /dev node with its number.
            if let Ok(dev) = Walker::new(ctx, creds).resolve(&ctx.root, b"/dev", true) {
                let found = dev
                    .entries()
                    .into_iter()
                    .find(|(_, n)| n.kind == NodeKind::CharDev && n.rdev() == st.rdev);
                if let Some((name, node)) = found {
                    let mut p = b"/dev/".to_vec();
                    p.extend_from_slice(&name);
                    return (p, Some(node));
                }
            }
            (b"anon_inode:[chardev]".to_vec(), None)
        }
        // Anonymous files by kind where the file says (`anon_inode:[pidfd]`).
        _ => (
            format!("anon_inode:[{}]", f.ops.cap_type()).into_bytes(),
            None,
        ),
    }
}

/// The path of any inode: a directory by walking up; anything else by finding a
/// directory that holds it (searched from the root of its file system). None if it
/// has no name any more.
fn path_of_any(w: &Walker<'_>, ctx: &FsContext, node: &Arc<Inode>) -> Option<Vec<u8>> {
    if node.is_dir() {
        return w.path_of(node).ok();
    }
    if node.proc_node().is_some() {
        let parent = node.parent_of_proc()?;
        let mut p = w.path_of(&parent).ok()?;
        let name = parent.name_of(node)?;
        if p.last() != Some(&b'/') {
            p.push(b'/');
        }
        p.extend_from_slice(&name);
        return Some(p);
    }
    if node.nlink() == 0 {
        return None;
    }
    // The directories to search: the roots of the file system the node is on.
    let sb = node.superblock();
    let mut starts: Vec<Arc<Inode>> = Vec::new();
    if Arc::ptr_eq(ctx.root.superblock(), sb) {
        starts.push(ctx.root.clone());
    }
    for m in ctx.mounts.list() {
        if Arc::ptr_eq(m.root.superblock(), sb) {
            starts.push(m.root.clone());
        }
    }
    let mut budget = 200_000usize;
    for start in starts {
        let mut stack = alloc::vec![start];
        while let Some(d) = stack.pop() {
            for (name, child) in d.entries() {
                budget = budget.checked_sub(1)?;
                if Arc::ptr_eq(&child, node) {
                    let mut p = w.path_of(&d).ok()?;
                    if p.last() != Some(&b'/') {
                        p.push(b'/');
                    }
                    p.extend_from_slice(&name);
                    return Some(p);
                }
                if child.is_dir() {
                    stack.push(child);
                }
            }
        }
    }
    None
}

impl Inode {
    /// The directory a procfs node was looked up in.
    fn parent_of_proc(&self) -> Option<Arc<Inode>> {
        match &self.state.lock().body {
            Body::Proc(p) => p.parent.clone(),
            _ => None,
        }
    }
}

/// The text of procfs file `node` for the caller; ENOENT if what it describes is gone.
pub(crate) fn contents(
    node: &Arc<Inode>,
    ctx: &FsContext,
    creds: &Creds,
) -> Result<Vec<u8>, Errno> {
    let pn = node.proc_node().ok_or(Errno::EINVAL)?;
    let src = source(node).ok_or(Errno::ENOENT)?;
    let env = Env {
        src: &*src,
        ctx,
        creds,
    };
    match pn {
        ProcNode::Global(i) => match GLOBAL[i].2 {
            Gen::File(f) => Ok(f(&env)),
            Gen::Net => src.net_file(GLOBAL[i].0.as_bytes()).ok_or(Errno::ENOENT),
            Gen::Dir => Err(Errno::EISDIR),
        },
        ProcNode::Entry(pid, tid, i) => {
            let info = src.proc_info(pid).ok_or(Errno::ESRCH)?;
            match PER_PID[i].2 {
                PidGen::File(f) => Ok(f(&env, &info, tid)),
                _ => Err(Errno::EINVAL),
            }
        }
        ProcNode::FdInfo(pid, fd) => {
            let (_, f, cloexec) = src
                .files(pid)
                .into_iter()
                .find(|(n, _, _)| *n == fd)
                .ok_or(Errno::ENOENT)?;
            Ok(text::fdinfo(&f, cloexec))
        }
        _ => Err(Errno::EINVAL),
    }
}

/// An open procfs file: the text generated at open, read at any offset. Writes reach
/// the few writable files (the hostname); the others are EINVAL, as Linux answers a
/// write to a file without a write method.
pub struct ProcFile {
    node: Arc<Inode>,
    text: Mutex<Vec<u8>>,
}

impl ProcFile {
    pub(crate) fn open(
        node: Arc<Inode>,
        ctx: &FsContext,
        creds: &Creds,
    ) -> Result<ProcFile, Errno> {
        let text = contents(&node, ctx, creds)?;
        Ok(ProcFile {
            node,
            text: Mutex::new(text),
        })
    }
}

impl FileOps for ProcFile {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let text = self.text.lock();
        let Ok(off) = usize::try_from(offset) else {
            return Ok(0);
        };
        if off >= text.len() {
            return Ok(0);
        }
        let n = buf.len().min(text.len() - off);
        buf[..n].copy_from_slice(&text[off..off + n]);
        Ok(n)
    }

    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        let node = self.node.proc_node();
        let Some(ProcNode::Global(i)) = node else {
            return Err(Errno::EINVAL);
        };
        if let Gen::Net = GLOBAL[i].2 {
            let src = source(&self.node).ok_or(Errno::EINVAL)?;
            src.net_write(GLOBAL[i].0.as_bytes(), data)?;
            return Ok(data.len());
        }
        if GLOBAL[i].0 != "sys/kernel/hostname" {
            return Err(Errno::EINVAL);
        }
        let name = data.strip_suffix(b"\n").unwrap_or(data);
        if name.len() > 64 {
            return Err(Errno::EINVAL);
        }
        let src = source(&self.node).ok_or(Errno::EINVAL)?;
        src.set_hostname(name);
        Ok(data.len())
    }

    fn seekable(&self) -> bool {
        true
    }

    fn stat(&self) -> FileStat {
        self.node.stat()
    }
}

/// Permission on /proc/sys files: the mode bits only (root uses the owner's), no
/// override, as Linux's sysctl_perm: root may not write a 0444 sysctl.
pub(crate) fn sysctl_perm(mode: u32, creds: &Creds, mask: u32) -> Result<(), Errno> {
    let bits = if creds.euid == 0 {
        (mode >> 6) & 7
    } else if creds.egid == 0 || creds.groups.contains(&0) {
        (mode >> 3) & 7
    } else {
        mode & 7
    };
    if mask & 7 & !bits == 0 {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// The path /proc/PID/exe shows for an exec of `path`: symlinks resolved (so
/// `/bin/sh` is `/bin/busybox`), from the process root. None if it does not resolve.
pub fn exe_path(ctx: &FsContext, creds: &Creds, path: &[u8]) -> Option<Vec<u8>> {
    use super::namei::Last;
    let mut w = Walker::new(ctx, creds);
    let mut start = if path.first() == Some(&b'/') {
        ctx.root.clone()
    } else {
        ctx.cwd.clone()
    };
    let mut path = path.to_vec();
    for _ in 0..super::namei::MAXSYMLINKS {
        let p = w.parent(&start, &path).ok()?;
        let node = w.last_inode(&p).ok()?;
        if node.is_symlink() {
            path = w.link_text(&node).ok()?;
            start = p.dir.clone();
            continue;
        }
        let Last::Name(name) = p.last else {
            return None;
        };
        let mut out = w.path_of(&p.dir).ok()?;
        if out.last() != Some(&b'/') {
            out.push(b'/');
        }
        out.extend_from_slice(&name);
        return Some(out);
    }
    None
}

/// `String` from bytes, for the text generators.
pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
