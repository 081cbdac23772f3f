//! System call entry from user mode: the kernel side of the Linux personality.
//!
//! `writ_syscall` finds the calling process and hands the call to
//! `linux_personality::syscall::dispatch`, which decodes and checks it and reaches the
//! caller's capabilities and memory only through the [`Kernel`] implementation here.
//! What the personality does not know answers ENOSYS, logged once per number.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use caps::CapSystem;
use linux_personality::abi::Errno;
use linux_personality::fd::FdTable;
use linux_personality::syscall::{self as linux, Kernel, Prot as LinuxProt};
use linux_personality::uaccess::UserMemory;
use spin::Mutex;

use crate::arch::idt::TrapFrame;
use crate::mm::vm::{Prot, USER_TOP};
use crate::mm::PAGE_SIZE;
use crate::process::{self, ExitStatus, Process};
use crate::uaccess::{copy_from_user, copy_to_user};

static LOGGED: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());

#[no_mangle]
extern "C" fn writ_syscall(frame: &mut TrapFrame) -> u64 {
    // Where the call returns to; if that is still so at the end, sysret may return.
    let (rip0, rsp0, flags0) = (frame.rip, frame.rsp, frame.rflags);
    x86_64::instructions::interrupts::enable();
    // Not a counted reference: exit never returns here to give one back.
    let Some(proc) = process::current_unowned() else {
        panic!("syscall from a thread without a process");
    };
    let nr = frame.rax;
    let args = [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ];
    let mut ctx = Ctx {
        proc: &proc,
        mem: ProcMem(&proc),
        fs_guard: None,
        frame,
    };
    let r = linux::dispatch(&mut ctx, nr, args);
    if r == Err(Errno::ENOSYS) && LOGGED.lock().insert(nr) {
        let name = usize::try_from(nr)
            .ok()
            .and_then(linux_personality::abi::nr::syscall_name)
            .unwrap_or("unknown");
        log::warn!(
            "syscall: unimplemented {} ({}) from pid {} ({}): ENOSYS",
            nr,
            name,
            proc.pid,
            proc.name()
        );
    }
    if r == Err(Errno::EINTR) && linux::restartable(nr) && crate::signals::restarts(&proc) {
        // SA_RESTART: run the same call again after the handler (back over `syscall`).
        ctx.frame.rax = nr;
        ctx.frame.rip -= 2;
    } else {
        // A successful execve rewrote the frame for the new program, whose rax starts 0;
        // rt_sigreturn returns the restored rax.
        ctx.frame.rax = linux::to_rax(r);
    }
    let Ctx {
        frame, fs_guard, ..
    } = ctx;
    // The FsContext lock must not be held into signal delivery (which may exit).
    drop(fs_guard);
    process::before_user_return(&proc, frame);
    x86_64::instructions::interrupts::disable();
    // sysret needs a canonical user RIP (a non-canonical one would fault in ring 0).
    let same = frame.rip == rip0 && frame.rsp == rsp0 && frame.rflags == flags0;
    u64::from(!(same && frame.rip < crate::mm::vm::USER_TOP))
}

/// The calling process's memory, reached only through page-table-checked copies.
pub struct ProcMem<'a>(pub &'a Process);

impl UserMemory for ProcMem<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        copy_from_user(&mut self.0.mm.lock().aspace, addr, buf).map_err(|_| Errno::EFAULT)
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        copy_to_user(&mut self.0.mm.lock().aspace, addr, data).map_err(|_| Errno::EFAULT)
    }
}

struct Ctx<'a> {
    proc: &'a Arc<Process>,
    mem: ProcMem<'a>,
    /// The process's FsContext, locked on first use for the rest of the call.
    fs_guard: Option<spin::MutexGuard<'a, linux_personality::fs::FsContext>>,
    /// The caller's saved user registers (fork copies them, execve replaces them).
    frame: &'a mut TrapFrame,
}

fn prot(p: LinuxProt) -> Prot {
    Prot {
        read: p.read,
        write: p.write,
        exec: p.exec,
    }
}

