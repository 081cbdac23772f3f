//! eventfd: a 64-bit counter as a file. A write of 8 bytes adds a value, a read of 8
//! bytes takes the whole count (or 1 in semaphore mode) and leaves it zero; reading
//! zero and overflowing past `u64::MAX - 1` would block (EAGAIN here; the syscall layer
//! waits on the wait key, as for pipes). Readable (POLLIN) while the count is above
//! zero, writable (POLLOUT) while a write of 1 would not block.

use alloc::sync::Arc;

use spin::Mutex;

use crate::abi::Errno;
use crate::file::{poll, wake_for, FileOps, FileStat};

pub const EFD_SEMAPHORE: u32 = 1;

pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    key: u64,
}

impl EventFd {
    pub fn new(init: u32, semaphore: bool) -> Arc<EventFd> {
        Arc::new(EventFd {
            count: Mutex::new(u64::from(init)),
            semaphore,
            key: super::new_key(),
        })
    }
}

impl FileOps for EventFd {
    fn read(&self, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = {
            let mut c = self.count.lock();
            if *c == 0 {
                return Err(Errno::EAGAIN);
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            v
        };
        wake_for(self.key, poll::POLLOUT);
        buf[..8].copy_from_slice(&v.to_le_bytes());
        Ok(8)
    }

    /// Only the first 8 bytes count. (A blocking write of more than 8 bytes returns
    /// its whole length here where Linux returns 8: the syscall layer would otherwise
    /// write the rest as further values.)
    fn write(&self, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        if data.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = u64::from_le_bytes(data[..8].try_into().unwrap());
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        {
            let mut c = self.count.lock();
            if u64::MAX - *c <= v {
                return Err(Errno::EAGAIN);
            }
            *c += v;
        }
        wake_for(self.key, poll::POLLIN);
        Ok(data.len())
    }

    fn poll(&self) -> u16 {
        let c = *self.count.lock();
        let mut ev = 0;
        if c > 0 {
            ev |= poll::POLLIN;
        }
        if c == u64::MAX {
            ev |= poll::POLLERR;
        }
        if u64::MAX - 1 > c {
            ev |= poll::POLLOUT;
        }
        ev
    }

    fn wait_key(&self) -> u64 {
        self.key
    }

    fn stat(&self) -> FileStat {
        super::anon_stat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(v: u64) -> [u8; 8] {
        v.to_le_bytes()
    }

    #[test]
    fn counter_and_semaphore() {
        let e = EventFd::new(3, false);
        let mut b = [0u8; 8];
        assert_eq!(e.poll(), poll::POLLIN | poll::POLLOUT);
        assert_eq!(e.read(0, &mut b[..4]), Err(Errno::EINVAL));
        assert_eq!(e.read(0, &mut b), Ok(8));
        assert_eq!(u64::from_le_bytes(b), 3);
        assert_eq!(e.read(0, &mut b), Err(Errno::EAGAIN));
        assert_eq!(e.poll(), poll::POLLOUT);
        assert_eq!(e.write(0, &val(5)), Ok(8));
        assert_eq!(e.write(0, &val(6)), Ok(8));
        e.read(0, &mut b).unwrap();
        assert_eq!(u64::from_le_bytes(b), 11);

        let s = EventFd::new(2, true);
        for _ in 0..2 {
            s.read(0, &mut b).unwrap();
            assert_eq!(u64::from_le_bytes(b), 1);
        }
        assert_eq!(s.read(0, &mut b), Err(Errno::EAGAIN));
    }

    #[test]
    fn overflow_and_bad_writes() {
        let e = EventFd::new(0, false);
        assert_eq!(e.write(0, &[1, 2, 3]), Err(Errno::EINVAL));
        assert_eq!(e.write(0, &val(u64::MAX)), Err(Errno::EINVAL));
        assert_eq!(e.write(0, &val(u64::MAX - 1)), Ok(8));
        assert_eq!(e.poll(), poll::POLLIN, "a write of 1 would block");
        assert_eq!(e.write(0, &val(1)), Err(Errno::EAGAIN));
        assert_eq!(e.write(0, &val(0)), Ok(8), "adding zero never blocks");
        let mut b = [0u8; 8];
        e.read(0, &mut b).unwrap();
        assert_eq!(u64::from_le_bytes(b), u64::MAX - 1);
        assert_eq!(e.poll(), poll::POLLOUT);
    }
}
