//! pidfds: a descriptor that names a process (pidfd_open). Its capability is the
//! holder's handle on that process: it polls readable once the process has ended
//! (POLLHUP too once it is reaped), and waitid(P_PIDFD) and pidfd_send_signal use it
//! instead of a pid that could have been reused.

use alloc::sync::{Arc, Weak};

use linux_personality::abi::Errno;
use linux_personality::file::{poll, FileOps, FileStat};

use crate::process::{self, Process};

/// Wait keys of pidfds (bit 55, apart from the other key spaces): woken when the
/// process ends and when it is reaped.
pub const KEY_PIDFD: u64 = 1 << 55;

struct PidFile {
    pid: u32,
    proc: Weak<Process>,
}

impl FileOps for PidFile {
    fn poll(&self) -> u16 {
        match self.proc.upgrade() {
            Some(p) if !p.has_exited() => 0,
            Some(_) => poll::POLLIN,
            // Reaped: gone from the process table too.
            None => poll::POLLIN | poll::POLLHUP,
        }
    }

    fn wait_key(&self) -> u64 {
        KEY_PIDFD | u64::from(self.pid)
    }

    fn read(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    fn stat(&self) -> FileStat {
        // An inode of its own device (as pidfs numbers them by pid), so /proc's fd
        // links call it anon_inode:[pidfd] rather than finding a file.
        FileStat {
            dev: 9,
            ino: u64::from(self.pid),
            mode: 0o100600,
            nlink: 1,
            blksize: 4096,
            ..FileStat::default()
        }
    }

    fn cap_type(&self) -> &'static str {
        "pidfd"
    }

    fn pidfd_pid(&self) -> Option<u32> {
        Some(self.pid)
    }
}

/// A pidfd for process `pid` (ESRCH when there is none; a zombie still counts).
pub fn open(pid: u32) -> Result<Arc<dyn FileOps>, Errno> {
    let p = process::by_pid(pid).ok_or(Errno::ESRCH)?;
    Ok(Arc::new(PidFile {
        pid,
        proc: Arc::downgrade(&p),
    }))
}

/// The process `pid` ended or was reaped: wake its pidfds' pollers.
pub fn notify(pid: u32) {
    crate::waits::wake(KEY_PIDFD | u64::from(pid));
}
