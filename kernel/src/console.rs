//! The console tty on COM1 as a file. Input arrives through the UART's receive
//! interrupt and goes through the line discipline (`linux_personality::tty`):
//! canonical editing, echo, and ^C/^\/^Z as signals to the foreground process group.
//! Output goes through the discipline's output processing (ONLCR) to the UART.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

use linux_personality::abi::Errno;
use linux_personality::file::{poll, FileOps, FileStat};
use linux_personality::signal::{self, SigInfo, SI_KERNEL};
use linux_personality::tty::ioctl::*;
use linux_personality::tty::{LineDiscipline, Termios, TERMIOS_LEN, TOSTOP};
use linux_personality::uaccess::UserMemory;

use crate::sync::IrqMutex;
use crate::waits;

static LD: IrqMutex<Option<LineDiscipline>> = IrqMutex::new(None);
/// The foreground process group (TIOCSPGRP); 0 until a shell sets one.
static FOREGROUND: AtomicU32 = AtomicU32::new(0);
/// The session the console is the controlling terminal of (TIOCSCTTY), 0 for none.
static SESSION: AtomicU32 = AtomicU32::new(0);
static WINSIZE: IrqMutex<[u8; 8]> = IrqMutex::new([24, 0, 80, 0, 0, 0, 0, 0]);

fn with<R>(f: impl FnOnce(&mut LineDiscipline) -> R) -> R {
    let mut g = LD.lock();
    f(g.get_or_insert_with(LineDiscipline::default))
}

/// Called from the UART interrupt with each received byte.
pub fn input(b: u8) {
    let fx = with(|ld| ld.input(b));
    if !fx.echo.is_empty() {
        crate::serial::write_raw(&fx.echo);
    }
    if let Some(sig) = fx.signal {
        signal_foreground(sig);
    }
    if fx.readable {
        waits::wake(waits::KEY_CONSOLE);
    }
}

/// ^C and friends: the signal goes to every process of the foreground group (or, with
/// none set yet, to every process of the console's session leader's group).
fn signal_foreground(sig: u32) {
    let fg = FOREGROUND.load(Ordering::Acquire);
    let info = SigInfo {
        signo: sig,
        code: SI_KERNEL,
        ..SigInfo::default()
    };
    for p in crate::process::all() {
        let target = if fg != 0 {
            p.pgid() == fg
        } else {
            p.pgid() == 1 || p.pid == 1
        };
        if target && !p.has_exited() {
            p.post_signal(info);
        }
    }
}

/// Linux's job-control check for a terminal access by a background process
/// (`tty_check_change`, and `job_control` for reads): a process of the console's session
/// outside the foreground group gets `sig` (SIGTTIN or SIGTTOU) sent to its whole group
/// and the call is interrupted (to restart once the group is continued). If the signal
/// is ignored or blocked, a read fails with EIO while a write or a change goes ahead;
/// an orphaned group, which nobody could ever continue, gets EIO.
fn job_control(sig: u32) -> Result<(), Errno> {
    job_control_on(
        sig,
        FOREGROUND.load(Ordering::Acquire),
        SESSION.load(Ordering::Acquire),
    )
}

/// [`job_control`] for any terminal whose foreground group is `fg` and controlling
/// session `session` (the console's, or a pty slave's: the personality calls it).
fn job_control_on(sig: u32, fg: u32, session: u32) -> Result<(), Errno> {
    let Some(p) = crate::process::current() else {
        return Ok(());
    };
    if fg == 0 || p.pgid() == fg || session == 0 || p.sid() != session {
        return Ok(());
    }
    let refused = crate::process::with_signals(&p, |s| {
        s.blocked & signal::bit(sig) != 0
            || s.actions[(sig - 1) as usize].handler == signal::SIG_IGN
    });
    if refused {
        return if sig == signal::SIGTTIN {
            Err(Errno::EIO)
        } else {
            Ok(())
        };
    }
    if orphaned(p.pgid(), p.sid()) {
        return Err(Errno::EIO);
    }
    let info = SigInfo {
        signo: sig,
        code: SI_KERNEL,
        ..SigInfo::default()
    };
    let group = p.pgid();
    for q in crate::process::all() {
        if q.pgid() == group && !q.has_exited() {
            q.post_signal(info);
        }
    }
    Err(Errno::EINTR)
}

/// POSIX's orphaned process group: no member has a parent in another group of the
/// same session (so no shell is left to continue it).
fn orphaned(pgid: u32, sid: u32) -> bool {
    !crate::process::all().iter().any(|q| {
        q.pgid() == pgid
            && !q.has_exited()
            && crate::process::by_pid(q.ppid()).is_some_and(|parent| {
                parent.pgid() != pgid && parent.sid() == sid && !parent.has_exited()
            })
    })
}

/// What the personality's pseudo-terminals need from the kernel: who is calling, a
/// way to signal a process group (^C typed into a pty master), whether a session
/// lives, and which session the console controls (for the controlling-terminal rules).
pub fn install_pty_hooks() {
    fn caller() -> (u32, u32, u32) {
        crate::process::current().map_or((0, 0, 0), |p| (p.pid, p.pgid(), p.sid()))
    }
    fn signal_group(pgid: u32, sig: u32) {
        let info = SigInfo {
            signo: sig,
            code: SI_KERNEL,
            ..SigInfo::default()
        };
        for p in crate::process::all() {
            if p.pgid() == pgid && !p.has_exited() {
                p.post_signal(info);
            }
        }
    }
    linux_personality::pty::set_hooks(caller, signal_group);
    fn session_alive(sid: u32) -> bool {
        crate::process::all()
            .iter()
            .any(|q| q.sid() == sid && !q.has_exited())
    }
    fn console_session() -> u32 {
        let owner = SESSION.load(Ordering::Acquire);
        if owner != 0 && session_alive(owner) {
            owner
        } else {
            0
        }
    }
    linux_personality::pty::set_session_hooks(session_alive, console_session);
    linux_personality::pty::set_job_control(job_control_on);
}

