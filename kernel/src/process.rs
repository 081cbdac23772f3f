//! User processes: an address space, the memory-layout state Linux programs expect
//! (program break, mmap area), and an exit status that a waiter can collect.
//!
//! A process runs as one or more scheduler threads created with `sched::spawn_user`;
//! the thread-to-process table here is how a system call finds its caller.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Mutex;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64};
use linux_personality::abi::Errno;
use linux_personality::fd::FdTable;
use linux_personality::fs::FsContext;
use linux_personality::signal::{self, SigInfo, Signals};
use linux_personality::syscall::{ForkArgs, Ids};

use crate::arch::cpu::FpuState;
use crate::arch::idt::TrapFrame;
use crate::mm::vm::AddressSpace;
use crate::sched::{self, ThreadId};
use crate::sync::IrqMutex;
use crate::waits;

/// How a process ended, as wait4 reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(u8),
    Signaled(u8),
}

impl ExitStatus {
    /// The status word of wait4 (`WEXITSTATUS`/`WTERMSIG` encoding).
    pub fn wait_status(self) -> u32 {
        match self {
            ExitStatus::Exited(c) => u32::from(c) << 8,
            ExitStatus::Signaled(s) => u32::from(s),
        }
    }

    /// The shell's `$?`: the code, or 128 + signal.
    pub fn shell_code(self) -> u8 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128u8.wrapping_add(s),
        }
    }
}

/// Job control: whether the process is stopped, and the stop or continue event its
/// parent has not yet collected with wait4(WUNTRACED / WCONTINUED).
#[derive(Clone, Copy, Debug, Default)]
pub struct JobState {
    pub stopped: bool,
    report: Option<JobEvent>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JobEvent {
    Stopped(u8),
    Continued,
}

impl JobEvent {
    fn wait_status(self) -> u32 {
        match self {
            JobEvent::Stopped(sig) => (u32::from(sig) << 8) | 0x7f,
            JobEvent::Continued => 0xffff,
        }
    }
}

/// CPU time, counted as Linux's tick-based accounting does: each timer tick is charged
/// to the process that was running, as user time if it interrupted user mode and system
/// time otherwise. Reaped children's totals (their own and their waited-for children's)
/// are added to the parent's `children_*` for getrusage(RUSAGE_CHILDREN) and times().
#[derive(Debug, Default)]
pub struct CpuTicks {
    pub user: AtomicU64,
    pub sys: AtomicU64,
    pub children_user: AtomicU64,
    pub children_sys: AtomicU64,
}

/// System-wide ticks for /proc/stat: (user, system, idle).
static SYSTEM_TICKS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

pub fn system_ticks() -> (u64, u64, u64) {
    let [u, s, i] = &SYSTEM_TICKS;
    (
        u.load(Ordering::Relaxed),
        s.load(Ordering::Relaxed),
        i.load(Ordering::Relaxed),
    )
}

/// The timer interrupt's accounting step (`user`: the tick interrupted ring 3).
pub fn account_tick(user: bool) {
    let slot = if let Some(t) = BY_THREAD.lock().get(&sched::current()) {
        let c = &t.proc.cpu;
        if user {
            c.user.fetch_add(1, Ordering::Relaxed);
        } else {
            c.sys.fetch_add(1, Ordering::Relaxed);
        }
        usize::from(!user)
    } else if sched::idle_now() {
        2
    } else {
        // A kernel thread (the network stack, the debug console).
        1
    };
    SYSTEM_TICKS[slot].fetch_add(1, Ordering::Relaxed);
}

/// ITIMER_REAL: when SIGALRM is due (uptime ns) and how often it repeats. `gen`
/// changes on every setitimer/alarm, so a timer armed earlier finds itself stale.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealTimer {
    pub deadline_ns: Option<u64>,
    pub interval_ns: u64,
    pub gen: u64,
}

pub struct Mm {
    pub aspace: AddressSpace,
    /// Start and current end of the heap that brk moves.
    pub brk_start: u64,
    pub brk: u64,
    /// Next address handed out by mmap without a hint (grows down).
    pub mmap_top: u64,
}

pub struct Process {
    pub pid: u32,
    /// The parent's pid (0 for the first process, whose parent is the kernel).
    /// (Atomic: when the parent ends first, init adopts the process.)
    ppid: AtomicU32,
    /// The command name (`comm`): the file name of the last exec.
    pub name: Mutex<String>,
    pub mm: Mutex<Mm>,
    /// The CSpace: fds are capabilities in its fd CNode.
    pub files: Mutex<FdTable>,
    /// Root, working directory and umask.
    pub fs: Mutex<FsContext>,
    status: IrqMutex<Option<ExitStatus>>,
    /// Children not yet reaped (zombies keep their status here until wait4).
    children: Mutex<Vec<Arc<Process>>>,
    /// Set when a vfork child has exec'd or exited, releasing its parent.
    vfork_done: AtomicBool,
    /// Interrupt handlers post signals (the console's ^C): an IrqMutex, so no
    /// handler can find it held by the code it interrupted.
    pub signals: IrqMutex<Signals>,
    /// User and group ids (root for the first process).
    pub ids: Mutex<Ids>,
    /// The process's threads (the first one's tid is the pid).
    threads: IrqMutex<Vec<Arc<Thread>>>,
    /// Set by exit_group (or a fatal signal, or execve for the other threads): every
    /// thread leaves at its next kernel exit, and the last one ends the process with it.
    dying: IrqMutex<Option<ExitStatus>>,
    /// Something may need doing before returning to user mode (a signal, death, an
    /// exit request): set by whoever causes it, so the common system call return
    /// checks one atomic instead of taking locks.
    pub attention: AtomicBool,
    /// Process group and session (job control).
    pgid: AtomicU32,
    sid: AtomicU32,
    /// Stopped or running (SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU and SIGCONT). An IrqMutex:
    /// the console's ^Z posts SIGTSTP from its interrupt handler.
    pub job: IrqMutex<JobState>,
    /// alarm/setitimer(ITIMER_REAL); the timer interrupt reads it.
    pub real_timer: IrqMutex<RealTimer>,
    /// CPU time in timer ticks.
    pub cpu: CpuTicks,
    /// prctl's flags: [parent-death signal, dumpable, no_new_privs, child subreaper].
    pub attrs: IrqMutex<[u64; 4]>,
    /// The nice value (setpriority), applied to every thread's scheduling.
    pub nice: core::sync::atomic::AtomicI32,
}

