//! Guest memory sizes as QEMU's `-m` takes them: a number with an optional K, M, G or T
//! suffix, MiB when bare. Kept whole MiB so the value we pass is exactly what was asked.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A guest RAM size, in whole MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemorySize {
    mib: u64,
}

impl MemorySize {
    /// The launcher's default, from the contract's baseline command line.
    pub const DEFAULT: MemorySize = MemorySize { mib: 256 };

    /// A size of `mib` MiB; zero is not a size.
    pub fn from_mib(mib: u64) -> Option<MemorySize> {
        (mib > 0).then_some(MemorySize { mib })
    }

    pub fn mib(self) -> u64 {
        self.mib
    }

    /// The argument for QEMU's `-m`.
    pub fn qemu_arg(self) -> String {
        format!("{}M", self.mib)
    }
}

impl Default for MemorySize {
    fn default() -> Self {
        MemorySize::DEFAULT
    }
}

impl FromStr for MemorySize {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::BadMemorySize {
            given: s.to_string(),
        };
        let t = s.trim();
        let (digits, kib_per_unit) = match t.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => {
                let unit = match c.to_ascii_uppercase() {
                    'K' => 1u64,
                    'M' => 1 << 10,
                    'G' => 1 << 20,
                    'T' => 1 << 30,
                    _ => return Err(bad()),
                };
                (&t[..i], unit)
            }
            _ => (t, 1 << 10),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let kib = n.checked_mul(kib_per_unit).ok_or_else(bad)?;
        if kib % 1024 != 0 {
            return Err(bad());
        }
        MemorySize::from_mib(kib / 1024).ok_or_else(bad)
    }
}

impl fmt::Display for MemorySize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mib % 1024 == 0 {
            write!(f, "{}G", self.mib / 1024)
        } else {
            write!(f, "{}M", self.mib)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_qemu_style_sizes() {
        let mib = |s: &str| s.parse::<MemorySize>().map(MemorySize::mib).ok();
        assert_eq!(mib("64M"), Some(64));
        assert_eq!(mib("128m"), Some(128));
        assert_eq!(mib("1G"), Some(1024));
        assert_eq!(mib("4G"), Some(4096));
        assert_eq!(mib("512"), Some(512));
        assert_eq!(mib("2048K"), Some(2));
        assert_eq!(mib("1T"), Some(1 << 20));
    }

    #[test]
    fn rejects_what_qemu_would_not_take() {
        for s in [
            "",
            "M",
            "0",
            "0G",
            "-1G",
            "1.5G",
            "12X",
            "1000K",
            "G4",
            "99999999999999999999T",
        ] {
            assert!(s.parse::<MemorySize>().is_err(), "{s:?} accepted");
        }
    }

    #[test]
    fn qemu_arg_is_exact_mib() {
        assert_eq!("4G".parse::<MemorySize>().unwrap().qemu_arg(), "4096M");
        assert_eq!(MemorySize::DEFAULT.qemu_arg(), "256M");
        assert_eq!(MemorySize::DEFAULT.to_string(), "256M");
    }
}
