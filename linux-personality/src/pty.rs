//! Pseudo-terminals: /dev/ptmx and /dev/pts/N, as Linux's devpts gives them.
//!
//! Opening /dev/ptmx makes a pair and returns its master; the slave is /dev/pts/N, where
//! N is what TIOCGPTN reports, and it can be opened once the master has unlocked it
//! (TIOCSPTLCK 0, which glibc's and musl's `unlockpt` do). Bytes written to the master
//! are the terminal's input: they go through the slave's line discipline (the same
//! [`LineDiscipline`] as the console's: canonical editing, echo, ^C/^Z/^\ as signals to
//! the slave's foreground process group). Bytes written to the slave are output: after
//! output processing (ONLCR) they, and the echo, are what the master reads.
//! A background process of the controlling session that reads the slave gets SIGTTIN
//! (and writes with TOSTOP, or changes of the terminal, SIGTTOU), by the console's rules.
//!
//! Hang-ups: when the master's last descriptor closes, the slave's readers see end of
//! file, its writers EIO, and its foreground group gets SIGHUP; when every slave
//! descriptor has closed, the master's reads fail with EIO (after the data that was
//! left), as on Linux.
//!
//! The file system reaches them through [`crate::fs::devpts`]: opening a node 5:2
//! calls [`open_master_as`], a node 136:N [`open_slave`], /dev/tty in a session whose
//! controlling terminal is a slave [`open_controlling`]; a devpts mount lists [`list`].
//!
//! Two things a file object cannot know by itself come from the kernel through hooks
//! installed at boot ([`set_hooks`]), the way [`crate::file::wake`] does: who is calling
//! (for TIOCSCTTY, TIOCGPGRP, TIOCGSID), how to signal a process group, which sessions
//! live and which the console controls, and the console's job-control check.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use spin::{Mutex, Once};

use crate::abi::Errno;
use crate::file::{poll, wake, FileOps, FileStat};
use crate::signal::SIGHUP;
use crate::tty::ioctl::*;
use crate::tty::{LineDiscipline, Termios, TERMIOS_LEN};
use crate::uaccess::UserMemory;

/// Most pseudo-terminals at once (Linux's default `kernel.pty.max` is 4096).
pub const PTY_MAX: u32 = 4096;
/// Most bytes of output waiting for the master to read (then the slave's writes stop
/// with EAGAIN and the writer waits).
const OUT_MAX: usize = 64 * 1024;

/// Who makes a call on a terminal: (pid, process group, session).
pub type Caller = fn() -> (u32, u32, u32);
/// Sends a signal to every process of a group.
pub type GroupSignal = fn(u32, u32);

static CALLER: Once<Caller> = Once::new();
static SIGNAL_GROUP: Once<GroupSignal> = Once::new();
/// Whether a session still has a live process.
pub type SessionAlive = fn(u32) -> bool;
/// The session the console is the controlling terminal of (0: none).
pub type ConsoleSession = fn() -> u32;
static SESSION_ALIVE: Once<SessionAlive> = Once::new();
static CONSOLE_SESSION: Once<ConsoleSession> = Once::new();

/// Installed once by the kernel at boot: what the controlling-terminal rules need to
/// know about sessions (without them every session counts as alive and the console
/// as controlling none).
pub fn set_session_hooks(alive: SessionAlive, console: ConsoleSession) {
    SESSION_ALIVE.call_once(|| alive);
    CONSOLE_SESSION.call_once(|| console);
}

fn session_alive(sid: u32) -> bool {
    sid != 0 && SESSION_ALIVE.get().is_none_or(|f| f(sid))
}

fn console_session() -> u32 {
    CONSOLE_SESSION.get().map_or(0, |f| f())
}

/// Linux's background-access check for a terminal with foreground group `fg` and
/// controlling session `session`: Ok, or the error the call fails with (EINTR after
/// SIGTTIN/SIGTTOU went to the caller's group, EIO).
pub type JobControl = fn(u32, u32, u32) -> Result<(), Errno>;
static JOB_CONTROL: Once<JobControl> = Once::new();

/// Installed once by the kernel at boot (the console's own check).
pub fn set_job_control(f: JobControl) {
    JOB_CONTROL.call_once(|| f);
}

/// The job-control check of a slave access (`sig` SIGTTIN for reads, SIGTTOU for
/// writes with TOSTOP and for changes of the terminal).
fn job_control(pty: &Pty, sig: u32) -> Result<(), Errno> {
    let (fg, session) = {
        let s = pty.state.lock();
        (s.foreground, s.session)
    };
    match JOB_CONTROL.get() {
        Some(f) if session != 0 && session_alive(session) => f(sig, fg, session),
        _ => Ok(()),
    }
}