/// A user thread: its id, and what Linux keeps per thread.
pub struct Thread {
    pub tid: u32,
    pub proc: Arc<Process>,
    /// set_tid_address / CLONE_CHILD_CLEARTID: zeroed and futex-woken at exit.
    pub clear_child_tid: Mutex<Option<u64>>,
    /// The wait key the thread is blocked on (0: none), so a signal can wake it.
    waiting_on: AtomicU64,
    /// execve in another thread asked this one to go.
    exit_requested: AtomicBool,
    /// sigaltstack: kept by fork, cleared for new threads and by execve.
    pub altstack: Mutex<signal::AltStack>,
    /// The thread's signal mask, and the one sigsuspend/pselect/ppoll will put back
    /// (per thread, as in Linux; the dispositions and pending set are the process's).
    /// Reached through [`Thread::with_signals`].
    mask: IrqMutex<(u64, Option<u64>)>,
    /// Signals sent to this thread alone (tgkill, its own faults): Linux's per-task
    /// pending set. Swapped into `Signals::thread` by [`Thread::with_signals`].
    private: IrqMutex<signal::ThreadPending>,
}

impl Thread {
    /// The process's signal state as this thread sees it: its own mask swapped into
    /// `Signals::blocked`/`saved_mask` for the duration of `f`.
    pub fn with_signals<R>(&self, f: impl FnOnce(&mut Signals) -> R) -> R {
        let mut s = self.proc.signals.lock();
        let mut m = self.mask.lock();
        let mut own = self.private.lock();
        s.blocked = m.0;
        s.saved_mask = m.1;
        s.thread = core::mem::take(&mut *own);
        let r = f(&mut s);
        *m = (s.blocked, s.saved_mask.take());
        *own = core::mem::take(&mut s.thread);
        r
    }

    /// Whether a signal waits in this thread's own pending set.
    pub fn has_private_pending(&self) -> bool {
        self.private.lock().set != 0
    }

    pub fn blocked(&self) -> u64 {
        self.mask.lock().0
    }

    /// The thread's mask with the one a sigtimedwait or sigsuspend will put back
    /// (Linux's `blocked | real_blocked`).
    pub fn effective_mask(&self) -> u64 {
        let m = self.mask.lock();
        m.0 | m.1.unwrap_or(0)
    }

    /// Whether the thread blocks `sig`, counting the mask a sigtimedwait or
    /// sigsuspend will put back.
    pub fn blocks(&self, sig: u32) -> bool {
        self.effective_mask() & signal::bit(sig) != 0
    }
}

/// The signal state as the running thread sees it (its mask), or the bare process
/// state when called from a thread of another process (kernel work).
pub fn with_signals<R>(p: &Process, f: impl FnOnce(&mut Signals) -> R) -> R {
    match current_thread().filter(|t| core::ptr::eq(&*t.proc, p)) {
        Some(t) => t.with_signals(f),
        None => f(&mut p.signals.lock()),
    }
}

static NEXT_PID: AtomicU32 = AtomicU32::new(1);
/// Process 1 is the system's init (not a `writ.exec` program): see `post_signal`.
static INIT_PROTECTED: AtomicBool = AtomicBool::new(false);

pub fn protect_init() {
    INIT_PROTECTED.store(true, Ordering::Relaxed);
}
static BY_THREAD: IrqMutex<BTreeMap<ThreadId, Arc<Thread>>> = IrqMutex::new(BTreeMap::new());
/// Every live process by pid (for kill); entries go when the process is reaped.
static PROCS: IrqMutex<BTreeMap<u32, Weak<Process>>> = IrqMutex::new(BTreeMap::new());

/// The process with `pid`, if it exists (zombies included until reaped).
pub fn by_pid(pid: u32) -> Option<Arc<Process>> {
    PROCS.lock().get(&pid).and_then(Weak::upgrade)
}

/// Every process (for kill(-1)).
pub fn all() -> Vec<Arc<Process>> {
    PROCS.lock().values().filter_map(Weak::upgrade).collect()
}

impl Drop for Process {
    fn drop(&mut self) {
        PROCS.lock().remove(&self.pid);
        // Reaped: its pidfds now also report POLLHUP.
        crate::pidfd::notify(self.pid);
    }
}

pub const MMAP_TOP: u64 = 0x7fff_f000_0000;

/// Wait keys: a parent waits for its children on `KEY_CHILDREN | pid`, a vfork parent
/// on `KEY_VFORK | child pid`.
const KEY_CHILDREN: u64 = 1 << 61;
const KEY_VFORK: u64 = 1 << 60;
/// The threads of a stopped process wait on `KEY_STOPPED | pid` for SIGCONT.
const KEY_STOPPED: u64 = 1 << 57;
/// A thread's private key (pause, sigsuspend).
const KEY_THREAD: u64 = 1 << 58;

