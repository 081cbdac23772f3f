//! Advisory file locks: POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW), open file
//! description locks (F_OFD_*), and flock(2).
//!
//! One table for the whole system, keyed by the file's (dev, ino), as Linux keeps the
//! locks on the inode. Each lock has an owner: a process for POSIX locks (every thread
//! of a process is the same owner, and a process's locks on a file go away when it
//! closes *any* descriptor of that file, or exits), an open file description for OFD
//! locks and flock (they go away when the last descriptor of that description closes).
//! flock and fcntl locks live side by side and never conflict, as on Linux.
//!
//! A lock is a byte range `[start, end]` (`end == u64::MAX`: to the end of the file and
//! beyond) that is shared (read) or exclusive (write). Two locks conflict when their
//! owners differ, their ranges overlap and one of them is exclusive. Setting a lock
//! first takes the owner's own locks off the range (splitting them), then merges the new
//! one with touching or overlapping locks of the same type, so F_GETLK reports ranges the
//! way Linux does.
//!
//! Waiting (F_SETLKW, flock without LOCK_NB) is the syscall layer's: [`LockTable::try_set`]
//! never blocks, returns the conflicting owner, and [`wait_key`] names the wait queue
//! that every unlock of the file wakes. [`LockTable::would_deadlock`] follows the chain of
//! waiting POSIX owners as Linux does, so a cycle fails with EDEADLK instead of hanging.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use spin::Mutex;

use crate::Errno;

/// Who holds a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    /// A process (POSIX record lock), by TGID.
    Process(u32),
    /// An open file description (OFD lock), by its address.
    Description(usize),
    /// An open file description's flock.
    Flock(usize),
}

impl Owner {
    fn is_flock(self) -> bool {
        matches!(self, Owner::Flock(_))
    }

    /// What F_GETLK reports as `l_pid`: the process, or -1 for OFD locks (Linux).
    pub fn pid(self) -> i32 {
        match self {
            Owner::Process(p) => p as i32,
            _ => -1,
        }
    }
}

/// Shared or exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
}

/// One held lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lock {
    pub owner: Owner,
    pub kind: Kind,
    pub start: u64,
    pub end: u64,
}

impl Lock {
    fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start <= end && start <= self.end
    }

    fn conflicts(&self, other: &Lock) -> bool {
        self.owner != other.owner
            && self.owner.is_flock() == other.owner.is_flock()
            && self.overlaps(other.start, other.end)
            && (self.kind == Kind::Write || other.kind == Kind::Write)
    }
}

/// A file, as the lock table names it.
pub type FileId = (u64, u64);

/// The wait queue key for a file's lock changes.
pub fn wait_key(file: FileId) -> u64 {
    // A tag in the top bits keeps these keys apart from the kernel's other keys;
    // a collision only costs a spurious wake-up (waiters re-check).
    0xf10c_0000_0000_0000 ^ (file.0 << 40) ^ file.1
}

/// The system's locks.
pub struct LockTable {
    files: Mutex<BTreeMap<FileId, Vec<Lock>>>,
    /// POSIX owners blocked in F_SETLKW, with what they asked for.
    waiting: Mutex<BTreeMap<u32, (FileId, Lock)>>,
    /// Locks held, so the close path can skip the table when nothing is locked.
    held: AtomicUsize,
}

impl Default for LockTable {
    fn default() -> Self {
        Self::new()
    }
}

impl LockTable {
    pub const fn new() -> LockTable {
        LockTable {
            files: Mutex::new(BTreeMap::new()),
            waiting: Mutex::new(BTreeMap::new()),
            held: AtomicUsize::new(0),
        }
    }

    /// The first lock that conflicts with `want`, if any.
    pub fn conflict(&self, file: FileId, want: &Lock) -> Option<Lock> {
        let files = self.files.lock();
        files
            .get(&file)
            .and_then(|v| v.iter().find(|l| l.conflicts(want)).copied())
    }

