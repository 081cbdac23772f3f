//! User and group ids: get*id, set*id with Linux's rules for unprivileged callers
//! (an id may only move among the real, effective and saved ids), and groups.
//! Privilege is euid 0 (Linux's CAP_SETUID/CAP_SETGID for root).

use alloc::vec::Vec;

use super::{Kernel, SysResult};
use crate::abi::Errno;

/// A process's ids as Linux keeps them (real, effective, saved; fs ids follow euid).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    pub ruid: u32,
    pub euid: u32,
    pub suid: u32,
    pub rgid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub groups: Vec<u32>,
}

impl Ids {
    /// The credentials permission checks use.
    pub fn creds(&self) -> crate::fs::Creds {
        crate::fs::Creds {
            uid: self.ruid,
            gid: self.rgid,
            euid: self.euid,
            egid: self.egid,
            groups: self.groups.clone(),
        }
    }
}

const NGROUPS_MAX: u64 = 65536;
const KEEP: u32 = u32::MAX;

fn get<K: Kernel, R>(k: &mut K, f: impl FnOnce(&Ids) -> R) -> R {
    let ids = k.ids();
    f(&ids)
}

pub fn getuid<K: Kernel>(k: &mut K) -> SysResult {
    Ok(u64::from(get(k, |i| i.ruid)))
}
pub fn geteuid<K: Kernel>(k: &mut K) -> SysResult {
    Ok(u64::from(get(k, |i| i.euid)))
}
pub fn getgid<K: Kernel>(k: &mut K) -> SysResult {
    Ok(u64::from(get(k, |i| i.rgid)))
}
pub fn getegid<K: Kernel>(k: &mut K) -> SysResult {
    Ok(u64::from(get(k, |i| i.egid)))
}

fn write3<K: Kernel>(k: &mut K, a: u64, b: u64, c: u64, v: (u32, u32, u32)) -> SysResult {
    k.mem().write(a, &v.0.to_le_bytes())?;
    k.mem().write(b, &v.1.to_le_bytes())?;
    k.mem().write(c, &v.2.to_le_bytes())?;
    Ok(0)
}

pub fn getresuid<K: Kernel>(k: &mut K, r: u64, e: u64, s: u64) -> SysResult {
    let v = get(k, |i| (i.ruid, i.euid, i.suid));
    write3(k, r, e, s, v)
}

pub fn getresgid<K: Kernel>(k: &mut K, r: u64, e: u64, s: u64) -> SysResult {
    let v = get(k, |i| (i.rgid, i.egid, i.sgid));
    write3(k, r, e, s, v)
}

/// The three-id update at the heart of every set*id call. `uid` selects which half.
fn set_res(ids: &mut Ids, uid: bool, r: u32, e: u32, s: u32) -> Result<(), Errno> {
    let (cr, ce, cs) = if uid {
        (ids.ruid, ids.euid, ids.suid)
    } else {
        (ids.rgid, ids.egid, ids.sgid)
    };
    let privileged = ids.euid == 0;
    let ok = |v: u32| v == KEEP || privileged || v == cr || v == ce || v == cs;
    if !(ok(r) && ok(e) && ok(s)) {
        return Err(Errno::EPERM);
    }
    let pick = |v: u32, cur: u32| if v == KEEP { cur } else { v };
    let n = (pick(r, cr), pick(e, ce), pick(s, cs));
    if uid {
        (ids.ruid, ids.euid, ids.suid) = n;
    } else {
        (ids.rgid, ids.egid, ids.sgid) = n;
    }
    Ok(())
}

fn update<K: Kernel>(k: &mut K, f: impl FnOnce(&mut Ids) -> Result<(), Errno>) -> SysResult {
    let mut ids = k.ids();
    let was_root = ids.ruid == 0 || ids.euid == 0 || ids.suid == 0;
    f(&mut ids)?;
    // Linux clears a process's permitted capabilities when none of its uids is 0 any
    // more; on Writ that privilege is rights of the NetStack cap, so it is derived down.
    let now_root = ids.ruid == 0 || ids.euid == 0 || ids.suid == 0;
    k.set_ids(ids);
    if was_root && !now_root {
        crate::net::drop_net_privileges(k);
    }
    Ok(0)
}

pub fn setresuid<K: Kernel>(k: &mut K, r: u64, e: u64, s: u64) -> SysResult {
    update(k, |i| set_res(i, true, r as u32, e as u32, s as u32))
}

pub fn setresgid<K: Kernel>(k: &mut K, r: u64, e: u64, s: u64) -> SysResult {
    update(k, |i| set_res(i, false, r as u32, e as u32, s as u32))
}