impl Process {
    pub fn new(name: &str, ppid: u32, mm: Mm, files: FdTable, fs: FsContext) -> Arc<Process> {
        let p = Arc::new(Process {
            pid: NEXT_PID.fetch_add(1, Ordering::Relaxed),
            ppid: AtomicU32::new(ppid),
            name: Mutex::new(name.into()),
            mm: Mutex::new(mm),
            files: Mutex::new(files),
            fs: Mutex::new(fs),
            status: IrqMutex::new(None),
            children: Mutex::new(Vec::new()),
            vfork_done: AtomicBool::new(false),
            signals: IrqMutex::new(Signals::default()),
            ids: Mutex::new(Ids::default()),
            threads: IrqMutex::new(Vec::new()),
            dying: IrqMutex::new(None),
            job: IrqMutex::new(JobState::default()),
            real_timer: IrqMutex::new(RealTimer::default()),
            cpu: CpuTicks::default(),
            attrs: IrqMutex::new([0, 1, 0, 0]),
            nice: core::sync::atomic::AtomicI32::new(0),
            attention: AtomicBool::new(false),
            pgid: AtomicU32::new(0),
            sid: AtomicU32::new(0),
        });
        // The first process leads its own group and session; fork overrides this with
        // the parent's.
        p.pgid.store(p.pid, Ordering::Relaxed);
        p.sid.store(p.pid, Ordering::Relaxed);
        PROCS.lock().insert(p.pid, Arc::downgrade(&p));
        p
    }

    /// Blocks the calling thread until `ready()`, or until a signal can be delivered or
    /// the process is dying (EINTR). Key 0 means nothing but a signal wakes it (pause).
    pub fn wait_interruptible(
        &self,
        key: u64,
        ready: &mut dyn FnMut() -> bool,
    ) -> Result<(), Errno> {
        let keys: &[u64] = if key == 0 { &[] } else { &[key] };
        self.wait_any_interruptible(keys, None, ready).map(|_| ())
    }

    /// Blocks until `ready()`, woken by any of `keys` or at `deadline_ns` (uptime);
    /// EINTR for a signal or death. Ok(false) means the deadline passed.
    pub fn wait_any_interruptible(
        &self,
        keys: &[u64],
        deadline_ns: Option<u64>,
        ready: &mut dyn FnMut() -> bool,
    ) -> Result<bool, Errno> {
        let me = current_thread();
        // A thread waits on many keys here; its own key is the one signals kick.
        let own = me.as_ref().map_or(0, |t| KEY_THREAD | u64::from(t.tid));
        if let Some(t) = &me {
            t.waiting_on.store(own, Ordering::Release);
        }
        if let Some(d) = deadline_ns {
            waits::wake_at(d, own);
        }
        let mut all: Vec<u64> = keys.to_vec();
        all.push(own);
        let (mut done, mut late) = (false, false);
        waits::wait_any(&all, &mut || {
            done = ready();
            late = !done && deadline_ns.is_some_and(|d| crate::time::uptime_ns() >= d);
            done || late
                || with_signals(self, |s| s.has_deliverable())
                || self.dying.lock().is_some()
                || me
                    .as_ref()
                    .is_some_and(|t| t.exit_requested.load(Ordering::Acquire))
        });
        if let Some(t) = &me {
            t.waiting_on.store(0, Ordering::Release);
        }
        if done {
            Ok(true)
        } else if late {
            Ok(false)
        } else {
            Err(Errno::EINTR)
        }
    }

    /// Wakes every thread of the process that is blocked (to notice a signal or death).
    fn kick_threads(&self) {
        let keys: Vec<u64> = self
            .threads
            .lock()
            .iter()
            .map(|t| t.waiting_on.load(Ordering::Acquire))
            .collect();
        for key in keys.into_iter().filter(|k| *k != 0) {
            waits::wake(key);
        }
    }

    /// Posts a signal and wakes the process's threads if they are blocked.
    pub fn post_signal(&self, info: SigInfo) {
        // Init is unkillable by signals it neither handles nor blocks (Linux's
        // SIGNAL_UNKILLABLE): `kill -9 1` and a stray SIGTERM do nothing, while busybox
        // init's blocked-and-sigtimedwait'ed SIGUSR2 still arrives. (Faults are posted
        // directly and do reach it.) A `writ.exec` program is not such an init.
        if self.pid == 1 && info.signo != 0 && INIT_PROTECTED.load(Ordering::Relaxed) {
            let blocked = self
                .threads
                .lock()
                .first()
                .is_some_and(|t| t.blocks(info.signo));
            let a = self.signals.lock().actions[(info.signo - 1) as usize];
            if !blocked && (a.handler == signal::SIG_DFL || a.handler == signal::SIG_IGN) {
                return;
            }
        }
        // SIGCONT resumes a stopped process when it is sent, whatever its disposition
        // (Linux's prepare_signal); SIGKILL must reach a stopped process too.
        if info.signo == signal::SIGCONT || info.signo == signal::SIGKILL {
            self.resume(info.signo == signal::SIGCONT);
        }
        // Whether a signal is ignored at generation depends on the mask of the thread it
        // is sent to (Linux: the group leader's, with the mask a sigtimedwait will
        // restore): put that mask in the scratch field `post` reads.
        let mask = self
            .threads
            .lock()
            .first()
            .map_or(0, |t| t.effective_mask());
        let posted = {
            let mut s = self.signals.lock();
            s.blocked = mask;
            s.post(info)
        };
        if posted {
            self.attention.store(true, Ordering::Release);
            self.kick_threads();
        }
    }

    /// Posts a signal to thread `t` of this process alone (tgkill), in its private
    /// pending set with its mask deciding whether it is ignored, and wakes it.
    pub fn post_thread_signal(&self, t: &Thread, info: SigInfo) {
        if info.signo == signal::SIGCONT || info.signo == signal::SIGKILL {
            self.resume(info.signo == signal::SIGCONT);
        }
        let mask = t.effective_mask();
        let posted = t.with_signals(|s| {
            // The mask `post` consults, as post_signal does: with what a
            // sigtimedwait will put back.
            let real = s.blocked;
            s.blocked = mask;
            let p = s.post_thread(info);
            s.blocked = real;
            p
        });
        if posted {
            self.attention.store(true, Ordering::Release);
            let key = t.waiting_on.load(Ordering::Acquire);
            if key != 0 {
                waits::wake(key);
            }
        }
    }

