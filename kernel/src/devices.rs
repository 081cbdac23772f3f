//! Character devices: the drivers behind /dev nodes, found by device number through
//! the tmpfs's device registry. null, zero, full, random and urandom are the memory
//! devices (major 1); tty (5:0) and console (5:1) are the COM1 console; rtc0 (252:0)
//! is the PC's CMOS clock (`linux_personality::rtc` for its ioctls). /dev/ptmx (5:2)
//! and /dev/pts/N (136:N) are the personality's pseudo-terminals
//! (`linux_personality::fs::devpts`), not found here.

use alloc::sync::Arc;

use linux_personality::abi::Errno;
use linux_personality::file::{FileOps, FileStat};
use linux_personality::fs::{makedev, DeviceRegistry};

#[derive(Clone, Copy)]
enum Mem {
    Null,
    Zero,
    Full,
    Random,
}

struct MemDev(Mem, u64);

impl FileOps for MemDev {
    fn read(&self, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        match self.0 {
            Mem::Null => Ok(0),
            Mem::Zero | Mem::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            Mem::Random => {
                crate::random::fill(buf);
                Ok(buf.len())
            }
        }
    }

    fn write(&self, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        match self.0 {
            Mem::Full => Err(Errno::ENOSPC),
            // Writing to random devices mixes nothing in yet, but is accepted as Linux
            // accepts it from anyone.
            _ => Ok(data.len()),
        }
    }

    fn stat(&self) -> FileStat {
        FileStat {
            dev: 6,
            mode: 0o020666,
            nlink: 1,
            rdev: self.1,
            blksize: 4096,
            ..FileStat::default()
        }
    }
}

/// `/dev/rtc0`: RTC_RD_TIME reads the CMOS clock, RTC_SET_TIME (CAP_SYS_TIME: root,
/// else EACCES as Linux's rtc-dev) sets it. Reads of update interrupts are not
/// offered (EINVAL for read, as an RTC without an alarm interrupt).
struct Rtc;

const RTC_MAJOR: u32 = 252;

impl FileOps for Rtc {
    fn ioctl(
        &self,
        cmd: u32,
        arg: u64,
        mem: &mut dyn linux_personality::uaccess::UserMemory,
    ) -> Result<usize, Errno> {
        use linux_personality::rtc::*;
        match cmd {
            RTC_RD_TIME => {
                mem.write(arg, &to_rtc_time(crate::time::read_rtc()))?;
                Ok(0)
            }
            RTC_SET_TIME => {
                if crate::process::current().is_some_and(|p| p.ids.lock().euid != 0) {
                    return Err(Errno::EACCES);
                }
                let mut b = [0u8; RTC_TIME_LEN];
                mem.read(arg, &mut b)?;
                crate::time::write_rtc(from_rtc_time(&b)?);
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn stat(&self) -> FileStat {
        FileStat {
            dev: 6,
            mode: 0o020600,
            nlink: 1,
            rdev: makedev(RTC_MAJOR, 0),
            blksize: 4096,
            ..FileStat::default()
        }
    }
}

pub struct Registry;

impl DeviceRegistry for Registry {
    fn open(&self, rdev: u64, _flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        let mem = |m| -> Result<Arc<dyn FileOps>, Errno> { Ok(Arc::new(MemDev(m, rdev))) };
        match linux_personality::fs::dev_split(rdev) {
            (1, 3) => mem(Mem::Null),
            (1, 5) => mem(Mem::Zero),
            (1, 7) => mem(Mem::Full),
            (1, 8) | (1, 9) => mem(Mem::Random),
            (5, 0) | (5, 1) | (4, 64) => Ok(crate::console::file()),
            (RTC_MAJOR, 0) => Ok(Arc::new(Rtc)),
            _ => Err(Errno::ENXIO),
        }
    }
}

/// The nodes every /dev has, (name, major, minor, mode).
pub const NODES: &[(&str, u32, u32, u32)] = &[
    ("/dev/null", 1, 3, 0o666),
    ("/dev/zero", 1, 5, 0o666),
    ("/dev/full", 1, 7, 0o666),
    ("/dev/random", 1, 8, 0o666),
    ("/dev/urandom", 1, 9, 0o666),
    ("/dev/tty", 5, 0, 0o666),
    ("/dev/console", 5, 1, 0o600),
    // Opened by the personality itself (a new pseudo-terminal per open; the slaves
    // are /dev/pts/N once devpts is mounted there).
    ("/dev/ptmx", 5, 2, 0o666),
    ("/dev/ttyS0", 4, 64, 0o660),
    // hwclock tries /dev/rtc, then /dev/rtc0 (udev makes the first a link).
    ("/dev/rtc0", RTC_MAJOR, 0, 0o600),
    ("/dev/rtc", RTC_MAJOR, 0, 0o600),
];

pub fn rdev(major: u32, minor: u32) -> u64 {
    makedev(major, minor)
}
