//! System call entry from user mode, and the first Linux calls a static program needs.
//!
//! This dispatcher is the kernel-side seed of the Linux personality: it will move into
//! `linux-personality` (which forbids unsafe and is host-tested) behind the traits the
//! kernel implements, once file descriptors are capabilities (issue 5). Until then it
//! answers only what it really implements; everything else is ENOSYS, logged once.

use alloc::collections::BTreeSet;
use alloc::vec;
use spin::Mutex;

use crate::arch::idt::TrapFrame;
use crate::mm::vm::Prot;
use crate::mm::PAGE_SIZE;
use crate::process::{self, ExitStatus, Process};
use crate::uaccess::{copy_from_user, copy_to_user};

const EBADF: i64 = 9;
const ENOMEM: i64 = 12;
const EFAULT: i64 = 14;
const EINVAL: i64 = 22;
const ENOTTY: i64 = 25;
const ENOSYS: i64 = 38;

const SYS_WRITE: u64 = 1;
const SYS_MMAP: u64 = 9;
const SYS_MPROTECT: u64 = 10;
const SYS_MUNMAP: u64 = 11;
const SYS_BRK: u64 = 12;
const SYS_IOCTL: u64 = 16;
const SYS_WRITEV: u64 = 20;
const SYS_GETPID: u64 = 39;
const SYS_EXIT: u64 = 60;
const SYS_ARCH_PRCTL: u64 = 158;
const SYS_GETTID: u64 = 186;
const SYS_SET_TID_ADDRESS: u64 = 218;
const SYS_EXIT_GROUP: u64 = 231;

const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;

static LOGGED: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());

#[no_mangle]
extern "C" fn writ_syscall(frame: &mut TrapFrame) {
    x86_64::instructions::interrupts::enable();
    let Some(proc) = process::current() else {
        panic!("syscall from a thread without a process");
    };
    let nr = frame.rax;
    let args = [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ];
    let ret = match dispatch(&proc, nr, args) {
        Ok(v) => v as u64,
        Err(e) => (-e) as u64,
    };
    frame.rax = ret;
    x86_64::instructions::interrupts::disable();
}

fn dispatch(proc: &Process, nr: u64, a: [u64; 6]) -> Result<i64, i64> {
    match nr {
        SYS_WRITE => write(proc, a[0], a[1], a[2]),
        SYS_WRITEV => writev(proc, a[0], a[1], a[2]),
        SYS_EXIT | SYS_EXIT_GROUP => process::exit_current(ExitStatus::Exited(a[0] as u8)),
        SYS_GETPID => Ok(i64::from(proc.pid)),
        // One thread per process so far: the thread id is the pid, as Linux reports for
        // a process's first thread.
        SYS_GETTID | SYS_SET_TID_ADDRESS => Ok(i64::from(proc.pid)),
        SYS_ARCH_PRCTL => arch_prctl(proc, a[0], a[1]),
        // No tty object exists yet: every fd answers as a non-terminal would.
        SYS_IOCTL => Err(ENOTTY),
        SYS_BRK => brk(proc, a[0]),
        SYS_MMAP => mmap(proc, a[0], a[1], a[2], a[3], a[4] as i64),
        SYS_MPROTECT => mprotect(proc, a[0], a[1], a[2]),
        SYS_MUNMAP => munmap(proc, a[0], a[1]),
        _ => {
            if LOGGED.lock().insert(nr) {
                let name = usize::try_from(nr)
                    .ok()
                    .and_then(linux_personality::abi::nr::syscall_name)
                    .unwrap_or("unknown");
                log::warn!(
                    "syscall: unimplemented {} ({}) from pid {} ({}): ENOSYS",
                    nr,
                    name,
                    proc.pid,
                    proc.name
                );
            }
            Err(ENOSYS)
        }
    }
}

fn write(proc: &Process, fd: u64, buf: u64, len: u64) -> Result<i64, i64> {
    if fd != 1 && fd != 2 {
        return Err(EBADF);
    }
    let len = len.min(1 << 20) as usize;
    let mut data = vec![0u8; len];
    copy_from_user(&proc.mm.lock().aspace, buf, &mut data).map_err(|_| EFAULT)?;
    crate::serial::write_bytes(&data);
    Ok(len as i64)
}

fn writev(proc: &Process, fd: u64, iov: u64, cnt: u64) -> Result<i64, i64> {
    if cnt > 1024 {
        return Err(EINVAL);
    }
    let mut total = 0i64;
    for i in 0..cnt {
        let mut raw = [0u8; 16];
        copy_from_user(&proc.mm.lock().aspace, iov + 16 * i, &mut raw).map_err(|_| EFAULT)?;
        let base = u64::from_le_bytes(raw[0..8].try_into().unwrap());
        let len = u64::from_le_bytes(raw[8..16].try_into().unwrap());
        total += write(proc, fd, base, len)?;
    }
    Ok(total)
}

