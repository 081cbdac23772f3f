//! The initrd a run boots with: an optional base image (any format the kernel reads,
//! e.g. Alpine's gzip'd cpio) followed by an overlay newc archive holding `--overlay`
//! trees and files the launcher adds (like `/etc/writ/exec`). Concatenation is how
//! initramfs images are meant to be extended; the base is zero-padded to 4 bytes first.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::cpio::{pad_to_archive_boundary, CpioWriter};
use crate::error::{Error, FileRole};

/// Collects a base image and overlay contents.
#[derive(Debug)]
pub struct InitrdBuilder {
    base: Option<PathBuf>,
    overlay: CpioWriter,
    has_overlay: bool,
}

/// A built initrd. A composed image is a temporary file removed on drop; a bare base
/// image is used in place.
#[derive(Debug)]
pub struct Initrd {
    path: PathBuf,
    temporary: bool,
}

impl Initrd {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Initrd {
    fn drop(&mut self) {
        if self.temporary {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl InitrdBuilder {
    /// Starts from `base`, which must exist.
    pub fn new(base: Option<PathBuf>) -> Result<Self, Error> {
        if let Some(b) = &base {
            if !b.is_file() {
                return Err(Error::MissingFile {
                    what: FileRole::Initrd,
                    path: b.clone(),
                });
            }
        }
        Ok(InitrdBuilder {
            base,
            overlay: CpioWriter::new(),
            has_overlay: false,
        })
    }

    /// Merges the tree under `dir` (which becomes `/`) into the overlay.
    pub fn overlay_dir(&mut self, dir: &Path) -> Result<(), Error> {
        if !dir.is_dir() {
            return Err(Error::MissingFile {
                what: FileRole::Overlay,
                path: dir.to_path_buf(),
            });
        }
        self.overlay.tree(dir)?;
        self.has_overlay = true;
        Ok(())
    }

    /// Adds one file to the overlay.
    pub fn file(&mut self, path: &str, perm: u32, data: &[u8]) -> Result<(), Error> {
        self.overlay.file(path, perm, data)?;
        self.has_overlay = true;
        Ok(())
    }

    /// The image to pass as `-initrd`, or `None` when there is neither base nor overlay.
    pub fn build(self) -> Result<Option<Initrd>, Error> {
        if !self.has_overlay {
            return Ok(self.base.map(|path| Initrd {
                path,
                temporary: false,
            }));
        }
        let path = temp_path();
        let initrd = Initrd {
            path: path.clone(),
            temporary: true,
        };
        let io = |source: io::Error| Error::Io {
            path: path.clone(),
            source,
        };
        let mut out = File::create(&path).map_err(io)?;
        let mut len = 0u64;
        if let Some(base) = &self.base {
            let mut src = File::open(base).map_err(|source| Error::Io {
                path: base.clone(),
                source,
            })?;
            len = io::copy(&mut src, &mut out).map_err(io)?;
        }
        out.write_all(&vec![0u8; pad_to_archive_boundary(len)])
            .map_err(io)?;
        out.write_all(&self.overlay.finish()).map_err(io)?;
        out.flush().map_err(io)?;
        Ok(Some(initrd))
    }
}

fn temp_path() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("writ-initrd-{}-{n}.img", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_alone_is_used_in_place() {
        let exe = std::env::current_exe().unwrap();
        let b = InitrdBuilder::new(Some(exe.clone())).unwrap();
        let initrd = b.build().unwrap().unwrap();
        assert_eq!(initrd.path(), exe);
        drop(initrd);
        assert!(exe.exists(), "a base image is never deleted");
    }

    #[test]
    fn nothing_gives_no_initrd() {
        assert!(InitrdBuilder::new(None).unwrap().build().unwrap().is_none());
    }

    #[test]
    fn overlay_follows_the_padded_base_and_is_removed_on_drop() {
        let base = std::env::temp_dir().join(format!("writ-base-{}", std::process::id()));
        fs::write(&base, b"BASE!").unwrap();
        let mut b = InitrdBuilder::new(Some(base.clone())).unwrap();
        b.file("etc/writ/exec", 0o644, b"true").unwrap();
        let initrd = b.build().unwrap().unwrap();
        let bytes = fs::read(initrd.path()).unwrap();
        assert_eq!(&bytes[..8], b"BASE!\0\0\0");
        assert_eq!(&bytes[8..14], b"070701");
        let path = initrd.path().to_path_buf();
        drop(initrd);
        assert!(!path.exists());
        let _ = fs::remove_file(&base);
    }

    #[test]
    fn missing_inputs_are_named() {
        let e = InitrdBuilder::new(Some("/nonexistent/initrd".into())).unwrap_err();
        assert!(matches!(
            e,
            Error::MissingFile {
                what: FileRole::Initrd,
                ..
            }
        ));
        let mut b = InitrdBuilder::new(None).unwrap();
        let e = b
            .overlay_dir(Path::new("/nonexistent/overlay"))
            .unwrap_err();
        assert!(matches!(
            e,
            Error::MissingFile {
                what: FileRole::Overlay,
                ..
            }
        ));
    }
}