    /// The live thread with id `tid`, if it is one of this process's.
    pub fn thread(&self, tid: u32) -> Option<Arc<Thread>> {
        self.threads.lock().iter().find(|t| t.tid == tid).cloned()
    }

    /// Starts the end of the whole process (exit_group, fatal signal).
    pub fn begin_dying(&self, status: ExitStatus) {
        let mut d = self.dying.lock();
        if d.is_none() {
            *d = Some(status);
        }
        drop(d);
        self.attention.store(true, Ordering::Release);
        self.kick_threads();
    }

    /// The signal mask of the process's first thread (what /proc shows as SigBlk).
    pub fn main_thread_mask(&self) -> u64 {
        self.threads.lock().first().map_or(0, |t| t.blocked())
    }

    pub fn ppid(&self) -> u32 {
        self.ppid.load(Ordering::Acquire)
    }

    pub fn pgid(&self) -> u32 {
        self.pgid.load(Ordering::Acquire)
    }

    pub fn sid(&self) -> u32 {
        self.sid.load(Ordering::Acquire)
    }

    /// setpgid(pid, pgid) called by `self`, with Linux's rules.
    pub fn setpgid(self: &Arc<Self>, pid: i32, pgid: i32) -> Result<(), Errno> {
        if pgid < 0 {
            return Err(Errno::EINVAL);
        }
        let target = if pid == 0 || pid as u32 == self.pid {
            self.clone()
        } else {
            let kids = self.children.lock();
            kids.iter()
                .find(|c| c.pid == pid as u32 && !c.has_exited())
                .cloned()
                .ok_or(Errno::ESRCH)?
        };
        if target.sid() != self.sid() || target.sid() == target.pid {
            return Err(Errno::EPERM);
        }
        let pgid = if pgid == 0 { target.pid } else { pgid as u32 };
        if pgid != target.pid
            && !all()
                .iter()
                .any(|p| p.pgid() == pgid && p.sid() == self.sid())
        {
            return Err(Errno::EPERM);
        }
        target.pgid.store(pgid, Ordering::Release);
        Ok(())
    }

    /// setsid: a new session and group led by the caller, unless it leads a group.
    pub fn setsid(&self) -> Result<u32, Errno> {
        if all().iter().any(|p| p.pgid() == self.pid) {
            return Err(Errno::EPERM);
        }
        self.sid.store(self.pid, Ordering::Release);
        self.pgid.store(self.pid, Ordering::Release);
        Ok(self.pid)
    }

    /// Whether `pid` is a child not yet reaped (for /proc, which must not show a
    /// process after its parent's wait4).
    pub fn has_child(&self, pid: u32) -> bool {
        self.children.lock().iter().any(|c| c.pid == pid)
    }

    /// The ids of the process's live threads (for /proc/PID/task).
    pub fn tids(&self) -> Vec<u32> {
        self.threads.lock().iter().map(|t| t.tid).collect()
    }

    pub fn is_dying(&self) -> bool {
        self.dying.lock().is_some()
    }

    /// Exited and not yet reaped (a zombie): signals to it are accepted and dropped.
    pub fn has_exited(&self) -> bool {
        self.status.lock().is_some()
    }

    pub fn name(&self) -> String {
        self.name.lock().clone()
    }

    /// Blocks until the process has exited and returns how (for the kernel's own
    /// waits, like `writ.exec`; Linux parents use [`Process::wait_child`]).
    pub fn wait(&self) -> ExitStatus {
        let key = KEY_CHILDREN | u64::from(self.ppid());
        waits::wait(key, &mut || self.status.lock().is_some());
        self.status.lock().expect("set before wake")
    }

    /// Stops the process (a stop signal's default action, taken by the calling thread):
    /// tells the parent, makes the other threads park at their next return to user
    /// mode, and parks the caller until SIGCONT or SIGKILL.
    pub fn stop(&self, sig: u32) {
        let first = {
            let mut j = self.job.lock();
            let first = !j.stopped;
            j.stopped = true;
            if first {
                j.report = Some(JobEvent::Stopped(sig as u8));
            }
            first
        };
        if first {
            self.notify_parent(signal::CLD_STOPPED, sig as i32);
        }
        self.attention.store(true, Ordering::Release);
        self.kick_threads();
        self.park();
    }

    /// Waits while the process is stopped (SIGKILL or death end the wait too).
    fn park(&self) {
        let key = KEY_STOPPED | u64::from(self.pid);
        waits::wait(key, &mut || {
            !self.job.lock().stopped
                || self.dying.lock().is_some()
                || self.signals.lock().pending & signal::bit(signal::SIGKILL) != 0
        });
    }

    /// SIGCONT (`report`) or SIGKILL: a stopped process runs again.
    fn resume(&self, report: bool) {
        let was = {
            let mut j = self.job.lock();
            let was = j.stopped;
            j.stopped = false;
            if was && report {
                j.report = Some(JobEvent::Continued);
            }
            was
        };
        if was {
            waits::wake(KEY_STOPPED | u64::from(self.pid));
            if report {
                self.notify_parent(signal::CLD_CONTINUED, signal::SIGCONT as i32);
            }
        }
    }

    /// SIGCHLD for a stop or continue (unless the parent asked for SA_NOCLDSTOP), and
    /// a wake-up for a parent in wait4.
    fn notify_parent(&self, code: i32, status: i32) {
        if let Some(parent) = by_pid(self.ppid()) {
            let nocldstop = parent.signals.lock().actions[(signal::SIGCHLD - 1) as usize].flags
                & signal::SA_NOCLDSTOP
                != 0;
            if !nocldstop {
                parent.post_signal(SigInfo {
                    signo: signal::SIGCHLD,
                    code,
                    pid: self.pid,
                    status,
                    ..SigInfo::default()
                });
            }
        }
        waits::wake(KEY_CHILDREN | u64::from(self.ppid()));
    }

