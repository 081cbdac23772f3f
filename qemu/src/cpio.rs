//! A writer for `newc` cpio archives (the initramfs format Linux reads, and Writ too).
//!
//! An overlay is a second archive concatenated after the base initrd: the unpacker reads
//! archives one after the other, later entries replacing earlier ones, so files can be
//! added to an image without unpacking it. [`pad_to_archive_boundary`] gives the zero
//! padding that keeps the next header 4-byte aligned.
//!
//! Entries have uid/gid 0 and mtime 0 so archives are reproducible; permission bits come
//! from the caller (or the overlay directory). Parent directories are emitted before
//! their contents, once each.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use crate::error::Error;

const MAGIC: &[u8; 6] = b"070701";
const TRAILER: &str = "TRAILER!!!";
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

/// Why an entry cannot go into an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpioError {
    /// Empty, contains NUL, or climbs out of the archive root with `..`.
    BadPath(String),
    /// newc stores sizes in 32 bits.
    TooLarge { path: String, len: u64 },
    /// Sockets, FIFOs and device nodes are not copied from an overlay directory.
    UnsupportedFileType(PathBuf),
    /// A path in an overlay directory is not UTF-8.
    NonUtf8Path(PathBuf),
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpioError::BadPath(p) => write!(f, "bad archive path {p:?}"),
            CpioError::TooLarge { path, len } => {
                write!(f, "{path} is {len} bytes, over newc's 4 GiB limit")
            }
            CpioError::UnsupportedFileType(p) => {
                write!(
                    f,
                    "{}: only files, directories and symlinks are supported",
                    p.display()
                )
            }
            CpioError::NonUtf8Path(p) => write!(f, "{}: path is not UTF-8", p.display()),
        }
    }
}

impl std::error::Error for CpioError {}

/// Builds one newc archive in memory.
#[derive(Debug)]
pub struct CpioWriter {
    buf: Vec<u8>,
    next_ino: u32,
    dirs: BTreeSet<String>,
}

impl Default for CpioWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl CpioWriter {
    pub fn new() -> Self {
        CpioWriter {
            buf: Vec::new(),
            next_ino: 1,
            dirs: BTreeSet::new(),
        }
    }

    /// Adds a directory (and its missing parents). Adding the same one twice is a no-op.
    pub fn dir(&mut self, path: &str, perm: u32) -> Result<(), CpioError> {
        let path = normalize(path)?;
        self.parents(&path)?;
        if self.dirs.insert(path.clone()) {
            self.entry(&path, S_IFDIR | (perm & 0o7777), 2, b"")?;
        }
        Ok(())
    }

    /// Adds a regular file, creating missing parent directories with mode 0755.
    pub fn file(&mut self, path: &str, perm: u32, data: &[u8]) -> Result<(), CpioError> {
        let path = normalize(path)?;
        self.parents(&path)?;
        self.entry(&path, S_IFREG | (perm & 0o7777), 1, data)
    }

    /// Adds a symbolic link to `target`, creating missing parent directories.
    pub fn symlink(&mut self, path: &str, target: &str) -> Result<(), CpioError> {
        let path = normalize(path)?;
        if target.is_empty() || target.contains('\0') {
            return Err(CpioError::BadPath(target.to_string()));
        }
        self.parents(&path)?;
        self.entry(&path, S_IFLNK | 0o777, 1, target.as_bytes())
    }

    /// Copies the tree under `root` into the archive, with `root` as the archive root.
    /// Entries are sorted by name so the same tree always gives the same bytes.
    pub fn tree(&mut self, root: &Path) -> Result<(), Error> {
        self.tree_at(root, root)
    }

    fn tree_at(&mut self, root: &Path, dir: &Path) -> Result<(), Error> {
        let io = |source| Error::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(io)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io)?;
        entries.sort();
        for path in entries {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let name = rel
                .to_str()
                .ok_or_else(|| CpioError::NonUtf8Path(path.clone()))?;
            let meta = fs::symlink_metadata(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let perm = meta.permissions().mode();
            let ft = meta.file_type();
            if ft.is_dir() {
                self.dir(name, perm)?;
                self.tree_at(root, &path)?;
            } else if ft.is_file() {
                let data = fs::read(&path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                self.file(name, perm, &data)?;
            } else if ft.is_symlink() {
                let target = fs::read_link(&path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                let target = target
                    .to_str()
                    .ok_or_else(|| CpioError::NonUtf8Path(path.clone()))?;
                self.symlink(name, target)?;
            } else {
                return Err(CpioError::UnsupportedFileType(path).into());
            }
        }
        Ok(())
    }

    /// Ends the archive with its trailer and returns the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        // The trailer is a fixed, valid name; it cannot fail.
        let _ = self.raw_entry(TRAILER, 0, 0, 1, b"");
        self.buf
    }

    fn parents(&mut self, path: &str) -> Result<(), CpioError> {
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            end += i;
            let parent = &path[..end];
            if self.dirs.insert(parent.to_string()) {
                self.entry(parent, S_IFDIR | 0o755, 2, b"")?;
            }
            end += 1;
        }
        Ok(())
    }

    fn entry(&mut self, path: &str, mode: u32, nlink: u32, data: &[u8]) -> Result<(), CpioError> {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.raw_entry(path, ino, mode, nlink, data)
    }

    fn raw_entry(
        &mut self,
        path: &str,
        ino: u32,
        mode: u32,
        nlink: u32,
        data: &[u8],
    ) -> Result<(), CpioError> {
        let len = u32::try_from(data.len()).map_err(|_| CpioError::TooLarge {
            path: path.to_string(),
            len: data.len() as u64,
        })?;
        let namesize = path.len() as u32 + 1;
        self.buf.extend_from_slice(MAGIC);
        // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
        for field in [ino, mode, 0, 0, nlink, 0, len, 0, 0, 0, 0, namesize, 0] {
            self.buf
                .extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.buf.extend_from_slice(path.as_bytes());
        self.buf.push(0);
        self.align4();
        self.buf.extend_from_slice(data);
        self.align4();
        Ok(())
    }

    fn align4(&mut self) {
        let pad = pad_to_archive_boundary(self.buf.len() as u64);
        self.buf.resize(self.buf.len() + pad, 0);
    }
}

/// Zero bytes to put after `len` bytes of archive so the next archive starts 4-byte
/// aligned, as the newc reader requires of every header.
pub fn pad_to_archive_boundary(len: u64) -> usize {
    ((4 - len % 4) % 4) as usize
}

/// An archive path: relative, `/`-separated, no `.` or `..`, no NUL.
fn normalize(path: &str) -> Result<String, CpioError> {
    let bad = || CpioError::BadPath(path.to_string());
    if path.contains('\0') {
        return Err(bad());
    }
    let mut parts = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str().ok_or_else(bad)?),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return Err(bad()),
        }
    }
    if parts.is_empty() {
        return Err(bad());
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests;
