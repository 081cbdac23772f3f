//! Signals as Linux delivers them: per-process actions, the calling thread's blocked
//! mask and private pending set (signals sent to one thread: tgkill, faults) beside
//! the process's shared one, default actions, and the exact `rt_sigframe` a handler runs on, which
//! `rt_sigreturn` reads back. The kernel decides *when* to deliver (on the way back to
//! user mode); everything about *what* is delivered is here, host-tested.

use alloc::collections::BTreeMap;

use crate::abi::Errno;

pub const NSIG: u32 = 64;
pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGABRT: u32 = 6;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGUSR1: u32 = 10;
pub const SIGSEGV: u32 = 11;
pub const SIGUSR2: u32 = 12;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGTERM: u32 = 15;
pub const SIGCHLD: u32 = 17;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGURG: u32 = 23;
pub const SIGXCPU: u32 = 24;
pub const SIGXFSZ: u32 = 25;
pub const SIGWINCH: u32 = 28;
pub const SIGSYS: u32 = 31;

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

pub const SA_NOCLDSTOP: u64 = 1;
pub const SA_NOCLDWAIT: u64 = 2;
pub const SA_SIGINFO: u64 = 4;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// si_code values.
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// The job-control stop signals.
pub const STOP_SIGNALS: u64 = bit(SIGSTOP) | bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU);

pub const fn bit(sig: u32) -> u64 {
    1u64 << (sig - 1)
}

/// Signals that can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = bit(SIGKILL) | bit(SIGSTOP);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    CoreDump,
    Ignore,
    Stop,
    Continue,
}

pub fn default_action(sig: u32) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => DefaultAction::CoreDump,
        _ => DefaultAction::Terminate,
    }
}

/// `struct sigaction` as rt_sigaction passes it (kernel layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Action {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

impl Action {
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0..8].copy_from_slice(&self.handler.to_le_bytes());
        b[8..16].copy_from_slice(&self.flags.to_le_bytes());
        b[16..24].copy_from_slice(&self.restorer.to_le_bytes());
        b[24..32].copy_from_slice(&self.mask.to_le_bytes());
        b
    }

    pub fn from_bytes(b: &[u8; 32]) -> Action {
        let w = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
        Action {
            handler: w(0),
            flags: w(8),
            restorer: w(16),
            mask: w(24),
        }
    }
}

/// What a signal carries (the parts of siginfo Writ fills).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SigInfo {
    pub signo: u32,
    pub code: i32,
    pub pid: u32,
    pub uid: u32,
    /// Fault address (SIGSEGV/SIGBUS) or child status (SIGCHLD).
    pub addr: u64,
    pub status: i32,
}

impl SigInfo {
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&(self.signo as i32).to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        match self.signo {
            SIGSEGV | SIGBUS | SIGILL | SIGFPE => {
                b[16..24].copy_from_slice(&self.addr.to_le_bytes())
            }
            _ => {
                b[16..20].copy_from_slice(&(self.pid as i32).to_le_bytes());
                b[20..24].copy_from_slice(&self.uid.to_le_bytes());
                if self.signo == SIGCHLD {
                    b[24..28].copy_from_slice(&self.status.to_le_bytes());
                }
            }
        }
        b
    }
}

/// Signals pending for one thread only (tgkill, a fault): Linux's per-task `pending`
/// beside the group's `shared_pending`.
#[derive(Clone, Debug, Default)]
pub struct ThreadPending {
    pub set: u64,
    pub info: BTreeMap<u32, SigInfo>,
}

/// A process's signal state: actions and the shared pending set, with the calling
/// thread's mask and private pending set swapped in by the kernel for each use.
#[derive(Clone, Debug)]
pub struct Signals {
    pub actions: [Action; NSIG as usize],
    pub blocked: u64,
    /// Pending for the whole process (kill): any thread not blocking it takes it.
    pub pending: u64,
    pub info: [SigInfo; NSIG as usize],
    /// The calling thread's private pending set (scratch, like `blocked`).
    pub thread: ThreadPending,
    /// The mask to restore after rt_sigsuspend/ppoll/pselect's temporary one: the
    /// handler's frame records it, so sigreturn brings it back.
    pub saved_mask: Option<u64>,
}

impl Default for Signals {
    fn default() -> Self {
        Signals {
            actions: [Action::default(); NSIG as usize],
            blocked: 0,
            pending: 0,
            info: [SigInfo::default(); NSIG as usize],
            thread: ThreadPending::default(),
            saved_mask: None,
        }
    }
}