    /// Sets `want` (or, with `kind == None`, unlocks the range) unless another owner's
    /// lock conflicts; returns that lock then. Never blocks.
    pub fn try_set(&self, file: FileId, want: Lock, unlock: bool) -> Result<(), Lock> {
        let mut files = self.files.lock();
        let locks = files.entry(file).or_default();
        if !unlock {
            if let Some(c) = locks.iter().find(|l| l.conflicts(&want)) {
                return Err(*c);
            }
        }
        let before = locks.len();
        // Take the owner's own locks (of the same family) off the range, splitting
        // any that stick out on either side.
        let mut kept = Vec::with_capacity(locks.len() + 2);
        for l in locks.drain(..) {
            if l.owner != want.owner || !l.overlaps(want.start, want.end) {
                kept.push(l);
                continue;
            }
            if l.start < want.start {
                kept.push(Lock {
                    end: want.start - 1,
                    ..l
                });
            }
            if l.end > want.end {
                kept.push(Lock {
                    start: want.end + 1,
                    ..l
                });
            }
        }
        if !unlock {
            // Merge with the owner's touching locks of the same type.
            let mut merged = want;
            kept.retain(|l| {
                let touches = l.owner == merged.owner
                    && l.kind == merged.kind
                    && l.start <= merged.end.saturating_add(1)
                    && merged.start <= l.end.saturating_add(1);
                if touches {
                    merged.start = merged.start.min(l.start);
                    merged.end = merged.end.max(l.end);
                }
                !touches
            });
            kept.push(merged);
        }
        kept.sort_by_key(|l| (l.start, l.owner));
        let after = kept.len();
        *locks = kept;
        if locks.is_empty() {
            files.remove(&file);
        }
        if after >= before {
            self.held.fetch_add(after - before, Ordering::Relaxed);
        } else {
            self.held.fetch_sub(before - after, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Drops every lock `owner` holds on `file` (or on every file, with `None`);
    /// returns the files whose waiters should be woken.
    pub fn release(&self, owner: Owner, file: Option<FileId>) -> Vec<FileId> {
        if self.held.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        let mut files = self.files.lock();
        let mut woken = Vec::new();
        let mut removed = 0;
        files.retain(|id, locks| {
            if file.is_some_and(|f| f != *id) {
                return true;
            }
            let before = locks.len();
            locks.retain(|l| l.owner != owner);
            if locks.len() != before {
                removed += before - locks.len();
                woken.push(*id);
            }
            !locks.is_empty()
        });
        self.held.fetch_sub(removed, Ordering::Relaxed);
        woken
    }

    /// Whether anything is locked at all (the close path's fast check).
    pub fn any(&self) -> bool {
        self.held.load(Ordering::Relaxed) != 0
    }

    /// Records that POSIX owner `pid` sleeps waiting for `want` on `file`.
    pub fn start_waiting(&self, pid: u32, file: FileId, want: Lock) {
        self.waiting.lock().insert(pid, (file, want));
    }

    pub fn stop_waiting(&self, pid: u32) {
        self.waiting.lock().remove(&pid);
    }

    /// Would POSIX owner `pid`, blocked by `holder`, wait forever? True when `holder` is
    /// itself waiting (directly or through a chain of waiters) for a lock `pid` holds.
    pub fn would_deadlock(&self, pid: u32, mut holder: Owner) -> bool {
        let waiting = self.waiting.lock();
        // Linux bounds the walk too (MAX_DEADLK_ITERATIONS).
        for _ in 0..10 {
            let Owner::Process(h) = holder else {
                return false;
            };
            if h == pid {
                return true;
            }
            let Some((file, want)) = waiting.get(&h) else {
                return false;
            };
            match self.conflict(*file, want) {
                Some(next) => holder = next.owner,
                None => return false,
            }
        }
        false
    }
}

/// The one table.
pub static LOCKS: LockTable = LockTable::new();

/// A process has ended: its POSIX locks go, and whoever waited for them wakes.
pub fn release_process(pid: u32) {
    for id in LOCKS.release(Owner::Process(pid), None) {
        crate::file::wake(wait_key(id));
    }
}

/// Linux's `struct flock` fields, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flock {
    pub l_type: i16,
    pub l_whence: i16,
    pub l_start: i64,
    pub l_len: i64,
    pub l_pid: i32,
}

pub const F_RDLCK: i16 = 0;
pub const F_WRLCK: i16 = 1;
pub const F_UNLCK: i16 = 2;

impl Flock {
    /// `struct flock` is 32 bytes on x86_64: short, short, (pad), off_t, off_t, pid_t.
    pub const SIZE: usize = 32;

    pub fn parse(b: &[u8; 32]) -> Flock {
        let i16_at = |o: usize| i16::from_le_bytes([b[o], b[o + 1]]);
        let i64_at = |o: usize| i64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        Flock {
            l_type: i16_at(0),
            l_whence: i16_at(2),
            l_start: i64_at(8),
            l_len: i64_at(16),
            l_pid: i32::from_le_bytes(b[24..28].try_into().unwrap()),
        }
    }

    pub fn to_bytes(self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0..2].copy_from_slice(&self.l_type.to_le_bytes());
        b[2..4].copy_from_slice(&self.l_whence.to_le_bytes());
        b[8..16].copy_from_slice(&self.l_start.to_le_bytes());
        b[16..24].copy_from_slice(&self.l_len.to_le_bytes());
        b[24..28].copy_from_slice(&self.l_pid.to_le_bytes());
        b
    }

    /// The byte range `[start, end]` this request covers, given the file's current
    /// offset and size for SEEK_CUR/SEEK_END. Errors as Linux's `flock_to_posix_lock`.
    pub fn range(&self, offset: u64, size: u64) -> Result<(u64, u64), Errno> {
        let base: i64 = match self.l_whence {
            0 => 0,
            1 => offset as i64,
            2 => size as i64,
            _ => return Err(Errno::EINVAL),
        };
        let start = base.checked_add(self.l_start).ok_or(Errno::EOVERFLOW)?;
        if start < 0 {
            return Err(Errno::EINVAL);
        }
        match self.l_len {
            0 => Ok((start as u64, u64::MAX)),
            len if len > 0 => {
                let end = start.checked_add(len - 1).ok_or(Errno::EOVERFLOW)?;
                Ok((start as u64, end as u64))
            }
            len => {
                // A negative length locks the bytes before `start`.
                let s = start + len;
                if s < 0 {
                    return Err(Errno::EINVAL);
                }
                Ok((s as u64, start as u64 - 1))
            }
        }
    }

    /// F_GETLK's answer describing `l`.
    pub fn describe(l: &Lock) -> Flock {
        Flock {
            l_type: match l.kind {
                Kind::Read => F_RDLCK,
                Kind::Write => F_WRLCK,
            },
            l_whence: 0,
            l_start: l.start as i64,
            l_len: if l.end == u64::MAX {
                0
            } else {
                (l.end - l.start + 1) as i64
            },
            l_pid: l.owner.pid(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: FileId = (1, 7);

    fn lock(owner: u32, kind: Kind, start: u64, end: u64) -> Lock {
        Lock {
            owner: Owner::Process(owner),
            kind,
            start,
            end,
        }
    }

    #[test]
    fn readers_share_writers_exclude() {
        let t = LockTable::new();
        t.try_set(F, lock(1, Kind::Read, 0, 99), false).unwrap();
        t.try_set(F, lock(2, Kind::Read, 50, 150), false).unwrap();
        let c = t
            .try_set(F, lock(3, Kind::Write, 90, 95), false)
            .unwrap_err();
        assert!(matches!(c.owner, Owner::Process(1 | 2)));
        // Beyond both: fine.
        t.try_set(F, lock(3, Kind::Write, 151, u64::MAX), false)
            .unwrap();
        assert!(t.any());
        // Process 1 exits: its locks go, 2's stay.
        assert_eq!(t.release(Owner::Process(1), None), [F]);
        assert!(t.conflict(F, &lock(4, Kind::Write, 0, 49)).is_none());
        assert!(t.conflict(F, &lock(4, Kind::Write, 60, 60)).is_some());
    }

    #[test]
    fn own_locks_split_and_merge() {
        let t = LockTable::new();
        t.try_set(F, lock(1, Kind::Write, 0, 99), false).unwrap();
        // Unlock the middle: two pieces remain.
        t.try_set(F, lock(1, Kind::Write, 40, 59), true).unwrap();
        let got = t.files.lock().get(&F).unwrap().clone();
        assert_eq!(
            got,
            [lock(1, Kind::Write, 0, 39), lock(1, Kind::Write, 60, 99)]
        );
        // Re-locking the hole merges all three back into one.
        t.try_set(F, lock(1, Kind::Write, 40, 59), false).unwrap();
        assert_eq!(
            t.files.lock().get(&F).unwrap().clone(),
            [lock(1, Kind::Write, 0, 99)]
        );
        // Downgrading part of it to a read lock splits by type.
        t.try_set(F, lock(1, Kind::Read, 10, 19), false).unwrap();
        assert_eq!(t.files.lock().get(&F).unwrap().len(), 3);
        assert_eq!(t.release(Owner::Process(1), Some(F)), [F]);
        assert!(!t.any());
    }

    #[test]
    fn flock_and_posix_never_conflict() {
        let t = LockTable::new();
        let fl = Lock {
            owner: Owner::Flock(0x1000),
            kind: Kind::Write,
            start: 0,
            end: u64::MAX,
        };
        t.try_set(F, fl, false).unwrap();
        t.try_set(F, lock(2, Kind::Write, 0, u64::MAX), false)
            .unwrap();
        let other = Lock {
            owner: Owner::Flock(0x2000),
            ..fl
        };
        assert!(t.try_set(F, other, false).is_err());
    }

    #[test]
    fn deadlock_is_found() {
        let t = LockTable::new();
        t.try_set(F, lock(1, Kind::Write, 0, 9), false).unwrap();
        t.try_set(F, lock(2, Kind::Write, 10, 19), false).unwrap();
        // 1 waits for 2's range.
        t.start_waiting(1, F, lock(1, Kind::Write, 10, 19));
        // 2 now asks for 1's range: 1 blocks it, and 1 waits on 2 → deadlock.
        assert!(t.would_deadlock(2, Owner::Process(1)));
        t.stop_waiting(1);
        assert!(!t.would_deadlock(2, Owner::Process(1)));
    }

    #[test]
    fn flock_struct_ranges() {
        let f = |whence, start, len| Flock {
            l_type: F_WRLCK,
            l_whence: whence,
            l_start: start,
            l_len: len,
            l_pid: 0,
        };
        assert_eq!(f(0, 10, 5).range(0, 0), Ok((10, 14)));
        assert_eq!(f(0, 10, 0).range(0, 0), Ok((10, u64::MAX)));
        assert_eq!(f(1, -2, 2).range(100, 0), Ok((98, 99)));
        assert_eq!(f(2, 0, -10).range(0, 50), Ok((40, 49)));
        assert_eq!(f(0, -1, 1).range(0, 0), Err(Errno::EINVAL));
        assert_eq!(f(0, 5, -10).range(0, 0), Err(Errno::EINVAL));
        assert_eq!(f(3, 0, 0).range(0, 0), Err(Errno::EINVAL));
        assert_eq!(f(0, i64::MAX, 2).range(0, 0), Err(Errno::EOVERFLOW));
        let b = f(1, 3, 4).to_bytes();
        assert_eq!(Flock::parse(&b), f(1, 3, 4));
    }
}