    /// wait4's core: reap an ended child matching `pid` (-1 or <= 0: any).
    pub fn wait_child(
        &self,
        pid: i32,
        how: linux_personality::syscall::WaitFor,
    ) -> Result<Option<(u32, u32)>, Errno> {
        let (nohang, reap) = (how.nohang, how.reap);
        let my_group = self.pgid();
        let matches = |c: &Arc<Process>| match pid {
            -1 => true,
            0 => c.pgid() == my_group,
            p if p < -1 => c.pgid() == p.unsigned_abs(),
            p => c.pid == p as u32,
        };
        let mut found = None;
        let mut any = false;
        let key = KEY_CHILDREN | u64::from(self.pid);
        self.wait_interruptible(key, &mut || {
            let mut kids = self.children.lock();
            any = kids.iter().any(matches);
            // A stop or continue event, if asked for: reported once (unless WNOWAIT).
            for c in kids.iter().filter(|c| matches(c)) {
                let mut j = c.job.lock();
                let wanted = match j.report {
                    Some(JobEvent::Stopped(_)) => how.stopped && j.stopped,
                    Some(JobEvent::Continued) => how.continued,
                    None => false,
                };
                if wanted {
                    let ev = j.report.expect("matched");
                    if reap {
                        j.report = None;
                    }
                    found = Some((c.pid, ev.wait_status()));
                    return true;
                }
            }
            if let Some(i) = kids
                .iter()
                .position(|c| how.exited && matches(c) && c.status.lock().is_some())
            {
                let c = if reap {
                    let c = kids.remove(i);
                    // The reaped child's CPU time (and its reaped children's) is now
                    // the parent's children time.
                    let (cc, pc) = (&c.cpu, &self.cpu);
                    let user =
                        cc.user.load(Ordering::Relaxed) + cc.children_user.load(Ordering::Relaxed);
                    let sys =
                        cc.sys.load(Ordering::Relaxed) + cc.children_sys.load(Ordering::Relaxed);
                    pc.children_user.fetch_add(user, Ordering::Relaxed);
                    pc.children_sys.fetch_add(sys, Ordering::Relaxed);
                    c
                } else {
                    kids[i].clone()
                };
                let st = c.status.lock().expect("checked");
                found = Some((c.pid, st.wait_status()));
                return true;
            }
            !any || nohang
        })?;
        match found {
            Some(f) => Ok(Some(f)),
            None if !any => Err(Errno::ECHILD),
            None => Ok(None),
        }
    }

    /// The process's threads as (tid, scheduler thread id), for the debug console.
    pub fn thread_ids(&self) -> Vec<(u32, ThreadId)> {
        BY_THREAD
            .lock()
            .iter()
            .filter(|(_, t)| t.proc.pid == self.pid)
            .map(|(&id, t)| (t.tid, id))
            .collect()
    }

    fn release_vfork_parent(&self) {
        if !self.vfork_done.swap(true, Ordering::AcqRel) {
            waits::wake(KEY_VFORK | u64::from(self.pid));
        }
    }
}

impl Process {
    /// setitimer(ITIMER_REAL) / alarm: arms (`value_ns` > 0, repeating every
    /// `interval_ns` if non-zero) or disarms (0); returns the old (remaining, interval).
    pub fn set_real_timer(&self, value_ns: u64, interval_ns: u64) -> (u64, u64) {
        let now = crate::time::uptime_ns();
        let mut t = self.real_timer.lock();
        let old = (
            t.deadline_ns.map_or(0, |d| d.saturating_sub(now).max(1)),
            t.interval_ns,
        );
        t.gen += 1;
        if value_ns == 0 {
            t.deadline_ns = None;
            t.interval_ns = 0;
        } else {
            let d = now.saturating_add(value_ns);
            t.deadline_ns = Some(d);
            t.interval_ns = interval_ns;
            waits::at(
                d,
                waits::TimerAction::Alarm {
                    pid: self.pid,
                    gen: t.gen,
                },
            );
        }
        old
    }

    /// getitimer(ITIMER_REAL): (remaining, interval).
    pub fn real_timer(&self) -> (u64, u64) {
        let now = crate::time::uptime_ns();
        let t = self.real_timer.lock();
        (
            t.deadline_ns.map_or(0, |d| d.saturating_sub(now).max(1)),
            t.interval_ns,
        )
    }
}

/// The timer interrupt: a process's ITIMER_REAL came due. SIGALRM, and the next period
/// if it repeats (missed periods collapse into one signal, as a pending signal does).
pub fn fire_alarm(pid: u32, gen: u64, now_ns: u64) {
    let Some(p) = by_pid(pid) else { return };
    {
        let mut t = p.real_timer.lock();
        if t.gen != gen || t.deadline_ns.is_none() {
            return;
        }
        if t.interval_ns == 0 {
            t.deadline_ns = None;
        } else {
            let mut next = t.deadline_ns.unwrap_or(now_ns) + t.interval_ns;
            if next <= now_ns {
                next = now_ns + t.interval_ns;
            }
            t.deadline_ns = Some(next);
            waits::at(next, waits::TimerAction::Alarm { pid, gen });
        }
    }
    if !p.has_exited() {
        p.post_signal(SigInfo {
            signo: signal::SIGALRM,
            code: signal::SI_KERNEL,
            ..SigInfo::default()
        });
    }
}

/// Starts `proc`'s first thread at `rip` with stack `rsp`.
pub fn start(proc: &Arc<Process>, rip: u64, rsp: u64) -> ThreadId {
    let mut frame = user_frame(rip, rsp);
    frame.rax = 0;
    start_thread(
        proc,
        proc.pid,
        frame,
        FpuState::initial(),
        0,
        None,
        ThreadStart::default(),
    )
}

