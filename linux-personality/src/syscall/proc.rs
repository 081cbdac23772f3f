//! Process calls: pipe/pipe2, fork/vfork/clone (process-creating forms), execve,
//! wait4, getppid. The personality checks arguments and reads the user's strings;
//! the kernel copies address spaces, loads images and keeps the process tree.

use alloc::vec::Vec;

use super::{Kernel, SysResult};
use crate::abi::Errno;
use crate::file::{flags, OpenFile};
use crate::pipe;
use crate::uaccess::{read_cstring, read_exec_strings, PATH_MAX};

const SIGCHLD: u64 = 17;
const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_SYSVSEM: u64 = 0x40000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_DETACHED: u64 = 0x400000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;

const WNOHANG: u64 = 1;
const WUNTRACED: u64 = 2;
const WCONTINUED: u64 = 8;
const WALL: u64 = 0x4000_0000;
const WCLONE: u64 = 0x8000_0000;
const WNOTHREAD: u64 = 0x2000_0000;

pub fn pipe2<K: Kernel>(k: &mut K, fds: u64, fl: u64) -> SysResult {
    let allowed = u64::from(flags::O_CLOEXEC | flags::O_NONBLOCK | flags::O_DIRECT);
    if fl & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let cloexec = fl & u64::from(flags::O_CLOEXEC) != 0;
    let status = (fl as u32) & flags::O_NONBLOCK;
    let (r, w) = pipe::pipe();
    let rf = OpenFile::new(r, flags::O_RDONLY | status);
    let wf = OpenFile::new(w, flags::O_WRONLY | status);
    let (a, b) = k.with_caps(|sys, t| {
        let a = t.install(sys, rf, OpenFile::rights_for(flags::O_RDONLY), cloexec)?;
        match t.install(sys, wf, OpenFile::rights_for(flags::O_WRONLY), cloexec) {
            Ok(b) => Ok((a, b)),
            Err(e) => {
                let _ = t.close(sys, i64::from(a));
                Err(e)
            }
        }
    })?;
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(a as i32).to_le_bytes());
    out[4..].copy_from_slice(&(b as i32).to_le_bytes());
    if let Err(e) = k.mem().write(fds, &out) {
        k.with_caps(|sys, t| {
            let _ = t.close(sys, i64::from(a));
            let _ = t.close(sys, i64::from(b));
        });
        return Err(e);
    }
    Ok(0)
}

pub fn fork<K: Kernel>(k: &mut K, vfork: bool) -> SysResult {
    k.fork_process(ForkArgs {
        vfork,
        ..ForkArgs::default()
    })
    .map(u64::from)
}

/// How a new process starts (the process-creating subset of clone's arguments).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForkArgs {
    /// The child's stack pointer (0: the parent's).
    pub stack: u64,
    /// The parent waits until the child execs or exits.
    pub vfork: bool,
    /// Write the child's tid here in the parent's memory.
    pub parent_tid: Option<u64>,
    /// Write the child's tid here in the child's memory.
    pub child_settid: Option<u64>,
    /// Clear (and futex-wake) this child address when the child exits.
    pub child_cleartid: Option<u64>,
    /// The child's %fs base.
    pub tls: Option<u64>,
}

