//! Open files as capability objects.
//!
//! Linux separates the *file descriptor* (a per-process number with the CLOEXEC flag)
//! from the *open file description* (offset and status flags, shared by `dup` and
//! `fork`) and the *file* itself (an inode, a pipe, a tty, a socket). Writ maps them:
//!
//! - the file is anything implementing [`FileOps`] (the kernel's console, tmpfs nodes,
//!   pipes, sockets);
//! - the open file description is an [`OpenFile`];
//! - the descriptor is a capability to a [`FileObject`] in slot N of the process's fd
//!   CNode ([`crate::fd`]). `dup` is a Copy of that capability, so both descriptors
//!   reach the same `OpenFile` and share its offset, exactly as Linux shares it.
//!
//! Rights on a file capability: READ allows read-like calls, WRITE write-like ones; an
//! `O_RDONLY` descriptor simply has no WRITE, so `write` on it is EBADF by the rights
//! check, not by a flag test. DUP allows dup/dup2/fcntl(F_DUPFD) and fork.
//!
//! ## Invocations of a `file` object
//! None through `CapSystem::invoke` yet: every label is IllegalOperation. The
//! personality reaches a file's [`FileOps`] after checking the capability's rights,
//! the way Zircon checks a handle's rights and then calls the object.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

use caps::{CapSystem, Error as CapError, Invocation, ObjectType, Reply, Rights};
use spin::Mutex;

use crate::abi::Errno;
use crate::uaccess::UserMemory;

/// poll(2) event bits.
pub mod poll {
    pub const POLLIN: u16 = 0x001;
    pub const POLLPRI: u16 = 0x002;
    pub const POLLOUT: u16 = 0x004;
    pub const POLLERR: u16 = 0x008;
    pub const POLLHUP: u16 = 0x010;
    pub const POLLNVAL: u16 = 0x020;
    pub const POLLRDHUP: u16 = 0x2000;
}

/// The kernel's wake-up for wait keys, installed once at boot ([`set_waker`]); files
/// whose state changes outside a system call (a pipe end dropped on close, input from a
/// device) wake their waiters through it.
static WAKER: spin::Once<fn(u64)> = spin::Once::new();

pub fn set_waker(f: fn(u64)) {
    WAKER.call_once(|| f);
}

/// Wakes everything waiting on `key` (a no-op before the kernel installs its waker,
/// e.g. in host tests).
pub fn wake(key: u64) {
    wake_for(key, u16::MAX);
}

/// [`wake`] for a change that can only bring `events` (POLLIN for new data, POLLOUT
/// for room made): edge-triggered epoll counts wake-ups by kind to tell new events.
pub fn wake_for(key: u64, events: u16) {
    crate::events::note_wake_for(key, events);
    if let Some(f) = WAKER.get() {
        f(key);
    }
}

/// What `fstat` reports about a file (the syscall layer fills Linux's `struct stat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u32,
    pub blocks: u64,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

