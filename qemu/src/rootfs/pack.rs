//! The root filesystem as a sorted tree of entries, the edits Writ makes to Alpine's
//! image (drop paths, a real `/dev/console`, the overlay), and its newc archive.
//!
//! Unlike [`crate::cpio::CpioWriter`] (small overlays, built in memory, everything owned
//! by root) this writer keeps each entry's owner, set-id bits and device numbers, and
//! streams file contents from disk, since the tree is tens of megabytes. Hard links
//! become separate files; mtimes are 0 so the same inputs give the same bytes.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::image::{Inode, S_IFBLK, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use super::RootfsError;
use crate::cpio::pad_to_archive_boundary;

/// `/dev/console`: character device 5:1, as Linux's devtmpfs makes it.
pub const CONSOLE: &str = "dev/console";
pub const CONSOLE_DEV: (u32, u32) = (5, 1);
pub const CONSOLE_PERM: u32 = 0o600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    /// Contents come from `source` when the archive is written.
    File {
        source: PathBuf,
    },
    Symlink {
        target: String,
    },
    CharDev {
        major: u32,
        minor: u32,
    },
    BlockDev {
        major: u32,
        minor: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: Kind,
    /// Permission bits including set-id and sticky (`0o7777`).
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Paths (relative, `/`-separated) to entries; the map's order puts every directory
/// before its contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    pub nodes: BTreeMap<String, Node>,
}

impl Tree {
    /// The tree of a filesystem from its listing, with contents and link targets from
    /// `dump` (its rdump copy) and device numbers from `devices`. Inode types an
    /// initramfs has no use for (FIFOs, sockets) are left out.
    pub fn from_listing(
        listing: &BTreeMap<String, Inode>,
        dump: &Path,
        devices: &BTreeMap<String, (u32, u32)>,
    ) -> Result<Tree, RootfsError> {
        let mut nodes = BTreeMap::new();
        for (path, inode) in listing {
            let source = dump.join(path);
            let kind = match inode.mode & S_IFMT {
                S_IFDIR => Kind::Dir,
                S_IFREG => {
                    // rdump is silent about files it could not write; check each one.
                    let len = fs::symlink_metadata(&source).map(|m| m.len()).ok();
                    if len != Some(inode.size) {
                        return Err(RootfsError::DumpMismatch { path: path.clone() });
                    }
                    Kind::File { source }
                }
                S_IFLNK => {
                    let target = fs::read_link(&source)
                        .map_err(|_| RootfsError::DumpMismatch { path: path.clone() })?;
                    let target = target
                        .to_str()
                        .ok_or_else(|| RootfsError::NonUtf8Path(source.clone()))?;
                    Kind::Symlink {
                        target: target.to_string(),
                    }
                }
                t @ (S_IFCHR | S_IFBLK) => {
                    let &(major, minor) = devices
                        .get(path)
                        .ok_or_else(|| RootfsError::DumpMismatch { path: path.clone() })?;
                    if t == S_IFCHR {
                        Kind::CharDev { major, minor }
                    } else {
                        Kind::BlockDev { major, minor }
                    }
                }
                _ => continue,
            };
            nodes.insert(
                path.clone(),
                Node {
                    kind,
                    perm: inode.mode & 0o7777,
                    uid: inode.uid,
                    gid: inode.gid,
                },
            );
        }
        Ok(Tree { nodes })
    }

    /// Removes `path` and everything under it; says whether anything was there.
    pub fn remove(&mut self, path: &str) -> bool {
        let path = path.trim_matches('/');
        let prefix = format!("{path}/");
        let before = self.nodes.len();
        self.nodes
            .retain(|p, _| p != path && !p.starts_with(&prefix));
        self.nodes.len() != before
    }

    /// Makes `/dev/console` the character device 5:1 (the image has a 0-byte regular
    /// file there, which no program can use as a terminal), adding `dev` if missing.
    pub fn fix_console(&mut self) {
        self.nodes.entry("dev".to_string()).or_insert(Node {
            kind: Kind::Dir,
            perm: 0o755,
            uid: 0,
            gid: 0,
        });
        self.nodes.insert(
            CONSOLE.to_string(),
            Node {
                kind: Kind::CharDev {
                    major: CONSOLE_DEV.0,
                    minor: CONSOLE_DEV.1,
                },
                perm: CONSOLE_PERM,
                uid: 0,
                gid: 0,
            },
        );
    }

    /// Adds the tree under `dir` (which stands for `/`), replacing entries with the same
    /// path. Everything is owned by root; modes are normalised to what git keeps
    /// (0755 for directories and owner-executable files, else 0644) so a checkout's
    /// umask does not change the archive.
    pub fn merge_overlay(&mut self, dir: &Path) -> Result<(), RootfsError> {
        for (path, kind) in walk(dir)? {
            let perm = match &kind {
                Kind::File { source } => {
                    let mode = fs::metadata(source)
                        .map_err(|e| RootfsError::io(source, e))?
                        .permissions()
                        .mode();
                    if mode & 0o100 != 0 {
                        0o755
                    } else {
                        0o644
                    }
                }
                Kind::Symlink { .. } => 0o777,
                _ => 0o755,
            };
            // An overlay directory over an existing one keeps the image's metadata.
            if kind == Kind::Dir && self.nodes.get(&path).is_some_and(|n| n.kind == Kind::Dir) {
                continue;
            }
            let path_prefix = format!("{path}/");
            if kind != Kind::Dir {
                self.nodes.retain(|p, _| !p.starts_with(&path_prefix));
            }
            self.nodes.insert(
                path,
                Node {
                    kind,
                    perm,
                    uid: 0,
                    gid: 0,
                },
            );
        }
        Ok(())
    }

