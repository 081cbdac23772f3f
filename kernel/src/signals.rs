//! Signal delivery: on every return to user mode (after a system call, and after an
//! interrupt or fault taken in user mode) the kernel takes the next deliverable signal
//! from the process's state and either ends the process (default action) or pushes
//! the frame `linux_personality::signal::build_frame` lays out and enters the handler.

use alloc::sync::Arc;

use linux_personality::abi::Errno;
use linux_personality::signal::{self, build_frame, Delivery, Regs, SigInfo};

use crate::arch::cpu::FpuState;
use crate::arch::idt::TrapFrame;
use crate::process::{self, ExitStatus, Process};
use crate::uaccess::{copy_from_user, copy_to_user};

pub fn regs_of(f: &TrapFrame) -> Regs {
    Regs {
        r8: f.r8,
        r9: f.r9,
        r10: f.r10,
        r11: f.r11,
        r12: f.r12,
        r13: f.r13,
        r14: f.r14,
        r15: f.r15,
        rdi: f.rdi,
        rsi: f.rsi,
        rbp: f.rbp,
        rbx: f.rbx,
        rdx: f.rdx,
        rax: f.rax,
        rcx: f.rcx,
        rsp: f.rsp,
        rip: f.rip,
        rflags: f.rflags,
    }
}

pub fn set_regs(f: &mut TrapFrame, r: &Regs) {
    f.r8 = r.r8;
    f.r9 = r.r9;
    f.r10 = r.r10;
    f.r11 = r.r11;
    f.r12 = r.r12;
    f.r13 = r.r13;
    f.r14 = r.r14;
    f.r15 = r.r15;
    f.rdi = r.rdi;
    f.rsi = r.rsi;
    f.rbp = r.rbp;
    f.rbx = r.rbx;
    f.rdx = r.rdx;
    f.rax = r.rax;
    f.rcx = r.rcx;
    f.rsp = r.rsp;
    f.rip = r.rip;
    f.rflags = r.rflags;
    f.cs = 0x23;
    f.ss = 0x1b;
}

/// Whether the next deliverable signal would restart an interrupted system call
/// (SA_RESTART on its handler).
pub fn restarts(proc: &Process) -> bool {
    process::with_signals(proc, |s| restarts_with(s))
}

fn restarts_with(s: &signal::Signals) -> bool {
    // The thread's own signals go first (Signals::take).
    let own = s.thread.set & !s.blocked;
    let ready = if own != 0 {
        own
    } else {
        s.pending & !s.blocked
    };
    if ready == 0 {
        return false;
    }
    let sig = ready.trailing_zeros() + 1;
    let a = s.actions[(sig - 1) as usize];
    if a.handler == signal::SIG_DFL {
        // No handler runs: a stop (or a SIGCONT) leaves the call to start again when
        // the process continues, as Linux restarts calls no handler interrupted.
        return matches!(
            signal::default_action(sig),
            signal::DefaultAction::Stop | signal::DefaultAction::Continue
        );
    }
    a.handler > signal::SIG_IGN && a.flags & signal::SA_RESTART != 0
}

/// Delivers every deliverable signal before returning to user mode with `frame`.
pub fn deliver(proc: &Arc<Process>, frame: &mut TrapFrame) {
    loop {
        let d = process::with_signals(proc, |s| s.take());
        match d {
            None => {
                process::with_signals(proc, |s| s.restore_saved_mask());
                return;
            }
            Some(Delivery::Kill { sig, .. }) => {
                process::exit_current(ExitStatus::Signaled(sig as u8))
            }
            // Stopped until SIGCONT; then on with the remaining signals.
            Some(Delivery::Stop { sig }) => {
                proc.stop(sig);
                process::leave_if_dying(proc);
                continue;
            }
            Some(Delivery::Handler {
                sig,
                action,
                info,
                old_mask,
            }) => {
                if push_frame(proc, frame, sig, &action, &info, old_mask).is_err() {
                    // No room for the frame: Linux kills with SIGSEGV.
                    process::exit_current(ExitStatus::Signaled(signal::SIGSEGV as u8));
                }
                return;
            }
        }
    }
}

fn push_frame(
    proc: &Process,
    frame: &mut TrapFrame,
    sig: u32,
    action: &signal::Action,
    info: &SigInfo,
    old_mask: u64,
) -> Result<(), Errno> {
    let me = process::current_thread();
    let alt = me
        .as_ref()
        .map_or_else(Default::default, |t| *t.altstack.lock());
    let f = build_frame(&regs_of(frame), sig, action, info, old_mask, &alt)?;
    // SS_AUTODISARM: the stack is off while the handler runs on it (sigreturn puts
    // back what the frame's uc_stack says).
    if alt.flags & signal::SS_AUTODISARM != 0 && f.sp >= alt.sp && f.sp < alt.sp + alt.size {
        if let Some(t) = &me {
            *t.altstack.lock() = signal::AltStack::default();
        }
    }
    let mut fpu = FpuState::initial();
    fpu.save();
    {
        let mut mm = proc.mm.lock();
        copy_to_user(&mut mm.aspace, f.fpstate_at, fpu.bytes()).map_err(|_| Errno::EFAULT)?;
        copy_to_user(&mut mm.aspace, f.sp, &f.bytes).map_err(|_| Errno::EFAULT)?;
    }
    set_regs(frame, &f.entry);
    // The handler starts with a clean FPU control state, as on Linux.
    FpuState::initial().restore();
    Ok(())
}

/// rt_sigreturn: the handler's `ret` popped the restorer address, so the ucontext is
/// at the user's rsp.
pub fn sigreturn(proc: &Process, frame: &mut TrapFrame) -> Result<u64, Errno> {
    let mut uc = [0u8; 304];
    let mut fp = FpuState::initial();
    let r = {
        let mut mm = proc.mm.lock();
        copy_from_user(&mut mm.aspace, frame.rsp, &mut uc).map_err(|_| Errno::EFAULT)?;
        let r = signal::parse_ucontext(&uc)?;
        if r.fpstate != 0 {
            copy_from_user(&mut mm.aspace, r.fpstate, fp.bytes_mut()).map_err(|_| Errno::EFAULT)?;
            fp.sanitize();
        }
        r
    };
    // Linux's restore_altstack: the uc_stack comes back unless the thread is still on
    // its (armed) alternate stack.
    if let (Some(ss), Some(t)) = (r.altstack, process::current_thread()) {
        let mut cur = t.altstack.lock();
        if !cur.contains(frame.rsp) {
            *cur = ss;
        }
    }
    set_regs(frame, &r.regs);
    fp.restore();
    process::with_signals(proc, |s| s.blocked = r.mask);
    Ok(r.regs.rax)
}
