//! Signal calls: rt_sigaction, rt_sigprocmask, rt_sigpending, kill, tkill, tgkill,
//! rt_sigreturn. Argument checks and the signal state's rules are here; sending to
//! another process and rewriting the caller's registers are the kernel's.

use super::{Ids, Kernel, SysResult};
use crate::abi::Errno;
use crate::signal::{self, Action, SigInfo, SI_USER, UNBLOCKABLE};

const SIG_BLOCK: u64 = 0;
const SIG_UNBLOCK: u64 = 1;
const SIG_SETMASK: u64 = 2;

pub fn rt_sigaction<K: Kernel>(k: &mut K, sig: u64, act: u64, oact: u64, size: u64) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let sig = u32::try_from(sig).map_err(|_| Errno::EINVAL)?;
    if !signal::valid(sig) {
        return Err(Errno::EINVAL);
    }
    let new = if act != 0 {
        let mut b = [0u8; 32];
        k.mem().read(act, &mut b)?;
        Some(Action::from_bytes(&b))
    } else {
        None
    };
    let old = k.signals(|s| s.set_action(sig, new))?;
    if oact != 0 {
        k.mem().write(oact, &old.to_bytes())?;
    }
    Ok(0)
}

pub fn rt_sigprocmask<K: Kernel>(k: &mut K, how: u64, set: u64, oset: u64, size: u64) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let new = if set != 0 {
        let mut b = [0u8; 8];
        k.mem().read(set, &mut b)?;
        if how > SIG_SETMASK {
            return Err(Errno::EINVAL);
        }
        Some(u64::from_le_bytes(b))
    } else {
        None
    };
    let old = k.signals(|s| {
        let old = s.blocked;
        if let Some(m) = new {
            s.blocked = match how {
                SIG_BLOCK => old | m,
                SIG_UNBLOCK => old & !m,
                _ => m,
            } & !UNBLOCKABLE;
        }
        old
    });
    if oset != 0 {
        k.mem().write(oset, &old.to_le_bytes())?;
    }
    Ok(0)
}

pub fn rt_sigpending<K: Kernel>(k: &mut K, set: u64, size: u64) -> SysResult {
    if size > 8 {
        return Err(Errno::EINVAL);
    }
    let p = k.signals(|s| s.all_pending() & s.blocked);
    k.mem().write(set, &p.to_le_bytes()[..size as usize])?;
    Ok(0)
}

fn check_sig(sig: u64) -> Result<u32, Errno> {
    let sig = u32::try_from(sig).map_err(|_| Errno::EINVAL)?;
    if sig != 0 && !signal::valid(sig) {
        return Err(Errno::EINVAL);
    }
    Ok(sig)
}

pub fn kill<K: Kernel>(k: &mut K, pid: u64, sig: u64) -> SysResult {
    let sig = check_sig(sig)?;
    let pid = pid as i32;
    let info = SigInfo {
        signo: sig,
        code: SI_USER,
        pid: k.pid(),
        uid: k.ids().ruid,
        ..SigInfo::default()
    };
    k.send_signal(pid, info).map(|_| 0)
}

/// si_code of a signal from tkill/tgkill.
pub const SI_TKILL: i32 = -6;

/// tkill/tgkill: a signal for one thread (pending in its own set, so only it takes
/// it), of process `tgid` unless tkill's -1.
pub fn tgkill<K: Kernel>(k: &mut K, tgid: i64, tid: u64, sig: u64) -> SysResult {
    let sig = check_sig(sig)?;
    let tid = tid as i32;
    if tid <= 0 || (tgid != -1 && tgid as i32 <= 0) {
        return Err(Errno::EINVAL);
    }
    let info = SigInfo {
        signo: sig,
        code: SI_TKILL,
        pid: k.pid(),
        uid: k.ids().ruid,
        ..SigInfo::default()
    };
    let tgid = (tgid != -1).then_some(tgid as u32);
    k.send_thread_signal(tgid, tid as u32, info).map(|_| 0)
}

/// Whether a process with credentials `sender` may signal one with `target`'s
/// (Linux's kill_ok_by_cred, with CAP_KILL as euid 0): a real or effective uid of the
/// sender equal to the target's real or saved uid. SIGCONT is also allowed within a
/// session (`same_session`), so a shell can continue its jobs after they setuid.
pub fn may_signal(sender: &Ids, target: &Ids, sig: u32, same_session: bool) -> bool {
    sender.euid == 0
        || [sender.euid, sender.ruid]
            .iter()
            .any(|&u| u == target.ruid || u == target.suid)
        || (sig == signal::SIGCONT && same_session)
}