    /// Writes the tree as one newc archive (with its trailer); returns the bytes written.
    pub fn write_newc(&self, out: &mut impl Write) -> Result<u64, RootfsError> {
        let mut w = NewcWriter {
            out,
            len: 0,
            ino: 1,
        };
        for (path, node) in &self.nodes {
            w.entry(path, node)?;
        }
        w.header(TRAILER, 0, &Header::default(), 0)?;
        w.pad()?;
        Ok(w.len)
    }
}

/// The files, directories and symlinks under `dir`, sorted, as relative paths.
pub fn walk(dir: &Path) -> Result<Vec<(String, Kind)>, RootfsError> {
    let mut out = Vec::new();
    walk_into(dir, dir, &mut out)?;
    Ok(out)
}

fn walk_into(root: &Path, dir: &Path, out: &mut Vec<(String, Kind)>) -> Result<(), RootfsError> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| RootfsError::io(dir, e))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| RootfsError::io(dir, e))?;
    entries.sort();
    for path in entries {
        let rel = path
            .strip_prefix(root)
            .ok()
            .and_then(Path::to_str)
            .ok_or_else(|| RootfsError::NonUtf8Path(path.clone()))?
            .to_string();
        let ft = fs::symlink_metadata(&path)
            .map_err(|e| RootfsError::io(&path, e))?
            .file_type();
        if ft.is_dir() {
            out.push((rel, Kind::Dir));
            walk_into(root, &path, out)?;
        } else if ft.is_file() {
            out.push((rel, Kind::File { source: path }));
        } else if ft.is_symlink() {
            let target = fs::read_link(&path).map_err(|e| RootfsError::io(&path, e))?;
            let target = target
                .to_str()
                .ok_or_else(|| RootfsError::NonUtf8Path(path.clone()))?
                .to_string();
            out.push((rel, Kind::Symlink { target }));
        } else {
            return Err(RootfsError::UnsupportedOverlayFile(path));
        }
    }
    Ok(())
}

const MAGIC: &[u8; 6] = b"070701";
const TRAILER: &str = "TRAILER!!!";

#[derive(Debug, Default)]
struct Header {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    rdev: (u32, u32),
}

struct NewcWriter<'a, W: Write> {
    out: &'a mut W,
    len: u64,
    ino: u32,
}

impl<W: Write> NewcWriter<'_, W> {
    fn entry(&mut self, path: &str, node: &Node) -> Result<(), RootfsError> {
        let (ty, nlink, rdev) = match &node.kind {
            Kind::Dir => (S_IFDIR, 2, (0, 0)),
            Kind::File { .. } => (S_IFREG, 1, (0, 0)),
            Kind::Symlink { .. } => (S_IFLNK, 1, (0, 0)),
            Kind::CharDev { major, minor } => (S_IFCHR, 1, (*major, *minor)),
            Kind::BlockDev { major, minor } => (S_IFBLK, 1, (*major, *minor)),
        };
        let h = Header {
            mode: ty | (node.perm & 0o7777),
            uid: node.uid,
            gid: node.gid,
            nlink,
            rdev,
        };
        let too_large = |len: u64| RootfsError::TooLarge {
            path: path.to_string(),
            len,
        };
        match &node.kind {
            Kind::File { source } => {
                let mut f = File::open(source).map_err(|e| RootfsError::io(source, e))?;
                let len = f.metadata().map_err(|e| RootfsError::io(source, e))?.len();
                let size = u32::try_from(len).map_err(|_| too_large(len))?;
                self.header(path, self.ino, &h, size)?;
                let copied = io::copy(&mut (&mut f).take(len), self.out)
                    .map_err(|e| RootfsError::io(source, e))?;
                if copied != len {
                    return Err(RootfsError::DumpMismatch {
                        path: path.to_string(),
                    });
                }
                self.len += copied;
            }
            Kind::Symlink { target } => {
                let size = u32::try_from(target.len()).map_err(|_| too_large(0))?;
                self.header(path, self.ino, &h, size)?;
                self.write(target.as_bytes())?;
            }
            _ => self.header(path, self.ino, &h, 0)?,
        }
        self.pad()?;
        self.ino += 1;
        Ok(())
    }

    fn header(&mut self, path: &str, ino: u32, h: &Header, size: u32) -> Result<(), RootfsError> {
        if path.is_empty() || path.contains('\0') {
            return Err(RootfsError::BadPath(path.to_string()));
        }
        let mut buf = Vec::with_capacity(110 + path.len() + 4);
        buf.extend_from_slice(MAGIC);
        let namesize = path.len() as u32 + 1;
        // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
        // namesize check
        for field in [
            ino, h.mode, h.uid, h.gid, h.nlink, 0, size, 0, 0, h.rdev.0, h.rdev.1, namesize, 0,
        ] {
            buf.extend_from_slice(format!("{field:08x}").as_bytes());
        }
        buf.extend_from_slice(path.as_bytes());
        buf.push(0);
        self.write(&buf)?;
        self.pad()
    }

    fn pad(&mut self) -> Result<(), RootfsError> {
        let n = pad_to_archive_boundary(self.len);
        self.write(&[0; 4][..n])
    }

    fn write(&mut self, b: &[u8]) -> Result<(), RootfsError> {
        self.out
            .write_all(b)
            .map_err(|e| RootfsError::io(Path::new("<archive>"), e))?;
        self.len += b.len() as u64;
        Ok(())
    }
}
