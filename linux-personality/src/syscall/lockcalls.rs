//! fcntl's record locks (F_GETLK/F_SETLK/F_SETLKW and the F_OFD_ forms) and flock(2),
//! over the system lock table in [`crate::locks`]. The waits are here: a blocking
//! request sleeps on the file's lock key until no lock conflicts, and fails with
//! EDEADLK when it would wait for itself through a chain of waiting processes.

use alloc::sync::Arc;

use caps::Rights;

use super::Kernel;
use crate::file::{flags, OpenFile};
use crate::locks::{self, FileId, Flock, Kind, Lock, Owner, LOCKS};
use crate::Errno;

type SysResult = Result<u64, Errno>;

/// F_GETLK (5), F_SETLK (6), F_SETLKW (7): one range in `fcntl`.
pub const F_GETLK: u64 = 5;
pub const F_SETLKW: u64 = 7;
pub const F_OFD_GETLK: u64 = 36;
pub const F_OFD_SETLK: u64 = 37;
pub const F_OFD_SETLKW: u64 = 38;

const LOCK_SH: u64 = 1;
const LOCK_EX: u64 = 2;
const LOCK_NB: u64 = 4;
const LOCK_UN: u64 = 8;

fn file_id(f: &OpenFile) -> FileId {
    let st = f.ops.stat();
    (st.dev, st.ino)
}

fn get<K: Kernel>(k: &mut K, fd: u64) -> Result<Arc<OpenFile>, Errno> {
    k.with_caps(|sys, t| t.get(sys, fd as i32 as i64, Rights::empty()))
}

/// Sets `want` on `file`, waiting if `wait`; `unlock` removes the range instead.
fn set<K: Kernel>(k: &mut K, file: FileId, want: Lock, unlock: bool, wait: bool) -> SysResult {
    loop {
        let holder = match LOCKS.try_set(file, want, unlock) {
            Ok(()) => {
                if unlock || matches!(want.kind, Kind::Read) {
                    // Unlocking or downgrading may let a waiter in.
                    crate::file::wake(locks::wait_key(file));
                }
                return Ok(0);
            }
            Err(holder) => holder,
        };
        if !wait {
            return Err(Errno::EAGAIN);
        }
        let Owner::Process(pid) = want.owner else {
            return wait_free(k, file, want);
        };
        if LOCKS.would_deadlock(pid, holder.owner) {
            return Err(Errno::EDEADLK);
        }
        LOCKS.start_waiting(pid, file, want);
        let r = wait_free(k, file, want);
        LOCKS.stop_waiting(pid);
        r?;
    }
}

/// Sleeps until nothing conflicts with `want` (then the caller tries again).
fn wait_free<K: Kernel>(k: &mut K, file: FileId, want: Lock) -> SysResult {
    k.wait(locks::wait_key(file), &mut || {
        LOCKS.conflict(file, &want).is_none()
    })?;
    Ok(0)
}

/// fcntl's lock commands.
pub fn fcntl_lock<K: Kernel>(k: &mut K, fd: u64, cmd: u64, arg: u64) -> SysResult {
    let f = get(k, fd)?;
    let mut raw = [0u8; Flock::SIZE];
    k.mem().read(arg, &mut raw)?;
    let req = Flock::parse(&raw);
    let ofd = matches!(cmd, F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW);
    if ofd && req.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = match req.l_type {
        locks::F_RDLCK => Some(Kind::Read),
        locks::F_WRLCK => Some(Kind::Write),
        locks::F_UNLCK => None,
        _ => return Err(Errno::EINVAL),
    };
    let offset = *f.offset.lock();
    let (start, end) = req.range(offset, f.ops.stat().size)?;
    let owner = if ofd {
        Owner::Description(Arc::as_ptr(&f) as usize)
    } else {
        Owner::Process(k.pid())
    };
    let want = Lock {
        owner,
        kind: kind.unwrap_or(Kind::Write),
        start,
        end,
    };
    let id = file_id(&f);
    if matches!(cmd, F_GETLK | F_OFD_GETLK) {
        if kind.is_none() {
            return Err(Errno::EINVAL);
        }
        let answer = match LOCKS.conflict(id, &want) {
            Some(l) => Flock::describe(&l),
            None => Flock {
                l_type: locks::F_UNLCK,
                ..req
            },
        };
        k.mem().write(arg, &answer.to_bytes())?;
        return Ok(0);
    }
    // A read lock needs a descriptor open for reading, a write lock one for writing.
    let mode = f.status() & flags::O_ACCMODE;
    match kind {
        Some(Kind::Read) if mode == flags::O_WRONLY => return Err(Errno::EBADF),
        Some(Kind::Write) if mode == flags::O_RDONLY => return Err(Errno::EBADF),
        _ => {}
    }
    set(
        k,
        id,
        want,
        kind.is_none(),
        matches!(cmd, F_SETLKW | F_OFD_SETLKW),
    )
}

/// flock(2): whole-file locks owned by the open file description.
pub fn flock<K: Kernel>(k: &mut K, fd: u64, op: u64) -> SysResult {
    let f = get(k, fd)?;
    let kind = match op & !LOCK_NB {
        LOCK_SH => Some(Kind::Read),
        LOCK_EX => Some(Kind::Write),
        LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    let want = Lock {
        owner: Owner::Flock(Arc::as_ptr(&f) as usize),
        kind: kind.unwrap_or(Kind::Write),
        start: 0,
        end: u64::MAX,
    };
    set(k, file_id(&f), want, kind.is_none(), op & LOCK_NB == 0)
}

/// close(fd) drops the process's POSIX locks on that file (all of them, whichever
/// descriptor set them: POSIX's well-known trap, kept for compatibility).
pub fn release_on_close<K: Kernel>(k: &mut K, fd: u64) {
    if !LOCKS.any() {
        return;
    }
    if let Ok(f) = get(k, fd) {
        let pid = k.pid();
        for id in LOCKS.release(Owner::Process(pid), Some(file_id(&f))) {
            crate::file::wake(locks::wait_key(id));
        }
    }
}
