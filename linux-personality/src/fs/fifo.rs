//! Named pipes (mkfifo): a fifo node hands its openers the two ends of one pipe
//! ([`crate::pipe`]), so data written by one opener is read by another.
//!
//! Linux makes a blocking open wait for the other side; here an open never blocks:
//! the first opener makes the pipe and the node holds the other end until someone
//! opens that side, so a reader's read (not its open) waits for a writer, and a
//! writer's data waits in the pipe for a reader. Non-blocking opens answer as Linux
//! does: O_WRONLY|O_NONBLOCK with no reader is ENXIO; O_RDONLY|O_NONBLOCK succeeds.
//! O_RDWR gets both ends. When every end is closed the pipe goes, and the next opener
//! makes a new one.

use alloc::sync::{Arc, Weak};

use super::inode::Inode;
use crate::abi::Errno;
use crate::file::flags::{O_ACCMODE, O_NONBLOCK, O_RDONLY, O_WRONLY};
use crate::file::{poll, FileOps, FileStat};
use crate::pipe::{pipe, ReadEnd, WriteEnd};
use crate::uaccess::UserMemory;

/// The pipe a fifo node currently stands for.
#[derive(Default)]
pub(crate) struct FifoState {
    reader: Weak<ReadEnd>,
    writer: Weak<WriteEnd>,
    /// An end made before anyone opened its side, held until someone does.
    spare_reader: Option<Arc<ReadEnd>>,
    spare_writer: Option<Arc<WriteEnd>>,
}

impl FifoState {
    fn reader(&mut self) -> Option<Arc<ReadEnd>> {
        self.spare_reader.take().or_else(|| self.reader.upgrade())
    }

    fn writer(&mut self) -> Option<Arc<WriteEnd>> {
        self.spare_writer.take().or_else(|| self.writer.upgrade())
    }

    /// A new pipe; the end nobody asked for is kept as the spare.
    fn fresh(&mut self, want_read: bool, want_write: bool) -> (Arc<ReadEnd>, Arc<WriteEnd>) {
        let (r, w) = pipe();
        self.reader = Arc::downgrade(&r);
        self.writer = Arc::downgrade(&w);
        self.spare_reader = (!want_read).then(|| r.clone());
        self.spare_writer = (!want_write).then(|| w.clone());
        (r, w)
    }

    /// The ends an open with `flags` gets.
    pub(crate) fn open(&mut self, flags: u32) -> Result<FifoEnds, Errno> {
        let acc = flags & O_ACCMODE;
        let (want_read, want_write) = (acc != O_WRONLY, acc != O_RDONLY);
        // The current pipe, if it still has the sides this open needs to join.
        let live_reader = self.spare_reader.is_some() || self.reader.strong_count() > 0;
        let live_writer = self.spare_writer.is_some() || self.writer.strong_count() > 0;
        if want_write && !want_read && !live_reader {
            if flags & O_NONBLOCK != 0 {
                return Err(Errno::ENXIO);
            }
            let (_, w) = self.fresh(false, true);
            return Ok(FifoEnds {
                read: None,
                write: Some(w),
            });
        }
        if !live_reader && !live_writer {
            let (r, w) = self.fresh(want_read, want_write);
            return Ok(FifoEnds {
                read: want_read.then_some(r),
                write: want_write.then_some(w),
            });
        }
        let read = if want_read { self.reader() } else { None };
        let write = if want_write { self.writer() } else { None };
        if (want_read && read.is_none()) || (want_write && write.is_none()) {
            // One side of the old pipe is gone for good: start a new pipe.
            let (r, w) = self.fresh(want_read, want_write);
            return Ok(FifoEnds {
                read: want_read.then_some(r),
                write: want_write.then_some(w),
            });
        }
        Ok(FifoEnds { read, write })
    }
}

pub(crate) struct FifoEnds {
    read: Option<Arc<ReadEnd>>,
    write: Option<Arc<WriteEnd>>,
}

/// An open fifo: the pipe ends it was given; stat is the node's.
pub struct FifoHandle {
    node: Arc<Inode>,
    read: Option<Arc<ReadEnd>>,
    write: Option<Arc<WriteEnd>>,
}

impl FifoHandle {
    pub(crate) fn new(node: Arc<Inode>, ends: FifoEnds) -> FifoHandle {
        FifoHandle {
            node,
            read: ends.read,
            write: ends.write,
        }
    }
}

impl FileOps for FifoHandle {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.read.as_ref().ok_or(Errno::EBADF)?.read(offset, buf)
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        self.write.as_ref().ok_or(Errno::EBADF)?.write(offset, data)
    }
    fn poll(&self) -> u16 {
        let r = self.read.as_ref().map_or(0, |r| r.poll());
        let w = self.write.as_ref().map_or(0, |w| w.poll());
        // An O_RDWR fifo is never hung up: it is its own writer.
        if self.read.is_some() && self.write.is_some() {
            (r | w) & !poll::POLLHUP
        } else {
            r | w
        }
    }
    fn wait_key(&self) -> u64 {
        match (&self.read, &self.write) {
            (Some(r), _) => r.wait_key(),
            (None, Some(w)) => w.wait_key(),
            (None, None) => 0,
        }
    }
    fn stat(&self) -> FileStat {
        self.node.stat()
    }
    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> Result<usize, Errno> {
        match (&self.read, &self.write) {
            (Some(r), _) => r.ioctl(cmd, arg, mem),
            (None, Some(w)) => w.ioctl(cmd, arg, mem),
            (None, None) => Err(Errno::ENOTTY),
        }
    }
}