/// clone: a thread (CLONE_THREAD, sharing memory, files, fs and handlers, as
/// pthread_create asks) or a new process (fork, vfork, glibc's fork), optionally with
/// the tid written to the parent or the child, a TLS base, and the tid cleared at exit.
pub fn clone<K: Kernel>(
    k: &mut K,
    fl: u64,
    stack: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
) -> SysResult {
    let exit_signal = fl & 0xff;
    let rest = fl & !0xff;
    let args = ForkArgs {
        stack,
        vfork: rest & CLONE_VFORK != 0,
        parent_tid: (rest & CLONE_PARENT_SETTID != 0).then_some(ptid),
        child_settid: (rest & CLONE_CHILD_SETTID != 0).then_some(ctid),
        child_cleartid: (rest & CLONE_CHILD_CLEARTID != 0).then_some(ctid),
        tls: (rest & CLONE_SETTLS != 0).then_some(tls),
    };
    let ids = CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
    if rest & CLONE_THREAD != 0 {
        // Linux's rules: a thread shares the signal handlers, which need shared memory.
        if rest & CLONE_SIGHAND == 0 || rest & CLONE_VM == 0 {
            return Err(Errno::EINVAL);
        }
        // Threads here share memory, files and fs context; other mixes are not built.
        let needed = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
        if rest & needed != needed {
            return Err(Errno::ENOSYS);
        }
        if rest & !(needed | ids | CLONE_SYSVSEM | CLONE_DETACHED) != 0 {
            return Err(Errno::EINVAL);
        }
        return k.spawn_thread(args).map(u64::from);
    }
    if rest & CLONE_SIGHAND != 0 && rest & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    if (rest & CLONE_VM != 0 && rest & CLONE_VFORK == 0)
        || rest & (CLONE_FS | CLONE_FILES | CLONE_SIGHAND) != 0
    {
        // Processes sharing memory or tables without being threads: not built yet.
        return Err(Errno::ENOSYS);
    }
    if rest & !(CLONE_VM | CLONE_VFORK | ids) != 0 || (exit_signal != SIGCHLD && exit_signal != 0) {
        return Err(Errno::EINVAL);
    }
    // vfork's child shares the parent's memory until it execs or exits; a full copy
    // gives the same results for every program that follows vfork's rules, and the
    // parent waits as vfork requires.
    k.fork_process(args).map(u64::from)
}

pub fn execve<K: Kernel>(k: &mut K, path: u64, argv: u64, envp: u64) -> SysResult {
    let path = read_cstring(k.mem(), path, PATH_MAX)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let mut budget = crate::stack::ARG_MAX;
    let argv: Vec<Vec<u8>> = read_exec_strings(k.mem(), argv, &mut budget)?;
    let envp: Vec<Vec<u8>> = read_exec_strings(k.mem(), envp, &mut budget)?;
    k.execve(&path, argv, envp).map(|_| 0)
}

pub fn wait4<K: Kernel>(k: &mut K, pid: u64, status: u64, options: u64, rusage: u64) -> SysResult {
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WALL | WCLONE | WNOTHREAD) != 0 {
        return Err(Errno::EINVAL);
    }
    let pid = pid as i32;
    if pid == i32::MIN {
        return Err(Errno::ESRCH);
    }
    let how = super::WaitFor {
        nohang: options & WNOHANG != 0,
        reap: true,
        exited: true,
        stopped: options & WUNTRACED != 0,
        continued: options & WCONTINUED != 0,
    };
    match k.wait_child(pid, how)? {
        None => Ok(0),
        Some((child, st)) => {
            if status != 0 {
                k.mem().write(status, &(st as i32).to_le_bytes())?;
            }
            if rusage != 0 {
                // struct rusage: 144 bytes; CPU accounting is not kept yet, so zeros.
                k.mem().write(rusage, &[0u8; 144])?;
            }
            Ok(u64::from(child))
        }
    }
}

const P_ALL: u64 = 0;
const P_PID: u64 = 1;
const P_PGID: u64 = 2;
const P_PIDFD: u64 = 3;
const WEXITED: u64 = 4;
const WSTOPPED: u64 = 2;
const WNOWAIT: u64 = 0x0100_0000;