/// How a new thread starts beyond its registers: signal mask and alternate stack.
#[derive(Clone, Copy, Default)]
struct ThreadStart {
    blocked: u64,
    altstack: signal::AltStack,
}

fn start_thread(
    proc: &Arc<Process>,
    tid: u32,
    frame: TrapFrame,
    fpu: FpuState,
    fs_base: u64,
    clear_child_tid: Option<u64>,
    init: ThreadStart,
) -> ThreadId {
    let cr3 = proc.mm.lock().aspace.cr3();
    let thread = Arc::new(Thread {
        tid,
        proc: proc.clone(),
        clear_child_tid: Mutex::new(clear_child_tid),
        waiting_on: AtomicU64::new(0),
        exit_requested: AtomicBool::new(false),
        altstack: Mutex::new(init.altstack),
        mask: IrqMutex::new((init.blocked, None)),
        private: IrqMutex::new(signal::ThreadPending::default()),
    });
    proc.threads.lock().push(thread.clone());
    // The table entry must exist before the thread can make its first system call,
    // so nothing may preempt between the spawn and the insert.
    x86_64::instructions::interrupts::without_interrupts(|| {
        let id = sched::spawn_user_with("user", cr3, fpu, fs_base, move || enter_user_frame(frame));
        sched::set_nice(id, proc.nice.load(Ordering::Relaxed));
        BY_THREAD.lock().insert(id, thread);
        id
    })
}

/// A new thread in the caller's process (clone with CLONE_THREAD): it shares memory,
/// files, fs context and signal handlers, and starts with the caller's registers,
/// rax = 0, `stack` as its stack and `tls` as %fs.
pub fn spawn_thread(proc: &Arc<Process>, frame: &TrapFrame, args: &ForkArgs) -> Result<u32, Errno> {
    if proc.is_dying() {
        return Err(Errno::EAGAIN);
    }
    let tid = NEXT_PID.fetch_add(1, Ordering::Relaxed);
    if let Some(at) = args.parent_tid {
        crate::uaccess::copy_to_user(&mut proc.mm.lock().aspace, at, &tid.to_le_bytes())
            .map_err(|_| Errno::EFAULT)?;
    }
    if let Some(at) = args.child_settid {
        let _ = crate::uaccess::copy_to_user(&mut proc.mm.lock().aspace, at, &tid.to_le_bytes());
    }
    let mut cf = TrapFrame { ..*frame };
    cf.rax = 0;
    if args.stack != 0 {
        cf.rsp = args.stack;
    }
    let mut fpu = FpuState::initial();
    fpu.save();
    let fs_base = args.tls.unwrap_or_else(crate::arch::cpu::fs_base);
    // A new thread inherits the creator's mask; its alternate stack starts disabled.
    let init = ThreadStart {
        blocked: current_thread().map_or(0, |t| t.blocked()),
        altstack: signal::AltStack::default(),
    };
    start_thread(proc, tid, cf, fpu, fs_base, args.child_cleartid, init);
    Ok(tid)
}

/// setpriority: the process's nice value, for each of its threads' scheduling.
pub fn set_nice(p: &Process, nice: i32) {
    p.nice.store(nice, Ordering::Relaxed);
    let ids: Vec<ThreadId> = BY_THREAD
        .lock()
        .iter()
        .filter(|(_, t)| core::ptr::eq(&*t.proc, p))
        .map(|(&id, _)| id)
        .collect();
    for id in ids {
        sched::set_nice(id, nice);
    }
}

/// The running user thread (None for kernel threads).
pub fn current_thread() -> Option<Arc<Thread>> {
    BY_THREAD.lock().get(&sched::current()).cloned()
}

/// The process of the running thread (None for kernel threads).
pub fn current() -> Option<Arc<Process>> {
    current_thread().map(|t| t.proc.clone())
}

/// The process of the running thread, *without* taking a reference: for the system
/// call and trap entry paths. Those may end the thread (exit, a fatal signal), and a
/// thread that ends never returns to its entry frame, so a reference held there would
/// never be given back and would keep the whole process (its address space, its
/// table entry) alive forever. Borrowing is sound because the thread's own
/// `BY_THREAD` entry holds the process: only the thread itself removes that entry, in
/// [`exit_thread`], which never returns to the caller.
pub fn current_unowned() -> Option<core::mem::ManuallyDrop<Arc<Process>>> {
    let ptr = BY_THREAD
        .lock()
        .get(&sched::current())
        .map(|t| Arc::as_ptr(&t.proc))?;
    // SAFETY: `ptr` comes from a live Arc that outlives every use of the result (see
    // above); ManuallyDrop keeps this Arc from ever decrementing the count it did not
    // increment, and clones of it are ordinary balanced references.
    Some(core::mem::ManuallyDrop::new(unsafe { Arc::from_raw(ptr) }))
}

