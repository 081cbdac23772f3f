//! Calls on file descriptors: read/write and their vector and positioned forms,
//! close, dup/dup2/dup3, fcntl, lseek, fstat, ioctl. Each resolves the descriptor to a
//! capability in the caller's fd CNode, checks the right it needs (READ or WRITE, else
//! EBADF as Linux answers for the wrong access mode), and only then touches the file.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use caps::Rights;

use super::{Kernel, SysResult};
use crate::abi::structs::Stat;
use crate::abi::Errno;
use crate::file::{flags, poll, OpenFile};
use crate::uaccess::{read_iovecs, write_struct, UserSlice, MAX_RW_COUNT};

/// Largest single transfer through a kernel buffer; longer calls loop (and may return
/// short, as Linux may for ttys and pipes).
const CHUNK: usize = 64 * 1024;

const F_DUPFD: u64 = 0;
const F_GETFD: u64 = 1;
const F_SETFD: u64 = 2;
const F_GETFL: u64 = 3;
const F_SETFL: u64 = 4;
const F_DUPFD_CLOEXEC: u64 = 1030;
const FD_CLOEXEC: u64 = 1;

const FIONBIO: u32 = 0x5421;
const FIONCLEX: u32 = 0x5450;
const FIOCLEX: u32 = 0x5451;

fn file<K: Kernel>(k: &mut K, fd: u64, need: Rights) -> Result<Arc<OpenFile>, Errno> {
    k.with_caps(|sys, t| t.get(sys, fd as i32 as i64, need))
}

/// Waits until the file reports `events` (or hangup/error), unless it is non-blocking.
fn wait_ready<K: Kernel>(k: &mut K, f: &OpenFile, events: u16) -> Result<(), Errno> {
    if f.nonblocking() {
        return Err(Errno::EAGAIN);
    }
    let ops = f.ops.clone();
    let want = events | poll::POLLHUP | poll::POLLERR;
    k.wait(ops.wait_key(), &mut || ops.poll() & want != 0)
}

/// One read into `buf`, blocking as the descriptor allows. `pos` is Some for pread.
fn read_once<K: Kernel>(
    k: &mut K,
    f: &OpenFile,
    buf: &mut [u8],
    pos: Option<u64>,
) -> Result<usize, Errno> {
    read_chunk(k, f, buf, pos, true)
}

/// One read of the file into `buf`; on EAGAIN waits for data if `wait`, else returns
/// the EAGAIN.
fn read_chunk<K: Kernel>(
    k: &mut K,
    f: &OpenFile,
    buf: &mut [u8],
    pos: Option<u64>,
    wait: bool,
) -> Result<usize, Errno> {
    loop {
        let r = match pos {
            Some(p) => f.ops.read(p, buf),
            None if f.ops.seekable() => {
                let mut off = f.offset.lock();
                let r = f.ops.read(*off, buf);
                if let Ok(n) = r {
                    *off += n as u64;
                }
                r
            }
            None => f.ops.read(0, buf),
        };
        match r {
            Err(Errno::EAGAIN) if wait => wait_ready(k, f, poll::POLLIN)?,
            r => return r,
        }
    }
}

fn write_once<K: Kernel>(
    k: &mut K,
    f: &OpenFile,
    data: &[u8],
    pos: Option<u64>,
) -> Result<usize, Errno> {
    loop {
        let r = match pos {
            Some(p) => f.ops.write(p, data),
            None if f.ops.seekable() => {
                let mut off = f.offset.lock();
                if f.status() & flags::O_APPEND != 0 {
                    *off = f.ops.stat().size;
                }
                let r = f.ops.write(*off, data);
                if let Ok(n) = r {
                    *off += n as u64;
                }
                r
            }
            None => f.ops.write(0, data),
        };
        match r {
            Err(Errno::EAGAIN) => wait_ready(k, f, poll::POLLOUT)?,
            r => return r,
        }
    }
}

