//! poll, ppoll, select, pselect6: readiness of many descriptors at once. Each file
//! reports its events ([`crate::file::FileOps::poll`]) and names its wait key; the
//! caller sleeps on all the keys until one is ready, the timeout passes, or a signal
//! comes (EINTR; these calls are never restarted).

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use caps::Rights;

use super::{Kernel, SysResult};
use crate::abi::Errno;
use crate::file::poll::*;
use crate::file::FileOps;

/// A descriptor's file: None for a closed descriptor (POLLNVAL / EBADF).
fn file_of<K: Kernel>(k: &mut K, fd: i32) -> Option<Arc<dyn FileOps>> {
    let f = k
        .with_caps(|sys, t| t.get(sys, i64::from(fd), Rights::empty()))
        .ok()?;
    Some(f.ops.clone())
}

/// What a scan watches: each file and the events that would end the wait.
pub(super) type Watch = Vec<(Arc<dyn FileOps>, u16)>;

/// Sleeps until `scan` finds something (returns Some), the deadline passes, or a
/// signal arrives. `scan` also returns the files and events to watch; the wait
/// re-checks those files itself (after registering on their keys), so a wake-up
/// between the scan and the sleep is not lost.
pub(super) fn wait_loop<K: Kernel, T>(
    k: &mut K,
    timeout_ns: Option<u64>,
    mut scan: impl FnMut(&mut K) -> (Option<T>, Watch),
) -> Result<Option<T>, Errno> {
    let deadline = timeout_ns.map(|t| k.now_ns().saturating_add(t));
    loop {
        let (found, watch) = scan(k);
        if found.is_some() {
            return Ok(found);
        }
        if deadline.is_some_and(|d| k.now_ns() >= d) {
            return Ok(None);
        }
        let mut keys: Vec<u64> = Vec::new();
        for (f, _) in &watch {
            f.wait_keys(&mut keys);
        }
        let ok = k.wait_any(&keys, deadline, &mut || {
            watch.iter().any(|(f, ev)| f.poll() & ev != 0)
        })?;
        if !ok {
            return Ok(None);
        }
    }
}

fn timeout_from_ms(ms: i64) -> Option<u64> {
    if ms < 0 {
        None
    } else {
        Some(ms as u64 * 1_000_000)
    }
}

fn do_poll<K: Kernel>(k: &mut K, fds: u64, nfds: u64, timeout_ns: Option<u64>) -> SysResult {
    let limit = k.with_caps(|_, t| u64::from(t.limit));
    if nfds > limit.max(1024) {
        return Err(Errno::EINVAL);
    }
    let n = nfds as usize;
    let mut raw = vec![0u8; n * 8];
    if n > 0 {
        k.mem().read(fds, &mut raw)?;
    }
    let entries: Vec<(i32, u16)> = raw
        .chunks(8)
        .map(|c| {
            (
                i32::from_le_bytes(c[0..4].try_into().unwrap()),
                u16::from_le_bytes(c[4..6].try_into().unwrap()),
            )
        })
        .collect();
    let result = wait_loop(k, timeout_ns, |k| {
        let mut revents = vec![0u16; n];
        let mut watch = Vec::new();
        let mut count = 0u64;
        for (i, &(fd, events)) in entries.iter().enumerate() {
            if fd < 0 {
                continue;
            }
            let want = events | POLLERR | POLLHUP;
            let r = match file_of(k, fd) {
                None => POLLNVAL,
                Some(f) => {
                    let r = f.poll() & want;
                    watch.push((f, want));
                    r
                }
            };
            if r != 0 {
                revents[i] = r;
                count += 1;
            }
        }
        ((count > 0).then_some((count, revents.clone())), watch)
    })?;
    let (count, revents) = result.unwrap_or((0, vec![0u16; n]));
    for (i, r) in revents.iter().enumerate() {
        raw[i * 8 + 6..i * 8 + 8].copy_from_slice(&r.to_le_bytes());
    }
    if n > 0 {
        k.mem().write(fds, &raw)?;
    }
    Ok(count)
}

pub fn poll<K: Kernel>(k: &mut K, fds: u64, nfds: u64, timeout: u64) -> SysResult {
    do_poll(k, fds, nfds, timeout_from_ms(timeout as i32 as i64))
}

/// Runs `f` with the signal mask temporarily replaced (ppoll, pselect6, epoll_pwait),
/// as Linux does for the duration of the wait. Interrupted by a signal, the call keeps
/// the temporary mask as the one the handler runs under and leaves the old one as the
/// saved mask that sigreturn (or delivery without a handler) puts back, so a signal only
/// the temporary mask lets through is handled before the call returns.
pub(super) fn with_mask<K: Kernel>(
    k: &mut K,
    mask: Option<u64>,
    f: impl FnOnce(&mut K) -> SysResult,
) -> SysResult {
    let Some(m) = mask else { return f(k) };
    let old = k.signals(|s| core::mem::replace(&mut s.blocked, m & !crate::signal::UNBLOCKABLE));
    let r = f(k);
    k.signals(|s| {
        if r == Err(Errno::EINTR) {
            s.saved_mask = Some(old);
        } else {
            s.blocked = old;
        }
    });
    r
}