/// setuid: privileged callers set all three; others only the effective id, to the
/// real or saved id.
pub fn setuid<K: Kernel>(k: &mut K, u: u64) -> SysResult {
    let u = u as u32;
    if u == KEEP {
        return Err(Errno::EINVAL);
    }
    update(k, |i| {
        if i.euid == 0 {
            set_res(i, true, u, u, u)
        } else if u == i.ruid || u == i.suid {
            i.euid = u;
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    })
}

pub fn setgid<K: Kernel>(k: &mut K, g: u64) -> SysResult {
    let g = g as u32;
    if g == KEEP {
        return Err(Errno::EINVAL);
    }
    update(k, |i| {
        if i.euid == 0 {
            set_res(i, false, g, g, g)
        } else if g == i.rgid || g == i.sgid {
            i.egid = g;
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    })
}

/// setreuid/setregid: the saved id follows the new effective id when the real id is
/// set or the effective id moves away from the old real id.
fn set_re(i: &mut Ids, uid: bool, r: u32, e: u32) -> Result<(), Errno> {
    let (cr, ce, cs) = if uid {
        (i.ruid, i.euid, i.suid)
    } else {
        (i.rgid, i.egid, i.sgid)
    };
    let privileged = i.euid == 0;
    if r != KEEP && !privileged && r != cr && r != ce {
        return Err(Errno::EPERM);
    }
    if e != KEEP && !privileged && e != cr && e != ce && e != cs {
        return Err(Errno::EPERM);
    }
    let nr = if r == KEEP { cr } else { r };
    let ne = if e == KEEP { ce } else { e };
    let ns = if r != KEEP || (e != KEEP && e != cr) {
        ne
    } else {
        cs
    };
    set_res(
        &mut Ids {
            euid: 0,
            ..i.clone()
        },
        uid,
        nr,
        ne,
        ns,
    )?;
    if uid {
        (i.ruid, i.euid, i.suid) = (nr, ne, ns);
    } else {
        (i.rgid, i.egid, i.sgid) = (nr, ne, ns);
    }
    Ok(())
}

pub fn setreuid<K: Kernel>(k: &mut K, r: u64, e: u64) -> SysResult {
    update(k, |i| set_re(i, true, r as u32, e as u32))
}

pub fn setregid<K: Kernel>(k: &mut K, r: u64, e: u64) -> SysResult {
    update(k, |i| set_re(i, false, r as u32, e as u32))
}

pub fn getgroups<K: Kernel>(k: &mut K, size: u64, list: u64) -> SysResult {
    let groups = get(k, |i| i.groups.clone());
    let n = groups.len() as u64;
    if size == 0 {
        return Ok(n);
    }
    if (size as i32) < 0 || size < n {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
    k.mem().write(list, &bytes)?;
    Ok(n)
}

pub fn setgroups<K: Kernel>(k: &mut K, size: u64, list: u64) -> SysResult {
    if size > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    if get(k, |i| i.euid) != 0 {
        return Err(Errno::EPERM);
    }
    let mut bytes = alloc::vec![0u8; size as usize * 4];
    if size > 0 {
        k.mem().read(list, &mut bytes)?;
    }
    let mut groups: Vec<u32> = bytes
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    groups.sort_unstable();
    update(k, |i| {
        i.groups = groups;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(u: u32) -> Ids {
        Ids {
            ruid: u,
            euid: u,
            suid: u,
            rgid: u,
            egid: u,
            sgid: u,
            groups: Vec::new(),
        }
    }

    #[test]
    fn unprivileged_ids_move_only_among_their_own() {
        let mut i = Ids {
            ruid: 1000,
            euid: 0,
            suid: 0,
            ..user(1000)
        };
        // A setuid-root program drops to the user and may come back via the saved id.
        set_res(&mut i, true, KEEP, 1000, KEEP).unwrap();
        assert_eq!((i.ruid, i.euid, i.suid), (1000, 1000, 0));
        set_res(&mut i, true, KEEP, 0, KEEP).unwrap();
        assert_eq!(i.euid, 0);
        let mut u = user(1000);
        assert_eq!(set_res(&mut u, true, 0, KEEP, KEEP), Err(Errno::EPERM));
        assert_eq!(set_re(&mut u, true, KEEP, 0), Err(Errno::EPERM));
        set_re(&mut u, true, KEEP, 1000).unwrap();
    }

    #[test]
    fn setreuid_updates_saved_id_like_linux() {
        let mut i = user(0);
        set_re(&mut i, true, 1000, 1001).unwrap();
        assert_eq!((i.ruid, i.euid, i.suid), (1000, 1001, 1001));
    }
}