/// Whether session `sid` has a controlling terminal already (the console or a pty).
fn has_controlling(sid: u32) -> bool {
    console_session() == sid || controlling_of(sid).is_some()
}

/// Installed once by the kernel at boot.
pub fn set_hooks(caller: Caller, signal_group: GroupSignal) {
    CALLER.call_once(|| caller);
    SIGNAL_GROUP.call_once(|| signal_group);
}

fn caller() -> (u32, u32, u32) {
    CALLER.get().map_or((0, 0, 0), |f| f())
}

fn signal_group(pgid: u32, sig: u32) {
    if pgid != 0 {
        if let Some(f) = SIGNAL_GROUP.get() {
            f(pgid, sig);
        }
    }
}

struct State {
    ld: LineDiscipline,
    /// What the master reads: the slave's output and the echo.
    to_master: VecDeque<u8>,
    locked: bool,
    master_open: bool,
    slaves: u32,
    /// A slave has been opened at least once (before that, master reads just wait).
    slave_seen: bool,
    foreground: u32,
    session: u32,
    winsize: [u8; 8],
}

/// One pseudo-terminal pair.
pub struct Pty {
    index: u32,
    /// Who opened /dev/ptmx (uid, gid): the owner of /dev/pts/N, as devpts makes it.
    owner: (u32, u32),
    state: Mutex<State>,
}

static PTYS: Mutex<BTreeMap<u32, Weak<Pty>>> = Mutex::new(BTreeMap::new());

const KEY_PTY: u64 = 1 << 56;

impl Pty {
    pub fn index(&self) -> u32 {
        self.index
    }

    fn master_key(&self) -> u64 {
        KEY_PTY | (u64::from(self.index) << 1)
    }

    fn slave_key(&self) -> u64 {
        KEY_PTY | (u64::from(self.index) << 1) | 1
    }
}

/// open("/dev/ptmx"): a new pair, locked, returning its master.
pub fn open_master() -> Result<Arc<PtyMaster>, Errno> {
    open_master_as((0, 0))
}

/// open("/dev/ptmx") by a caller with user and group `owner`, who then owns the slave
/// node /dev/pts/N.
pub fn open_master_as(owner: (u32, u32)) -> Result<Arc<PtyMaster>, Errno> {
    let mut all = PTYS.lock();
    all.retain(|_, w| w.strong_count() > 0);
    let index = (0..PTY_MAX)
        .find(|i| !all.contains_key(i))
        .ok_or(Errno::ENOSPC)?;
    let pty = Arc::new(Pty {
        index,
        owner,
        state: Mutex::new(State {
            ld: LineDiscipline::default(),
            to_master: VecDeque::new(),
            locked: true,
            master_open: true,
            slaves: 0,
            slave_seen: false,
            foreground: 0,
            session: 0,
            winsize: [0; 8],
        }),
    });
    all.insert(index, Arc::downgrade(&pty));
    Ok(Arc::new(PtyMaster(pty)))
}

/// open("/dev/pts/N") without O_NOCTTY: as [`open_slave`], and a session leader whose
/// session has no controlling terminal yet gets this one (Linux's rule), unless
/// another live session has it.
pub fn open_slave_acquiring(index: u32) -> Result<Arc<PtySlave>, Errno> {
    let slave = open_slave(index)?;
    let (pid, pgid, sid) = caller();
    if pid != 0 && pid == sid && !has_controlling(sid) {
        let mut s = slave.0.state.lock();
        if !session_alive(s.session) {
            s.session = sid;
            s.foreground = pgid;
        }
    }
    Ok(slave)
}

/// open("/dev/pts/N"): EIO while locked or after the master has gone, ENOENT if there
/// is no such terminal.
pub fn open_slave(index: u32) -> Result<Arc<PtySlave>, Errno> {
    let pty = PTYS
        .lock()
        .get(&index)
        .and_then(Weak::upgrade)
        .ok_or(Errno::ENOENT)?;
    {
        let mut s = pty.state.lock();
        if s.locked || !s.master_open {
            return Err(Errno::EIO);
        }
        s.slaves += 1;
        s.slave_seen = true;
    }
    Ok(Arc::new(PtySlave(pty)))
}

