//! Device nodes: the standard numbers, the nodes every Linux system has in `/dev`, the
//! two devices that need nothing from the kernel (`/dev/null`, `/dev/zero`), and a
//! [`DeviceTable`] the kernel fills with its drivers (console, urandom) and installs
//! with [`crate::fs::Superblock::set_devices`].

use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use super::cpio::CpioEntry;
use super::inode::Tmpfs;
use super::mode::*;
use super::{makedev, DeviceRegistry};
use crate::abi::Errno;
use crate::file::{FileOps, FileStat};

pub const NULL: u64 = makedev(1, 3);
pub const ZERO: u64 = makedev(1, 5);
pub const RANDOM: u64 = makedev(1, 8);
pub const URANDOM: u64 = makedev(1, 9);
pub const TTY: u64 = makedev(5, 0);
pub const CONSOLE: u64 = makedev(5, 1);
pub const PTMX: u64 = makedev(5, 2);

/// `/dev/null`: reads end at once, writes vanish.
pub struct Null;

impl FileOps for Null {
    fn read(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(0)
    }
    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        Ok(data.len())
    }
    fn stat(&self) -> FileStat {
        FileStat {
            mode: S_IFCHR | 0o666,
            rdev: NULL,
            nlink: 1,
            blksize: 4096,
            ..FileStat::default()
        }
    }
}

/// `/dev/zero`: reads are zeros, writes vanish.
pub struct Zero;

impl FileOps for Zero {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        Ok(data.len())
    }
    fn stat(&self) -> FileStat {
        FileStat {
            mode: S_IFCHR | 0o666,
            rdev: ZERO,
            nlink: 1,
            blksize: 4096,
            ..FileStat::default()
        }
    }
}

/// Drivers by device number. Every open of a number gets the same object (the
/// devices here keep no per-open state; the open file description keeps the offset).
#[derive(Default)]
pub struct DeviceTable {
    drivers: BTreeMap<u64, Arc<dyn FileOps>>,
}

impl DeviceTable {
    /// A table holding `/dev/null` and `/dev/zero`.
    pub fn with_memory_devices() -> DeviceTable {
        let mut t = DeviceTable::default();
        t.insert(NULL, Arc::new(Null));
        t.insert(ZERO, Arc::new(Zero));
        t
    }

    pub fn insert(&mut self, rdev: u64, driver: Arc<dyn FileOps>) {
        self.drivers.insert(rdev, driver);
    }
}

impl DeviceRegistry for DeviceTable {
    fn open(&self, rdev: u64, _flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        self.drivers.get(&rdev).cloned().ok_or(Errno::ENXIO)
    }
}

/// Adds `/dev` and its standard nodes (null, zero, random, urandom, tty, ptmx 0666;
/// console 0600; the empty directory /dev/pts that devpts is mounted on) where the
/// initramfs did not already put something.
pub fn add_standard_nodes(fs: &Tmpfs) -> Result<(), Errno> {
    let dev = CpioEntry {
        path: b"dev",
        mode: S_IFDIR | 0o755,
        uid: 0,
        gid: 0,
        rdev: 0,
        data: b"",
    };
    if fs.root().child(b"dev").is_none() {
        fs.insert(&dev)?;
    }
    let nodes: [(&[u8], u64, u32); 7] = [
        (b"dev/null", NULL, 0o666),
        (b"dev/zero", ZERO, 0o666),
        (b"dev/random", RANDOM, 0o666),
        (b"dev/urandom", URANDOM, 0o666),
        (b"dev/tty", TTY, 0o666),
        (b"dev/console", CONSOLE, 0o600),
        (b"dev/ptmx", PTMX, 0o666),
    ];
    let dir = fs.root().child(b"dev").ok_or(Errno::ENOENT)?;
    if dir.child(b"pts").is_none() {
        fs.insert(&CpioEntry {
            path: b"dev/pts",
            ..dev
        })?;
    }
    for (path, rdev, perm) in nodes {
        let name = &path[4..];
        if dir.child(name).is_some() {
            continue;
        }
        fs.insert(&CpioEntry {
            path,
            mode: S_IFCHR | perm,
            uid: 0,
            gid: 0,
            rdev,
            data: b"",
        })?;
    }
    Ok(())
}