fn do_read<K: Kernel>(k: &mut K, fd: u64, buf: u64, len: u64, pos: Option<u64>) -> SysResult {
    let f = file(k, fd, Rights::READ)?;
    // Linux checks the whole buffer the caller named, then moves at most MAX_RW_COUNT.
    UserSlice::new(buf, len)?;
    let len = len.min(MAX_RW_COUNT);
    let user = UserSlice::new(buf, len)?;
    if len == 0 {
        return Ok(0);
    }
    let mut kbuf = vec![0u8; (len as usize).min(CHUNK)];
    let n = read_once(k, &f, &mut kbuf, pos)?;
    user.write_at(k.mem(), 0, &kbuf[..n])?;
    // A full chunk: take what else is there without waiting, as Linux fills the whole
    // buffer from a file or /dev/zero (dd's records are whole reads) and gives a pipe
    // or socket reader all the data that is ready.
    let mut done = n as u64;
    let mut last = n;
    while last == kbuf.len() && done < len {
        let want = ((len - done) as usize).min(CHUNK);
        let at = pos.map(|p| p + done);
        match read_chunk(k, &f, &mut kbuf[..want], at, false) {
            Ok(0) | Err(_) => break,
            Ok(m) => {
                user.write_at(k.mem(), done, &kbuf[..m])?;
                done += m as u64;
                last = if m == want { kbuf.len() } else { m };
            }
        }
    }
    Ok(done)
}

fn do_write<K: Kernel>(k: &mut K, fd: u64, buf: u64, len: u64, pos: Option<u64>) -> SysResult {
    let r = do_write_inner(k, fd, buf, len, pos);
    if r == Err(Errno::EPIPE) {
        // Writing to a pipe nobody reads raises SIGPIPE as well as EPIPE.
        let me = k.pid() as i32;
        let info = crate::signal::SigInfo {
            signo: crate::signal::SIGPIPE,
            pid: k.pid(),
            ..Default::default()
        };
        let _ = k.send_signal(me, info);
    }
    r
}

