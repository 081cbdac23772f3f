//! Where things are: the workspace, the kernel image, the per-run serial logs.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// The kernel image under the workspace, per the contract.
pub const KERNEL_RELATIVE: &str = "target/x86_64-unknown-none/release/writ-kernel";

/// The workspace root (this crate's parent directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `$WRIT_KERNEL` if set and non-empty, else the default image in the workspace.
pub fn writ_kernel_path() -> PathBuf {
    match std::env::var_os("WRIT_KERNEL") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join(KERNEL_RELATIVE),
    }
}

/// The Writ kernel image, or [`Error::KernelNotBuilt`] telling to run `make kernel`.
pub fn writ_kernel() -> Result<PathBuf, Error> {
    let path = writ_kernel_path();
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::KernelNotBuilt { path })
    }
}

/// The cargo target directory (`$CARGO_TARGET_DIR` or the workspace's `target/`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join("target"),
    }
}

/// Where every harness run keeps its serial log: `target/qemu-logs/`.
pub fn log_dir() -> PathBuf {
    target_dir().join("qemu-logs")
}
