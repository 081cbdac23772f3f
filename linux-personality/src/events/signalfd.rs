//! signalfd: the caller's pending signals, read as `struct signalfd_siginfo` records
//! (128 bytes each). A read takes the lowest-numbered pending signal in the file's mask
//! (as many as fit), or would block (EAGAIN) if none is; readable (POLLIN) while one is
//! pending. As on Linux, the signals seen are those of whoever reads or polls, not of
//! whoever created the file.
//!
//! A file's `read` and `poll` get no [`crate::syscall::Kernel`], so the kernel
//! installs a hook that runs a closure on the current process's signal state
//! ([`set_signals_hook`]). No wait key of its own is needed: posting a signal already
//! kicks every blocked thread of the process, whatever it waits on.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Registry;
use crate::abi::Errno;
use crate::file::{poll, FileOps, FileStat};
use crate::signal::{bit, SigInfo, Signals, UNBLOCKABLE};

/// sizeof(struct signalfd_siginfo).
pub const SIGINFO_SIZE: usize = 128;

pub type SignalsHook = fn(&mut dyn FnMut(&mut Signals));
static HOOK: spin::Once<SignalsHook> = spin::Once::new();

/// Installed once by the kernel at boot.
pub fn set_signals_hook(f: SignalsHook) {
    HOOK.call_once(|| f);
}

fn with_signals<R>(f: impl FnOnce(&mut Signals) -> R) -> Option<R> {
    let mut f = Some(f);
    let mut out = None;
    let mut run = |s: &mut Signals| {
        if let Some(f) = f.take() {
            out = Some(f(s));
        }
    };
    #[cfg(test)]
    if test_signals::with(&mut run) {
        return out;
    }
    if let Some(h) = HOOK.get() {
        h(&mut run);
    }
    out
}

static SIGNALFDS: Registry<SignalFd> = Registry::new();

pub struct SignalFd {
    mask: AtomicU64,
    key: u64,
}

/// `struct signalfd_siginfo` for `info`.
fn record(info: &SigInfo) -> [u8; SIGINFO_SIZE] {
    let mut b = [0u8; SIGINFO_SIZE];
    b[0..4].copy_from_slice(&info.signo.to_le_bytes());
    b[8..12].copy_from_slice(&info.code.to_le_bytes());
    b[12..16].copy_from_slice(&info.pid.to_le_bytes());
    b[16..20].copy_from_slice(&info.uid.to_le_bytes());
    b[40..44].copy_from_slice(&info.status.to_le_bytes());
    b[72..80].copy_from_slice(&info.addr.to_le_bytes());
    b
}

impl SignalFd {
    pub fn new(mask: u64) -> Arc<SignalFd> {
        let s = Arc::new(SignalFd {
            mask: AtomicU64::new(mask & !UNBLOCKABLE),
            key: super::new_key(),
        });
        SIGNALFDS.insert(s.key, &s);
        s
    }

    pub fn of(ops: &Arc<dyn FileOps>) -> Option<Arc<SignalFd>> {
        SIGNALFDS.find(ops)
    }

    /// signalfd4 on an existing signalfd: a new mask (SIGKILL and SIGSTOP never).
    pub fn set_mask(&self, mask: u64) {
        self.mask.store(mask & !UNBLOCKABLE, Ordering::Relaxed);
        crate::file::wake(self.key);
    }
}

impl Drop for SignalFd {
    fn drop(&mut self) {
        SIGNALFDS.remove(self.key);
    }
}

impl FileOps for SignalFd {
    fn read(&self, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let room = buf.len() / SIGINFO_SIZE;
        if room == 0 {
            return Err(Errno::EINVAL);
        }
        let mask = self.mask.load(Ordering::Relaxed);
        let n = with_signals(|s| {
            let mut n = 0;
            while n < room {
                let ready = s.pending & mask;
                if ready == 0 {
                    break;
                }
                let sig = ready.trailing_zeros() + 1;
                s.pending &= !bit(sig);
                let info = s.info[(sig - 1) as usize];
                let rec = record(&SigInfo { signo: sig, ..info });
                buf[n * SIGINFO_SIZE..(n + 1) * SIGINFO_SIZE].copy_from_slice(&rec);
                n += 1;
            }
            n
        })
        .unwrap_or(0);
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        Ok(n * SIGINFO_SIZE)
    }

    fn poll(&self) -> u16 {
        let mask = self.mask.load(Ordering::Relaxed);
        if with_signals(|s| s.pending & mask != 0).unwrap_or(false) {
            poll::POLLIN
        } else {
            0
        }
    }

    fn wait_key(&self) -> u64 {
        self.key
    }

    fn stat(&self) -> FileStat {
        super::anon_stat()
    }
}

/// Host tests: the signal state of "the current process", one per test thread.
#[cfg(test)]
pub mod test_signals {
    use core::cell::RefCell;

    use crate::signal::Signals;

    std::thread_local! {
        static SIGNALS: RefCell<Option<Signals>> = const { RefCell::new(None) };
    }

    pub fn set(s: Signals) {
        SIGNALS.with(|c| *c.borrow_mut() = Some(s));
    }

    pub fn get() -> Option<Signals> {
        SIGNALS.with(|c| c.borrow().clone())
    }

    pub(super) fn with(f: &mut dyn FnMut(&mut Signals)) -> bool {
        SIGNALS.with(|c| match c.borrow_mut().as_mut() {
            Some(s) => {
                f(s);
                true
            }
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{SIGUSR1, SIGUSR2};

    #[test]
    fn reads_pending_signals_in_the_mask() {
        let mut s = Signals {
            blocked: bit(SIGUSR1) | bit(SIGUSR2),
            ..Default::default()
        };
        s.post(SigInfo {
            signo: SIGUSR2,
            pid: 7,
            uid: 3,
            code: -6,
            ..Default::default()
        });
        s.post(SigInfo {
            signo: SIGUSR1,
            pid: 8,
            ..Default::default()
        });
        test_signals::set(s);
        let f = SignalFd::new(bit(SIGUSR2) | bit(9));
        assert_eq!(f.poll(), poll::POLLIN);
        let mut buf = [0u8; 300];
        assert_eq!(f.read(0, &mut buf[..100]), Err(Errno::EINVAL));
        assert_eq!(f.read(0, &mut buf), Ok(128), "only SIGUSR2 is in the mask");
        assert_eq!(u32::from_le_bytes(buf[0..4].try_into().unwrap()), SIGUSR2);
        assert_eq!(i32::from_le_bytes(buf[8..12].try_into().unwrap()), -6);
        assert_eq!(u32::from_le_bytes(buf[12..16].try_into().unwrap()), 7);
        assert_eq!(u32::from_le_bytes(buf[16..20].try_into().unwrap()), 3);
        assert_eq!(f.poll(), 0);
        assert_eq!(f.read(0, &mut buf), Err(Errno::EAGAIN));
        f.set_mask(!0);
        assert_eq!(f.read(0, &mut buf), Ok(128));
        assert_eq!(u32::from_le_bytes(buf[0..4].try_into().unwrap()), SIGUSR1);
        assert_eq!(test_signals::get().unwrap().pending, 0);
    }
}