pub(super) fn read_mask<K: Kernel>(k: &mut K, addr: u64, size: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 8];
    k.mem().read(addr, &mut b)?;
    Ok(Some(u64::from_le_bytes(b)))
}

pub(super) fn timeout_from_ts<K: Kernel>(k: &mut K, addr: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let (s, ns) = super::misc::read_ts(k, addr)?;
    Ok(Some(
        (s as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ns as u64),
    ))
}

pub fn ppoll<K: Kernel>(
    k: &mut K,
    fds: u64,
    nfds: u64,
    ts: u64,
    mask: u64,
    size: u64,
) -> SysResult {
    let t = timeout_from_ts(k, ts)?;
    let m = read_mask(k, mask, size)?;
    with_mask(k, m, |k| do_poll(k, fds, nfds, t))
}

/// select's three sets, as (read, write, except) bitmaps of `nfds` bits.
fn do_select<K: Kernel>(
    k: &mut K,
    nfds: u64,
    sets: [u64; 3],
    timeout_ns: Option<u64>,
) -> SysResult {
    if nfds as i32 as i64 != nfds as i64 || (nfds as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let limit = k.with_caps(|_, t| u64::from(t.limit));
    let nfds = nfds.min(limit.max(nfds.min(1024)));
    let bytes = (nfds as usize).div_ceil(64) * 8;
    let mut input = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
    for (i, &addr) in sets.iter().enumerate() {
        if addr != 0 && bytes > 0 {
            k.mem().read(addr, &mut input[i])?;
        }
    }
    let bit = |v: &[u8], fd: usize| v[fd / 8] & (1 << (fd % 8)) != 0;
    // Every named descriptor must be open (EBADF otherwise), checked before waiting.
    for fd in 0..nfds as usize {
        if (0..3).any(|i| bit(&input[i], fd)) && file_of(k, fd as i32).is_none() {
            return Err(Errno::EBADF);
        }
    }
    let result = wait_loop(k, timeout_ns, |k| {
        let mut out = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
        let mut watch = Vec::new();
        let mut count = 0u64;
        for fd in 0..nfds as usize {
            if !(0..3).any(|i| bit(&input[i], fd)) {
                continue;
            }
            let Some(f) = file_of(k, fd as i32) else {
                continue;
            };
            let ev = f.poll();
            let mut want = 0;
            if bit(&input[0], fd) {
                want |= POLLIN | POLLHUP | POLLERR;
            }
            if bit(&input[1], fd) {
                want |= POLLOUT | POLLERR;
            }
            if bit(&input[2], fd) {
                want |= POLLPRI;
            }
            watch.push((f, want));
            let hits = [
                ev & (POLLIN | POLLHUP | POLLERR) != 0,
                ev & (POLLOUT | POLLERR) != 0,
                ev & POLLPRI != 0,
            ];
            for i in 0..3 {
                if bit(&input[i], fd) && hits[i] {
                    out[i][fd / 8] |= 1 << (fd % 8);
                    count += 1;
                }
            }
        }
        ((count > 0).then_some((count, out.clone())), watch)
    })?;
    let (count, out) =
        result.unwrap_or((0, [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]]));
    for (i, &addr) in sets.iter().enumerate() {
        if addr != 0 && bytes > 0 {
            k.mem().write(addr, &out[i])?;
        }
    }
    Ok(count)
}

pub fn select<K: Kernel>(k: &mut K, nfds: u64, r: u64, w: u64, e: u64, tv: u64) -> SysResult {
    let t = if tv == 0 {
        None
    } else {
        let (s, ns) = super::misc::read_tv(k, tv)?;
        Some(
            (s as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add(ns as u64),
        )
    };
    do_select(k, nfds, [r, w, e], t)
}

pub fn pselect6<K: Kernel>(
    k: &mut K,
    nfds: u64,
    r: u64,
    w: u64,
    e: u64,
    ts: u64,
    sig: u64,
) -> SysResult {
    let t = timeout_from_ts(k, ts)?;
    // The sixth argument points at { const sigset_t *ss; size_t ss_len; }.
    let m = if sig == 0 {
        None
    } else {
        let mut b = [0u8; 16];
        k.mem().read(sig, &mut b)?;
        let ss = u64::from_le_bytes(b[..8].try_into().unwrap());
        let len = u64::from_le_bytes(b[8..].try_into().unwrap());
        read_mask(k, ss, len)?
    };
    with_mask(k, m, |k| do_select(k, nfds, [r, w, e], t))
}
