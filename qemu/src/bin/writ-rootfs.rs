//! `writ-rootfs`: builds (or finds in the cache) the Alpine 3.23 root filesystem archive
//! Writ boots from, and prints its path and size. `make rootfs` runs it.
//!
//! Exit codes: 0 done, 1 the build failed, 2 bad arguments.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use writ_qemu::alpine;
use writ_qemu::rootfs::{self, Overlay};

/// Build the Alpine root filesystem as a newc cpio under ~/.cache/writ (see
/// qemu/src/rootfs.rs and qemu/rootfs-overlay/README.md).
#[derive(Debug, Parser)]
#[command(name = "writ-rootfs", version)]
struct Cli {
    /// The overlay directory (default: the repository's qemu/rootfs-overlay).
    #[arg(long, value_name = "DIR")]
    overlay: Option<PathBuf>,

    /// Cache directory (default: $XDG_CACHE_HOME/writ or ~/.cache/writ).
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,

    /// Print only the archive's path on stdout.
    #[arg(long)]
    print_path: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let start = Instant::now();
    let result = (|| {
        let cache = match &cli.cache {
            Some(c) => c.clone(),
            None => alpine::cache_dir()?,
        };
        let overlay = Overlay::load(&cli.overlay.clone().unwrap_or_else(Overlay::default_dir))?;
        rootfs::build_in(&cache, &overlay)
    })();
    match result {
        Ok(r) => {
            if cli.print_path {
                println!("{}", r.path.display());
            } else {
                println!(
                    "rootfs: {} ({} bytes, {:.1} MiB; {})",
                    r.path.display(),
                    r.size,
                    r.size as f64 / (1 << 20) as f64,
                    if r.built {
                        format!("built in {:.1} s", start.elapsed().as_secs_f64())
                    } else {
                        "cached".to_string()
                    }
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("writ-rootfs: {e}");
            ExitCode::from(1)
        }
    }
}