/// What the kernel should do with the next deliverable signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Run the handler with this action (already applied: mask, SA_RESETHAND).
    Handler {
        sig: u32,
        action: Action,
        info: SigInfo,
        old_mask: u64,
    },
    /// End the process (Terminate or CoreDump).
    Kill { sig: u32, core: bool },
    /// Stop the whole process (job control) until SIGCONT or SIGKILL.
    Stop { sig: u32 },
}

pub fn valid(sig: u32) -> bool {
    (1..=NSIG).contains(&sig)
}

impl Signals {
    /// Marks `sig` pending unless it is ignored (an ignored signal is discarded at
    /// generation, as Linux does). Returns whether it is now pending.
    pub fn post(&mut self, info: SigInfo) -> bool {
        if !self.accepts(info.signo) {
            return false;
        }
        let sig = info.signo;
        if self.pending & bit(sig) == 0 {
            self.info[(sig - 1) as usize] = info;
        }
        self.pending |= bit(sig);
        true
    }

    /// [`post`](Self::post) for the calling thread only (its private set).
    pub fn post_thread(&mut self, info: SigInfo) -> bool {
        if !self.accepts(info.signo) {
            return false;
        }
        let sig = info.signo;
        if self.thread.set & bit(sig) == 0 {
            self.thread.info.insert(sig, info);
        }
        self.thread.set |= bit(sig);
        true
    }

    /// Generation's checks: a valid signal that is not discarded as ignored. SIGCONT
    /// and the stop signals cancel each other's pending instances here (Linux's
    /// prepare_signal), whatever their dispositions.
    fn accepts(&mut self, sig: u32) -> bool {
        if !valid(sig) {
            return false;
        }
        let a = self.actions[(sig - 1) as usize];
        let ignored = a.handler == SIG_IGN
            || (a.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore);
        if sig == SIGCONT {
            self.discard(STOP_SIGNALS);
        } else if STOP_SIGNALS & bit(sig) != 0 {
            self.discard(bit(SIGCONT));
        }
        // A blocked signal is never discarded, even if its action is to ignore it: the
        // process may be waiting for it with sigtimedwait (busybox init does, for
        // SIGCHLD), or may install a handler before unblocking it.
        !(ignored && sig != SIGKILL && sig != SIGSTOP && self.blocked & bit(sig) == 0)
    }

    /// Drops pending instances of `set`, shared and the thread's own.
    fn discard(&mut self, set: u64) {
        self.pending &= !set;
        self.thread.set &= !set;
        self.thread.info.retain(|&s, _| set & bit(s) == 0);
    }

    /// Everything pending for the calling thread: its own and the process's.
    pub fn all_pending(&self) -> u64 {
        self.pending | self.thread.set
    }

    /// A pending signal that is not blocked (what interrupts a wait).
    pub fn has_deliverable(&self) -> bool {
        self.all_pending() & !self.blocked != 0
    }

    /// Removes `sig` from the pending sets, the thread's own first (as Linux dequeues
    /// the task's private signals before the group's), and returns its information.
    fn dequeue(&mut self, sig: u32) -> SigInfo {
        if self.thread.set & bit(sig) != 0 {
            self.thread.set &= !bit(sig);
            return self.thread.info.remove(&sig).unwrap_or(SigInfo {
                signo: sig,
                ..SigInfo::default()
            });
        }
        self.pending &= !bit(sig);
        self.info[(sig - 1) as usize]
    }

    /// Takes the lowest-numbered deliverable signal and decides its fate.
    pub fn take(&mut self) -> Option<Delivery> {
        loop {
            // The thread's own signals first, then the process's.
            let own = self.thread.set & !self.blocked;
            let ready = if own != 0 {
                own
            } else {
                self.pending & !self.blocked
            };
            if ready == 0 {
                return None;
            }
            let sig = ready.trailing_zeros() + 1;
            let info = self.dequeue(sig);
            let a = self.actions[(sig - 1) as usize];
            match a.handler {
                SIG_IGN => continue,
                SIG_DFL => match default_action(sig) {
                    DefaultAction::Ignore | DefaultAction::Continue => continue,
                    DefaultAction::Terminate => return Some(Delivery::Kill { sig, core: false }),
                    DefaultAction::CoreDump => return Some(Delivery::Kill { sig, core: true }),
                    DefaultAction::Stop => return Some(Delivery::Stop { sig }),
                },
                _ => {
                    let old_mask = self.saved_mask.take().unwrap_or(self.blocked);
                    let mut add = a.mask;
                    if a.flags & SA_NODEFER == 0 {
                        add |= bit(sig);
                    }
                    self.blocked = (self.blocked | add) & !UNBLOCKABLE;
                    if a.flags & SA_RESETHAND != 0 {
                        self.actions[(sig - 1) as usize] = Action::default();
                    }
                    return Some(Delivery::Handler {
                        sig,
                        action: a,
                        info,
                        old_mask,
                    });
                }
            }
        }
    }