/// fork: the child gets a copy of the address space, a CSpace whose every cap is a
/// CDT child of the parent's, the parent's registers with rax = 0 (and `stack` as
/// its rsp when non-zero), FPU state and %fs.
pub fn fork(parent: &Arc<Process>, frame: &TrapFrame, args: ForkArgs) -> Result<u32, Errno> {
    let mm = {
        let mut pm = parent.mm.lock();
        Mm {
            aspace: pm.aspace.fork_copy().map_err(|_| Errno::ENOMEM)?,
            brk_start: pm.brk_start,
            brk: pm.brk,
            mmap_top: pm.mmap_top,
        }
    };
    let files = crate::capsys::with(|sys| parent.files.lock().fork(sys))?;
    let fsctx = parent.fs.lock().clone();
    let child = Process::new(&parent.name(), parent.pid, mm, files, fsctx);
    *child.ids.lock() = parent.ids.lock().clone();
    // no_new_privs is inherited; the death signal and subreaper flag are not.
    child.attrs.lock()[2] = parent.attrs.lock()[2];
    child
        .nice
        .store(parent.nice.load(Ordering::Relaxed), Ordering::Relaxed);
    child.pgid.store(parent.pgid(), Ordering::Release);
    child.sid.store(parent.sid(), Ordering::Release);
    {
        let ps = parent.signals.lock();
        let mut cs = child.signals.lock();
        cs.actions = ps.actions;
    }
    let mut cf = TrapFrame { ..*frame };
    cf.rax = 0;
    if args.stack != 0 {
        cf.rsp = args.stack;
    }
    let pid = child.pid;
    // CLONE_PARENT_SETTID / CLONE_CHILD_SETTID: the tid (= pid, one thread each) is
    // written before either runs; a bad address is EFAULT for the whole fork in Linux
    // only for the parent's copy, the child's is silently skipped.
    if let Some(at) = args.parent_tid {
        if crate::uaccess::copy_to_user(&mut parent.mm.lock().aspace, at, &pid.to_le_bytes())
            .is_err()
        {
            crate::capsys::with(|sys| child.files.lock().destroy(sys));
            return Err(Errno::EFAULT);
        }
    }
    if let Some(at) = args.child_settid {
        let _ = crate::uaccess::copy_to_user(&mut child.mm.lock().aspace, at, &pid.to_le_bytes());
    }
    let mut fpu = FpuState::initial();
    fpu.save();
    parent.children.lock().push(child.clone());
    let fs_base = args.tls.unwrap_or_else(crate::arch::cpu::fs_base);
    // The child's one thread is a copy of the caller: mask and alternate stack too.
    let init = current_thread().map_or_else(ThreadStart::default, |me| ThreadStart {
        blocked: me.blocked(),
        altstack: *me.altstack.lock(),
    });
    start_thread(
        &child,
        child.pid,
        cf,
        fpu,
        fs_base,
        args.child_cleartid,
        init,
    );
    if args.vfork {
        let key = KEY_VFORK | u64::from(pid);
        waits::wait(key, &mut || child.vfork_done.load(Ordering::Acquire));
    }
    Ok(pid)
}

/// execve's kernel half: `loaded` replaces the caller's memory, close-on-exec fds go,
/// and `frame` is rewritten so the system call "returns" to the new entry point.
/// Other threads must be gone first ([`kill_other_threads`]).
pub fn exec_current(
    proc: &Arc<Process>,
    loaded: crate::exec::Loaded,
    frame: &mut TrapFrame,
    name: &str,
) {
    crate::capsys::with(|sys| proc.files.lock().close_on_exec(sys));
    let new_cr3 = loaded.mm.aspace.cr3();
    let old = {
        let mut mm = proc.mm.lock();
        core::mem::replace(&mut *mm, loaded.mm)
    };
    sched::set_current_cr3(new_cr3);
    drop(old);
    *proc.name.lock() = name.into();
    proc.signals.lock().reset_for_exec();
    if let Some(t) = current_thread() {
        *t.altstack.lock() = signal::AltStack::default();
    }
    *frame = user_frame(loaded.entry, loaded.rsp);
    crate::arch::cpu::set_fs_base(0);
    FpuState::initial().restore();
    proc.release_vfork_parent();
}

/// Ends the calling thread's process with `status` (exit_group, a fatal signal):
/// every other thread leaves at its next kernel exit. Never returns.
pub fn exit_current(status: ExitStatus) -> ! {
    if let Some(p) = current() {
        p.begin_dying(status);
    }
    exit_thread(status)
}

/// Ends the calling thread. The last thread out ends the process: with the status of
/// a pending group exit, else with `status`. Never returns.
pub fn exit_thread(status: ExitStatus) -> ! {
    let Some(t) = BY_THREAD.lock().remove(&sched::current()) else {
        sched::exit_current()
    };
    let p = t.proc.clone();
    if let Some(at) = t.clear_child_tid.lock().take() {
        // The thread library waits on this word: clear it and wake a futex waiter.
        let _ = crate::uaccess::copy_to_user(&mut p.mm.lock().aspace, at, &0u32.to_le_bytes());
        crate::futex::wake_address(&p, at, 1);
    }
    let last = {
        let mut ts = p.threads.lock();
        ts.retain(|x| !Arc::ptr_eq(x, &t));
        ts.is_empty()
    };
    drop(t);
    if last {
        let status = p.dying.lock().unwrap_or(status);
        end_process(&p, status);
    }
    drop(p);
    sched::exit_current()
}

/// The last thread has gone: close the CSpace, tell the parent, leave a zombie.
fn end_process(p: &Arc<Process>, status: ExitStatus) {
    log::debug!("process: pid {} ({}) ended: {:?}", p.pid, p.name(), status);
    // Closing every descriptor is deleting the CSpace: each file's last capability
    // goes, and its object is finalized.
    crate::capsys::with(|sys| p.files.lock().destroy(sys));
    linux_personality::locks::release_process(p.pid);
    // Orphans go to the nearest ancestor that is a child subreaper (prctl), else to
    // init (pid 1), which reaps them; already-dead ones are announced to the adopter
    // at once. Without an init (a `writ.exec` program) they are forgotten.
    let orphans: Vec<Arc<Process>> = core::mem::take(&mut *p.children.lock());
    // prctl(PR_SET_PDEATHSIG): the children asked to hear of their parent's end.
    for c in orphans.iter().filter(|c| !c.has_exited()) {
        let sig = c.attrs.lock()[0] as u32;
        if sig != 0 {
            c.post_signal(SigInfo {
                signo: sig,
                code: signal::SI_USER,
                pid: p.pid,
                ..SigInfo::default()
            });
        }
    }
    if let Some(adopter) = adopter_for(p) {
        let mut zombies = false;
        for c in &orphans {
            c.ppid.store(adopter.pid, Ordering::Release);
            zombies |= c.has_exited();
        }
        adopter.children.lock().extend(orphans);
        if zombies {
            adopter.post_signal(SigInfo {
                signo: signal::SIGCHLD,
                code: signal::CLD_EXITED,
                ..SigInfo::default()
            });
            waits::wake(KEY_CHILDREN | u64::from(adopter.pid));
        }
    }
    *p.status.lock() = Some(status);
    crate::pidfd::notify(p.pid);
    p.release_vfork_parent();
    if let Some(parent) = by_pid(p.ppid()) {
        let (code, st) = match status {
            ExitStatus::Exited(c) => (signal::CLD_EXITED, i32::from(c)),
            ExitStatus::Signaled(s) => (signal::CLD_KILLED, i32::from(s)),
        };
        parent.post_signal(SigInfo {
            signo: signal::SIGCHLD,
            code,
            pid: p.pid,
            status: st,
            ..SigInfo::default()
        });
    }
    waits::wake(KEY_CHILDREN | u64::from(p.ppid()));
}

