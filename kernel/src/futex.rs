//! Futexes: a thread sleeps while a word in user memory holds an expected value, until
//! another thread changes it and wakes the address. Keys are the word's physical
//! address, so threads of one process and processes sharing memory meet on the same
//! key. Each key has a generation, bumped on every wake, which closes the race between
//! reading the word and going to sleep.

use alloc::collections::BTreeMap;

use linux_personality::abi::Errno;

use crate::process::Process;
use crate::sync::IrqMutex;
use crate::uaccess::copy_from_user;
use crate::waits;

const KEY_FUTEX: u64 = 1 << 59;

static GENERATION: IrqMutex<BTreeMap<u64, u64>> = IrqMutex::new(BTreeMap::new());

fn key(p: &Process, uaddr: u64) -> Result<u64, Errno> {
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let mut mm = p.mm.lock();
    // The key is the frame: make a lazy page resident so both sides agree on it.
    if mm.aspace.fault_in(uaddr, false) != Ok(true) {
        return Err(Errno::EFAULT);
    }
    let t = mm.aspace.translate(uaddr).ok_or(Errno::EFAULT)?;
    Ok(KEY_FUTEX | t.phys)
}

fn generation(key: u64) -> u64 {
    GENERATION.lock().get(&key).copied().unwrap_or(0)
}

/// FUTEX_WAIT: EAGAIN if `*uaddr != val`, ETIMEDOUT at `deadline_ns` (uptime), EINTR
/// for a signal; Ok when woken (possibly spuriously, as Linux allows).
pub fn wait(p: &Process, uaddr: u64, val: u32, deadline_ns: Option<u64>) -> Result<(), Errno> {
    let key = key(p, uaddr)?;
    let g0 = generation(key);
    let mut word = [0u8; 4];
    copy_from_user(&mut p.mm.lock().aspace, uaddr, &mut word).map_err(|_| Errno::EFAULT)?;
    if u32::from_le_bytes(word) != val {
        return Err(Errno::EAGAIN);
    }
    if let Some(d) = deadline_ns {
        waits::wake_at(d, key);
    }
    let mut timed_out = false;
    p.wait_interruptible(key, &mut || {
        if generation(key) != g0 {
            return true;
        }
        if deadline_ns.is_some_and(|d| crate::time::uptime_ns() >= d) {
            timed_out = true;
            return true;
        }
        false
    })?;
    if timed_out {
        Err(Errno::ETIMEDOUT)
    } else {
        Ok(())
    }
}

/// FUTEX_WAKE: wakes the waiters on `uaddr` (all of them; each re-checks) and returns
/// how many of at most `n` were waiting.
pub fn wake(p: &Process, uaddr: u64, n: u32) -> Result<u32, Errno> {
    let key = key(p, uaddr)?;
    *GENERATION.lock().entry(key).or_insert(0) += 1;
    let waiting = waits::waiters(key) as u32;
    waits::wake(key);
    Ok(waiting.min(n))
}

/// The exit path's wake (CLONE_CHILD_CLEARTID): errors mean nobody can be waiting.
pub fn wake_address(p: &Process, uaddr: u64, n: u32) {
    let _ = wake(p, uaddr, n);
}