    /// sigtimedwait's dequeue: the lowest pending signal of `set`, taken without being
    /// delivered.
    pub fn take_from(&mut self, set: u64) -> Option<SigInfo> {
        let own = self.thread.set & set;
        let ready = if own != 0 { own } else { self.pending & set };
        if ready == 0 {
            return None;
        }
        Some(self.dequeue(ready.trailing_zeros() + 1))
    }

    /// After delivery: a temporary mask no handler took over is put back now.
    pub fn restore_saved_mask(&mut self) {
        if let Some(m) = self.saved_mask.take() {
            self.blocked = m;
        }
    }

    /// rt_sigaction's core: the old action, after installing `new` if given.
    pub fn set_action(&mut self, sig: u32, new: Option<Action>) -> Result<Action, Errno> {
        if !valid(sig) {
            return Err(Errno::EINVAL);
        }
        let old = self.actions[(sig - 1) as usize];
        if let Some(mut a) = new {
            if sig == SIGKILL || sig == SIGSTOP {
                return Err(Errno::EINVAL);
            }
            a.mask &= !UNBLOCKABLE;
            self.actions[(sig - 1) as usize] = a;
            // Setting SIG_IGN (or a default of ignore) discards a pending instance.
            if a.handler == SIG_IGN
                || (a.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore)
            {
                self.discard(bit(sig));
            }
        }
        Ok(old)
    }

    /// execve: handled signals go back to the default; ignored ones stay ignored; the
    /// mask and pending set survive.
    pub fn reset_for_exec(&mut self) {
        for a in self.actions.iter_mut() {
            if a.handler != SIG_IGN {
                *a = Action::default();
            }
        }
    }
}

/// Registers as the handler's frame holds them (`struct sigcontext` order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Regs {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub rflags: u64,
}

const UC_OFFSET: u64 = 8;
const MCONTEXT_OFFSET: usize = 40;
const SIGMASK_OFFSET: usize = 296;
const UCONTEXT_SIZE: usize = 304;
const SIGINFO_SIZE: usize = 128;
pub const FRAME_SIZE: usize = 8 + UCONTEXT_SIZE + SIGINFO_SIZE;
pub const FPSTATE_SIZE: usize = 512;
const REDZONE: u64 = 128;
const UC_SIGCONTEXT_SS: u64 = 2;
const UC_STRICT_RESTORE_SS: u64 = 4;

/// A signal frame ready to copy to user memory, and the registers to enter with.
#[derive(Debug)]
pub struct Frame {
    /// Where the frame goes (the handler's initial rsp).
    pub sp: u64,
    pub bytes: alloc::vec::Vec<u8>,
    /// Where the FPU state goes (64-byte aligned, above the frame).
    pub fpstate_at: u64,
    pub entry: Regs,
}

/// sigaltstack's `ss_flags`.
pub const SS_ONSTACK: u32 = 1;
pub const SS_DISABLE: u32 = 2;
pub const SS_AUTODISARM: u32 = 1 << 31;
/// The smallest alternate stack Linux accepts (MINSIGSTKSZ).
pub const MINSIGSTKSZ: u64 = 2048;

/// A thread's alternate signal stack (sigaltstack). `flags` holds SS_DISABLE or
/// SS_AUTODISARM as set; SS_ONSTACK is computed from the stack pointer when reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AltStack {
    pub sp: u64,
    pub size: u64,
    pub flags: u32,
}

impl Default for AltStack {
    fn default() -> Self {
        AltStack {
            sp: 0,
            size: 0,
            flags: SS_DISABLE,
        }
    }
}

impl AltStack {
    pub fn enabled(&self) -> bool {
        self.flags & SS_DISABLE == 0
    }

    /// Whether `rsp` is on this stack (Linux's `on_sig_stack`).
    pub fn contains(&self, rsp: u64) -> bool {
        self.enabled() && rsp > self.sp && rsp - self.sp <= self.size
    }