/// Who adopts the children of `p`: its nearest living ancestor marked as a child
/// subreaper, else init.
fn adopter_for(p: &Process) -> Option<Arc<Process>> {
    let mut up = p.ppid();
    // Bounded: pids form a tree, but a racing exit could make a stale chain loop.
    for _ in 0..64 {
        let Some(a) = by_pid(up) else { break };
        if a.attrs.lock()[3] != 0 && !a.has_exited() {
            return Some(a);
        }
        if a.pid == 1 {
            break;
        }
        up = a.ppid();
    }
    by_pid(1).filter(|i| i.pid != p.pid && !i.has_exited())
}

/// On every return to user mode: a thread of a dying process (or one an execve in
/// another thread asked to go) leaves instead.
pub fn leave_if_dying(p: &Process) {
    let dying = *p.dying.lock();
    if let Some(st) = dying {
        exit_thread(st);
    }
    if current_thread().is_some_and(|t| t.exit_requested.load(Ordering::Acquire)) {
        exit_thread(ExitStatus::Exited(0));
    }
}

/// The system call return's check: nothing to do unless `attention` is set; then
/// leave if dying, deliver signals, and keep the flag only while something remains
/// (a blocked-but-pending signal keeps it, so unblocking is noticed).
pub fn before_user_return(p: &Arc<Process>, frame: &mut TrapFrame) {
    if !p.attention.swap(false, Ordering::AcqRel) {
        return;
    }
    if p.is_dying() || current_thread().is_some_and(|t| t.exit_requested.load(Ordering::Acquire)) {
        // The flag is the process's: the other threads must still see it.
        p.attention.store(true, Ordering::Release);
        leave_if_dying(p);
    }
    if p.job.lock().stopped {
        // Another thread stopped the process: this one parks too (the flag stays
        // set for the rest).
        p.attention.store(true, Ordering::Release);
        p.park();
        leave_if_dying(p);
    }
    crate::signals::deliver(p, frame);
    let again = p.signals.lock().pending != 0
        || p.threads.lock().iter().any(|t| t.has_private_pending())
        || p.is_dying()
        || p.threads
            .lock()
            .iter()
            .any(|t| t.exit_requested.load(Ordering::Acquire));
    if again {
        p.attention.store(true, Ordering::Release);
    }
}

/// execve in a multi-threaded process: every other thread exits first, as Linux's
/// de_thread does. Fails with EINTR if the process is dying meanwhile.
pub fn kill_other_threads(p: &Arc<Process>) -> Result<(), Errno> {
    let me = current_thread().ok_or(Errno::EINVAL)?;
    loop {
        let others: Vec<Arc<Thread>> = p
            .threads
            .lock()
            .iter()
            .filter(|t| !Arc::ptr_eq(t, &me))
            .cloned()
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        if p.is_dying() {
            return Err(Errno::EINTR);
        }
        p.attention.store(true, Ordering::Release);
        for t in &others {
            t.exit_requested.store(true, Ordering::Release);
            let key = t.waiting_on.load(Ordering::Acquire);
            if key != 0 {
                waits::wake(key);
            }
        }
        sched::yield_now();
    }
}

fn user_frame(rip: u64, rsp: u64) -> TrapFrame {
    TrapFrame {
        r15: 0,
        r14: 0,
        r13: 0,
        r12: 0,
        r11: 0,
        r10: 0,
        r9: 0,
        r8: 0,
        rbp: 0,
        rdi: 0,
        rsi: 0,
        rdx: 0,
        rcx: 0,
        rbx: 0,
        rax: 0,
        vector: 0,
        error: 0,
        rip,
        cs: 0x23,
        rflags: 0x202,
        rsp,
        ss: 0x1b,
    }
}

/// Leaves the kernel for user mode with the registers in `frame`.
fn enter_user_frame(frame: TrapFrame) -> ! {
    x86_64::instructions::interrupts::disable();
    // SAFETY: the frame is a complete user-mode TrapFrame (CS/SS are the user
    // selectors); writ_trap_return pops it and irets to ring 3, swapping GS because
    // CS.RPL = 3. This kernel stack is never returned to.
    unsafe {
        core::arch::asm!(
            "mov rsp, {0}",
            "jmp writ_trap_return",
            in(reg) &frame as *const TrapFrame,
            options(noreturn)
        )
    }
}

/// A fresh CSpace whose fds 0, 1 and 2 are the console (one open file description,
/// shared by all three as on Linux after init opens /dev/console).
pub fn console_files() -> Result<FdTable, linux_personality::abi::Errno> {
    use linux_personality::file::{flags, OpenFile};
    crate::capsys::with(|sys| {
        let mut t = FdTable::new(sys, crate::capsys::root_budget())?;
        crate::net::grant(sys, &t);
        let f = OpenFile::new(crate::console::file(), flags::O_RDWR);
        let fd = t.install(sys, f, OpenFile::rights_for(flags::O_RDWR), false)?;
        t.dup(sys, i64::from(fd), 1, false)?;
        t.dup(sys, i64::from(fd), 2, false)?;
        Ok(t)
    })
}
