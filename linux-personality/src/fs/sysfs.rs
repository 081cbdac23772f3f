//! A minimal sysfs: the top-level directories Linux has, empty (no devices, buses or
//! classes are described yet). busybox's mdev and OpenRC look for `/sys/class` and
//! `/sys/devices`; finding them empty they create nothing, which is right while
//! Writ's devices are the fixed nodes devtmpfs shows. `mount` and `df` see a sysfs
//! mounted on /sys with statfs's SYSFS_MAGIC.

use super::cpio::CpioEntry;
use super::inode::Tmpfs;
use super::mode::*;

/// The directories of Linux's /sys.
const DIRS: &[&[u8]] = &[
    b"block",
    b"bus",
    b"class",
    b"dev",
    b"dev/block",
    b"dev/char",
    b"devices",
    b"firmware",
    b"fs",
    b"fs/cgroup",
    b"kernel",
    b"module",
    b"power",
];

/// Fills a new sysfs with [`DIRS`].
pub fn populate(fs: &Tmpfs) {
    for path in DIRS {
        let _ = fs.insert(&CpioEntry {
            path,
            mode: S_IFDIR | 0o755,
            uid: 0,
            gid: 0,
            rdev: 0,
            data: b"",
        });
    }
}
