//! The terminal line discipline (Linux's N_TTY) as a pure state machine: termios
//! settings, input processing (ICRNL, canonical line editing with erase/kill/EOF,
//! echo, signal characters) and output processing (ONLCR). The kernel feeds it the
//! bytes a device receives and sends what it returns: bytes to echo, signals for the
//! foreground process group, and data that readers may now take.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::signal::{SIGINT, SIGQUIT, SIGTSTP};

/// `struct termios` (kernel layout, 36 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; 19],
}

pub const TERMIOS_LEN: usize = 36;

// c_iflag
pub const IGNCR: u32 = 0o200;
pub const ICRNL: u32 = 0o400;
pub const INLCR: u32 = 0o100;
pub const IXON: u32 = 0o2000;
// c_oflag
pub const OPOST: u32 = 0o1;
pub const ONLCR: u32 = 0o4;
// c_lflag
pub const ISIG: u32 = 0o1;
pub const ICANON: u32 = 0o2;
pub const ECHO: u32 = 0o10;
pub const TOSTOP: u32 = 0o400;
pub const ECHOE: u32 = 0o20;
pub const ECHOK: u32 = 0o40;
pub const ECHONL: u32 = 0o100;
pub const NOFLSH: u32 = 0o200;
pub const ECHOCTL: u32 = 0o1000;
pub const ECHOKE: u32 = 0o4000;
pub const IEXTEN: u32 = 0o100000;
// c_cc indices
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSUSP: usize = 10;
pub const VWERASE: usize = 14;

impl Default for Termios {
    /// Linux's defaults for a console (what `stty -a` shows on a fresh tty).
    fn default() -> Self {
        let mut cc = [0u8; 19];
        cc[..17].copy_from_slice(&[3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0]);
        Termios {
            iflag: ICRNL | IXON,
            oflag: OPOST | ONLCR,
            cflag: 0o277, // B38400 | CS8 | CREAD | HUPCL
            lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            line: 0,
            cc,
        }
    }
}

impl Termios {
    pub fn to_bytes(&self) -> [u8; TERMIOS_LEN] {
        let mut b = [0u8; TERMIOS_LEN];
        b[0..4].copy_from_slice(&self.iflag.to_le_bytes());
        b[4..8].copy_from_slice(&self.oflag.to_le_bytes());
        b[8..12].copy_from_slice(&self.cflag.to_le_bytes());
        b[12..16].copy_from_slice(&self.lflag.to_le_bytes());
        b[16] = self.line;
        b[17..36].copy_from_slice(&self.cc);
        b
    }

    pub fn from_bytes(b: &[u8; TERMIOS_LEN]) -> Termios {
        let w = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        let mut cc = [0u8; 19];
        cc.copy_from_slice(&b[17..36]);
        Termios {
            iflag: w(0),
            oflag: w(4),
            cflag: w(8),
            lflag: w(12),
            line: b[16],
            cc,
        }
    }
}

/// Terminal ioctl numbers (asm-generic/ioctls.h), shared by the console and ptys.
pub mod ioctl {
    pub const TCGETS: u32 = 0x5401;
    pub const TCSETS: u32 = 0x5402;
    pub const TCSETSW: u32 = 0x5403;
    pub const TCSETSF: u32 = 0x5404;
    pub const TCSBRK: u32 = 0x5409;
    pub const TCXONC: u32 = 0x540a;
    pub const TCFLSH: u32 = 0x540b;
    pub const TIOCSCTTY: u32 = 0x540e;
    pub const TIOCGPGRP: u32 = 0x540f;
    pub const TIOCSPGRP: u32 = 0x5410;
    pub const TIOCGWINSZ: u32 = 0x5413;
    pub const TIOCSWINSZ: u32 = 0x5414;
    pub const FIONREAD: u32 = 0x541b;
    pub const TIOCNOTTY: u32 = 0x5422;
    pub const TIOCGSID: u32 = 0x5429;
    pub const TIOCGPTN: u32 = 0x8004_5430;
    pub const TIOCSPTLCK: u32 = 0x4004_5431;
    pub const TIOCGPTLCK: u32 = 0x8004_5439;
    /// Opens the master's slave and returns a new descriptor (Linux 4.13).
    pub const TIOCGPTPEER: u32 = 0x5441;
}

/// What one received byte caused.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct InputEffect {
    /// Bytes to write back to the device (echo).
    pub echo: Vec<u8>,
    /// A signal for the foreground process group.
    pub signal: Option<u32>,
    /// Readers may have something new to read.
    pub readable: bool,
}

/// Most bytes held for readers (Linux's N_TTY_BUF_SIZE).
pub const BUF_MAX: usize = 4096;

#[derive(Debug, Default)]
pub struct LineDiscipline {
    pub termios: Termios,
    /// The line being edited (canonical mode).
    line: Vec<u8>,
    /// Input ready for read(): completed lines, or raw bytes.
    ready: VecDeque<u8>,
    /// End-of-file marks (^D) in `ready`, as byte positions counted from its front.
    eofs: VecDeque<usize>,
}