fn arch_prctl(proc: &Process, code: u64, addr: u64) -> Result<i64, i64> {
    match code {
        ARCH_SET_FS => {
            if addr >= crate::mm::vm::USER_TOP {
                return Err(crate::syscall::EPERM);
            }
            crate::arch::cpu::set_fs_base(addr);
            Ok(0)
        }
        ARCH_GET_FS => {
            let v = crate::arch::cpu::fs_base();
            copy_to_user(&proc.mm.lock().aspace, addr, &v.to_le_bytes()).map_err(|_| EFAULT)?;
            Ok(0)
        }
        _ => Err(EINVAL),
    }
}

const EPERM: i64 = 1;

fn brk(proc: &Process, want: u64) -> Result<i64, i64> {
    let mut mm = proc.mm.lock();
    let cur = mm.brk;
    // Linux returns the current break for any request it cannot satisfy.
    if want < mm.brk_start || want > mm.brk_start + (1 << 30) {
        return Ok(cur as i64);
    }
    let old_end = cur.next_multiple_of(PAGE_SIZE);
    let new_end = want.next_multiple_of(PAGE_SIZE);
    let rw = Prot {
        write: true,
        exec: false,
    };
    let mut va = old_end;
    while va < new_end {
        if mm.aspace.map_zeroed(va, rw).is_err() {
            // Undo the partial growth, keep the old break.
            let mut u = old_end;
            while u < va {
                mm.aspace.unmap(u);
                u += PAGE_SIZE;
            }
            return Ok(cur as i64);
        }
        va += PAGE_SIZE;
    }
    let mut va = new_end;
    while va < old_end {
        mm.aspace.unmap(va);
        va += PAGE_SIZE;
    }
    mm.brk = want;
    Ok(want as i64)
}

const MAP_PRIVATE: u64 = 0x02;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const PROT_WRITE: u64 = 0x2;
const PROT_EXEC: u64 = 0x4;

fn mmap(proc: &Process, addr: u64, len: u64, prot: u64, flags: u64, fd: i64) -> Result<i64, i64> {
    if len == 0 || len > (1 << 40) || !addr.is_multiple_of(PAGE_SIZE) {
        return Err(EINVAL);
    }
    if flags & MAP_ANONYMOUS == 0 || flags & MAP_PRIVATE == 0 {
        // File and shared mappings need the VFS (issue 5).
        let _ = fd;
        return Err(ENOSYS);
    }
    let len = len.next_multiple_of(PAGE_SIZE);
    let mut mm = proc.mm.lock();
    let start = if flags & MAP_FIXED != 0 {
        let mut va = addr;
        while va < addr + len {
            mm.aspace.unmap(va);
            va += PAGE_SIZE;
        }
        addr
    } else {
        mm.mmap_top -= len;
        mm.mmap_top
    };
    let p = Prot {
        write: prot & PROT_WRITE != 0,
        exec: prot & PROT_EXEC != 0,
    };
    let mut va = start;
    while va < start + len {
        if mm.aspace.map_zeroed(va, p).is_err() {
            let mut u = start;
            while u < va {
                mm.aspace.unmap(u);
                u += PAGE_SIZE;
            }
            return Err(ENOMEM);
        }
        va += PAGE_SIZE;
    }
    Ok(start as i64)
}

fn munmap(proc: &Process, addr: u64, len: u64) -> Result<i64, i64> {
    if !addr.is_multiple_of(PAGE_SIZE) || len == 0 || addr.checked_add(len).is_none() {
        return Err(EINVAL);
    }
    let mut mm = proc.mm.lock();
    let mut va = addr;
    while va < addr + len {
        mm.aspace.unmap(va);
        va += PAGE_SIZE;
    }
    Ok(0)
}

fn mprotect(proc: &Process, addr: u64, len: u64, prot: u64) -> Result<i64, i64> {
    if !addr.is_multiple_of(PAGE_SIZE) || prot & !0x7 != 0 {
        return Err(EINVAL);
    }
    let end = addr
        .checked_add(len.next_multiple_of(PAGE_SIZE))
        .ok_or(EINVAL)?;
    if end > crate::mm::vm::USER_TOP {
        return Err(ENOMEM);
    }
    let mut mm = proc.mm.lock();
    // Linux fails with ENOMEM when part of the range is unmapped, changing nothing.
    let mut va = addr;
    while va < end {
        if mm.aspace.translate(va).is_none() {
            return Err(ENOMEM);
        }
        va += PAGE_SIZE;
    }
    // PROT_NONE needs VMAs (a present-but-inaccessible page); until then it keeps the
    // page readable, which a program can only notice by not faulting.
    let p = Prot {
        write: prot & PROT_WRITE != 0,
        exec: prot & PROT_EXEC != 0,
    };
    let mut va = addr;
    while va < end {
        mm.aspace.protect(va, p);
        va += PAGE_SIZE;
    }
    Ok(0)
}
