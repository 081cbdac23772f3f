//! Pipes: a ring of page-sized buffers with a read end and a write end, each an open
//! file (so each end is a FileObject capability). When the last write end closes,
//! readers see end of file; when the last read end closes, writers get EPIPE.
//!
//! The buffer is Linux's shape, not just its size: 16 slots of one page each. A write
//! first tops up the last slot with the part of it that is not a whole page (if that
//! part fits), then fills fresh slots; a slot is free again only once fully read. So a
//! write of at most PIPE_BUF bytes is never split (it fits the last slot or takes a
//! fresh one), and after reading 100 bytes from a full pipe, a 50-byte write still
//! waits, exactly as on Linux.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use spin::Mutex;

use crate::abi::Errno;
use crate::file::{poll, wake, wake_for, FileOps, FileStat};

/// Linux's default pipe capacity and atomic-write size.
pub const PIPE_CAPACITY: usize = 65536;
pub const PIPE_BUF: usize = 4096;
const PAGE: usize = 4096;
const SLOTS: usize = PIPE_CAPACITY / PAGE;

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);
/// Pipe wait keys live in their own range (bit 62), apart from object ids.
const KEY_BASE: u64 = 1 << 62;

struct State {
    /// Filled slots, oldest first; each holds 1..=PAGE unread bytes.
    slots: VecDeque<VecDeque<u8>>,
    readers: usize,
    writers: usize,
}

impl State {
    fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn full(&self) -> bool {
        self.slots.len() >= SLOTS
    }
}

pub struct Pipe {
    state: Mutex<State>,
    key: u64,
    ino: u64,
}

pub struct ReadEnd(Arc<Pipe>);
pub struct WriteEnd(Arc<Pipe>);

/// A new pipe's two ends.
pub fn pipe() -> (Arc<ReadEnd>, Arc<WriteEnd>) {
    let n = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    let p = Arc::new(Pipe {
        state: Mutex::new(State {
            slots: VecDeque::new(),
            readers: 1,
            writers: 1,
        }),
        key: KEY_BASE | n,
        ino: 0x1000_0000 + n,
    });
    (Arc::new(ReadEnd(p.clone())), Arc::new(WriteEnd(p)))
}

fn stat(p: &Pipe) -> FileStat {
    FileStat {
        dev: 12,
        ino: p.ino,
        mode: 0o010600,
        nlink: 1,
        blksize: 4096,
        size: 0,
        ..FileStat::default()
    }
}

impl FileOps for ReadEnd {
    fn read(&self, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut s = self.0.state.lock();
        if s.is_empty() {
            return if s.writers == 0 {
                Ok(0)
            } else {
                Err(Errno::EAGAIN)
            };
        }
        let mut n = 0;
        while n < buf.len() {
            let Some(head) = s.slots.front_mut() else {
                break;
            };
            let take = (buf.len() - n).min(head.len());
            for (dst, src) in buf[n..n + take].iter_mut().zip(head.drain(..take)) {
                *dst = src;
            }
            n += take;
            if head.is_empty() {
                s.slots.pop_front();
            }
        }
        drop(s);
        wake_for(self.0.key, poll::POLLOUT);
        Ok(n)
    }

    fn poll(&self) -> u16 {
        let s = self.0.state.lock();
        let mut ev = 0;
        if !s.is_empty() {
            ev |= poll::POLLIN;
        }
        if s.writers == 0 {
            ev |= poll::POLLHUP;
        }
        ev
    }

    fn wait_key(&self) -> u64 {
        self.0.key
    }

    fn stat(&self) -> FileStat {
        stat(&self.0)
    }
}

impl FileOps for WriteEnd {
    fn write(&self, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        let mut s = self.0.state.lock();
        if s.readers == 0 {
            return Err(Errno::EPIPE);
        }
        let mut n = 0;
        // The part that is not a whole page tops up the last slot if it fits there.
        let part = data.len() % PAGE;
        if part > 0 {
            if let Some(tail) = s.slots.back_mut() {
                if tail.len() + part <= PAGE {
                    tail.extend(&data[..part]);
                    n = part;
                }
            }
        }
        while n < data.len() && !s.full() {
            let take = (data.len() - n).min(PAGE);
            s.slots
                .push_back(data[n..n + take].iter().copied().collect());
            n += take;
        }
        if n == 0 {
            return Err(Errno::EAGAIN);
        }
        drop(s);
        wake_for(self.0.key, poll::POLLIN);
        Ok(n)
    }

    fn poll(&self) -> u16 {
        let s = self.0.state.lock();
        if s.readers == 0 {
            return poll::POLLERR | poll::POLLOUT;
        }
        if s.full() {
            0
        } else {
            poll::POLLOUT
        }
    }

    fn wait_key(&self) -> u64 {
        self.0.key
    }

    fn stat(&self) -> FileStat {
        stat(&self.0)
    }
}

impl Drop for ReadEnd {
    fn drop(&mut self) {
        self.0.state.lock().readers -= 1;
        wake(self.0.key);
    }
}

impl Drop for WriteEnd {
    fn drop(&mut self) {
        self.0.state.lock().writers -= 1;
        wake(self.0.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_eof_and_epipe() {
        let (r, w) = pipe();
        let mut buf = [0u8; 8];
        assert_eq!(r.read(0, &mut buf), Err(Errno::EAGAIN));
        assert_eq!(r.poll(), 0);
        assert_eq!(w.write(0, b"hello"), Ok(5));
        assert_eq!(r.poll(), poll::POLLIN);
        assert_eq!(r.read(0, &mut buf[..3]), Ok(3));
        assert_eq!(&buf[..3], b"hel");
        assert_eq!(r.read(0, &mut buf), Ok(2));
        drop(w);
        assert_eq!(r.poll(), poll::POLLHUP);
        assert_eq!(r.read(0, &mut buf), Ok(0));
        let (r, w) = pipe();
        drop(r);
        assert_eq!(w.write(0, b"x"), Err(Errno::EPIPE));
    }

    #[test]
    fn capacity_and_atomic_writes() {
        let (r, w) = pipe();
        let big = alloc::vec![7u8; PIPE_CAPACITY + 100];
        assert_eq!(w.write(0, &big), Ok(PIPE_CAPACITY));
        assert_eq!(w.write(0, b"x"), Err(Errno::EAGAIN));
        assert_eq!(w.poll(), 0);
        let mut buf = alloc::vec![0u8; 100];
        r.read(0, &mut buf).unwrap();
        // As on Linux: a partly read page is not free, so even a small write waits.
        assert_eq!(w.write(0, &[1u8; 50]), Err(Errno::EAGAIN));
        let mut rest = alloc::vec![0u8; PAGE - 100];
        assert_eq!(r.read(0, &mut rest), Ok(PAGE - 100));
        assert_eq!(w.write(0, &[1u8; 50]), Ok(50));
        // Small writes merge into the last page while they fit (no new slot needed).
        assert_eq!(w.write(0, &[2u8; 50]), Ok(50));
        assert_eq!(w.poll(), 0, "all 16 slots in use");
        assert_eq!(
            w.write(0, &[3u8; 4000]),
            Err(Errno::EAGAIN),
            "100 + 4000 > 4096"
        );
        assert_eq!(
            w.write(0, &[3u8; 3996]),
            Ok(3996),
            "100 + 3996 fills the page"
        );
        assert_eq!(w.write(0, &[3u8; 1]), Err(Errno::EAGAIN));
    }
}