    /// `stack_t` as the user sees it (24 bytes: sp, flags + padding, size), with
    /// SS_ONSTACK when `rsp` is on it, SS_DISABLE when off. sigaltstack's report adds
    /// SS_AUTODISARM (`with_autodisarm`); a signal frame's `uc_stack` does not, as on
    /// Linux, so the flag is gone after the handler returns.
    pub fn to_bytes(&self, rsp: u64, with_autodisarm: bool) -> [u8; 24] {
        let state = if self.contains(rsp) {
            SS_ONSTACK
        } else {
            self.flags & SS_DISABLE
        };
        let flags = if with_autodisarm {
            state | (self.flags & SS_AUTODISARM)
        } else {
            state
        };
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&self.sp.to_le_bytes());
        b[8..12].copy_from_slice(&flags.to_le_bytes());
        b[16..].copy_from_slice(&self.size.to_le_bytes());
        b
    }

    /// Decodes and checks a user `stack_t` as sigaltstack does: EINVAL for unknown
    /// flags, ENOMEM for an enabled stack smaller than MINSIGSTKSZ. A disabled stack
    /// reads back as zeros.
    pub fn from_bytes(b: &[u8; 24]) -> Result<AltStack, Errno> {
        let sp = u64::from_le_bytes(b[..8].try_into().unwrap());
        let flags = u32::from_le_bytes(b[8..12].try_into().unwrap());
        let size = u64::from_le_bytes(b[16..].try_into().unwrap());
        let mode = flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK {
            return Err(Errno::EINVAL);
        }
        if mode == SS_DISABLE {
            return Ok(AltStack::default());
        }
        if size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        }
        Ok(AltStack {
            sp,
            size,
            flags: flags & SS_AUTODISARM,
        })
    }
}

/// Lays out the `rt_sigframe` Linux builds for `d` below `regs.rsp` (skipping the red
/// zone), with the FPU state (`fxsave` image) above it; or, for an SA_ONSTACK handler
/// with an alternate stack the thread is not already on, at the top of that stack.
/// The ucontext's `uc_stack` records `alt` as it was.
pub fn build_frame(
    regs: &Regs,
    sig: u32,
    action: &Action,
    info: &SigInfo,
    old_mask: u64,
    alt: &AltStack,
) -> Result<Frame, Errno> {
    let switch = action.flags & SA_ONSTACK != 0 && alt.enabled() && !alt.contains(regs.rsp);
    let mut sp = if switch {
        alt.sp.checked_add(alt.size).ok_or(Errno::EFAULT)?
    } else {
        regs.rsp.checked_sub(REDZONE).ok_or(Errno::EFAULT)?
    };
    sp = sp.checked_sub(FPSTATE_SIZE as u64).ok_or(Errno::EFAULT)? & !63;
    let fpstate_at = sp;
    sp = (sp.checked_sub(FRAME_SIZE as u64).ok_or(Errno::EFAULT)? & !15) - 8;
    let mut b = alloc::vec![0u8; FRAME_SIZE];
    let put = |b: &mut [u8], at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    // pretcode: the handler's `ret` goes to the restorer (musl's __restore_rt).
    put(&mut b, 0, action.restorer);
    let uc = UC_OFFSET as usize;
    put(&mut b, uc, UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS);
    b[uc + 16..uc + 40].copy_from_slice(&alt.to_bytes(regs.rsp, false));
    let mc = uc + MCONTEXT_OFFSET;
    let words = [
        regs.r8,
        regs.r9,
        regs.r10,
        regs.r11,
        regs.r12,
        regs.r13,
        regs.r14,
        regs.r15,
        regs.rdi,
        regs.rsi,
        regs.rbp,
        regs.rbx,
        regs.rdx,
        regs.rax,
        regs.rcx,
        regs.rsp,
        regs.rip,
        regs.rflags,
    ];
    for (i, w) in words.iter().enumerate() {
        put(&mut b, mc + 8 * i, *w);
    }
    // cs, gs, fs, ss as four u16.
    let segs: u64 = 0x33 | (0x2b << 48);
    put(&mut b, mc + 8 * 18, segs);
    put(&mut b, mc + 8 * 19, 0); // err
    put(&mut b, mc + 8 * 20, 0); // trapno
    put(&mut b, mc + 8 * 21, old_mask); // oldmask
    put(
        &mut b,
        mc + 8 * 22,
        if matches!(sig, SIGSEGV | SIGBUS) {
            info.addr
        } else {
            0
        },
    ); // cr2
    put(&mut b, mc + 8 * 23, fpstate_at);
    put(&mut b, uc + SIGMASK_OFFSET, old_mask);
    b[uc + UCONTEXT_SIZE..uc + UCONTEXT_SIZE + SIGINFO_SIZE].copy_from_slice(&info.to_bytes());
    let info_at = sp + (uc + UCONTEXT_SIZE) as u64;
    let uc_at = sp + UC_OFFSET;
    let mut entry = *regs;
    entry.rip = action.handler;
    entry.rsp = sp;
    entry.rdi = u64::from(sig);
    entry.rsi = info_at;
    entry.rdx = uc_at;
    entry.rax = 0;
    // DF clear and TF clear on entry, as Linux does.
    entry.rflags &= !(0x400 | 0x100);
    Ok(Frame {
        sp,
        bytes: b,
        fpstate_at,
        entry,
    })
}

