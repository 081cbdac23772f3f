//! Calls about the calling task itself: prctl, personality, CPU affinity and getcpu,
//! getrusage and times (CPU time as the kernel's tick accounting measures it); and
//! syslog(2), the kernel message buffer `dmesg` reads; reboot(2).

use alloc::vec::Vec;

use super::{CpuWho, Kernel, SysResult, TaskAttr};
use crate::abi::Errno;
use crate::signal;

const PR_SET_PDEATHSIG: u64 = 1;
const PR_GET_PDEATHSIG: u64 = 2;
const PR_GET_DUMPABLE: u64 = 3;
const PR_SET_DUMPABLE: u64 = 4;
const PR_SET_NAME: u64 = 15;
const PR_GET_NAME: u64 = 16;
const PR_CAPBSET_READ: u64 = 23;
const PR_SET_CHILD_SUBREAPER: u64 = 36;
const PR_GET_CHILD_SUBREAPER: u64 = 37;
const PR_SET_NO_NEW_PRIVS: u64 = 38;
const PR_GET_NO_NEW_PRIVS: u64 = 39;

/// The highest capability number Linux 6.x knows (CAP_CHECKPOINT_RESTORE).
const CAP_LAST_CAP: u64 = 40;
/// TASK_COMM_LEN.
const COMM_LEN: usize = 16;

