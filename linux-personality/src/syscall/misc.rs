//! Time, identity of the system, randomness, scheduling and resource limits.

use super::{Kernel, SysResult};
use crate::abi::structs::Utsname;
use crate::abi::Errno;
use crate::uaccess::write_struct;

pub const CLOCK_REALTIME: u64 = 0;
pub const CLOCK_MONOTONIC: u64 = 1;
const CLOCK_PROCESS_CPUTIME_ID: u64 = 2;
const CLOCK_THREAD_CPUTIME_ID: u64 = 3;
const CLOCK_MONOTONIC_RAW: u64 = 4;
const CLOCK_REALTIME_COARSE: u64 = 5;
const CLOCK_MONOTONIC_COARSE: u64 = 6;
const CLOCK_BOOTTIME: u64 = 7;
const TIMER_ABSTIME: u64 = 1;

/// What uname reports. "Linux" because programs test for it; the version string says
/// what is really running.
pub const SYSNAME: &[u8] = b"Linux";
pub const RELEASE: &[u8] = b"6.18.0-writ";
pub const VERSION: &[u8] = b"#1 Writ capability kernel";
pub const MACHINE: &[u8] = b"x86_64";

fn realtime(id: u64) -> Result<bool, Errno> {
    match id {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE => Ok(true),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            Ok(false)
        }
        // Handled by clock_gettime itself (CPU time, not a wall clock); here for the
        // validity check only.
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => Ok(false),
        _ => Err(Errno::EINVAL),
    }
}

fn write_ts<K: Kernel>(k: &mut K, addr: u64, (s, ns): (i64, i64)) -> Result<(), Errno> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&s.to_le_bytes());
    b[8..].copy_from_slice(&ns.to_le_bytes());
    k.mem().write(addr, &b)
}

/// A user `struct timespec`, checked as Linux checks it (EINVAL for a negative or
/// out-of-range field).
pub(super) fn read_ts<K: Kernel>(k: &mut K, addr: u64) -> Result<(i64, i64), Errno> {
    read_time(k, addr, 1)
}

/// A user `struct timeval`, checked the same way, as (seconds, nanoseconds).
pub(super) fn read_tv<K: Kernel>(k: &mut K, addr: u64) -> Result<(i64, i64), Errno> {
    read_time(k, addr, 1000)
}

/// Two 64-bit fields, seconds and a fraction in units of `unit_ns` nanoseconds.
fn read_time<K: Kernel>(k: &mut K, addr: u64, unit_ns: i64) -> Result<(i64, i64), Errno> {
    let mut b = [0u8; 16];
    k.mem().read(addr, &mut b)?;
    let s = i64::from_le_bytes(b[..8].try_into().unwrap());
    let frac = i64::from_le_bytes(b[8..].try_into().unwrap());
    if s < 0 || !(0..1_000_000_000 / unit_ns).contains(&frac) {
        return Err(Errno::EINVAL);
    }
    Ok((s, frac * unit_ns))
}

pub fn clock_gettime<K: Kernel>(k: &mut K, id: u64, tp: u64) -> SysResult {
    if matches!(id, CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID) {
        // The process's CPU time (per-thread time is not kept apart: a thread reads
        // its process's, which is what single-threaded programs ask for).
        let (user, sys) = k.cpu_times(super::CpuWho::Process);
        let t = user + sys;
        write_ts(
            k,
            tp,
            ((t / 1_000_000_000) as i64, (t % 1_000_000_000) as i64),
        )?;
        return Ok(0);
    }
    let now = k.clock_now(realtime(id)?);
    write_ts(k, tp, now)?;
    Ok(0)
}

pub fn clock_getres<K: Kernel>(k: &mut K, id: u64, tp: u64) -> SysResult {
    realtime(id)?;
    if tp != 0 {
        write_ts(k, tp, (0, 1))?;
    }
    Ok(0)
}