/// waitid: like wait4, reporting through a siginfo; WNOWAIT leaves the child to be
/// waited for again.
pub fn waitid<K: Kernel>(k: &mut K, idtype: u64, id: u64, infop: u64, options: u64) -> SysResult {
    if options & !(WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | WALL | WCLONE | WNOTHREAD)
        != 0
    {
        return Err(Errno::EINVAL);
    }
    if options & (WEXITED | WSTOPPED | WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let pid = match idtype {
        P_ALL => -1,
        P_PID => {
            let p = id as i32;
            if p <= 0 {
                return Err(Errno::EINVAL);
            }
            p
        }
        // P_PGID 0 is the caller's own group, as wait4's pid 0.
        P_PGID => match id as i32 {
            0 => 0,
            g if g > 0 => -g,
            _ => return Err(Errno::EINVAL),
        },
        // The process a pidfd names (EBADF for another file too).
        P_PIDFD => {
            let f = k.with_caps(|sys, t| t.get(sys, id as i32 as i64, caps::Rights::empty()))?;
            f.ops.pidfd_pid().ok_or(Errno::EBADF)? as i32
        }
        _ => return Err(Errno::EINVAL),
    };
    let how = super::WaitFor {
        nohang: options & WNOHANG != 0,
        reap: options & WNOWAIT == 0,
        exited: options & WEXITED != 0,
        stopped: options & WSTOPPED != 0,
        continued: options & WCONTINUED != 0,
    };
    let found = k.wait_child(pid, how)?;
    if infop != 0 {
        let mut si = [0u8; 128];
        if let Some((child, status)) = found {
            let (code, value) = if status == 0xffff {
                (crate::signal::CLD_CONTINUED, crate::signal::SIGCONT)
            } else if status & 0xff == 0x7f {
                (crate::signal::CLD_STOPPED, (status >> 8) & 0xff)
            } else if status & 0x7f == 0 {
                (crate::signal::CLD_EXITED, (status >> 8) & 0xff)
            } else {
                (crate::signal::CLD_KILLED, status & 0x7f)
            };
            si[0..4].copy_from_slice(&(crate::signal::SIGCHLD as i32).to_le_bytes());
            si[8..12].copy_from_slice(&code.to_le_bytes());
            si[16..20].copy_from_slice(&(child as i32).to_le_bytes());
            si[24..28].copy_from_slice(&(value as i32).to_le_bytes());
        }
        k.mem().write(infop, &si)?;
    }
    Ok(0)
}

const PIDFD_NONBLOCK: u64 = 0o4000;

/// pidfd_open: a descriptor for process `pid` (a capability to it in the fd CNode);
/// it polls readable once the process has ended, names it for waitid(P_PIDFD) and
/// pidfd_send_signal, and is close-on-exec, as on Linux.
pub fn pidfd_open<K: Kernel>(k: &mut K, pid: u64, flags: u64) -> SysResult {
    if flags & !PIDFD_NONBLOCK != 0 || pid as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    let ops = k.pidfd(pid as u32)?;
    let status = crate::file::flags::O_RDWR | (flags & PIDFD_NONBLOCK) as u32;
    let f = crate::file::OpenFile::new(ops, status);
    k.with_caps(|sys, t| {
        t.install(
            sys,
            f,
            crate::file::OpenFile::rights_for(crate::file::flags::O_RDWR),
            true,
        )
    })
    .map(u64::from)
}

const PIDFD_SIGNAL_THREAD: u64 = 1;
const PIDFD_SIGNAL_THREAD_GROUP: u64 = 2;
const PIDFD_SIGNAL_PROCESS_GROUP: u64 = 4;

/// pidfd_send_signal: kill(2) for the process a pidfd names, or (flags, at most one)
/// for its thread (tgkill), its thread group (kill) or its process group. A
/// caller-made siginfo is not taken: EINVAL (a NULL `info` is kill's SI_USER).
pub fn pidfd_send_signal<K: Kernel>(
    k: &mut K,
    fd: u64,
    sig: u64,
    info: u64,
    flags: u64,
) -> SysResult {
    let scope = PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP;
    if flags & !scope != 0 || flags.count_ones() > 1 || info != 0 {
        return Err(Errno::EINVAL);
    }
    let f = k.with_caps(|sys, t| t.get(sys, fd as i32 as i64, caps::Rights::empty()))?;
    let pid = f.ops.pidfd_pid().ok_or(Errno::EBADF)?;
    match flags {
        PIDFD_SIGNAL_THREAD => super::sig::tgkill(k, i64::from(pid), u64::from(pid), sig),
        // The group the process leads (Linux signals the pid's group: ESRCH when
        // the process leads none).
        PIDFD_SIGNAL_PROCESS_GROUP => super::sig::kill(k, (-i64::from(pid)) as u64, sig),
        _ => super::sig::kill(k, u64::from(pid), sig),
    }
}
