//! futex(2): WAIT and WAKE (and their BITSET forms with a full bitset), private or
//! shared alike. The kernel keys waiters by the word's physical address.

use super::{Kernel, SysResult};
use crate::abi::Errno;

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;
const FUTEX_BITSET_MATCH_ANY: u64 = 0xffff_ffff;

fn timeout_ns<K: Kernel>(
    k: &mut K,
    addr: u64,
    absolute: Option<bool>,
) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let (s, ns) = super::misc::read_ts(k, addr)?;
    let t = s as u128 * 1_000_000_000 + ns as u128;
    let rel = match absolute {
        None => t,
        Some(realtime) => {
            let (ns_s, ns_n) = k.clock_now(realtime);
            t.saturating_sub(ns_s as u128 * 1_000_000_000 + ns_n as u128)
        }
    };
    Ok(Some(rel.min(u128::from(u64::MAX)) as u64))
}

pub fn futex<K: Kernel>(
    k: &mut K,
    uaddr: u64,
    op: u64,
    val: u64,
    timeout: u64,
    _uaddr2: u64,
    val3: u64,
) -> SysResult {
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    match cmd {
        FUTEX_WAIT => {
            if realtime {
                return Err(Errno::ENOSYS);
            }
            let t = timeout_ns(k, timeout, None)?;
            k.futex_wait(uaddr, val as u32, t).map(|_| 0)
        }
        FUTEX_WAIT_BITSET => {
            if val3 as u32 == 0 {
                return Err(Errno::EINVAL);
            }
            if val3 as u32 as u64 != FUTEX_BITSET_MATCH_ANY {
                return Err(Errno::ENOSYS);
            }
            let t = timeout_ns(k, timeout, Some(realtime))?;
            k.futex_wait(uaddr, val as u32, t).map(|_| 0)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            if cmd == FUTEX_WAKE_BITSET && val3 as u32 == 0 {
                return Err(Errno::EINVAL);
            }
            let n = (val as u32).min(i32::MAX as u32);
            k.futex_wake(uaddr, n).map(u64::from)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE | FUTEX_WAKE_OP => Err(Errno::ENOSYS),
        _ => Err(Errno::ENOSYS),
    }
}