impl Ctx<'_> {
    /// Whether the caller (credentials `me`) may send `sig` to `p`: always itself,
    /// otherwise Linux's credential rule (`sig::may_signal`).
    fn may_signal(&self, me: &linux_personality::syscall::Ids, p: &Process, sig: u32) -> bool {
        core::ptr::eq(p, &**self.proc)
            || linux_personality::syscall::may_signal(
                me,
                &p.ids.lock(),
                sig,
                p.sid() == self.proc.sid(),
            )
    }
}

impl Kernel for Ctx<'_> {
    fn mem(&mut self) -> &mut dyn UserMemory {
        &mut self.mem
    }

    fn with_caps<R>(&mut self, f: impl FnOnce(&mut CapSystem, &mut FdTable) -> R) -> R {
        let mut files = self.proc.files.lock();
        let (pid, nr) = (self.proc.pid, self.frame.rax);
        crate::capsys::with(|sys| {
            // Names the caller for the debug console's trace (one load when off).
            crate::debugcon::trace::enter(pid, nr);
            f(sys, &mut files)
        })
    }

    fn wait(&mut self, key: u64, ready: &mut dyn FnMut() -> bool) -> Result<(), Errno> {
        self.proc.wait_interruptible(key, ready)
    }

    fn pid(&self) -> u32 {
        self.proc.pid
    }

    fn tid(&self) -> u32 {
        process::current_thread().map_or(self.proc.pid, |t| t.tid)
    }

    fn exit_group(&mut self, code: u8) -> ! {
        process::exit_current(ExitStatus::Exited(code))
    }

    fn exit_thread(&mut self, code: u8) -> ! {
        process::exit_thread(ExitStatus::Exited(code))
    }

    fn spawn_thread(&mut self, args: linux::ForkArgs) -> Result<u32, Errno> {
        process::spawn_thread(self.proc, self.frame, &args)
    }

    fn futex_wait(&mut self, uaddr: u64, val: u32, timeout_ns: Option<u64>) -> Result<(), Errno> {
        let deadline = timeout_ns.map(|t| crate::time::uptime_ns().saturating_add(t));
        crate::futex::wait(self.proc, uaddr, val, deadline)
    }

    fn futex_wake(&mut self, uaddr: u64, n: u32) -> Result<u32, Errno> {
        crate::futex::wake(self.proc, uaddr, n)
    }

    fn brk(&mut self, want: u64) -> u64 {
        let mut mm = self.proc.mm.lock();
        let cur = mm.brk;
        // Linux returns the current break for any request it cannot satisfy.
        if want < mm.brk_start || want > mm.brk_start + (1 << 30) {
            return cur;
        }
        let old_end = cur.next_multiple_of(PAGE_SIZE);
        let new_end = want.next_multiple_of(PAGE_SIZE);
        let rw = Prot::RW;
        let mut va = old_end;
        while va < new_end {
            if mm.aspace.map_lazy(va, rw).is_err() {
                let mut u = old_end;
                while u < va {
                    mm.aspace.unmap(u);
                    u += PAGE_SIZE;
                }
                return cur;
            }
            va += PAGE_SIZE;
        }
        let mut va = new_end;
        while va < old_end {
            mm.aspace.unmap(va);
            va += PAGE_SIZE;
        }
        mm.brk = want;
        want
    }

    fn mmap_anon(
        &mut self,
        addr: u64,
        len: u64,
        p: LinuxProt,
        fixed: bool,
        init: &[u8],
    ) -> Result<u64, Errno> {
        let mut mm = self.proc.mm.lock();
        let start = if fixed {
            let mut va = addr;
            while va < addr + len {
                mm.aspace.unmap(va);
                va += PAGE_SIZE;
            }
            addr
        } else {
            let top = mm.mmap_top.checked_sub(len).ok_or(Errno::ENOMEM)?;
            if top < mm.brk_start + (1 << 30) {
                return Err(Errno::ENOMEM);
            }
            top
        };
        let mut va = start;
        while va < start + len {
            // Pages holding initial bytes get their frame now; the rest come on touch.
            let off = (va - start) as usize;
            let page = if off < init.len() {
                mm.aspace.map_zeroed(va, prot(p)).map(|phys| {
                    let n = (init.len() - off).min(PAGE_SIZE as usize);
                    // SAFETY: a fresh frame of this address space, through the direct map;
                    // the bytes go in whatever the page's protection.
                    unsafe {
                        core::ptr::copy_nonoverlapping(
                            init[off..].as_ptr(),
                            crate::mm::phys_to_virt(phys) as *mut u8,
                            n,
                        )
                    };
                })
            } else {
                mm.aspace.map_lazy(va, prot(p))
            };
            if page.is_err() {
                let mut u = start;
                while u < va {
                    mm.aspace.unmap(u);
                    u += PAGE_SIZE;
                }
                return Err(Errno::ENOMEM);
            }
            va += PAGE_SIZE;
        }
        if !fixed {
            mm.mmap_top = start;
        }
        Ok(start)
    }

    fn munmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        let mut mm = self.proc.mm.lock();
        let mut va = addr;
        while va < addr + len && va < USER_TOP {
            mm.aspace.unmap(va);
            va += PAGE_SIZE;
        }
        Ok(())
    }

    fn mprotect(&mut self, addr: u64, len: u64, p: LinuxProt) -> Result<(), Errno> {
        let mut mm = self.proc.mm.lock();
        // Linux fails with ENOMEM when part of the range is unmapped, changing nothing.
        let mut va = addr;
        while va < addr + len {
            if !mm.aspace.is_mapped(va) {
                return Err(Errno::ENOMEM);
            }
            va += PAGE_SIZE;
        }
        // PROT_NONE needs VMAs (present but inaccessible); until they exist such a page
        // stays readable, which a program notices only by not faulting on it.
        let mut va = addr;
        while va < addr + len {
            mm.aspace.protect(va, prot(p));
            va += PAGE_SIZE;
        }
        Ok(())
    }

    fn set_fs_base(&mut self, base: u64) {
        crate::arch::cpu::set_fs_base(base);
    }

    fn fs_base(&self) -> u64 {
        crate::arch::cpu::fs_base()
    }

    fn ppid(&self) -> u32 {
        self.proc.ppid()
    }

    fn fork_process(&mut self, args: linux::ForkArgs) -> Result<u32, Errno> {
        let child = process::fork(self.proc, self.frame, args)?;
        crate::vfs::procsrc::record_fork(self.proc.pid, child);
        Ok(child)
    }

    fn execve(&mut self, path: &[u8], argv: Vec<Vec<u8>>, envp: Vec<Vec<u8>>) -> Result<(), Errno> {
        let path = core::str::from_utf8(path).map_err(|_| Errno::ENOENT)?;
        let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        let envp: Vec<&[u8]> = envp.iter().map(Vec::as_slice).collect();
        let ctx = self.fs().clone();
        let creds = self.creds();
        let loaded = crate::exec::load(&ctx, &creds, path, &argv, &envp)?;
        process::kill_other_threads(self.proc)?;
        let exe = linux_personality::fs::proc::exe_path(&ctx, &self.creds(), &loaded.program);
        let shown: Vec<Vec<u8>> = loaded
            .script_argv
            .clone()
            .unwrap_or_else(|| argv.iter().map(|a| a.to_vec()).collect());
        process::exec_current(self.proc, loaded, self.frame, crate::exec::comm(path));
        let shown: Vec<&[u8]> = shown.iter().map(Vec::as_slice).collect();
        crate::vfs::procsrc::record_exec(self.proc.pid, exe, &shown, &envp);
        Ok(())
    }

    fn wait_child(&mut self, pid: i32, how: linux::WaitFor) -> Result<Option<(u32, u32)>, Errno> {
        self.proc.wait_child(pid, how)
    }

    fn mremap(
        &mut self,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
    ) -> Result<u64, Errno> {
        let mut mm = self.proc.mm.lock();
        let mut va = old;
        while va < old + old_len {
            if !mm.aspace.is_mapped(va) {
                return Err(Errno::EFAULT);
            }
            va += PAGE_SIZE;
        }
        let prot = mm.aspace.prot_of(old).unwrap_or(Prot::RW);
        if fixed.is_none() && new_len <= old_len {
            let mut va = old + new_len;
            while va < old + old_len {
                mm.aspace.unmap(va);
                va += PAGE_SIZE;
            }
            return Ok(old);
        }
        // Grow in place when the pages after the mapping are free.
        let grow_here = fixed.is_none() && {
            let mut va = old + old_len;
            let end = old.checked_add(new_len).filter(|e| *e <= USER_TOP);
            end.is_some_and(|end| {
                while va < end {
                    if mm.aspace.is_mapped(va) {
                        return false;
                    }
                    va += PAGE_SIZE;
                }
                true
            })
        };
        if grow_here {
            let mut va = old + old_len;
            while va < old + new_len {
                mm.aspace.map_lazy(va, prot).map_err(|_| Errno::ENOMEM)?;
                va += PAGE_SIZE;
            }
            return Ok(old);
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        let dest = match fixed {
            Some(d) => {
                let mut va = d;
                while va < d + new_len {
                    mm.aspace.unmap(va);
                    va += PAGE_SIZE;
                }
                d
            }
            None => {
                let top = mm.mmap_top.checked_sub(new_len).ok_or(Errno::ENOMEM)?;
                mm.mmap_top = top;
                top
            }
        };
        let keep = old_len.min(new_len);
        let mut off = 0;
        while off < keep {
            mm.aspace
                .move_page(old + off, dest + off)
                .map_err(|_| Errno::ENOMEM)?;
            off += PAGE_SIZE;
        }
        while off < old_len {
            mm.aspace.unmap(old + off);
            off += PAGE_SIZE;
        }
        let mut off = keep;
        while off < new_len {
            mm.aspace
                .map_lazy(dest + off, prot)
                .map_err(|_| Errno::ENOMEM)?;
            off += PAGE_SIZE;
        }
        Ok(dest)
    }

    fn signals<R>(&mut self, f: impl FnOnce(&mut linux_personality::signal::Signals) -> R) -> R {
        let (r, pending) = process::with_signals(self.proc, |s| (f(s), s.all_pending()));
        // A new mask may have unblocked a pending signal; a new action may matter too.
        if pending != 0 {
            self.proc
                .attention
                .store(true, core::sync::atomic::Ordering::Release);
        }
        r
    }

    fn send_signal(
        &mut self,
        pid: i32,
        info: linux_personality::signal::SigInfo,
    ) -> Result<(), Errno> {
        let targets: Vec<Arc<Process>> = match pid {
            0 => {
                let g = self.proc.pgid();
                process::all()
                    .into_iter()
                    .filter(|p| p.pgid() == g)
                    .collect()
            }
            // Everyone but init and the caller (Linux's kill_something_info).
            -1 => process::all()
                .into_iter()
                .filter(|p| p.pid > 1 && p.pid != self.proc.pid)
                .collect(),
            p if p < -1 => {
                let g = p.unsigned_abs();
                process::all()
                    .into_iter()
                    .filter(|p| p.pgid() == g)
                    .collect()
            }
            p => process::by_pid(p as u32).into_iter().collect(),
        };
        // A zombie still exists for kill (Linux answers 0); posting to it is harmless.
        if targets.is_empty() {
            return Err(Errno::ESRCH);
        }
        // Permission per target, and Linux's answer for several: a group succeeds if
        // any member was signalled, else fails with EPERM; -1 ignores EPERM.
        let me = self.proc.ids.lock().clone();
        let mut sent = false;
        for p in &targets {
            if !self.may_signal(&me, p, info.signo) {
                continue;
            }
            sent = true;
            if info.signo != 0 && !p.has_exited() {
                p.post_signal(info);
            }
        }
        if sent || pid == -1 {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    fn prio_targets(
        &mut self,
        which: u32,
        who: u32,
    ) -> Vec<linux_personality::syscall::PrioTarget> {
        let me = self.proc;
        // Read before the filter, which locks each process's ids (this one's too).
        let (my_pgid, my_ruid) = (me.pgid(), me.ids.lock().ruid);
        let pick: &dyn Fn(&Process) -> bool = match (which, who) {
            (0, 0) => &|p| core::ptr::eq(p, &**me),
            (0, pid) => &move |p| p.pid == pid,
            (1, 0) => &move |p| p.pgid() == my_pgid,
            (1, g) => &move |p| p.pgid() == g,
            (2, 0) => &move |p| p.ids.lock().ruid == my_ruid,
            (_, uid) => &move |p| p.ids.lock().ruid == uid,
        };
        process::all()
            .into_iter()
            .filter(|p| !p.has_exited() && pick(p))
            .map(|p| {
                let ids = p.ids.lock().clone();
                linux_personality::syscall::PrioTarget {
                    pid: p.pid,
                    ruid: ids.ruid,
                    euid: ids.euid,
                    nice: p.nice.load(core::sync::atomic::Ordering::Relaxed),
                    nice_limit: p.files.lock().rlimits[13].0,
                }
            })
            .collect()
    }

    fn set_nice(&mut self, pid: u32, nice: i32) {
        if let Some(p) = process::by_pid(pid) {
            process::set_nice(&p, nice);
        }
    }

    fn pidfd(&mut self, pid: u32) -> Result<Arc<dyn linux_personality::file::FileOps>, Errno> {
        crate::pidfd::open(pid)
    }

    fn send_thread_signal(
        &mut self,
        tgid: Option<u32>,
        tid: u32,
        info: linux_personality::signal::SigInfo,
    ) -> Result<(), Errno> {
        // tkill names a thread of any process; its id is unique system-wide.
        let found = match tgid {
            Some(g) => process::by_pid(g).and_then(|p| Some((p.thread(tid)?, p))),
            None => process::all()
                .into_iter()
                .find_map(|p| Some((p.thread(tid)?, p))),
        };
        let (t, p) = found.ok_or(Errno::ESRCH)?;
        let me = self.proc.ids.lock().clone();
        if !self.may_signal(&me, &p, info.signo) {
            return Err(Errno::EPERM);
        }
        if info.signo != 0 && !p.has_exited() {
            p.post_thread_signal(&t, info);
        }
        Ok(())
    }

    fn sigreturn(&mut self) -> Result<u64, Errno> {
        crate::signals::sigreturn(self.proc, self.frame)
    }

    fn fs(&mut self) -> &mut linux_personality::fs::FsContext {
        self.fs_guard.get_or_insert_with(|| self.proc.fs.lock())
    }

    fn clock_now(&self, realtime: bool) -> (i64, i64) {
        if realtime {
            crate::time::realtime()
        } else {
            crate::time::monotonic()
        }
    }

    fn set_realtime(&mut self, s: i64, ns: i64) {
        crate::time::set_realtime(s, ns);
    }

    fn sleep_ns(&mut self, ns: u64) -> Result<(), u64> {
        let deadline = crate::time::uptime_ns().saturating_add(ns);
        loop {
            let now = crate::time::uptime_ns();
            if now >= deadline {
                return Ok(());
            }
            if process::with_signals(self.proc, |s| s.has_deliverable()) {
                return Err(deadline - now);
            }
            // Tick-granular sleeps; a signal is noticed at the next tick at the latest.
            crate::sched::sleep_ms(((deadline - now) / 1_000_000).clamp(1, 10));
        }
    }

    fn fill_random(&mut self, buf: &mut [u8]) {
        crate::random::fill(buf);
    }

    fn yield_now(&mut self) {
        crate::sched::yield_now();
    }

    fn hostname(&self) -> Vec<u8> {
        let h = crate::HOSTNAME.lock().clone();
        if h.is_empty() {
            b"(none)".to_vec()
        } else {
            h
        }
    }

    fn altstack(
        &mut self,
        set: Option<linux_personality::signal::AltStack>,
    ) -> Result<(linux_personality::signal::AltStack, u64), Errno> {
        let t = process::current_thread().ok_or(Errno::EINVAL)?;
        let mut a = t.altstack.lock();
        let old = *a;
        if let Some(new) = set {
            *a = new;
        }
        Ok((old, self.frame.rsp))
    }

    fn power_off(&mut self, restart: bool) -> Result<(), Errno> {
        log::info!(
            "power: {} by pid {} ({})",
            if restart {
                "restart (QEMU runs with -no-reboot: the machine ends)"
            } else {
                "power off"
            },
            self.proc.pid,
            self.proc.name()
        );
        crate::println!("writ: poweroff status=0");
        crate::power::exit(crate::power::Exit::Success)
    }

    fn kernel_log(&mut self, clear: bool) -> (Vec<u8>, usize) {
        (crate::logger::buffer(clear), crate::logger::BUFFER_SIZE)
    }

    fn cpu_times(&self, who: linux::CpuWho) -> (u64, u64) {
        use core::sync::atomic::Ordering::Relaxed;
        let c = &self.proc.cpu;
        let (u, s) = match who {
            linux::CpuWho::Process => (c.user.load(Relaxed), c.sys.load(Relaxed)),
            linux::CpuWho::Children => {
                (c.children_user.load(Relaxed), c.children_sys.load(Relaxed))
            }
        };
        let tick = 1_000_000_000 / crate::time::HZ;
        (u * tick, s * tick)
    }

    fn comm(&self) -> Vec<u8> {
        self.proc.name().into_bytes()
    }

    fn set_comm(&mut self, name: &[u8]) {
        *self.proc.name.lock() = String::from_utf8_lossy(name).into_owned();
    }

    fn task_attr(&mut self, attr: linux::TaskAttr, set: Option<u64>) -> u64 {
        let i = match attr {
            linux::TaskAttr::ParentDeathSignal => 0,
            linux::TaskAttr::Dumpable => 1,
            linux::TaskAttr::NoNewPrivs => 2,
            linux::TaskAttr::ChildSubreaper => 3,
        };
        let mut a = self.proc.attrs.lock();
        let old = a[i];
        if let Some(v) = set {
            a[i] = v;
        }
        old
    }

    fn real_timer(&mut self, set: Option<(u64, u64)>) -> Result<(u64, u64), Errno> {
        Ok(match set {
            Some((value, interval)) => self.proc.set_real_timer(value, interval),
            None => self.proc.real_timer(),
        })
    }

    fn set_hostname(&mut self, name: &[u8]) {
        *crate::HOSTNAME.lock() = name.to_vec();
    }

    fn sysinfo(&self) -> linux_personality::syscall::misc::SysInfo {
        let f = crate::mm::frames::stats();
        linux_personality::syscall::misc::SysInfo {
            uptime_s: crate::time::uptime_ns() / 1_000_000_000,
            total_ram: f.total * PAGE_SIZE,
            free_ram: f.free * PAGE_SIZE,
            procs: process::all().len().min(u16::MAX as usize) as u16,
        }
    }

    fn wait_any(
        &mut self,
        keys: &[u64],
        deadline_ns: Option<u64>,
        ready: &mut dyn FnMut() -> bool,
    ) -> Result<bool, Errno> {
        // Deadlines come in monotonic ns, which is the kernel's uptime.
        self.proc.wait_any_interruptible(keys, deadline_ns, ready)
    }

    fn pgrp(&mut self, op: linux::PgrpOp) -> Result<u32, Errno> {
        let find = |pid: i32| -> Result<Arc<Process>, Errno> {
            if pid == 0 {
                Ok(self.proc.clone())
            } else {
                process::by_pid(pid as u32)
                    .filter(|p| !p.has_exited())
                    .ok_or(Errno::ESRCH)
            }
        };
        match op {
            linux::PgrpOp::SetPgid(pid, pgid) => self.proc.setpgid(pid, pgid).map(|_| 0),
            linux::PgrpOp::GetPgid(pid) => find(pid).map(|p| p.pgid()),
            linux::PgrpOp::SetSid => self.proc.setsid(),
            linux::PgrpOp::GetSid(pid) => find(pid).map(|p| p.sid()),
        }
    }

    fn ids(&mut self) -> linux::Ids {
        self.proc.ids.lock().clone()
    }

    fn set_ids(&mut self, ids: linux::Ids) {
        *self.proc.ids.lock() = ids;
    }

    fn net_kick(&mut self) {
        crate::net::kick();
    }

    fn creds(&self) -> linux_personality::fs::Creds {
        self.proc.ids.lock().creds()
    }

    fn proc_source(&self) -> Arc<dyn linux_personality::fs::proc::ProcSource> {
        Arc::new(crate::vfs::procsrc::KernelProc)
    }

    fn set_clear_child_tid(&mut self, addr: u64) {
        if let Some(t) = process::current_thread() {
            *t.clear_child_tid.lock() = (addr != 0).then_some(addr);
        }
    }
}
