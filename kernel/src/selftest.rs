//! Kernel self-tests, chosen with `selftest=NAME[,NAME]` on the command line. The QEMU
//! integration tests boot with these and read the result lines; each test checks its
//! own outcome and fails the boot (exit status 35) when the kernel misbehaves.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::power::{exit, Exit};
use crate::{mm, sched, time};

mod net;

pub fn run(names: &[&str]) {
    let mut failed = false;
    for &name in names {
        let result = match name {
            "timer" => timer(),
            "heap" => heap(),
            "threads" => threads(),
            "panic" => panic!("selftest: deliberate panic"),
            "pagefault" => pagefault(),
            "user" => user(),
            "net" => net::run(),
            "netserve" => net::serve(),
            other => Err(alloc::format!("unknown self-test '{other}'")),
        };
        match result {
            Ok(detail) => log::info!("selftest {name}: ok {detail}"),
            Err(why) => {
                log::error!("selftest {name}: FAILED {why}");
                failed = true;
            }
        }
    }
    if failed {
        exit(Exit::Failure);
    }
    log::info!("selftest: all passed");
    exit(Exit::Success);
}

type Outcome = Result<alloc::string::String, alloc::string::String>;

fn timer() -> Outcome {
    let t0 = time::ticks();
    let ns0 = time::uptime_ns();
    sched::sleep_ms(200);
    let t1 = time::ticks();
    let ms = (time::uptime_ns() - ns0) / 1_000_000;
    let expected = 200 * time::HZ / 1000;
    if t1 <= t0 {
        return Err(alloc::format!("ticks did not advance ({t0} -> {t1})"));
    }
    if ms < 190 {
        return Err(alloc::format!("sleep(200 ms) returned after {ms} ms"));
    }
    Ok(alloc::format!(
        "ticks {t0} -> {t1} (+{}, expected ~{expected}) over {ms} ms",
        t1 - t0
    ))
}

fn heap() -> Outcome {
    const TOTAL: usize = 64 << 20;
    let before = mm::heap::stats();
    let sizes = [
        8usize,
        24,
        64,
        200,
        1000,
        4096,
        10_000,
        65_536,
        300_000,
        1 << 20,
    ];
    let mut blocks: Vec<Box<[u8]>> = Vec::new();
    let mut allocated = 0usize;
    let mut i = 0usize;
    while allocated < TOTAL {
        let size = sizes[i % sizes.len()].min(TOTAL - allocated);
        let mut b = alloc::vec![0u8; size].into_boxed_slice();
        let tag = (i % 251) as u8;
        b[0] = tag;
        b[size - 1] = tag;
        blocks.push(b);
        allocated += size;
        i += 1;
    }
    for (j, b) in blocks.iter().enumerate() {
        let tag = (j % 251) as u8;
        if b[0] != tag || b[b.len() - 1] != tag {
            return Err(alloc::format!("block {j} corrupted"));
        }
    }
    let peak = mm::heap::stats();
    let n = blocks.len();
    drop(blocks);
    let after = mm::heap::stats();
    if after.allocated != before.allocated {
        return Err(alloc::format!(
            "allocated bytes {} before, {} after freeing",
            before.allocated,
            after.allocated
        ));
    }
    Ok(alloc::format!(
        "{} bytes in {} blocks of {} sizes allocated, verified, freed; heap claimed {} MiB, in use {} -> {} -> {} bytes, live allocations {} -> {}",
        allocated,
        n,
        sizes.len(),
        peak.claimed >> 20,
        before.allocated,
        peak.allocated,
        after.allocated,
        before.allocations,
        after.allocations
    ))
}

