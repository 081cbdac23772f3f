//! Interval timers: alarm, setitimer and getitimer. ITIMER_REAL counts real time and
//! sends SIGALRM; the kernel keeps it per process (not inherited by fork, kept across
//! execve). ITIMER_VIRTUAL and ITIMER_PROF count CPU time, which Writ does not account
//! yet: they read as disarmed, disarming them succeeds, and arming them is ENOSYS.

use super::{Kernel, SysResult};
use crate::abi::Errno;

const ITIMER_REAL: u64 = 0;
const ITIMER_VIRTUAL: u64 = 1;
const ITIMER_PROF: u64 = 2;

const NS_PER_US: u64 = 1000;
const NS_PER_S: u64 = 1_000_000_000;

/// A `struct timeval` checked as Linux's `timeval_valid` does, in nanoseconds.
fn timeval_ns(b: &[u8]) -> Result<u64, Errno> {
    let s = i64::from_le_bytes(b[..8].try_into().unwrap());
    let us = i64::from_le_bytes(b[8..16].try_into().unwrap());
    if s < 0 || !(0..1_000_000).contains(&us) {
        return Err(Errno::EINVAL);
    }
    Ok((s as u64)
        .saturating_mul(NS_PER_S)
        .saturating_add(us as u64 * NS_PER_US))
}

fn timeval_bytes(ns: u64) -> [u8; 16] {
    // Round up to whole microseconds, so a timer that has not fired never reads 0.
    let us = ns.div_ceil(NS_PER_US);
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&((us / 1_000_000) as i64).to_le_bytes());
    b[8..].copy_from_slice(&((us % 1_000_000) as i64).to_le_bytes());
    b
}

/// `struct itimerval` is {it_interval, it_value}.
fn itimerval_bytes((value, interval): (u64, u64)) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(&timeval_bytes(interval));
    b[16..].copy_from_slice(&timeval_bytes(value));
    b
}

pub fn getitimer<K: Kernel>(k: &mut K, which: u64, out: u64) -> SysResult {
    let cur = match which {
        ITIMER_REAL => k.real_timer(None)?,
        ITIMER_VIRTUAL | ITIMER_PROF => (0, 0),
        _ => return Err(Errno::EINVAL),
    };
    k.mem().write(out, &itimerval_bytes(cur))?;
    Ok(0)
}

pub fn setitimer<K: Kernel>(k: &mut K, which: u64, new: u64, old: u64) -> SysResult {
    if which > ITIMER_PROF {
        return Err(Errno::EINVAL);
    }
    // A null new value disarms (a Linux misfeature it still supports).
    let (value, interval) = if new == 0 {
        (0, 0)
    } else {
        let mut b = [0u8; 32];
        k.mem().read(new, &mut b)?;
        (timeval_ns(&b[16..])?, timeval_ns(&b[..16])?)
    };
    let prev = match which {
        ITIMER_REAL => k.real_timer(Some((value, interval)))?,
        _ if value == 0 => (0, 0),
        _ => return Err(Errno::ENOSYS),
    };
    if old != 0 {
        k.mem().write(old, &itimerval_bytes(prev))?;
    }
    Ok(0)
}

/// alarm(secs): ITIMER_REAL without interval; returns the seconds left on the old one,
/// rounded as Linux rounds (to nearest, and never 0 for a pending alarm).
pub fn alarm<K: Kernel>(k: &mut K, secs: u64) -> SysResult {
    let secs = secs as u32 as u64;
    let (left, _) = k.real_timer(Some((secs * NS_PER_S, 0)))?;
    if left == 0 {
        return Ok(0);
    }
    let us = left.div_ceil(NS_PER_US);
    let (s, rem) = (us / 1_000_000, us % 1_000_000);
    Ok(if s == 0 || rem >= 500_000 { s + 1 } else { s })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timevals_round_trip_and_validate() {
        let b = timeval_bytes(1_500_000_001);
        assert_eq!(i64::from_le_bytes(b[..8].try_into().unwrap()), 1, "seconds");
        assert_eq!(i64::from_le_bytes(b[8..].try_into().unwrap()), 500_001);
        assert_eq!(timeval_ns(&timeval_bytes(2 * NS_PER_S)), Ok(2 * NS_PER_S));
        let mut bad = [0u8; 16];
        bad[8..].copy_from_slice(&1_000_000i64.to_le_bytes());
        assert_eq!(timeval_ns(&bad), Err(Errno::EINVAL));
        bad[..8].copy_from_slice(&(-1i64).to_le_bytes());
        bad[8..].copy_from_slice(&0i64.to_le_bytes());
        assert_eq!(timeval_ns(&bad), Err(Errno::EINVAL));
    }
}
