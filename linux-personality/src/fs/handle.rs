//! The [`FileOps`] objects a tmpfs open hands out. Each holds its inode, so an
//! unlinked file stays readable through descriptors opened before the unlink.
//!
//! `stat()` of every handle reports the inode (tmpfs device and inode number), which
//! is how the syscall layer finds the inode of a descriptor again
//! ([`crate::fs::Superblock::inode`]).

use alloc::sync::Arc;

use super::inode::Inode;
use crate::abi::Errno;
use crate::file::{FileOps, FileStat};
use crate::uaccess::UserMemory;

/// An open regular file: positioned reads and writes on the inode's data.
pub struct RegularHandle(pub Arc<Inode>);

impl FileOps for RegularHandle {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.0.read_at(offset, buf)
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        self.0.write_at(offset, data)
    }
    fn seekable(&self) -> bool {
        true
    }
    fn stat(&self) -> FileStat {
        self.0.stat()
    }
}

/// An open directory: read and write are EISDIR; getdents64 lists it (at the open
/// file's offset, which lseek may rewind).
pub struct DirHandle(pub Arc<Inode>);

impl FileOps for DirHandle {
    fn read(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn write(&self, _offset: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn seekable(&self) -> bool {
        true
    }
    fn stat(&self) -> FileStat {
        self.0.stat()
    }
}

/// An open device node: the driver does the work, the node answers stat (so fstat
/// of /dev/null shows the node's mode, owner and rdev, as on Linux).
pub struct DeviceHandle {
    pub node: Arc<Inode>,
    pub driver: Arc<dyn FileOps>,
}

impl FileOps for DeviceHandle {
    fn read(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.driver.read(offset, buf)
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        self.driver.write(offset, data)
    }
    fn seekable(&self) -> bool {
        self.driver.seekable()
    }
    fn poll(&self) -> u16 {
        self.driver.poll()
    }
    fn wait_key(&self) -> u64 {
        self.driver.wait_key()
    }
    fn stat(&self) -> FileStat {
        self.node.stat()
    }
    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> Result<usize, Errno> {
        self.driver.ioctl(cmd, arg, mem)
    }
    fn is_tty(&self) -> bool {
        self.driver.is_tty()
    }
    fn pty_master(&self) -> Option<u32> {
        self.driver.pty_master()
    }
}

/// An O_PATH descriptor: it names the inode (for fstat, fchdir, *at calls) and does
/// nothing else; its capability carries neither READ nor WRITE.
pub struct PathHandle(pub Arc<Inode>);

impl FileOps for PathHandle {
    fn read(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    fn write(&self, _offset: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    fn stat(&self) -> FileStat {
        self.0.stat()
    }
    fn ioctl(&self, _cmd: u32, _arg: u64, _mem: &mut dyn UserMemory) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
}