impl LineDiscipline {
    pub fn canonical(&self) -> bool {
        self.termios.lflag & ICANON != 0
    }

    fn echo_char(&self, out: &mut Vec<u8>, c: u8) {
        if self.termios.lflag & ECHO == 0 {
            if c == b'\n' && self.termios.lflag & ECHONL != 0 && self.canonical() {
                out.extend(self.output(b"\n"));
            }
            return;
        }
        if c < 0x20 && c != b'\n' && c != b'\t' && self.termios.lflag & ECHOCTL != 0 {
            out.extend_from_slice(&[b'^', c + 0x40]);
        } else if c == 0x7f && self.termios.lflag & ECHOCTL != 0 {
            out.extend_from_slice(b"^?");
        } else {
            out.extend(self.output(&[c]));
        }
    }

    fn erase_one(&mut self, out: &mut Vec<u8>) {
        if let Some(c) = self.line.pop() {
            if self.termios.lflag & ECHO != 0 && self.termios.lflag & ECHOE != 0 {
                let width = if c < 0x20 && c != b'\t' && self.termios.lflag & ECHOCTL != 0 {
                    2
                } else {
                    1
                };
                for _ in 0..width {
                    out.extend_from_slice(b"\x08 \x08");
                }
            }
        }
    }

    /// Processes one received byte.
    pub fn input(&mut self, mut c: u8) -> InputEffect {
        let mut fx = InputEffect::default();
        let t = self.termios;
        if c == b'\r' {
            if t.iflag & IGNCR != 0 {
                return fx;
            }
            if t.iflag & ICRNL != 0 {
                c = b'\n';
            }
        } else if c == b'\n' && t.iflag & INLCR != 0 {
            c = b'\r';
        }
        if t.lflag & ISIG != 0 {
            let sig = if c == t.cc[VINTR] && c != 0 {
                Some(SIGINT)
            } else if c == t.cc[VQUIT] && c != 0 {
                Some(SIGQUIT)
            } else if c == t.cc[VSUSP] && c != 0 {
                Some(SIGTSTP)
            } else {
                None
            };
            if let Some(s) = sig {
                if t.lflag & NOFLSH == 0 {
                    self.line.clear();
                    self.ready.clear();
                    self.eofs.clear();
                }
                self.echo_char(&mut fx.echo, c);
                fx.signal = Some(s);
                return fx;
            }
        }
        if !self.canonical() {
            if self.ready.len() < BUF_MAX {
                self.ready.push_back(c);
                self.echo_char(&mut fx.echo, c);
                fx.readable = true;
            }
            return fx;
        }
        if c == t.cc[VERASE] && c != 0 {
            self.erase_one(&mut fx.echo);
            return fx;
        }
        if c == t.cc[VWERASE] && c != 0 && t.lflag & IEXTEN != 0 {
            while self.line.last() == Some(&b' ') {
                self.erase_one(&mut fx.echo);
            }
            while self.line.last().is_some_and(|&b| b != b' ') {
                self.erase_one(&mut fx.echo);
            }
            return fx;
        }
        if c == t.cc[VKILL] && c != 0 {
            if t.lflag & ECHO != 0 && t.lflag & (ECHOKE | ECHOE) != 0 {
                while !self.line.is_empty() {
                    self.erase_one(&mut fx.echo);
                }
            } else {
                self.line.clear();
                if t.lflag & ECHOK != 0 && t.lflag & ECHO != 0 {
                    fx.echo.extend(self.output(b"\n"));
                }
            }
            return fx;
        }
        if c == t.cc[VEOF] && c != 0 {
            // Ends the line without a newline; on an empty line, read returns 0.
            self.ready.extend(self.line.drain(..));
            self.eofs.push_back(self.ready.len());
            fx.readable = true;
            return fx;
        }
        if self.line.len() + self.ready.len() >= BUF_MAX - 1 && c != b'\n' {
            return fx;
        }
        self.line.push(c);
        self.echo_char(&mut fx.echo, c);
        if c == b'\n' {
            self.ready.extend(self.line.drain(..));
            fx.readable = true;
        }
        fx
    }

    /// Whether read() would return now (data or an end-of-file mark).
    pub fn readable(&self) -> bool {
        !self.ready.is_empty() || !self.eofs.is_empty()
    }