pub fn gettimeofday<K: Kernel>(k: &mut K, tv: u64, tz: u64) -> SysResult {
    let (s, ns) = k.clock_now(true);
    if tv != 0 {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&s.to_le_bytes());
        b[8..].copy_from_slice(&(ns / 1000).to_le_bytes());
        k.mem().write(tv, &b)?;
    }
    if tz != 0 {
        k.mem().write(tz, &[0u8; 8])?;
    }
    Ok(0)
}

/// settimeofday: sets the wall clock (root only, as CAP_SYS_TIME). A time zone is
/// accepted and ignored (Linux keeps it only for FAT timestamps and warp_clock).
pub fn settimeofday<K: Kernel>(k: &mut K, tv: u64, tz: u64) -> SysResult {
    let when = if tv != 0 { Some(read_tv(k, tv)?) } else { None };
    // Linux's order: the time's validity, the zone's copy, privilege, the zone's range.
    let minuteswest = if tz != 0 {
        let mut b = [0u8; 8];
        k.mem().read(tz, &mut b)?;
        Some(i32::from_le_bytes(b[..4].try_into().unwrap()))
    } else {
        None
    };
    if k.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    if minuteswest.is_some_and(|m| !(-15 * 60..=15 * 60).contains(&m)) {
        return Err(Errno::EINVAL);
    }
    if let Some((s, ns)) = when {
        k.set_realtime(s, ns);
    }
    Ok(0)
}

/// clock_settime: only CLOCK_REALTIME can be set (EINVAL for the others, as Linux).
pub fn clock_settime<K: Kernel>(k: &mut K, id: u64, tp: u64) -> SysResult {
    if !realtime(id)? || id != CLOCK_REALTIME {
        return Err(Errno::EINVAL);
    }
    let (s, ns) = read_ts(k, tp)?;
    if k.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    k.set_realtime(s, ns);
    Ok(0)
}

pub fn time<K: Kernel>(k: &mut K, t: u64) -> SysResult {
    let (s, _) = k.clock_now(true);
    if t != 0 {
        k.mem().write(t, &s.to_le_bytes())?;
    }
    Ok(s as u64)
}

fn to_ns((s, ns): (i64, i64)) -> u128 {
    s as u128 * 1_000_000_000 + ns as u128
}

fn sleep<K: Kernel>(k: &mut K, ns: u128, rem: u64) -> SysResult {
    let ns = ns.min(u128::from(u64::MAX)) as u64;
    match k.sleep_ns(ns) {
        Ok(()) => Ok(0),
        Err(left) => {
            if rem != 0 {
                let secs = (left / 1_000_000_000) as i64;
                let nanos = (left % 1_000_000_000) as i64;
                write_ts(k, rem, (secs, nanos))?;
            }
            Err(Errno::EINTR)
        }
    }
}

pub fn nanosleep<K: Kernel>(k: &mut K, req: u64, rem: u64) -> SysResult {
    let t = read_ts(k, req)?;
    sleep(k, to_ns(t), rem)
}

pub fn clock_nanosleep<K: Kernel>(k: &mut K, id: u64, flags: u64, req: u64, rem: u64) -> SysResult {
    if matches!(id, CLOCK_THREAD_CPUTIME_ID) {
        return Err(Errno::EINVAL);
    }
    let rt = realtime(id)?;
    let t = read_ts(k, req)?;
    let ns = if flags & TIMER_ABSTIME != 0 {
        to_ns(t).saturating_sub(to_ns(k.clock_now(rt)))
    } else {
        to_ns(t)
    };
    // An absolute sleep interrupted reports nothing in rem.
    sleep(k, ns, if flags & TIMER_ABSTIME != 0 { 0 } else { rem })
}

pub fn uname<K: Kernel>(k: &mut K, buf: u64) -> SysResult {
    let host = k.hostname();
    let u = Utsname::new(SYSNAME, &host, RELEASE, VERSION, MACHINE, b"(none)");
    write_struct(k.mem(), buf, &u)?;
    Ok(0)
}

const GRND_NONBLOCK: u64 = 1;
const GRND_RANDOM: u64 = 2;
const GRND_INSECURE: u64 = 4;