fn do_write_inner<K: Kernel>(
    k: &mut K,
    fd: u64,
    buf: u64,
    len: u64,
    pos: Option<u64>,
) -> SysResult {
    let f = file(k, fd, Rights::WRITE)?;
    UserSlice::new(buf, len)?;
    let len = len.min(MAX_RW_COUNT);
    let user = UserSlice::new(buf, len)?;
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(CHUNK as u64) as usize;
        let mut kbuf = vec![0u8; n];
        if let Err(e) = user.read_at(k.mem(), done, &mut kbuf) {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        let at = pos.map(|p| p + done);
        match write_once(k, &f, &kbuf[..], at) {
            Ok(w) if w < n && !f.nonblocking() && !f.ops.seekable() => {
                // A blocking write to a pipe or socket goes on until all is written;
                // write_once waits for room before each part.
                done += w as u64;
                let mut rest = &kbuf[w..];
                while !rest.is_empty() {
                    match write_once(k, &f, rest, None) {
                        Ok(m) => {
                            done += m as u64;
                            rest = &rest[m..];
                        }
                        Err(_) => return Ok(done),
                    }
                }
            }
            Ok(w) => {
                done += w as u64;
                if w < n {
                    break;
                }
            }
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

pub fn read<K: Kernel>(k: &mut K, fd: u64, buf: u64, len: u64) -> SysResult {
    do_read(k, fd, buf, len, None)
}

pub fn write<K: Kernel>(k: &mut K, fd: u64, buf: u64, len: u64) -> SysResult {
    do_write(k, fd, buf, len, None)
}

fn positioned<K: Kernel>(k: &mut K, fd: u64, off: u64, need: Rights) -> Result<u64, Errno> {
    let f = file(k, fd, need)?;
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if (off as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(off)
}

pub fn pread<K: Kernel>(k: &mut K, fd: u64, buf: u64, len: u64, off: u64) -> SysResult {
    let off = positioned(k, fd, off, Rights::READ)?;
    do_read(k, fd, buf, len, Some(off))
}

pub fn pwrite<K: Kernel>(k: &mut K, fd: u64, buf: u64, len: u64, off: u64) -> SysResult {
    let off = positioned(k, fd, off, Rights::WRITE)?;
    do_write(k, fd, buf, len, Some(off))
}

fn iovecs<K: Kernel>(k: &mut K, iov: u64, cnt: u64) -> Result<Vec<UserSlice>, Errno> {
    let cnt = usize::try_from(cnt).map_err(|_| Errno::EINVAL)?;
    let v = read_iovecs(k.mem(), iov, cnt)?;
    // Linux rejects a vector whose total length overflows ssize_t.
    let mut total = 0u64;
    for s in &v {
        total = total
            .checked_add(s.len())
            .filter(|t| *t <= i64::MAX as u64)
            .ok_or(Errno::EINVAL)?;
    }
    Ok(v)
}

/// readv/writev: one transfer per segment, stopping at the first short one; an error
/// after some bytes moved returns the count, as Linux does.
fn vectored<K: Kernel>(k: &mut K, fd: u64, iov: u64, cnt: u64, write: bool) -> SysResult {
    file(k, fd, if write { Rights::WRITE } else { Rights::READ })?;
    let v = iovecs(k, iov, cnt)?;
    let mut total = 0u64;
    for s in v.into_iter().filter(|s| !s.is_empty()) {
        let r = if write {
            do_write(k, fd, s.addr(), s.len(), None)
        } else {
            do_read(k, fd, s.addr(), s.len(), None)
        };
        match r {
            Ok(n) => {
                total += n;
                if n < s.len() {
                    break;
                }
            }
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

pub fn readv<K: Kernel>(k: &mut K, fd: u64, iov: u64, cnt: u64) -> SysResult {
    vectored(k, fd, iov, cnt, false)
}

pub fn writev<K: Kernel>(k: &mut K, fd: u64, iov: u64, cnt: u64) -> SysResult {
    vectored(k, fd, iov, cnt, true)
}

pub fn close<K: Kernel>(k: &mut K, fd: u64) -> SysResult {
    super::lockcalls::release_on_close(k, fd);
    k.with_caps(|sys, t| t.close(sys, fd as i32 as i64))
        .map(|_| 0)
}

const CLOSE_RANGE_UNSHARE: u64 = 2;
const CLOSE_RANGE_CLOEXEC: u64 = 4;

/// close_range: closes (or with CLOSE_RANGE_CLOEXEC marks close-on-exec) every open
/// descriptor from `first` to `last`. CLOSE_RANGE_UNSHARE asks for a private table
/// first; every process's table is already its own (no CLONE_FILES sharing), so there
/// is nothing to unshare.
pub fn close_range<K: Kernel>(k: &mut K, first: u64, last: u64, flags: u64) -> SysResult {
    let (first, last) = (first as u32, last as u32);
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    let open: alloc::vec::Vec<u32> = k.with_caps(|sys, t| {
        t.fds(sys)
            .into_iter()
            .filter(|fd| (first..=last).contains(fd))
            .collect()
    });
    for fd in open {
        if flags & CLOSE_RANGE_CLOEXEC != 0 {
            k.with_caps(|_, t| t.set_cloexec(fd, true));
        } else {
            let _ = close(k, u64::from(fd));
        }
    }
    Ok(0)
}

pub fn dup<K: Kernel>(k: &mut K, fd: u64) -> SysResult {
    k.with_caps(|sys, t| t.dup(sys, fd as i32 as i64, 0, false))
        .map(u64::from)
}

pub fn dup2<K: Kernel>(k: &mut K, old: u64, new: u64) -> SysResult {
    let (old, new) = (old as i32 as i64, new as i32 as i64);
    k.with_caps(|sys, t| {
        if old == new {
            // dup2(fd, fd) checks fd and changes nothing.
            return t.cap(sys, old).map(|_| new as u64).ok_or(Errno::EBADF);
        }
        t.dup_to(sys, old, new, false).map(u64::from)
    })
}

pub fn dup3<K: Kernel>(k: &mut K, old: u64, new: u64, fl: u64) -> SysResult {
    if fl & !u64::from(flags::O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let (old, new) = (old as i32 as i64, new as i32 as i64);
    if old == new {
        return Err(Errno::EINVAL);
    }
    let cloexec = fl != 0;
    k.with_caps(|sys, t| t.dup_to(sys, old, new, cloexec))
        .map(u64::from)
}

pub fn fcntl<K: Kernel>(k: &mut K, fd: u64, cmd: u64, arg: u64) -> SysResult {
    let fd = fd as i32 as i64;
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => k.with_caps(|sys, t| {
            let min = u32::try_from(arg as i32).map_err(|_| Errno::EINVAL)?;
            if min >= t.limit {
                return Err(Errno::EINVAL);
            }
            t.dup(sys, fd, min, cmd == F_DUPFD_CLOEXEC).map(u64::from)
        }),
        F_GETFD => k.with_caps(|sys, t| {
            t.cap(sys, fd).ok_or(Errno::EBADF)?;
            Ok(if t.cloexec(fd as u32) { FD_CLOEXEC } else { 0 })
        }),
        F_SETFD => k.with_caps(|sys, t| {
            t.cap(sys, fd).ok_or(Errno::EBADF)?;
            t.set_cloexec(fd as u32, arg & FD_CLOEXEC != 0);
            Ok(0)
        }),
        F_GETFL => {
            let f = file(k, fd as u64, Rights::empty())?;
            Ok(u64::from(f.status()))
        }
        F_SETFL => {
            let f = file(k, fd as u64, Rights::empty())?;
            f.set_status(arg as u32);
            Ok(0)
        }
        super::lockcalls::F_GETLK..=super::lockcalls::F_SETLKW
        | super::lockcalls::F_OFD_GETLK..=super::lockcalls::F_OFD_SETLKW => {
            super::lockcalls::fcntl_lock(k, fd as u64, cmd, arg)
        }
        _ => {
            file(k, fd as u64, Rights::empty())?;
            Err(Errno::EINVAL)
        }
    }
}

const SEEK_SET: u64 = 0;
const SEEK_CUR: u64 = 1;
const SEEK_END: u64 = 2;

pub fn lseek<K: Kernel>(k: &mut K, fd: u64, off: u64, whence: u64) -> SysResult {
    let f = file(k, fd, Rights::empty())?;
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let off = off as i64;
    let mut cur = f.offset.lock();
    let base = match whence {
        SEEK_SET => 0,
        SEEK_CUR => *cur as i64,
        SEEK_END => f.ops.stat().size as i64,
        _ => return Err(Errno::EINVAL),
    };
    let new = base.checked_add(off).ok_or(Errno::EOVERFLOW)?;
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    *cur = new as u64;
    Ok(new as u64)
}

pub fn stat_of(st: &crate::file::FileStat) -> Stat {
    Stat {
        st_dev: st.dev,
        st_ino: st.ino,
        st_nlink: u64::from(st.nlink),
        st_mode: st.mode,
        st_uid: st.uid,
        st_gid: st.gid,
        st_rdev: st.rdev,
        st_size: st.size as i64,
        st_blksize: i64::from(st.blksize),
        st_blocks: st.blocks as i64,
        st_atime: st.atime.0,
        st_atime_nsec: st.atime.1,
        st_mtime: st.mtime.0,
        st_mtime_nsec: st.mtime.1,
        st_ctime: st.ctime.0,
        st_ctime_nsec: st.ctime.1,
        ..Stat::default()
    }
}

pub fn fstat<K: Kernel>(k: &mut K, fd: u64, buf: u64) -> SysResult {
    let f = file(k, fd, Rights::empty())?;
    let st = stat_of(&f.ops.stat());
    write_struct(k.mem(), buf, &st)?;
    Ok(0)
}

pub fn ioctl<K: Kernel>(k: &mut K, fd: u64, cmd: u64, arg: u64) -> SysResult {
    let cmd = cmd as u32;
    let f = file(k, fd, Rights::empty())?;
    match cmd {
        FIONBIO => {
            let mut v = [0u8; 4];
            k.mem().read(arg, &mut v)?;
            let on = u32::from_le_bytes(v) != 0;
            let st = f.status();
            f.set_status(if on {
                st | flags::O_NONBLOCK
            } else {
                st & !flags::O_NONBLOCK
            });
            Ok(0)
        }
        FIOCLEX | FIONCLEX => {
            k.with_caps(|_, t| t.set_cloexec(fd as u32, cmd == FIOCLEX));
            Ok(0)
        }
        crate::tty::ioctl::TIOCGPTPEER => match f.ops.pty_master() {
            Some(n) => super::fscalls::open_pty_peer(k, n, arg as u32),
            // Linux: EIO from any terminal that is not a pty master.
            None if f.ops.is_tty() => Err(Errno::EIO),
            None => Err(Errno::ENOTTY),
        },
        _ => match f.ops.ioctl(cmd, arg, k.mem()) {
            // An interface ioctl on a socket that carries no stack (AF_UNIX, netlink):
            // Linux answers it for any socket; so does the caller's NetStack cap.
            Err(Errno::ENOTTY)
                if crate::net::ifconf::is_interface_ioctl(cmd)
                    && f.ops.stat().mode & crate::fs::mode::S_IFMT == crate::fs::mode::S_IFSOCK =>
            {
                super::net::interface_ioctl(k, cmd, arg)
            }
            r => r.map(|r| r as u64),
        },
    }
}
