//! User processes: an address space, the memory-layout state Linux programs expect
//! (program break, mmap area), and an exit status that a waiter can collect.
//!
//! A process runs as one or more scheduler threads created with `sched::spawn_user`;
//! the thread-to-process table here is how a system call finds its caller.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Mutex;

use crate::arch::idt::TrapFrame;
use crate::mm::vm::AddressSpace;
use crate::sched::{self, ThreadId, WaitQueue};
use crate::sync::IrqMutex;
use linux_personality::fd::FdTable;

/// How a process ended, as wait4 reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(u8),
    Signaled(u8),
}

impl ExitStatus {
    /// The status word of wait4 (`WEXITSTATUS`/`WTERMSIG` encoding).
    #[allow(dead_code)] // wait4 (issue 5)
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
    pub name: String,
    pub mm: Mutex<Mm>,
    /// The CSpace: fds are capabilities in its fd CNode.
    pub files: Mutex<FdTable>,
    status: Mutex<Option<ExitStatus>>,
    exited: WaitQueue,
}

static NEXT_PID: AtomicU32 = AtomicU32::new(1);
static BY_THREAD: IrqMutex<BTreeMap<ThreadId, Arc<Process>>> = IrqMutex::new(BTreeMap::new());

pub const MMAP_TOP: u64 = 0x7fff_f000_0000;

impl Process {
    pub fn new(name: &str, aspace: AddressSpace, brk_start: u64, files: FdTable) -> Arc<Process> {
        Arc::new(Process {
            pid: NEXT_PID.fetch_add(1, Ordering::Relaxed),
            name: name.into(),
            mm: Mutex::new(Mm {
                aspace,
                brk_start,
                brk: brk_start,
                mmap_top: MMAP_TOP,
            }),
            files: Mutex::new(files),
            status: Mutex::new(None),
            exited: WaitQueue::new(),
        })
    }

    /// Blocks until the process has exited and returns how.
    pub fn wait(&self) -> ExitStatus {
        self.exited.wait_until(|| self.status.lock().is_some());
        self.status.lock().expect("set before wake")
    }
}

/// Starts `proc`'s first thread at `rip` with stack `rsp`.
pub fn start(proc: &Arc<Process>, rip: u64, rsp: u64) -> ThreadId {
    let cr3 = proc.mm.lock().aspace.cr3();
    let p = proc.clone();
    let tid = sched::spawn_user("user", cr3, move || {
        drop(p);
        enter_user(rip, rsp)
    });
    BY_THREAD.lock().insert(tid, proc.clone());
    tid
}

/// The process of the running thread (None for kernel threads).
pub fn current() -> Option<Arc<Process>> {
    BY_THREAD.lock().get(&sched::current()).cloned()
}

/// Ends the calling thread's process with `status`. Never returns.
pub fn exit_current(status: ExitStatus) -> ! {
    let proc = BY_THREAD.lock().remove(&sched::current());
    if let Some(p) = proc {
        log::debug!("process: pid {} ({}) ended: {:?}", p.pid, p.name, status);
        // Closing every descriptor is deleting the CSpace: each file's last capability
        // goes, and its object is finalized.
        crate::capsys::with(|sys| p.files.lock().destroy(sys));
        *p.status.lock() = Some(status);
        p.exited.wake_all();
        // Last reference may go here: its AddressSpace switches CR3 to the kernel's
        // tables before freeing its own.
        drop(p);
    }
    sched::exit_current()
}

/// Leaves the kernel for user mode at `rip` with stack `rsp` (interrupts on, IOPL 0).
pub fn enter_user(rip: u64, rsp: u64) -> ! {
    x86_64::instructions::interrupts::disable();
    let frame = TrapFrame {
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
    };
    // SAFETY: the frame is a complete user-mode TrapFrame; writ_trap_return pops it and
    // irets to ring 3 (swapping GS because CS.RPL = 3). This stack is never returned to.
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
        let f = OpenFile::new(crate::console::file(), flags::O_RDWR);
        let fd = t.install(sys, f, OpenFile::rights_for(flags::O_RDWR), false)?;
        t.dup(sys, i64::from(fd), 1, false)?;
        t.dup(sys, i64::from(fd), 2, false)?;
        Ok(t)
    })
}