/// What rt_sigreturn restores: registers, the mask, and where the FPU state is.
#[derive(Debug, PartialEq, Eq)]
pub struct Restored {
    pub regs: Regs,
    pub mask: u64,
    pub fpstate: u64,
    /// The `uc_stack` the handler returns with (sigreturn reinstates it, as Linux's
    /// `restore_altstack` does; an invalid one is ignored).
    pub altstack: Option<AltStack>,
}

/// Reads back a ucontext (rt_sigreturn finds it at the user's rsp: the handler's
/// `ret` popped pretcode). `uc` is the UCONTEXT_SIZE bytes there.
pub fn parse_ucontext(uc: &[u8]) -> Result<Restored, Errno> {
    if uc.len() < UCONTEXT_SIZE {
        return Err(Errno::EFAULT);
    }
    let get = |at: usize| u64::from_le_bytes(uc[at..at + 8].try_into().unwrap());
    let mc = MCONTEXT_OFFSET;
    let w: [u64; 18] = core::array::from_fn(|i| get(mc + 8 * i));
    let regs = Regs {
        r8: w[0],
        r9: w[1],
        r10: w[2],
        r11: w[3],
        r12: w[4],
        r13: w[5],
        r14: w[6],
        r15: w[7],
        rdi: w[8],
        rsi: w[9],
        rbp: w[10],
        rbx: w[11],
        rdx: w[12],
        rax: w[13],
        rcx: w[14],
        rsp: w[15],
        rip: w[16],
        // User code may change only the arithmetic and direction flags (and AC, TF);
        // IF stays on and IOPL at 0.
        rflags: (w[17] & 0x0004_0dd5) | 0x202,
    };
    let ss: [u8; 24] = uc[16..40].try_into().unwrap();
    Ok(Restored {
        regs,
        mask: get(SIGMASK_OFFSET) & !UNBLOCKABLE,
        fpstate: get(mc + 8 * 23),
        altstack: AltStack::from_bytes(&ss).ok(),
    })
}