/// rt_sigsuspend: wait for a signal with `mask` in place; returns EINTR once a handler
/// ran, with the old mask restored by the handler's sigreturn (Linux's saved_sigmask).
/// rt_sigtimedwait: waits for a signal of `set` and takes it without running its
/// handler. As Linux does, the set is unblocked for the wait, so its signals wake
/// the thread (as "deliverable") and are then dequeued here, before the mask is put
/// back; any other deliverable signal ends the wait with EINTR. A zero timeout polls;
/// expiry is EAGAIN.
pub fn rt_sigtimedwait<K: Kernel>(k: &mut K, set: u64, info: u64, ts: u64, size: u64) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 8];
    k.mem().read(set, &mut b)?;
    let set = u64::from_le_bytes(b) & !UNBLOCKABLE;
    let deadline = if ts != 0 {
        let (s, ns) = super::misc::read_ts(k, ts)?;
        let d = (s as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ns as u64);
        Some(k.now_ns().saturating_add(d))
    } else {
        None
    };
    let got = loop {
        if let Some(si) = k.signals(|s| s.take_from(set)) {
            break si;
        }
        if deadline.is_some_and(|d| k.now_ns() >= d) {
            return Err(Errno::EAGAIN);
        }
        // The real mask is kept as the saved one meanwhile (Linux's real_blocked): a
        // handler that runs for another signal returns to it.
        let saved = k.signals(|s| {
            let old = s.blocked;
            s.saved_mask = Some(old);
            s.blocked &= !set;
            old
        });
        let r = k.wait_any(&[], deadline, &mut || false);
        // Put the mask back before anything can be delivered on the way out.
        k.signals(|s| {
            s.blocked = saved;
            s.saved_mask = None;
        });
        match r {
            Ok(_) => {}
            Err(e) => {
                // Woken by a signal: ours is dequeued next time round; another one
                // interrupts the call.
                if k.signals(|s| s.all_pending() & set) == 0 {
                    return Err(e);
                }
            }
        }
    };
    if info != 0 {
        k.mem().write(info, &got.to_bytes())?;
    }
    Ok(u64::from(got.signo))
}

/// sigaltstack: checks the new `stack_t` (EINVAL, ENOMEM) and refuses to change the
/// stack the thread is running on (EPERM); reports the old one with SS_ONSTACK if the
/// thread is on it.
pub fn sigaltstack<K: Kernel>(k: &mut K, ss: u64, old: u64) -> SysResult {
    let (cur, rsp) = k.altstack(None)?;
    if ss != 0 {
        let mut b = [0u8; 24];
        k.mem().read(ss, &mut b)?;
        let new = signal::AltStack::from_bytes(&b)?;
        if cur.contains(rsp) {
            return Err(Errno::EPERM);
        }
        k.altstack(Some(new))?;
    }
    if old != 0 {
        k.mem().write(old, &cur.to_bytes(rsp, true))?;
    }
    Ok(0)
}

pub fn rt_sigsuspend<K: Kernel>(k: &mut K, mask: u64, size: u64) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 8];
    k.mem().read(mask, &mut b)?;
    let m = u64::from_le_bytes(b) & !UNBLOCKABLE;
    k.signals(|s| {
        s.saved_mask = Some(s.blocked);
        s.blocked = m;
    });
    let r = k.wait(0, &mut || false);
    debug_assert!(r.is_err());
    Err(Errno::EINTR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ruid: u32, euid: u32, suid: u32) -> Ids {
        Ids {
            ruid,
            euid,
            suid,
            rgid: 0,
            egid: 0,
            sgid: 0,
            groups: alloc::vec::Vec::new(),
        }
    }

    #[test]
    fn who_may_signal_whom() {
        let root = ids(0, 0, 0);
        let alice = ids(1000, 1000, 1000);
        let bob = ids(1001, 1001, 1001);
        // A setuid-bob program alice started: real alice, effective and saved bob.
        let alice_as_bob = ids(1000, 1001, 1001);
        assert!(may_signal(&root, &alice, signal::SIGKILL, false));
        assert!(may_signal(&alice, &alice, signal::SIGTERM, false));
        assert!(!may_signal(&alice, &root, signal::SIGTERM, false));
        assert!(!may_signal(&alice, &bob, 0, false));
        // Alice may signal the program she started (its real uid is hers), and bob may
        // too (its saved uid is his).
        assert!(may_signal(&alice, &alice_as_bob, signal::SIGTERM, false));
        assert!(may_signal(&bob, &alice_as_bob, signal::SIGTERM, false));
        // SIGCONT only within the session.
        assert!(may_signal(&alice, &root, signal::SIGCONT, true));
        assert!(!may_signal(&alice, &root, signal::SIGCONT, false));
    }
}