pub fn getrandom<K: Kernel>(k: &mut K, buf: u64, len: u64, flags: u64) -> SysResult {
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(Errno::EINVAL);
    }
    let len = len.min(crate::uaccess::MAX_RW_COUNT).min(1 << 20) as usize;
    let mut v = alloc::vec![0u8; len];
    k.fill_random(&mut v);
    k.mem().write(buf, &v)?;
    Ok(len as u64)
}

pub const RLIMIT_NOFILE: u64 = 7;
pub const RLIM_NLIMITS: u64 = 16;

/// prlimit64 on the caller (pid 0 or its own pid). The limits are kept per process;
/// RLIMIT_NOFILE is enforced by the fd table; the others are kept and reported but
/// not yet enforced (the stack grows to a fixed 8 MiB, Linux's default). Raising a hard limit
/// needs euid 0 (Linux: CAP_SYS_RESOURCE).
pub fn prlimit64<K: Kernel>(k: &mut K, pid: u64, res: u64, new: u64, old: u64) -> SysResult {
    if pid != 0 && pid as u32 != k.pid() {
        return Err(Errno::ESRCH);
    }
    if res >= RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let newv = if new != 0 {
        let mut b = [0u8; 16];
        k.mem().read(new, &mut b)?;
        let cur = u64::from_le_bytes(b[..8].try_into().unwrap());
        let max = u64::from_le_bytes(b[8..].try_into().unwrap());
        if cur > max {
            return Err(Errno::EINVAL);
        }
        Some((cur, max))
    } else {
        None
    };
    let root = k.ids().euid == 0;
    let cur = k.with_caps(|_, t| t.rlimits[res as usize]);
    if let Some((_, m)) = newv {
        if m > cur.1 && !root {
            return Err(Errno::EPERM);
        }
        if res == RLIMIT_NOFILE && m > crate::fd::MAX_NOFILE {
            return Err(Errno::EPERM);
        }
    }
    if old != 0 {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&cur.0.to_le_bytes());
        b[8..].copy_from_slice(&cur.1.to_le_bytes());
        k.mem().write(old, &b)?;
    }
    if let Some((c, m)) = newv {
        k.with_caps(|_, t| {
            t.rlimits[res as usize] = (c, m);
            if res == RLIMIT_NOFILE {
                t.limit = c.min(crate::fd::MAX_NOFILE) as u32;
            }
        });
    }
    Ok(0)
}

pub fn getrlimit<K: Kernel>(k: &mut K, res: u64, old: u64) -> SysResult {
    prlimit64(k, 0, res, 0, old)
}

pub fn setrlimit<K: Kernel>(k: &mut K, res: u64, new: u64) -> SysResult {
    prlimit64(k, 0, res, new, 0)
}

/// What sysinfo(2) reports; the kernel fills it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SysInfo {
    pub uptime_s: u64,
    pub total_ram: u64,
    pub free_ram: u64,
    pub procs: u16,
}

pub fn sysinfo<K: Kernel>(k: &mut K, buf: u64) -> SysResult {
    let i = k.sysinfo();
    // struct sysinfo (x86_64, 112 bytes), mem_unit 1.
    let mut b = [0u8; 112];
    b[0..8].copy_from_slice(&i.uptime_s.to_le_bytes());
    b[32..40].copy_from_slice(&i.total_ram.to_le_bytes());
    b[40..48].copy_from_slice(&i.free_ram.to_le_bytes());
    b[80..82].copy_from_slice(&i.procs.to_le_bytes());
    b[104..108].copy_from_slice(&1u32.to_le_bytes());
    k.mem().write(buf, &b)?;
    Ok(0)
}

/// sethostname: root only, at most 64 bytes (__NEW_UTS_LEN).
pub fn sethostname<K: Kernel>(k: &mut K, name: u64, len: u64) -> SysResult {
    if k.ids().euid != 0 {
        return Err(Errno::EPERM);
    }
    if len > 64 {
        return Err(Errno::EINVAL);
    }
    let mut v = alloc::vec![0u8; len as usize];
    k.mem().read(name, &mut v)?;
    k.set_hostname(&v);
    Ok(0)
}