/// Size of the ucontext that rt_sigreturn reads.
pub const fn ucontext_size() -> usize {
    UCONTEXT_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handler(flags: u64) -> Action {
        Action {
            handler: 0x401000,
            flags: flags | SA_RESTORER,
            restorer: 0x402000,
            mask: bit(SIGUSR2),
        }
    }

    #[test]
    fn defaults_and_ignoring() {
        let mut s = Signals::default();
        assert!(
            !s.post(SigInfo {
                signo: SIGCHLD,
                ..Default::default()
            }),
            "SIGCHLD defaults to ignore"
        );
        assert!(s.post(SigInfo {
            signo: SIGTERM,
            ..Default::default()
        }));
        assert_eq!(
            s.take(),
            Some(Delivery::Kill {
                sig: SIGTERM,
                core: false
            })
        );
        assert!(s.post(SigInfo {
            signo: SIGSEGV,
            ..Default::default()
        }));
        assert_eq!(
            s.take(),
            Some(Delivery::Kill {
                sig: SIGSEGV,
                core: true
            })
        );
        s.set_action(
            SIGINT,
            Some(Action {
                handler: SIG_IGN,
                ..Default::default()
            }),
        )
        .unwrap();
        assert!(!s.post(SigInfo {
            signo: SIGINT,
            ..Default::default()
        }));
        assert_eq!(s.take(), None);
    }

    #[test]
    fn kill_and_stop_cannot_be_caught_or_blocked() {
        let mut s = Signals::default();
        assert_eq!(s.set_action(SIGKILL, Some(handler(0))), Err(Errno::EINVAL));
        assert_eq!(s.set_action(SIGSTOP, Some(handler(0))), Err(Errno::EINVAL));
        assert!(
            s.set_action(SIGKILL, None).is_ok(),
            "reading SIGKILL's action is fine"
        );
        assert_eq!(s.set_action(0, None), Err(Errno::EINVAL));
        assert_eq!(s.set_action(65, None), Err(Errno::EINVAL));
        let mut a = handler(0);
        a.mask = u64::MAX;
        s.set_action(SIGUSR1, Some(a)).unwrap();
        assert_eq!(s.actions[(SIGUSR1 - 1) as usize].mask & UNBLOCKABLE, 0);
    }

    #[test]
    fn blocked_signals_wait_and_handlers_mask() {
        let mut s = Signals::default();
        s.set_action(SIGUSR1, Some(handler(SA_RESETHAND))).unwrap();
        s.blocked = bit(SIGUSR1);
        assert!(s.post(SigInfo {
            signo: SIGUSR1,
            pid: 7,
            ..Default::default()
        }));
        assert!(!s.has_deliverable());
        assert_eq!(s.take(), None);
        s.blocked = 0;
        match s.take() {
            Some(Delivery::Handler {
                sig,
                old_mask,
                info,
                ..
            }) => {
                assert_eq!((sig, old_mask, info.pid), (SIGUSR1, 0, 7));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            s.blocked,
            bit(SIGUSR1) | bit(SIGUSR2),
            "own signal and sa_mask blocked"
        );
        assert_eq!(
            s.actions[(SIGUSR1 - 1) as usize],
            Action::default(),
            "SA_RESETHAND"
        );
    }

    #[test]
    fn frame_round_trips_through_sigreturn() {
        let regs = Regs {
            rax: 1,
            rbx: 2,
            rcx: 3,
            rdx: 4,
            rsi: 5,
            rdi: 6,
            rbp: 7,
            rsp: 0x7fff_0000_1008,
            rip: 0x40_1234,
            rflags: 0x246,
            r8: 8,
            r9: 9,
            r10: 10,
            r11: 11,
            r12: 12,
            r13: 13,
            r14: 14,
            r15: 15,
        };
        let info = SigInfo {
            signo: SIGUSR1,
            code: SI_USER,
            pid: 3,
            ..Default::default()
        };
        let f = build_frame(
            &regs,
            SIGUSR1,
            &handler(0),
            &info,
            0x1234,
            &AltStack::default(),
        )
        .unwrap();
        assert_eq!(f.sp % 16, 8, "entry rsp is as after a call");
        assert!(f.sp + FRAME_SIZE as u64 <= f.fpstate_at);
        assert_eq!(f.fpstate_at % 64, 0);
        assert!(f.fpstate_at + FPSTATE_SIZE as u64 <= regs.rsp - REDZONE);
        assert_eq!(f.entry.rip, 0x401000);
        assert_eq!(f.entry.rdi, u64::from(SIGUSR1));
        assert_eq!(f.entry.rsi, f.sp + 8 + 304);
        assert_eq!(f.entry.rdx, f.sp + 8);
        assert_eq!(&f.bytes[0..8], &0x402000u64.to_le_bytes());
        assert_eq!(
            i32::from_le_bytes(f.bytes[312..316].try_into().unwrap()),
            SIGUSR1 as i32
        );
        // The handler returns: rsp = sp + 8 points at the ucontext.
        let r = parse_ucontext(&f.bytes[8..8 + 304]).unwrap();
        assert_eq!(r.regs, regs);
        assert_eq!(r.mask, 0x1234);
        assert_eq!(r.fpstate, f.fpstate_at);
    }

    #[test]
    fn sigreturn_cannot_raise_privilege() {
        let mut uc = [0u8; 304];
        uc[40 + 8 * 17..40 + 8 * 18].copy_from_slice(&u64::MAX.to_le_bytes());
        uc[296..304].copy_from_slice(&u64::MAX.to_le_bytes());
        let r = parse_ucontext(&uc).unwrap();
        assert_eq!(r.regs.rflags & 0x3000, 0, "IOPL stays 0");
        assert_eq!(r.regs.rflags & 0x200, 0x200, "IF stays on");
        assert_eq!(r.mask & UNBLOCKABLE, 0);
        assert_eq!(parse_ucontext(&uc[..100]), Err(Errno::EFAULT));
    }
}
