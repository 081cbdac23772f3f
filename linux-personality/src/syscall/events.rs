//! eventfd, epoll, timerfd and signalfd system calls: argument checks in Linux's order, then the
//! objects in [`crate::events`]. Reads, writes and blocking on an eventfd or timerfd go
//! through the ordinary read/write path (the objects are `FileOps`); `epoll_wait`
//! sleeps through the same wait loop as poll and select.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use caps::Rights;

use super::poll::{read_mask, timeout_from_ts, wait_loop, with_mask};
use super::{Kernel, SysResult};
use crate::abi::Errno;
use crate::events::epoll::{self, Epoll};
use crate::events::eventfd::{EventFd, EFD_SEMAPHORE};
use crate::events::signalfd::SignalFd;
use crate::events::timerfd::{self, Setting, TimerFd};
use crate::file::{flags, poll, FileOps, OpenFile};
use crate::uaccess::UserSlice;

fn install<K: Kernel>(k: &mut K, ops: Arc<dyn FileOps>, fl: u32) -> SysResult {
    let file = OpenFile::new(ops, flags::O_RDWR | (fl & flags::O_NONBLOCK));
    let cloexec = fl & flags::O_CLOEXEC != 0;
    k.with_caps(|sys, t| t.install(sys, file, OpenFile::rights_for(flags::O_RDWR), cloexec))
        .map(u64::from)
}

fn file<K: Kernel>(k: &mut K, fd: u64) -> Result<Arc<OpenFile>, Errno> {
    k.with_caps(|sys, t| t.get(sys, i64::from(fd as i32), Rights::empty()))
}

// ---- eventfd ----

pub fn eventfd2<K: Kernel>(k: &mut K, init: u64, fl: u64) -> SysResult {
    let allowed = u64::from(flags::O_CLOEXEC | flags::O_NONBLOCK | EFD_SEMAPHORE);
    if fl & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let fl = fl as u32;
    install(k, EventFd::new(init as u32, fl & EFD_SEMAPHORE != 0), fl)
}

// ---- epoll ----

const EPOLL_CTL_ADD: i32 = 1;
const EPOLL_CTL_DEL: i32 = 2;
const EPOLL_CTL_MOD: i32 = 3;
/// sizeof(struct epoll_event) on x86_64 (packed: u32 events, u64 data).
const EVENT_SIZE: u64 = 12;
/// Linux's EP_MAX_EVENTS.
const MAX_EVENTS: i32 = i32::MAX / EVENT_SIZE as i32;