    /// read(): in canonical mode at most one line (up to and including '\n', or up to
    /// an EOF mark, which returns 0 when it is first); in raw mode what is there.
    /// None if nothing is ready (the caller waits).
    pub fn read(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.canonical() {
            if let Some(&0) = self.eofs.front() {
                self.eofs.pop_front();
                return Some(0);
            }
            if self.ready.is_empty() {
                return None;
            }
            let limit = self.eofs.front().copied().unwrap_or(usize::MAX);
            let mut n = 0;
            while n < buf.len() && n < limit {
                let Some(c) = self.ready.pop_front() else {
                    break;
                };
                buf[n] = c;
                n += 1;
                if c == b'\n' {
                    break;
                }
            }
            for e in self.eofs.iter_mut() {
                *e -= n;
            }
            // A line ended by EOF (not newline) consumes its EOF mark.
            if self.eofs.front() == Some(&0) && n > 0 && buf[n - 1] != b'\n' {
                self.eofs.pop_front();
            }
            Some(n)
        } else {
            if self.ready.is_empty() {
                return None;
            }
            let n = buf.len().min(self.ready.len());
            for b in buf.iter_mut().take(n) {
                *b = self.ready.pop_front().unwrap_or(0);
            }
            Some(n)
        }
    }

    /// Output processing: ONLCR turns "\n" into "\r\n".
    pub fn output(&self, data: &[u8]) -> Vec<u8> {
        if self.termios.oflag & OPOST != 0 && self.termios.oflag & ONLCR != 0 {
            let mut v = Vec::with_capacity(data.len() + 8);
            for &b in data {
                if b == b'\n' {
                    v.push(b'\r');
                }
                v.push(b);
            }
            v
        } else {
            data.to_vec()
        }
    }

    /// Bytes waiting to be read (FIONREAD).
    pub fn pending(&self) -> usize {
        self.ready.len()
    }

    /// TCFLSH / TCSETSF: drop unread input.
    pub fn flush_input(&mut self) {
        self.line.clear();
        self.ready.clear();
        self.eofs.clear();
    }

    /// New settings; leaving canonical mode hands the partial line to readers.
    pub fn set_termios(&mut self, t: Termios) {
        let was_canon = self.canonical();
        self.termios = t;
        if was_canon && !self.canonical() {
            self.ready.extend(self.line.drain(..));
            self.eofs.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(ld: &mut LineDiscipline, s: &[u8]) -> Vec<u8> {
        let mut echo = Vec::new();
        for &c in s {
            echo.extend(ld.input(c).echo);
        }
        echo
    }

    #[test]
    fn canonical_lines_with_echo_and_erase() {
        let mut ld = LineDiscipline::default();
        let echo = feed(&mut ld, b"hellx\x7fo\r");
        assert_eq!(echo, b"hellx\x08 \x08o\r\n");
        let mut buf = [0u8; 64];
        assert_eq!(ld.read(&mut buf), Some(6));
        assert_eq!(&buf[..6], b"hello\n");
        assert_eq!(ld.read(&mut buf), None);
    }

    #[test]
    fn reads_stop_at_a_line_and_partial_reads_continue() {
        let mut ld = LineDiscipline::default();
        feed(&mut ld, b"one\ntwo\n");
        let mut buf = [0u8; 2];
        assert_eq!(ld.read(&mut buf), Some(2));
        let mut rest = [0u8; 64];
        assert_eq!(ld.read(&mut rest), Some(2));
        assert_eq!(&rest[..2], b"e\n");
        assert_eq!(ld.read(&mut rest), Some(4));
        assert_eq!(&rest[..4], b"two\n");
    }

    #[test]
    fn eof_on_empty_line_reads_zero_and_ends_a_partial_line() {
        let mut ld = LineDiscipline::default();
        feed(&mut ld, b"\x04");
        let mut buf = [0u8; 8];
        assert_eq!(ld.read(&mut buf), Some(0));
        feed(&mut ld, b"ab\x04");
        assert_eq!(ld.read(&mut buf), Some(2));
        assert_eq!(ld.read(&mut buf), None);
    }

    #[test]
    fn signal_characters_and_kill() {
        let mut ld = LineDiscipline::default();
        feed(&mut ld, b"partial");
        let fx = ld.input(3);
        assert_eq!(fx.signal, Some(SIGINT));
        assert_eq!(fx.echo, b"^C");
        assert!(!ld.readable(), "^C flushes the line");
        assert_eq!(ld.input(0x1c).signal, Some(SIGQUIT));
        assert_eq!(ld.input(0x1a).signal, Some(SIGTSTP));
        let echo = feed(&mut ld, b"ab\x15");
        assert_eq!(echo, b"ab\x08 \x08\x08 \x08");
        assert!(!ld.readable());
    }

    #[test]
    fn raw_mode_passes_bytes_and_termios_round_trips() {
        let mut ld = LineDiscipline::default();
        let mut t = ld.termios;
        t.lflag &= !(ICANON | ECHO | ISIG);
        t.iflag &= !ICRNL;
        ld.set_termios(t);
        assert_eq!(feed(&mut ld, b"\x03\r"), b"");
        let mut buf = [0u8; 8];
        assert_eq!(ld.read(&mut buf), Some(2));
        assert_eq!(&buf[..2], b"\x03\r");
        assert_eq!(Termios::from_bytes(&t.to_bytes()), t);
        assert_eq!(Termios::default().to_bytes()[17..21], [3, 28, 127, 21]);
    }
}
