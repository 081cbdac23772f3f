//! How a run ended, read from QEMU's exit status and the serial log, per the contract
//! (docs/KERNEL-HOST-CONTRACT.md): the kernel writes V to isa-debug-exit and QEMU exits
//! with `(V << 1) | 1`; a `writ: poweroff status=N` line carries a program's status.

use std::fmt;

/// QEMU's status after the kernel wrote 0x10 (clean power-off).
pub const QEMU_POWEROFF: i32 = (0x10 << 1) | 1;
/// QEMU's status after the kernel wrote 0x11 (panic, fatal exception, failed self-test).
pub const QEMU_FAILURE: i32 = (0x11 << 1) | 1;

/// `writ-run`'s own exit statuses, beside 0..=255 passed through from `--exec`.
pub mod code {
    /// The kernel reported a failure (status 35 without a poweroff line).
    pub const KERNEL_FAILURE: i32 = 1;
    /// A bad command line (clap's convention).
    pub const USAGE: i32 = 2;
    /// `--timeout` expired (as timeout(1)).
    pub const TIMEOUT: i32 = 124;
    /// writ-run could not run the machine, or QEMU ended in a way the contract does not
    /// name (crash, signal, triple fault under -no-reboot).
    pub const LAUNCH_FAILED: i32 = 125;
    /// QEMU is not installed (as a shell's "command not found").
    pub const QEMU_NOT_FOUND: i32 = 127;
}

/// Which kernel ran: Linux has no isa-debug-exit writer and powers off through ACPI,
/// which makes QEMU exit with status 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelKind {
    Writ,
    Linux,
}

/// The end of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Clean power-off, with the program's status (0 when none was printed).
    PowerOff { status: u8 },
    /// The kernel ended QEMU with the failure value.
    KernelFailure,
    /// QEMU exited with a status the contract does not name (`None`: killed by a signal).
    QemuFailure { status: Option<i32> },
}

impl Outcome {
    /// Classifies QEMU's exit status; `poweroff_status` is the last
    /// `writ: poweroff status=N` seen on the serial line.
    pub fn classify(
        kind: KernelKind,
        qemu_status: Option<i32>,
        poweroff_status: Option<u8>,
    ) -> Self {
        match (kind, qemu_status) {
            (KernelKind::Writ, Some(QEMU_POWEROFF)) => Outcome::PowerOff {
                status: poweroff_status.unwrap_or(0),
            },
            (KernelKind::Writ, Some(QEMU_FAILURE)) => Outcome::KernelFailure,
            (KernelKind::Linux, Some(0)) => Outcome::PowerOff {
                status: poweroff_status.unwrap_or(0),
            },
            (_, status) => Outcome::QemuFailure { status },
        }
    }

    /// The status `writ-run` exits with.
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::PowerOff { status } => i32::from(status),
            Outcome::KernelFailure => code::KERNEL_FAILURE,
            Outcome::QemuFailure { .. } => code::LAUNCH_FAILED,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::PowerOff { status } => write!(f, "clean power-off (status {status})"),
            Outcome::KernelFailure => {
                write!(f, "kernel failure (QEMU status {QEMU_FAILURE}: panic, exception or failed self-test)")
            }
            Outcome::QemuFailure { status: Some(0) } => f.write_str(
                "QEMU exited with status 0 without the kernel powering off \
                 (a triple fault under -no-reboot, or QEMU was interrupted)",
            ),
            Outcome::QemuFailure { status } => {
                write!(f, "QEMU failed ({})", crate::error::status_text(*status))
            }
        }
    }
}

/// The status in the last `writ: poweroff status=N` line of `serial`, if any.
pub fn poweroff_status(serial: &[u8]) -> Option<u8> {
    const KEY: &[u8] = b"writ: poweroff status=";
    serial.split(|&b| b == b'\n').rev().find_map(|line| {
        let at = line.windows(KEY.len()).position(|w| w == KEY)?;
        let digits: Vec<u8> = line[at + KEY.len()..]
            .iter()
            .copied()
            .take_while(u8::is_ascii_digit)
            .collect();
        std::str::from_utf8(&digits).ok()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_values() {
        assert_eq!(QEMU_POWEROFF, 33);
        assert_eq!(QEMU_FAILURE, 35);
    }

    #[test]
    fn classifies_writ_exits() {
        use Outcome::*;
        let w = KernelKind::Writ;
        assert_eq!(Outcome::classify(w, Some(33), None), PowerOff { status: 0 });
        assert_eq!(
            Outcome::classify(w, Some(33), Some(7)),
            PowerOff { status: 7 }
        );
        assert_eq!(Outcome::classify(w, Some(35), None), KernelFailure);
        assert_eq!(
            Outcome::classify(w, Some(0), None),
            QemuFailure { status: Some(0) }
        );
        assert_eq!(
            Outcome::classify(w, Some(1), None),
            QemuFailure { status: Some(1) }
        );
        assert_eq!(
            Outcome::classify(w, None, None),
            QemuFailure { status: None }
        );
        assert_eq!(
            Outcome::classify(KernelKind::Linux, Some(0), None),
            PowerOff { status: 0 }
        );
        assert_eq!(
            Outcome::classify(KernelKind::Linux, Some(33), None),
            QemuFailure { status: Some(33) }
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Outcome::PowerOff { status: 0 }.exit_code(), 0);
        assert_eq!(Outcome::PowerOff { status: 255 }.exit_code(), 255);
        assert_eq!(Outcome::KernelFailure.exit_code(), 1);
        assert_eq!(Outcome::QemuFailure { status: None }.exit_code(), 125);
    }

    #[test]
    fn finds_the_last_poweroff_line() {
        let log =
            b"[0.1] INFO boot: done\nwrit: poweroff status=3\nwrit: poweroff status=42\r\nbye\n";
        assert_eq!(poweroff_status(log), Some(42));
        assert_eq!(poweroff_status(b"writ: poweroff status=256\n"), None);
        assert_eq!(poweroff_status(b"writ: poweroff status=\n"), None);
        assert_eq!(poweroff_status(b"nothing here"), None);
    }
}