pub fn prctl<K: Kernel>(k: &mut K, op: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> SysResult {
    match op {
        PR_SET_NAME => {
            // The name is cut at 15 bytes; an unterminated buffer is fine.
            let mut b = [0u8; COMM_LEN];
            read_partial(k, a2, &mut b)?;
            let n = b.iter().position(|&c| c == 0).unwrap_or(COMM_LEN - 1);
            k.set_comm(&b[..n]);
            Ok(0)
        }
        PR_GET_NAME => {
            let mut b = [0u8; COMM_LEN];
            let name = k.comm();
            let n = name.len().min(COMM_LEN - 1);
            b[..n].copy_from_slice(&name[..n]);
            k.mem().write(a2, &b)?;
            Ok(0)
        }
        PR_SET_PDEATHSIG => {
            if a2 != 0 && !signal::valid(a2 as u32) || a2 > u64::from(signal::NSIG) {
                return Err(Errno::EINVAL);
            }
            k.task_attr(TaskAttr::ParentDeathSignal, Some(a2));
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            let sig = k.task_attr(TaskAttr::ParentDeathSignal, None) as i32;
            k.mem().write(a2, &sig.to_le_bytes())?;
            Ok(0)
        }
        PR_GET_DUMPABLE => Ok(k.task_attr(TaskAttr::Dumpable, None)),
        PR_SET_DUMPABLE => {
            if a2 > 1 {
                return Err(Errno::EINVAL);
            }
            k.task_attr(TaskAttr::Dumpable, Some(a2));
            Ok(0)
        }
        PR_SET_NO_NEW_PRIVS => {
            if a2 != 1 || a3 != 0 || a4 != 0 || a5 != 0 {
                return Err(Errno::EINVAL);
            }
            k.task_attr(TaskAttr::NoNewPrivs, Some(1));
            Ok(0)
        }
        PR_GET_NO_NEW_PRIVS => {
            if a2 != 0 || a3 != 0 || a4 != 0 || a5 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(k.task_attr(TaskAttr::NoNewPrivs, None))
        }
        PR_SET_CHILD_SUBREAPER => {
            k.task_attr(TaskAttr::ChildSubreaper, Some(u64::from(a2 != 0)));
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let v = k.task_attr(TaskAttr::ChildSubreaper, None) as i32;
            k.mem().write(a2, &v.to_le_bytes())?;
            Ok(0)
        }
        // The bounding set holds every capability (Writ's authority is in caps, and
        // root's privileges are Linux's own).
        PR_CAPBSET_READ => {
            if a2 > CAP_LAST_CAP {
                Err(Errno::EINVAL)
            } else {
                Ok(1)
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Reads up to `buf.len()` bytes, stopping quietly at the first unreadable byte after
/// the first (PR_SET_NAME's buffer may end at a page boundary).
fn read_partial<K: Kernel>(k: &mut K, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
    if k.mem().read(addr, buf).is_ok() {
        return Ok(());
    }
    for (i, b) in buf.iter_mut().enumerate() {
        let mut one = [0u8];
        match k.mem().read(addr + i as u64, &mut one) {
            Ok(()) => *b = one[0],
            Err(e) if i == 0 => return Err(e),
            Err(_) => {
                *b = 0;
                break;
            }
        }
    }
    Ok(())
}

const PER_LINUX: u64 = 0;
const PERSONALITY_QUERY: u64 = 0xffff_ffff;

/// personality: Writ runs only PER_LINUX; querying (0xffffffff) and setting PER_LINUX
/// both answer PER_LINUX, other personas are refused.
pub fn personality(persona: u64) -> SysResult {
    match persona {
        PERSONALITY_QUERY | PER_LINUX => Ok(PER_LINUX),
        _ => Err(Errno::EINVAL),
    }
}

/// Writ runs its processes on one CPU: the affinity mask is CPU 0.
const CPUMASK_BYTES: u64 = 8;

fn check_pid<K: Kernel>(k: &mut K, pid: u64) -> Result<(), Errno> {
    let pid = pid as i32;
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    if pid != 0 && pid as u32 != k.pid() && pid as u32 != k.tid() {
        // Signal 0 asks only whether the target exists.
        k.send_signal(pid, signal::SigInfo::default())?;
    }
    Ok(())
}

pub fn sched_getaffinity<K: Kernel>(k: &mut K, pid: u64, len: u64, mask: u64) -> SysResult {
    if len < CPUMASK_BYTES || len % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    check_pid(k, pid)?;
    k.mem().write(mask, &1u64.to_le_bytes())?;
    Ok(CPUMASK_BYTES)
}

pub fn sched_setaffinity<K: Kernel>(k: &mut K, pid: u64, len: u64, mask: u64) -> SysResult {
    check_pid(k, pid)?;
    let mut b = [0u8; 8];
    let n = (len as usize).min(8);
    k.mem().read(mask, &mut b[..n])?;
    // A mask without CPU 0 names no CPU this machine has.
    if b[0] & 1 == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub fn getcpu<K: Kernel>(k: &mut K, cpu: u64, node: u64) -> SysResult {
    if cpu != 0 {
        k.mem().write(cpu, &0u32.to_le_bytes())?;
    }
    if node != 0 {
        k.mem().write(node, &0u32.to_le_bytes())?;
    }
    Ok(0)
}

const RUSAGE_SELF: i64 = 0;
const RUSAGE_CHILDREN: i64 = -1;
const RUSAGE_THREAD: i64 = 1;

fn timeval(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&((ns / 1_000_000_000) as i64).to_le_bytes());
    b[8..].copy_from_slice(&(((ns % 1_000_000_000) / 1000) as i64).to_le_bytes());
    b
}

/// getrusage: user and system time from the tick accounting; the other fields (page
/// faults, context switches, maxrss) are not counted yet and read 0.
pub fn getrusage<K: Kernel>(k: &mut K, who: u64, out: u64) -> SysResult {
    let who = match who as i64 {
        RUSAGE_SELF => CpuWho::Process,
        RUSAGE_THREAD => CpuWho::Process,
        RUSAGE_CHILDREN => CpuWho::Children,
        _ => return Err(Errno::EINVAL),
    };
    let (user, sys) = k.cpu_times(who);
    let mut ru = [0u8; 144];
    ru[..16].copy_from_slice(&timeval(user));
    ru[16..32].copy_from_slice(&timeval(sys));
    k.mem().write(out, &ru)?;
    Ok(0)
}

/// USER_HZ: the unit of times() and /proc's tick fields.
pub const USER_HZ: u64 = 100;

/// times: the process's and its reaped children's CPU time in USER_HZ ticks; returns
/// ticks since boot.
pub fn times<K: Kernel>(k: &mut K, out: u64) -> SysResult {
    let tick = 1_000_000_000 / USER_HZ;
    if out != 0 {
        let (u, s) = k.cpu_times(CpuWho::Process);
        let (cu, cs) = k.cpu_times(CpuWho::Children);
        let mut b = [0u8; 32];
        for (i, v) in [u, s, cu, cs].into_iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&(v / tick).to_le_bytes());
        }
        k.mem().write(out, &b)?;
    }
    Ok(k.now_ns() / tick)
}

const SYSLOG_ACTION_CLOSE: u64 = 0;
const SYSLOG_ACTION_OPEN: u64 = 1;
const SYSLOG_ACTION_READ: u64 = 2;
const SYSLOG_ACTION_READ_ALL: u64 = 3;
const SYSLOG_ACTION_READ_CLEAR: u64 = 4;
const SYSLOG_ACTION_CLEAR: u64 = 5;
const SYSLOG_ACTION_CONSOLE_LEVEL: u64 = 8;
const SYSLOG_ACTION_SIZE_UNREAD: u64 = 9;
const SYSLOG_ACTION_SIZE_BUFFER: u64 = 10;

/// syslog(2) (glibc/musl's klogctl). Reading the buffer is open to everyone, as with
/// Linux's `kernel.dmesg_restrict = 0`; clearing it and console control need root.
/// READ (2) takes what is there without waiting for more (Linux would block on an
/// empty buffer; no Alpine tool reads that way).
pub fn syslog<K: Kernel>(k: &mut K, action: u64, buf: u64, len: u64) -> SysResult {
    let action = action as u32 as u64;
    let root = k.creds().euid == 0;
    match action {
        SYSLOG_ACTION_CLOSE | SYSLOG_ACTION_OPEN => Ok(0),
        SYSLOG_ACTION_READ | SYSLOG_ACTION_READ_ALL | SYSLOG_ACTION_READ_CLEAR => {
            let len = len as i32;
            if buf == 0 || len < 0 {
                return Err(Errno::EINVAL);
            }
            let clear = matches!(action, SYSLOG_ACTION_READ_CLEAR | SYSLOG_ACTION_READ);
            if clear && !root {
                return Err(Errno::EPERM);
            }
            let (text, _) = k.kernel_log(clear);
            // READ_ALL returns the newest `len` bytes, from a line start.
            let mut from = text.len().saturating_sub(len as usize);
            if from > 0 {
                from = text[from..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(text.len(), |i| from + i + 1);
            }
            let part = &text[from..];
            k.mem().write(buf, part)?;
            Ok(part.len() as u64)
        }
        // CLEAR, CONSOLE_OFF, CONSOLE_ON, CONSOLE_LEVEL.
        SYSLOG_ACTION_CLEAR..=SYSLOG_ACTION_CONSOLE_LEVEL => {
            if !root {
                return Err(Errno::EPERM);
            }
            if action == SYSLOG_ACTION_CLEAR {
                k.kernel_log(true);
            }
            if action == SYSLOG_ACTION_CONSOLE_LEVEL && !(1..=8).contains(&(len as i32)) {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        SYSLOG_ACTION_SIZE_UNREAD => Ok(k.kernel_log(false).0.len() as u64),
        SYSLOG_ACTION_SIZE_BUFFER => Ok(k.kernel_log(false).1 as u64),
        _ => Err(Errno::EINVAL),
    }
}

const LINUX_REBOOT_MAGIC1: u64 = 0xfee1_dead;
const LINUX_REBOOT_MAGIC2: [u64; 4] = [672_274_793, 85_072_278, 369_367_448, 537_993_216];
const LINUX_REBOOT_CMD_RESTART: u64 = 0x0123_4567;
const LINUX_REBOOT_CMD_HALT: u64 = 0xcdef_0123;
const LINUX_REBOOT_CMD_CAD_ON: u64 = 0x89ab_cdef;
const LINUX_REBOOT_CMD_CAD_OFF: u64 = 0;
const LINUX_REBOOT_CMD_POWER_OFF: u64 = 0x4321_fedc;
const LINUX_REBOOT_CMD_RESTART2: u64 = 0xa1b2_c3d4;

/// reboot(2): the magic numbers, then root only; halt and power-off end the machine,
/// restart does too (the launcher runs QEMU with -no-reboot); Ctrl-Alt-Del settings
/// are accepted (there is no such key on a serial console).
pub fn reboot<K: Kernel>(k: &mut K, magic1: u64, magic2: u64, cmd: u64) -> SysResult {
    let (magic1, magic2, cmd) = (
        magic1 as u32 as u64,
        magic2 as u32 as u64,
        cmd as u32 as u64,
    );
    if magic1 != LINUX_REBOOT_MAGIC1 || !LINUX_REBOOT_MAGIC2.contains(&magic2) {
        return Err(Errno::EINVAL);
    }
    if k.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    match cmd {
        LINUX_REBOOT_CMD_CAD_ON | LINUX_REBOOT_CMD_CAD_OFF => Ok(0),
        LINUX_REBOOT_CMD_HALT | LINUX_REBOOT_CMD_POWER_OFF => k.power_off(false).map(|_| 0),
        LINUX_REBOOT_CMD_RESTART | LINUX_REBOOT_CMD_RESTART2 => k.power_off(true).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}

/// A process setpriority/getpriority names, as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrioTarget {
    pub pid: u32,
    pub ruid: u32,
    pub euid: u32,
    pub nice: i32,
    /// Its RLIMIT_NICE soft limit: it may lower its nice to 20 - this.
    pub nice_limit: u64,
}

/// `which` runs PRIO_PROCESS (0), PRIO_PGRP (1), PRIO_USER (2).
const PRIO_USER: u64 = 2;

/// Which processes (`which`, `who`) name, after Linux's checks: EINVAL for an unknown
/// `which`, ESRCH when nothing matches.
fn prio_targets<K: Kernel>(k: &mut K, which: u64, who: u64) -> Result<Vec<PrioTarget>, Errno> {
    if which > PRIO_USER {
        return Err(Errno::EINVAL);
    }
    let targets = k.prio_targets(which as u32, who as u32);
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(targets)
}

/// getpriority: the highest priority (lowest nice) among the processes named, as
/// the system call returns it, 20 - nice (1..=40; the C library turns it back).
pub fn getpriority<K: Kernel>(k: &mut K, which: u64, who: u64) -> SysResult {
    let targets = prio_targets(k, which, who)?;
    let best = targets.iter().map(|t| t.nice).min().unwrap_or(0);
    Ok((20 - best) as u64)
}

/// setpriority: every process named gets `nice` (clamped to -20..=19), with Linux's
/// per-process checks: EPERM unless the caller's euid is its real or effective uid
/// (or the caller is root), EACCES to lower it past what RLIMIT_NICE allows (root may).
/// The first success clears ESRCH; a failure is what is returned.
pub fn setpriority<K: Kernel>(k: &mut K, which: u64, who: u64, nice: u64) -> SysResult {
    let targets = prio_targets(k, which, who)?;
    let nice = (nice as i32).clamp(-20, 19);
    let me = k.ids();
    let mut error = Some(Errno::ESRCH);
    for t in targets {
        let root = me.euid == 0;
        if !root && me.euid != t.ruid && me.euid != t.euid {
            error = Some(Errno::EPERM);
            continue;
        }
        if nice < t.nice && !root && (20 - nice) as u64 > t.nice_limit {
            error = Some(Errno::EACCES);
            continue;
        }
        if error == Some(Errno::ESRCH) {
            error = None;
        }
        k.set_nice(t.pid, nice);
    }
    error.map_or(Ok(0), Err)
}

const IOPRIO_WHO_PROCESS: u64 = 1;
const IOPRIO_WHO_USER: u64 = 3;
const IOPRIO_CLASS_IDLE: u64 = 3;

/// ioprio_set: checked as Linux checks it (EINVAL for a bad class, level or `which`;
/// EPERM for the realtime class without root) and then without effect: every file
/// lives in memory and there is no I/O scheduler to order requests, as on Linux with
/// the `none` scheduler, which ignores priorities too.
pub fn ioprio_set<K: Kernel>(k: &mut K, which: u64, who: u64, prio: u64) -> SysResult {
    // Linux 6.x: class in bits 13..16, hints in 3..13 (not checked), level in 0..3.
    let (class, level) = ((prio >> 13) & 7, prio & 7);
    match class {
        1 if k.ids().euid != 0 => return Err(Errno::EPERM),
        0 if level != 0 => return Err(Errno::EINVAL),
        0..=IOPRIO_CLASS_IDLE => {}
        _ => return Err(Errno::EINVAL),
    }
    ioprio_target(k, which, who)
}

/// ioprio_get: IOPRIO_CLASS_NONE, level 4 (the default a process without one has).
pub fn ioprio_get<K: Kernel>(k: &mut K, which: u64, who: u64) -> SysResult {
    ioprio_target(k, which, who)?;
    Ok(4)
}

fn ioprio_target<K: Kernel>(k: &mut K, which: u64, who: u64) -> SysResult {
    if !(IOPRIO_WHO_PROCESS..=IOPRIO_WHO_USER).contains(&which) {
        return Err(Errno::EINVAL);
    }
    // Process, group or user as for setpriority (which - 1).
    prio_targets(k, which - 1, who).map(|_| 0)
}