pub fn epoll_create<K: Kernel>(k: &mut K, size: u64) -> SysResult {
    if (size as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    install(k, Epoll::new(), 0)
}

pub fn epoll_create1<K: Kernel>(k: &mut K, fl: u64) -> SysResult {
    if fl & !u64::from(flags::O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    install(k, Epoll::new(), fl as u32)
}

/// Linux's `file_can_poll`: regular files, directories, block devices and the
/// seekable character devices (/dev/null, /dev/zero, /dev/full) have no poll method,
/// so epoll refuses them with EPERM.
fn can_poll(f: &OpenFile) -> bool {
    let st = f.ops.stat();
    match st.mode & 0o170000 {
        0o100000 | 0o040000 | 0o060000 => false,
        0o020000 => !f.ops.seekable() || f.ops.is_tty(),
        _ => true,
    }
}

pub fn epoll_ctl<K: Kernel>(k: &mut K, epfd: u64, op: u64, fd: u64, event: u64) -> SysResult {
    let op = op as i32;
    let has_event = op != EPOLL_CTL_DEL;
    let (mut events, data) = if has_event {
        let mut b = [0u8; EVENT_SIZE as usize];
        k.mem().read(event, &mut b)?;
        (
            u32::from_le_bytes(b[..4].try_into().unwrap()),
            u64::from_le_bytes(b[4..].try_into().unwrap()),
        )
    } else {
        (0, 0)
    };
    let epf = file(k, epfd)?;
    let tf = file(k, fd)?;
    if !can_poll(&tf) {
        return Err(Errno::EPERM);
    }
    let ep = Epoll::of(&epf.ops);
    let (Some(ep), false) = (ep, Arc::ptr_eq(&epf, &tf)) else {
        return Err(Errno::EINVAL);
    };
    let target = Epoll::of(&tf.ops);
    if has_event && events & epoll::EPOLLEXCLUSIVE != 0 {
        if op == EPOLL_CTL_MOD {
            return Err(Errno::EINVAL);
        }
        if op == EPOLL_CTL_ADD && (target.is_some() || events & !epoll::EXCLUSIVE_OK != 0) {
            return Err(Errno::EINVAL);
        }
    }
    // EPOLLWAKEUP only matters with suspend, which Writ has not.
    events &= !epoll::EPOLLWAKEUP;
    let fd = fd as i32;
    match op {
        EPOLL_CTL_ADD => match target {
            Some(inner) => {
                let _nest = Epoll::nest_lock();
                ep.check_loop(&inner)?;
                ep.add(fd, &tf, events, data)
            }
            None => ep.add(fd, &tf, events, data),
        },
        EPOLL_CTL_DEL => ep.delete(fd, &tf),
        EPOLL_CTL_MOD => ep.modify(fd, &tf, events, data),
        _ => Err(Errno::EINVAL),
    }
    .map(|_| 0)
}

fn do_epoll_wait<K: Kernel>(
    k: &mut K,
    epfd: u64,
    events: u64,
    max: u64,
    timeout_ns: Option<u64>,
) -> SysResult {
    let max = max as i32;
    if max <= 0 || max > MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let out = UserSlice::new(events, max as u64 * EVENT_SIZE)?;
    let epf = file(k, epfd)?;
    let ep = Epoll::of(&epf.ops).ok_or(Errno::EINVAL)?;
    let ops = epf.ops.clone();
    let found = wait_loop(k, timeout_ns, |_| {
        let got = ep.harvest(max as usize);
        let watch = vec![(ops.clone(), poll::POLLIN)];
        ((!got.is_empty()).then_some(got), watch)
    })?
    .unwrap_or_default();
    let mut bytes = Vec::with_capacity(found.len() * EVENT_SIZE as usize);
    for (ev, data) in &found {
        bytes.extend_from_slice(&ev.to_le_bytes());
        bytes.extend_from_slice(&data.to_le_bytes());
    }
    if !bytes.is_empty() {
        out.write_at(k.mem(), 0, &bytes)?;
    }
    Ok(found.len() as u64)
}

fn ms_timeout(ms: u64) -> Option<u64> {
    let ms = ms as i32;
    (ms >= 0).then(|| ms as u64 * 1_000_000)
}

pub fn epoll_wait<K: Kernel>(k: &mut K, epfd: u64, ev: u64, max: u64, ms: u64) -> SysResult {
    do_epoll_wait(k, epfd, ev, max, ms_timeout(ms))
}

pub fn epoll_pwait<K: Kernel>(
    k: &mut K,
    epfd: u64,
    ev: u64,
    max: u64,
    ms: u64,
    mask: u64,
    size: u64,
) -> SysResult {
    let m = read_mask(k, mask, size)?;
    with_mask(k, m, |k| do_epoll_wait(k, epfd, ev, max, ms_timeout(ms)))
}

pub fn epoll_pwait2<K: Kernel>(
    k: &mut K,
    epfd: u64,
    ev: u64,
    max: u64,
    ts: u64,
    mask: u64,
    size: u64,
) -> SysResult {
    let t = timeout_from_ts(k, ts)?;
    let m = read_mask(k, mask, size)?;
    with_mask(k, m, |k| do_epoll_wait(k, epfd, ev, max, t))
}

// ---- timerfd ----

pub fn timerfd_create<K: Kernel>(k: &mut K, clock: u64, fl: u64) -> SysResult {
    use timerfd::*;
    let allowed = u64::from(flags::O_CLOEXEC | flags::O_NONBLOCK);
    let clock = clock as i32;
    let known = [
        CLOCK_REALTIME,
        CLOCK_MONOTONIC,
        CLOCK_BOOTTIME,
        CLOCK_REALTIME_ALARM,
        CLOCK_BOOTTIME_ALARM,
    ];
    if fl & !allowed != 0 || clock < 0 || !known.contains(&(clock as u32)) {
        return Err(Errno::EINVAL);
    }
    let clock = clock as u32;
    // Alarm clocks need CAP_WAKE_ALARM, which only root has here.
    if matches!(clock, CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM) && k.creds().euid != 0 {
        return Err(Errno::EPERM);
    }
    install(k, TimerFd::new(clock), fl as u32)
}

fn timer_of<K: Kernel>(k: &mut K, fd: u64) -> Result<Arc<TimerFd>, Errno> {
    let f = file(k, fd)?;
    TimerFd::of(&f.ops).ok_or(Errno::EINVAL)
}

fn ts_ns(s: i64, ns: i64) -> Option<u64> {
    (s >= 0 && (0..1_000_000_000).contains(&ns)).then(|| {
        (s as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ns as u64)
    })
}

fn ns_ts(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&((ns / 1_000_000_000) as i64).to_le_bytes());
    b[8..].copy_from_slice(&((ns % 1_000_000_000) as i64).to_le_bytes());
    b
}

fn write_itimerspec<K: Kernel>(k: &mut K, addr: u64, s: Setting) -> Result<(), Errno> {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(&ns_ts(s.interval));
    b[16..].copy_from_slice(&ns_ts(s.value));
    k.mem().write(addr, &b)
}

pub fn timerfd_settime<K: Kernel>(k: &mut K, fd: u64, fl: u64, new: u64, old: u64) -> SysResult {
    let mut b = [0u8; 32];
    k.mem().read(new, &mut b)?;
    let word = |i: usize| i64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
    let fl = fl as i32;
    let known = (timerfd::TFD_TIMER_ABSTIME | timerfd::TFD_TIMER_CANCEL_ON_SET) as i32;
    let (Some(interval), Some(value), 0) = (
        ts_ns(word(0), word(1)),
        ts_ns(word(2), word(3)),
        fl & !known,
    ) else {
        return Err(Errno::EINVAL);
    };
    let t = timer_of(k, fd)?;
    let abstime = fl as u32 & timerfd::TFD_TIMER_ABSTIME != 0;
    let prev = t.set(Setting { value, interval }, abstime);
    if old != 0 {
        write_itimerspec(k, old, prev)?;
    }
    Ok(0)
}

pub fn timerfd_gettime<K: Kernel>(k: &mut K, fd: u64, cur: u64) -> SysResult {
    let t = timer_of(k, fd)?;
    let s = t.get();
    write_itimerspec(k, cur, s)?;
    Ok(0)
}

// ---- signalfd ----

/// signalfd4: `fd` -1 makes a new signalfd, otherwise that signalfd gets the new mask.
pub fn signalfd4<K: Kernel>(k: &mut K, fd: u64, mask: u64, size: u64, fl: u64) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 8];
    k.mem().read(mask, &mut b)?;
    let mask = u64::from_le_bytes(b);
    if fl & !u64::from(flags::O_CLOEXEC | flags::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    if fd as i32 == -1 {
        return install(k, SignalFd::new(mask), fl as u32);
    }
    let f = file(k, fd)?;
    let s = SignalFd::of(&f.ops).ok_or(Errno::EINVAL)?;
    s.set_mask(mask);
    Ok(u64::from(fd as u32))
}
