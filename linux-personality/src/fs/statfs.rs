//! What statfs(2) reports for a tmpfs.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::inode::Superblock;

pub const TMPFS_MAGIC: i64 = 0x0102_1994;

/// `struct statfs` (x86_64, 120 bytes).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Statfs {
    pub f_type: i64,
    pub f_bsize: i64,
    pub f_blocks: u64,
    pub f_bfree: u64,
    pub f_bavail: u64,
    pub f_files: u64,
    pub f_ffree: u64,
    pub f_fsid: [i32; 2],
    pub f_namelen: i64,
    pub f_frsize: i64,
    pub f_flags: i64,
    pub f_spare: [i64; 4],
}

impl Superblock {
    /// statfs: blocks from the space limit, files from the live inodes.
    pub fn statfs(&self) -> Statfs {
        use super::mount::FsType;
        if matches!(self.kind, FsType::Proc | FsType::Sysfs | FsType::Devpts) {
            // No blocks, no inode counts: what Linux's proc, sysfs and devpts report.
            return Statfs {
                f_type: self.kind.magic(),
                f_bsize: 4096,
                f_namelen: super::NAME_MAX as i64,
                f_frsize: 4096,
                f_flags: 0x20 | 0x1000,
                ..Statfs::default()
            };
        }
        let (used, limit) = self.usage();
        let blocks = limit / 4096;
        let free = limit.saturating_sub(used) / 4096;
        let files = blocks.max(1024);
        Statfs {
            f_type: self.kind.magic(),
            f_bsize: 4096,
            f_blocks: blocks,
            f_bfree: free,
            f_bavail: free,
            f_files: files,
            f_ffree: files.saturating_sub(self.live_inodes() as u64),
            f_namelen: super::NAME_MAX as i64,
            f_frsize: 4096,
            // ST_VALID | ST_RELATIME
            f_flags: 0x20 | 0x1000,
            ..Statfs::default()
        }
    }
}