fn threads() -> Outcome {
    static COUNTS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
    static LAST: AtomicU64 = AtomicU64::new(u64::MAX);
    static SWITCHES: AtomicU64 = AtomicU64::new(0);
    static STOP: AtomicBool = AtomicBool::new(false);
    static DONE: AtomicU64 = AtomicU64::new(0);
    static DONE_WAIT: sched::WaitQueue = sched::WaitQueue::new();
    for id in 0..2u64 {
        // Neither thread ever yields: only the timer can move the CPU between them.
        sched::spawn(if id == 0 { "spin-a" } else { "spin-b" }, move || {
            while !STOP.load(Ordering::Relaxed) {
                COUNTS[id as usize].fetch_add(1, Ordering::Relaxed);
                if LAST.swap(id, Ordering::Relaxed) != id {
                    SWITCHES.fetch_add(1, Ordering::Relaxed);
                }
            }
            DONE.fetch_add(1, Ordering::Relaxed);
            DONE_WAIT.wake_all();
        });
    }
    sched::sleep_ms(300);
    STOP.store(true, Ordering::Relaxed);
    DONE_WAIT.wait_until(|| DONE.load(Ordering::Relaxed) == 2);
    let (a, b) = (
        COUNTS[0].load(Ordering::Relaxed),
        COUNTS[1].load(Ordering::Relaxed),
    );
    let switches = SWITCHES.load(Ordering::Relaxed);
    if a == 0 || b == 0 || switches < 4 {
        return Err(alloc::format!(
            "no interleaving: counts {a}/{b}, {switches} switches"
        ));
    }
    let (threads, ctx) = sched::stats();
    Ok(alloc::format!(
        "two spinning threads interleaved {switches} times (counts {a} and {b}); {threads} threads, {ctx} context switches"
    ))
}

fn pagefault() -> Outcome {
    log::info!("selftest pagefault: reading 0xdeadbeef000");
    // SAFETY: deliberately unsound: this must fault, and the fault handler ends the boot.
    let v = unsafe { core::ptr::read_volatile(0xdeadbeef000_u64 as *const u64) };
    Err(alloc::format!(
        "read of an unmapped address returned {v:#x}"
    ))
}

// A position-independent ring-3 program: write(1, msg) must succeed, write from a
// kernel address must fail with EFAULT, then exit_group(42).
core::arch::global_asm!(
    r#"
.section .rodata
.global selftest_user_start
.global selftest_user_end
selftest_user_start:
    mov $1, %edi
    lea 2f(%rip), %rsi
    mov $(3f - 2f), %edx
    mov $1, %eax
    syscall
    cmp $(3f - 2f), %rax
    jne 1f
    mov $1, %edi
    movabs $0xffffffff80100000, %rsi
    mov $8, %edx
    mov $1, %eax
    syscall
    cmp $-14, %rax
    jne 1f
    mov $42, %edi
    mov $231, %eax
    syscall
1:  mov $1, %edi
    mov $231, %eax
    syscall
2:  .ascii "hello from ring 3\n"
3:
selftest_user_end:
.section .text
"#,
    options(att_syntax)
);

extern "C" {
    static selftest_user_start: u8;
    static selftest_user_end: u8;
}

fn user() -> Outcome {
    use crate::mm::vm::{AddressSpace, Prot};
    use crate::process::{self, ExitStatus, Process};

    let code = {
        let start = core::ptr::addr_of!(selftest_user_start);
        let end = core::ptr::addr_of!(selftest_user_end);
        // SAFETY: both symbols bound the blob in .rodata defined above.
        unsafe { core::slice::from_raw_parts(start, end as usize - start as usize) }
    };
    let mut aspace = AddressSpace::new().map_err(|e| alloc::format!("{e:?}"))?;
    let text = 0x40_0000;
    let stack_top = 0x7fff_0000_0000u64;
    let phys = aspace
        .map_zeroed(
            text,
            Prot {
                read: true,
                write: false,
                exec: true,
            },
        )
        .map_err(|e| alloc::format!("{e:?}"))?;
    // SAFETY: a fresh frame of ours, reached through the direct map.
    unsafe {
        core::ptr::copy_nonoverlapping(code.as_ptr(), mm::phys_to_virt(phys) as *mut u8, code.len())
    };
    aspace
        .map_zeroed(stack_top - 4096, Prot::RW)
        .map_err(|e| alloc::format!("{e:?}"))?;
    let files = process::console_files().map_err(|e| alloc::format!("{e:?}"))?;
    let mm = process::Mm {
        aspace,
        brk_start: 0x100_0000,
        brk: 0x100_0000,
        mmap_top: process::MMAP_TOP,
    };
    let proc = Process::new("selftest-user", 0, mm, files, crate::vfs::initial_context());
    process::start(&proc, text, stack_top);
    let status = proc.wait();
    if status != ExitStatus::Exited(42) {
        return Err(alloc::format!(
            "user program ended with {status:?}, expected exit 42"
        ));
    }
    Ok(alloc::format!(
        "ring-3 program wrote, got EFAULT for a kernel pointer, exited 42 (pid {})",
        proc.pid
    ))
}