/// What any file-like kernel object does. Calls never block: a call that would block
/// returns `EAGAIN`, and the syscall layer waits on [`FileOps::wait_key`] until
/// [`FileOps::poll`] reports readiness (unless the descriptor is non-blocking).
pub trait FileOps: Send + Sync {
    /// Reads at `offset` (ignored unless [`FileOps::seekable`]).
    fn read(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    /// Writes at `offset` (ignored unless [`FileOps::seekable`]).
    fn write(&self, _offset: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    /// Regular files and block devices have an offset; ttys, pipes and sockets do not
    /// (lseek on them is ESPIPE).
    fn seekable(&self) -> bool {
        false
    }
    /// Ready events right now (POLLIN, POLLOUT, POLLHUP, ...).
    fn poll(&self) -> u16 {
        poll::POLLIN | poll::POLLOUT
    }
    /// Key of the kernel wait queue that is woken when `poll` may have changed.
    fn wait_key(&self) -> u64 {
        0
    }
    /// Every key whose wake-up may change `poll`: just [`FileOps::wait_key`], except
    /// for files whose readiness is that of other files (an epoll instance).
    fn wait_keys(&self, out: &mut alloc::vec::Vec<u64>) {
        out.push(self.wait_key());
    }
    fn stat(&self) -> FileStat;
    /// Device-specific control; `arg` is the raw third argument of ioctl(2). Any
    /// copy in or out goes through `mem`, the caller's checked user memory.
    fn ioctl(&self, _cmd: u32, _arg: u64, _mem: &mut dyn UserMemory) -> Result<usize, Errno> {
        Err(Errno::ENOTTY)
    }
    /// Whether this is a terminal (isatty's TCGETS succeeds).
    fn is_tty(&self) -> bool {
        false
    }
    /// The number of the pseudo-terminal whose master this is (TIOCGPTPEER opens its
    /// slave; the syscall layer makes the descriptor).
    fn pty_master(&self) -> Option<u32> {
        None
    }
    /// The type name the descriptor's capability shows in the debug console and
    /// /proc/PID/caps (`file`, or a socket's endpoint type: `tcp`, `icmp`, ...).
    fn cap_type(&self) -> &'static str {
        "file"
    }
    /// The authority this file was made through was revoked (not closed): cancel
    /// what is in progress, such as a blocked receive.
    fn revoked(&self) {}
    /// The process a pidfd names (None for every other file).
    fn pidfd_pid(&self) -> Option<u32> {
        None
    }
}

/// O_ACCMODE values and the status flags an open file description keeps.
pub mod flags {
    pub const O_RDONLY: u32 = 0;
    pub const O_WRONLY: u32 = 1;
    pub const O_RDWR: u32 = 2;
    pub const O_ACCMODE: u32 = 3;
    pub const O_CREAT: u32 = 0o100;
    pub const O_EXCL: u32 = 0o200;
    pub const O_NOCTTY: u32 = 0o400;
    pub const O_TRUNC: u32 = 0o1000;
    pub const O_APPEND: u32 = 0o2000;
    pub const O_NONBLOCK: u32 = 0o4000;
    pub const O_DSYNC: u32 = 0o10000;
    pub const O_ASYNC: u32 = 0o20000;
    pub const O_DIRECT: u32 = 0o40000;
    pub const O_LARGEFILE: u32 = 0o100000;
    pub const O_DIRECTORY: u32 = 0o200000;
    pub const O_NOFOLLOW: u32 = 0o400000;
    pub const O_NOATIME: u32 = 0o1000000;
    pub const O_CLOEXEC: u32 = 0o2000000;
    pub const O_PATH: u32 = 0o10000000;
    /// The flags F_SETFL may change (Linux: O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME |
    /// O_NONBLOCK).
    pub const SETFL_MASK: u32 = O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME | O_NONBLOCK;
}

/// A Linux open file description.
pub struct OpenFile {
    pub ops: Arc<dyn FileOps>,
    pub offset: Mutex<u64>,
    /// Access mode and status flags as F_GETFL reports them.
    status: AtomicU32,
}

impl OpenFile {
    pub fn new(ops: Arc<dyn FileOps>, status: u32) -> Arc<OpenFile> {
        Arc::new(OpenFile {
            ops,
            offset: Mutex::new(0),
            status: AtomicU32::new(status),
        })
    }

    pub fn status(&self) -> u32 {
        self.status.load(Ordering::Relaxed)
    }

    /// F_SETFL: only the changeable flags move; the access mode stays.
    pub fn set_status(&self, new: u32) {
        let keep = self.status() & !flags::SETFL_MASK;
        self.status
            .store(keep | (new & flags::SETFL_MASK), Ordering::Relaxed);
    }

    pub fn nonblocking(&self) -> bool {
        self.status() & flags::O_NONBLOCK != 0
    }

    /// The capability rights an `open` with these flags grants.
    pub fn rights_for(status: u32) -> Rights {
        let base = Rights::DUP;
        match status & flags::O_ACCMODE {
            flags::O_RDONLY => base | Rights::READ,
            flags::O_WRONLY => base | Rights::WRITE,
            _ => base | Rights::READ | Rights::WRITE,
        }
    }
}

/// The last descriptor of a description is gone: its OFD locks and flock go with it.
impl Drop for OpenFile {
    fn drop(&mut self) {
        if !crate::locks::LOCKS.any() {
            return;
        }
        let me = self as *const OpenFile as usize;
        let st = self.ops.stat();
        let file = (st.dev, st.ino);
        for owner in [
            crate::locks::Owner::Description(me),
            crate::locks::Owner::Flock(me),
        ] {
            for id in crate::locks::LOCKS.release(owner, Some(file)) {
                wake(crate::locks::wait_key(id));
            }
        }
    }
}

/// The capability object behind a file descriptor.
pub struct FileObject(pub Arc<OpenFile>);

impl ObjectType for FileObject {
    const NAME: &'static str = "file";
    type Op = core::convert::Infallible;

    fn name(&self) -> &'static str {
        self.0.ops.cap_type()
    }

    fn size(&self) -> u64 {
        // What one open file costs the process's Budget (description + offset lock).
        128
    }

    fn revoked(&self) {
        self.0.ops.revoked()
    }

    fn decode(&self, _sys: &CapSystem, _inv: &Invocation<'_>) -> Result<Self::Op, CapError> {
        Err(CapError::IllegalOperation)
    }

    fn perform(&self, _sys: &mut CapSystem, _inv: &Invocation<'_>, op: Self::Op) -> Reply {
        match op {}
    }

    fn capdl_attrs(&self, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
        let st = self.0.ops.stat();
        write!(
            out,
            "mode: 0o{:o}, ino: {}, flags: 0o{:o}",
            st.mode,
            st.ino,
            self.0.status()
        )
    }
}