/// open("/dev/tty") by a process whose session's controlling terminal is a pty slave
/// (TIOCSCTTY made it so): that slave. None when the caller's session has no pty (then
/// /dev/tty is the console's business); EIO once the master has gone (hung up).
pub fn open_controlling() -> Option<Result<Arc<PtySlave>, Errno>> {
    let (_, _, sid) = caller();
    if sid == 0 {
        return None;
    }
    let pty = PTYS
        .lock()
        .values()
        .filter_map(Weak::upgrade)
        .find(|p| p.state.lock().session == sid && session_alive(sid))?;
    let mut s = pty.state.lock();
    if !s.master_open {
        return Some(Err(Errno::EIO));
    }
    s.slaves += 1;
    s.slave_seen = true;
    drop(s);
    Some(Ok(Arc::new(PtySlave(pty))))
}

/// The pty slave that session `sid` controls, if any: its number and foreground
/// process group (for /proc/PID/stat's tty_nr and tpgid).
pub fn controlling_of(sid: u32) -> Option<(u32, u32)> {
    if sid == 0 {
        return None;
    }
    PTYS.lock()
        .values()
        .filter_map(Weak::upgrade)
        .find_map(|p| {
            let s = p.state.lock();
            (s.session == sid && s.master_open && session_alive(sid))
                .then_some((p.index, s.foreground))
        })
}

/// The numbers of the terminals that exist (the entries of /dev/pts).
pub fn list() -> Vec<u32> {
    list_owned().into_iter().map(|(i, _)| i).collect()
}

/// The terminals that exist with their owners (uid, gid), lowest number first.
pub fn list_owned() -> Vec<(u32, (u32, u32))> {
    PTYS.lock()
        .iter()
        .filter_map(|(i, w)| w.upgrade().map(|p| (*i, p.owner)))
        .collect()
}

/// The master side (what /dev/ptmx returned).
pub struct PtyMaster(Arc<Pty>);
/// The slave side (/dev/pts/N).
pub struct PtySlave(Arc<Pty>);

impl PtyMaster {
    pub fn pty(&self) -> &Arc<Pty> {
        &self.0
    }
}

impl Drop for PtyMaster {
    fn drop(&mut self) {
        let fg = {
            let mut s = self.0.state.lock();
            s.master_open = false;
            s.foreground
        };
        wake(self.0.slave_key());
        signal_group(fg, SIGHUP);
    }
}

impl Drop for PtySlave {
    fn drop(&mut self) {
        self.0.state.lock().slaves -= 1;
        wake(self.0.master_key());
    }
}

