//! The console tty on COM1 as a file: output goes to the UART; input arrives through
//! the UART's receive interrupt into a buffer that `read` drains. This is the raw
//! half of a tty: the line discipline (canonical mode, echo, ^C) is issue 6's work.

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use linux_personality::abi::Errno;
use linux_personality::file::{poll, FileOps, FileStat};
use linux_personality::uaccess::UserMemory;

use crate::sync::IrqMutex;
use crate::waits;

const INPUT_MAX: usize = 4096;
static INPUT: IrqMutex<VecDeque<u8>> = IrqMutex::new(VecDeque::new());

/// Called from the UART interrupt with each received byte.
pub fn input(b: u8) {
    let mut q = INPUT.lock();
    if q.len() < INPUT_MAX {
        q.push_back(b);
    }
    drop(q);
    waits::wake(waits::KEY_CONSOLE);
}

pub struct Console;

const TCGETS: u32 = 0x5401;
const TCSETS: u32 = 0x5402;
const TCSETSW: u32 = 0x5403;
const TCSETSF: u32 = 0x5404;
const TIOCGWINSZ: u32 = 0x5413;

/// struct termios as the TCGETS family passes it (kernel layout).
const TERMIOS_LEN: usize = 36;

/// Linux's defaults for a console: iflag ICRNL|IXON, oflag OPOST|ONLCR, cflag
/// B38400|CS8|CREAD|HUPCL, lflag ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN,
/// line 0, then c_cc (VINTR ^C, VQUIT ^\\, VERASE DEL, VKILL ^U, VEOF ^D, VMIN 1, ...).
const fn default_termios() -> [u8; TERMIOS_LEN] {
    let mut t = [0u8; TERMIOS_LEN];
    let words: [u32; 4] = [0x0500, 0x0005, 0x04bf, 0x8a3b];
    let mut i = 0;
    while i < 4 {
        let b = words[i].to_le_bytes();
        t[4 * i] = b[0];
        t[4 * i + 1] = b[1];
        t[4 * i + 2] = b[2];
        t[4 * i + 3] = b[3];
        i += 1;
    }
    let cc: [u8; 17] = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0];
    let mut j = 0;
    while j < 17 {
        t[17 + j] = cc[j];
        j += 1;
    }
    t
}

static TERMIOS: IrqMutex<[u8; TERMIOS_LEN]> = IrqMutex::new(default_termios());

/// /dev/console is character device 5:1.
const CONSOLE_RDEV: u64 = (5 << 8) | 1;

impl FileOps for Console {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut q = INPUT.lock();
        if q.is_empty() {
            return Err(Errno::EAGAIN);
        }
        let n = buf.len().min(q.len());
        for b in buf.iter_mut().take(n) {
            *b = q.pop_front().unwrap_or(0);
        }
        Ok(n)
    }

    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        crate::serial::write_bytes(data);
        Ok(data.len())
    }

    fn poll(&self) -> u16 {
        let mut ev = poll::POLLOUT;
        if !INPUT.lock().is_empty() {
            ev |= poll::POLLIN;
        }
        ev
    }

    fn wait_key(&self) -> u64 {
        waits::KEY_CONSOLE
    }

    fn stat(&self) -> FileStat {
        FileStat {
            dev: 6,
            ino: 3,
            mode: 0o020620,
            nlink: 1,
            rdev: CONSOLE_RDEV,
            blksize: 1024,
            ..FileStat::default()
        }
    }

    fn is_tty(&self) -> bool {
        true
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> Result<usize, Errno> {
        match cmd {
            TIOCGWINSZ => {
                let mut ws = [0u8; 8];
                ws[0..2].copy_from_slice(&24u16.to_le_bytes());
                ws[2..4].copy_from_slice(&80u16.to_le_bytes());
                mem.write(arg, &ws)?;
                Ok(0)
            }
            TCGETS => {
                mem.write(arg, &*TERMIOS.lock())?;
                Ok(0)
            }
            // Settings are kept and reported back by TCGETS; the line discipline that
            // acts on them (canonical mode, echo, signals) is issue 6's work.
            TCSETS | TCSETSW | TCSETSF => {
                let mut t = [0u8; TERMIOS_LEN];
                mem.read(arg, &mut t)?;
                *TERMIOS.lock() = t;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }
}

pub fn file() -> Arc<dyn FileOps> {
    Arc::new(Console)
}
