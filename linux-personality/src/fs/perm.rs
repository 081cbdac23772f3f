//! Credentials and Linux's permission check (`generic_permission`).
//!
//! The owner's bits apply when the file's uid is the caller's effective uid; else the
//! group's bits when the file's gid is the caller's effective gid or one of its
//! supplementary groups; else the other bits. Root (euid 0, which holds
//! CAP_DAC_OVERRIDE) may read and write anything and search any directory, but may
//! execute a non-directory only if some execute bit is set.

use alloc::vec::Vec;

use crate::abi::Errno;

pub const MAY_EXEC: u32 = 1;
pub const MAY_WRITE: u32 = 2;
pub const MAY_READ: u32 = 4;

/// A process's user and group identities.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Creds {
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub groups: Vec<u32>,
}

impl Creds {
    pub fn root() -> Creds {
        Creds::default()
    }

    /// A user with the same real and effective ids and no supplementary groups.
    pub fn user(uid: u32, gid: u32) -> Creds {
        Creds {
            uid,
            gid,
            euid: uid,
            egid: gid,
            groups: Vec::new(),
        }
    }

    /// The identity access(2) checks with: the real ids in place of the effective.
    pub fn real(&self) -> Creds {
        Creds {
            euid: self.uid,
            egid: self.gid,
            ..self.clone()
        }
    }

    pub fn is_root(&self) -> bool {
        self.euid == 0
    }

    pub fn in_group(&self, gid: u32) -> bool {
        self.egid == gid || self.groups.contains(&gid)
    }
}

/// EACCES unless `creds` may do `mask` (MAY_READ | MAY_WRITE | MAY_EXEC) to a file of
/// this `mode` owned by `uid`:`gid`.
pub fn check(mode: u32, uid: u32, gid: u32, creds: &Creds, mask: u32) -> Result<(), Errno> {
    if creds.is_root() {
        let is_dir = mode & super::mode::S_IFMT == super::mode::S_IFDIR;
        if mask & MAY_EXEC != 0 && !is_dir && mode & 0o111 == 0 {
            return Err(Errno::EACCES);
        }
        return Ok(());
    }
    let bits = if uid == creds.euid {
        mode >> 6
    } else if creds.in_group(gid) {
        mode >> 3
    } else {
        mode
    } & 7;
    if bits & mask == mask {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// May `creds` change this inode's attributes (chmod, explicit utimes)? Owner or root.
pub fn is_owner(uid: u32, creds: &Creds) -> bool {
    creds.is_root() || creds.euid == uid
}