fn read_u32(mem: &mut dyn UserMemory, arg: u64) -> Result<u32, Errno> {
    let mut b = [0u8; 4];
    mem.read(arg, &mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn write_u32(mem: &mut dyn UserMemory, arg: u64, v: u32) -> Result<usize, Errno> {
    mem.write(arg, &v.to_le_bytes())?;
    Ok(0)
}

/// The terminal ioctls both sides answer (termios and window size are the pair's).
fn common_ioctl(pty: &Pty, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> Result<usize, Errno> {
    match cmd {
        TCGETS => {
            let t = pty.state.lock().ld.termios.to_bytes();
            mem.write(arg, &t)?;
            Ok(0)
        }
        TCSETS | TCSETSW | TCSETSF => {
            let mut b = [0u8; TERMIOS_LEN];
            mem.read(arg, &mut b)?;
            let mut s = pty.state.lock();
            if cmd == TCSETSF {
                s.ld.flush_input();
            }
            s.ld.set_termios(Termios::from_bytes(&b));
            drop(s);
            wake(pty.slave_key());
            Ok(0)
        }
        TIOCGWINSZ => {
            let ws = pty.state.lock().winsize;
            mem.write(arg, &ws)?;
            Ok(0)
        }
        TIOCSWINSZ => {
            let mut ws = [0u8; 8];
            mem.read(arg, &mut ws)?;
            let fg = {
                let mut s = pty.state.lock();
                let changed = s.winsize != ws;
                s.winsize = ws;
                if changed {
                    s.foreground
                } else {
                    0
                }
            };
            signal_group(fg, crate::signal::SIGWINCH);
            Ok(0)
        }
        TCFLSH => {
            if arg > 2 {
                return Err(Errno::EINVAL);
            }
            let mut s = pty.state.lock();
            if arg != 1 {
                s.ld.flush_input();
            }
            if arg != 0 {
                s.to_master.clear();
            }
            Ok(0)
        }
        TCSBRK => Ok(0),
        _ => Err(Errno::ENOTTY),
    }
}

fn pty_stat(rdev: u64, ino: u64) -> FileStat {
    FileStat {
        dev: 7,
        ino,
        mode: 0o020620,
        nlink: 1,
        rdev,
        blksize: 1024,
        ..FileStat::default()
    }
}

impl FileOps for PtyMaster {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut s = self.0.state.lock();
        if s.to_master.is_empty() {
            return if s.slave_seen && s.slaves == 0 {
                Err(Errno::EIO)
            } else {
                Err(Errno::EAGAIN)
            };
        }
        let n = buf.len().min(s.to_master.len());
        for (i, b) in s.to_master.drain(..n).enumerate() {
            buf[i] = b;
        }
        drop(s);
        wake(self.0.slave_key());
        Ok(n)
    }

    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        let mut signals = Vec::new();
        let fg = {
            let mut s = self.0.state.lock();
            for &b in data {
                let fx = s.ld.input(b);
                s.to_master.extend(fx.echo);
                if let Some(sig) = fx.signal {
                    signals.push(sig);
                }
            }
            s.foreground
        };
        for sig in signals {
            signal_group(fg, sig);
        }
        wake(self.0.slave_key());
        wake(self.0.master_key());
        Ok(data.len())
    }

    fn poll(&self) -> u16 {
        let s = self.0.state.lock();
        let mut ev = poll::POLLOUT;
        if !s.to_master.is_empty() {
            ev |= poll::POLLIN;
        } else if s.slave_seen && s.slaves == 0 {
            ev |= poll::POLLHUP;
        }
        ev
    }

    fn wait_key(&self) -> u64 {
        self.0.master_key()
    }

    fn pty_master(&self) -> Option<u32> {
        Some(self.0.index)
    }

    fn stat(&self) -> FileStat {
        // /dev/ptmx is 5:2.
        pty_stat((5 << 8) | 2, 2)
    }

    fn is_tty(&self) -> bool {
        true
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> Result<usize, Errno> {
        match cmd {
            TIOCGPTN => write_u32(mem, arg, self.0.index),
            TIOCSPTLCK => {
                let lock = read_u32(mem, arg)?;
                self.0.state.lock().locked = lock != 0;
                Ok(0)
            }
            TIOCGPTLCK => {
                let locked = self.0.state.lock().locked;
                write_u32(mem, arg, u32::from(locked))
            }
            FIONREAD => {
                let n = self.0.state.lock().to_master.len() as u32;
                write_u32(mem, arg, n)
            }
            _ => common_ioctl(&self.0, cmd, arg, mem),
        }
    }
}

impl FileOps for PtySlave {
    fn read(&self, _offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        job_control(&self.0, crate::signal::SIGTTIN)?;
        let mut s = self.0.state.lock();
        match s.ld.read(buf) {
            Some(n) => {
                drop(s);
                wake(self.0.master_key());
                Ok(n)
            }
            // The master is gone: end of file.
            None if !s.master_open => Ok(0),
            None => Err(Errno::EAGAIN),
        }
    }

    fn write(&self, _offset: u64, data: &[u8]) -> Result<usize, Errno> {
        let tostop = self.0.state.lock().ld.termios.lflag & crate::tty::TOSTOP != 0;
        if tostop {
            job_control(&self.0, crate::signal::SIGTTOU)?;
        }
        let mut s = self.0.state.lock();
        if !s.master_open {
            return Err(Errno::EIO);
        }
        let room = OUT_MAX.saturating_sub(s.to_master.len());
        if room == 0 {
            return Err(Errno::EAGAIN);
        }
        // Take whole input bytes while their processed form fits.
        let mut taken = 0;
        for &b in data {
            let out = s.ld.output(&[b]);
            if s.to_master.len() + out.len() > OUT_MAX {
                break;
            }
            s.to_master.extend(out);
            taken += 1;
        }
        drop(s);
        wake(self.0.master_key());
        Ok(taken)
    }

    fn poll(&self) -> u16 {
        let s = self.0.state.lock();
        let mut ev = 0;
        if s.ld.readable() {
            ev |= poll::POLLIN;
        }
        if !s.master_open {
            ev |= poll::POLLHUP | poll::POLLIN;
        } else if s.to_master.len() < OUT_MAX {
            ev |= poll::POLLOUT;
        }
        ev
    }

    fn wait_key(&self) -> u64 {
        self.0.slave_key()
    }

    fn stat(&self) -> FileStat {
        // /dev/pts/N is 136:N.
        let n = u64::from(self.0.index);
        pty_stat((136 << 8) | (n & 0xff) | ((n >> 8) << 20), 3 + n)
    }

    fn is_tty(&self) -> bool {
        true
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &mut dyn UserMemory) -> Result<usize, Errno> {
        // Changing the terminal from the background is a job-control matter too.
        if matches!(
            cmd,
            TCSETS | TCSETSW | TCSETSF | TCFLSH | TCXONC | TIOCSPGRP | TIOCSWINSZ
        ) {
            job_control(&self.0, crate::signal::SIGTTOU)?;
        }
        match cmd {
            TIOCSCTTY => {
                let (pid, pgid, sid) = caller();
                if self.0.state.lock().session == sid && sid != 0 {
                    return Ok(0);
                }
                // Linux: only a session leader whose session has no controlling
                // terminal, and not while another live session has this one (root's
                // steal with arg 1 is not offered: the hooks do not say who is root).
                // (sid 0: no kernel hooks, as in host tests.)
                if sid != 0 && (pid != sid || has_controlling(sid)) {
                    return Err(Errno::EPERM);
                }
                let mut s = self.0.state.lock();
                if s.session != sid && session_alive(s.session) {
                    return Err(Errno::EPERM);
                }
                s.session = sid;
                s.foreground = pgid;
                Ok(0)
            }
            TIOCNOTTY => Ok(0),
            TIOCGPGRP => {
                let fg = self.0.state.lock().foreground;
                let fg = if fg == 0 { caller().1 } else { fg };
                write_u32(mem, arg, fg)
            }
            TIOCSPGRP => {
                let g = read_u32(mem, arg)?;
                if (g as i32) <= 0 {
                    return Err(Errno::EINVAL);
                }
                let (_, _, sid) = caller();
                let mut s = self.0.state.lock();
                // Only the controlling terminal's session may choose its foreground.
                if s.session != 0 && s.session != sid {
                    return Err(Errno::ENOTTY);
                }
                s.foreground = g;
                Ok(0)
            }
            TIOCGSID => {
                let sid = self.0.state.lock().session;
                if sid == 0 {
                    return Err(Errno::ENOTTY);
                }
                write_u32(mem, arg, sid)
            }
            FIONREAD => {
                let n = self.0.state.lock().ld.pending() as u32;
                write_u32(mem, arg, n)
            }
            _ => common_ioctl(&self.0, cmd, arg, mem),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uaccess::FakeUserMemory;

    fn read_all(f: &dyn FileOps) -> Vec<u8> {
        let mut b = [0u8; 512];
        match f.read(0, &mut b) {
            Ok(n) => b[..n].to_vec(),
            Err(_) => Vec::new(),
        }
    }

    #[test]
    fn a_pair_carries_input_through_the_discipline_and_output_back() {
        let m = open_master().unwrap();
        let n = m.pty().index();
        // Locked until unlockpt.
        assert!(matches!(open_slave(n), Err(Errno::EIO)));
        let mut mem = FakeUserMemory::new();
        mem.map(0x1000, 0x1000, crate::uaccess::Prot::READ_WRITE)
            .unwrap();
        mem.write(0x1000, &0u32.to_le_bytes()).unwrap();
        m.ioctl(TIOCSPTLCK, 0x1000, &mut mem).unwrap();
        m.ioctl(TIOCGPTN, 0x1004, &mut mem).unwrap();
        let mut b = [0u8; 4];
        mem.read(0x1004, &mut b).unwrap();
        assert_eq!(u32::from_le_bytes(b), n);
        let s = open_slave(n).unwrap();
        // Typed input: echoed to the master, a whole line for the slave's reader.
        m.write(0, b"ls -l\r").unwrap();
        assert_eq!(read_all(&*m), b"ls -l\r\n");
        assert_eq!(read_all(&*s), b"ls -l\n");
        // Output: ONLCR.
        s.write(0, b"total 0\n").unwrap();
        assert_eq!(read_all(&*m), b"total 0\r\n");
        assert!(m.poll() & poll::POLLIN == 0);
        // The slave closes: the master reads EIO, and polls HUP.
        drop(s);
        assert!(matches!(m.read(0, &mut [0u8; 8]), Err(Errno::EIO)));
        assert!(m.poll() & poll::POLLHUP != 0);
        assert!(list().contains(&n));
    }

    #[test]
    fn master_hangup_gives_the_slave_eof_and_eio() {
        let m = open_master().unwrap();
        let n = m.pty().index();
        m.0.state.lock().locked = false;
        let s = open_slave(n).unwrap();
        drop(m);
        assert_eq!(s.read(0, &mut [0u8; 8]), Ok(0));
        assert_eq!(s.write(0, b"x"), Err(Errno::EIO));
        // No new opens of a terminal whose master is gone.
        assert!(open_slave(n).is_err());
        drop(s);
        assert!(!list().contains(&n));
    }
}