/// The console's controlling session and foreground group (0 when none), and its
/// device number in /proc's `tty_nr` encoding (5:1, /dev/console).
pub fn controlling() -> (u32, u32) {
    (
        SESSION.load(Ordering::Acquire),
        FOREGROUND.load(Ordering::Acquire),
    )
}

pub const TTY_NR: u32 = (5 << 8) | 1;

pub struct Console;

/// /dev/console is character device 5:1.
const CONSOLE_RDEV: u64 = (5 << 8) | 1;

impl FileOps for Console {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        job_control(signal::SIGTTIN)?;
        with(|ld| ld.read(buf)).ok_or(Errno::EAGAIN)
    }

    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        if with(|ld| ld.termios.lflag & TOSTOP != 0) {
            job_control(signal::SIGTTOU)?;
        }
        let out = with(|ld| ld.output(data));
        crate::serial::write_raw(&out);
        Ok(data.len())
    }

    fn poll(&self) -> u16 {
        let mut ev = poll::POLLOUT;
        if with(|ld| ld.readable()) {
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
        let read_u32 = |mem: &mut dyn UserMemory| -> Result<u32, Errno> {
            let mut b = [0u8; 4];
            mem.read(arg, &mut b)?;
            Ok(u32::from_le_bytes(b))
        };
        // Changing the terminal from the background is a job-control matter too.
        if matches!(
            cmd,
            TCSETS | TCSETSW | TCSETSF | TCFLSH | TCXONC | TIOCSPGRP | TIOCSWINSZ
        ) {
            job_control(signal::SIGTTOU)?;
        }
        match cmd {
            TCGETS => {
                let t = with(|ld| ld.termios.to_bytes());
                mem.write(arg, &t)?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF => {
                let mut b = [0u8; TERMIOS_LEN];
                mem.read(arg, &mut b)?;
                // Output is written synchronously, so TCSETSW has nothing to drain.
                with(|ld| {
                    if cmd == TCSETSF {
                        ld.flush_input();
                    }
                    ld.set_termios(Termios::from_bytes(&b));
                });
                waits::wake(waits::KEY_CONSOLE);
                Ok(0)
            }
            TIOCGWINSZ => {
                let ws = *WINSIZE.lock();
                mem.write(arg, &ws)?;
                Ok(0)
            }
            TIOCSWINSZ => {
                let mut ws = [0u8; 8];
                mem.read(arg, &mut ws)?;
                *WINSIZE.lock() = ws;
                Ok(0)
            }
            FIONREAD => {
                let n = with(|ld| ld.pending()) as u32;
                mem.write(arg, &n.to_le_bytes())?;
                Ok(0)
            }
            TCFLSH => {
                if arg > 2 {
                    return Err(Errno::EINVAL);
                }
                if arg != 1 {
                    with(|ld| ld.flush_input());
                }
                Ok(0)
            }
            // Output is never queued: draining and breaks complete at once.
            TCSBRK | TCXONC => Ok(0),
            TIOCGPGRP => {
                let fg = match FOREGROUND.load(Ordering::Acquire) {
                    0 => crate::process::current().map_or(0, |p| p.pgid()),
                    g => g,
                };
                mem.write(arg, &fg.to_le_bytes())?;
                Ok(0)
            }
            TIOCSPGRP => {
                let g = read_u32(mem)?;
                if (g as i32) < 0 {
                    return Err(Errno::EINVAL);
                }
                // Only the controlling session may choose the foreground, and only one
                // of its own groups.
                let session = SESSION.load(Ordering::Acquire);
                if let Some(me) = crate::process::current() {
                    if session != 0 && me.sid() != session {
                        return Err(Errno::ENOTTY);
                    }
                }
                if !crate::process::all()
                    .iter()
                    .any(|p| p.pgid() == g && (session == 0 || p.sid() == session))
                {
                    return Err(Errno::EPERM);
                }
                FOREGROUND.store(g, Ordering::Release);
                Ok(0)
            }
            TIOCSCTTY => {
                let Some(p) = crate::process::current() else {
                    return Ok(0);
                };
                let owner = SESSION.load(Ordering::Acquire);
                if owner == p.sid() {
                    return Ok(0);
                }
                // The console belongs to another session while any of its processes
                // lives; root may steal it with arg 1 (Linux's tiocsctty).
                let owner_alive = owner != 0
                    && crate::process::all()
                        .iter()
                        .any(|q| q.sid() == owner && !q.has_exited());
                if owner_alive && !(arg == 1 && p.ids.lock().creds().euid == 0) {
                    return Err(Errno::EPERM);
                }
                // A new controlling session: its caller's group is the foreground.
                SESSION.store(p.sid(), Ordering::Release);
                FOREGROUND.store(p.pgid(), Ordering::Release);
                Ok(0)
            }
            TIOCNOTTY => Ok(0),
            TIOCGSID => {
                let sid = match SESSION.load(Ordering::Acquire) {
                    0 => return Err(Errno::ENOTTY),
                    s => s,
                };
                mem.write(arg, &sid.to_le_bytes())?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }
}

pub fn file() -> Arc<dyn FileOps> {
    Arc::new(Console)
}
