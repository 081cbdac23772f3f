//! The IDT and the Rust side of interrupt entry. All 256 vectors go through the stubs
//! in `trap.S` to [`writ_trap`]; exceptions in the kernel are fatal and print a full
//! register dump; device and timer interrupts are dispatched to their handlers.

use core::sync::atomic::{AtomicUsize, Ordering};

use spin::Once;
use x86_64::structures::idt::InterruptDescriptorTable;
use x86_64::VirtAddr;

use super::gdt;

core::arch::global_asm!(include_str!("trap.S"), options(att_syntax));

extern "C" {
    static trap_stubs: u8;
}

pub const VECTOR_TIMER: u8 = 32;
pub const VECTOR_COM1: u8 = 36;
/// COM2 (ISA IRQ 3): the debug console.
pub const VECTOR_COM2: u8 = 35;
pub const VECTOR_SPURIOUS: u8 = 255;
/// Vectors 48..64 are handed to device drivers by [`alloc_vector`] (MSI/MSI-X).
const VECTOR_DEVICE_FIRST: u8 = 48;
const DEVICE_VECTORS: usize = 16;

/// The handler of each device vector (a `fn()` as usize; 0 = free).
static DEVICE_HANDLERS: [AtomicUsize; DEVICE_VECTORS] =
    [const { AtomicUsize::new(0) }; DEVICE_VECTORS];

/// Claims a free device vector whose interrupts call `handler` (in interrupt context,
/// before the EOI). None when all are taken.
pub fn alloc_vector(handler: fn()) -> Option<u8> {
    let h = handler as usize;
    DEVICE_HANDLERS.iter().enumerate().find_map(|(i, slot)| {
        slot.compare_exchange(0, h, Ordering::AcqRel, Ordering::Relaxed)
            .ok()
            .map(|_| VECTOR_DEVICE_FIRST + i as u8)
    })
}

fn device_handler(vector: u8) -> Option<fn()> {
    let i = usize::from(vector.checked_sub(VECTOR_DEVICE_FIRST)?);
    let h = DEVICE_HANDLERS.get(i)?.load(Ordering::Acquire);
    // SAFETY: a non-zero slot only ever holds a `fn()` stored by alloc_vector.
    (h != 0).then(|| unsafe { core::mem::transmute::<usize, fn()>(h) })
}

/// What `trap_common` leaves on the stack, lowest address first.
#[repr(C)]
#[derive(Debug)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

static IDT: Once<InterruptDescriptorTable> = Once::new();

pub fn init() {
    let idt = IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        // The stub block defined in trap.S.
        let base = core::ptr::addr_of!(trap_stubs) as u64;
        let addr = |v: u64| VirtAddr::new(base + 16 * v);
        // SAFETY: every stub is a valid interrupt entry that ends in iretq; IST indices
        // name stacks installed in the TSS by gdt::init.
        unsafe {
            idt.divide_error.set_handler_addr(addr(0));
            idt.debug.set_handler_addr(addr(1));
            idt.non_maskable_interrupt
                .set_handler_addr(addr(2))
                .set_stack_index(gdt::IST_NMI);
            idt.breakpoint.set_handler_addr(addr(3));
            idt.overflow.set_handler_addr(addr(4));
            idt.bound_range_exceeded.set_handler_addr(addr(5));
            idt.invalid_opcode.set_handler_addr(addr(6));
            idt.device_not_available.set_handler_addr(addr(7));
            idt.double_fault
                .set_handler_addr(addr(8))
                .set_stack_index(gdt::IST_DOUBLE_FAULT);
            idt.invalid_tss.set_handler_addr(addr(10));
            idt.segment_not_present.set_handler_addr(addr(11));
            idt.stack_segment_fault.set_handler_addr(addr(12));
            idt.general_protection_fault.set_handler_addr(addr(13));
            idt.page_fault.set_handler_addr(addr(14));
            idt.x87_floating_point.set_handler_addr(addr(16));
            idt.alignment_check.set_handler_addr(addr(17));
            idt.machine_check
                .set_handler_addr(addr(18))
                .set_stack_index(gdt::IST_MACHINE_CHECK);
            idt.simd_floating_point.set_handler_addr(addr(19));
            idt.virtualization.set_handler_addr(addr(20));
            idt.cp_protection_exception.set_handler_addr(addr(21));
            for v in 32..=255u8 {
                idt[v].set_handler_addr(addr(u64::from(v)));
            }
        }
        idt
    });
    idt.load();
    log::info!("idt: 256 vectors, exceptions 0-21 fatal in kernel mode, timer at {VECTOR_TIMER}");
}

const EXCEPTION_NAMES: [&str; 22] = [
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack-segment fault",
    "#GP general protection",
    "#PF page fault",
    "reserved",
    "#MF x87 floating point",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD floating point",
    "#VE virtualization",
    "#CP control protection",
];

#[no_mangle]
extern "C" fn writ_trap(frame: &mut TrapFrame) {
    let vector = frame.vector as u8;
    match vector {
        0..=31 if frame.cs & 3 == 3 => {
            user_exception(frame);
            // Back to the iretq path with interrupts off, as it expects.
            x86_64::instructions::interrupts::disable();
        }
        0..=31 => fatal_exception(frame),
        VECTOR_TIMER => {
            super::apic::eoi();
            crate::time::tick();
            crate::process::account_tick(frame.cs & 3 == 3);
            crate::waits::on_tick(crate::time::uptime_ns());
            crate::sched::on_timer_tick();
        }
        VECTOR_COM1 => {
            crate::serial::on_receive_interrupt();
            super::apic::eoi();
        }
        VECTOR_COM2 => {
            crate::debugcon::uart::on_interrupt();
            super::apic::eoi();
        }
        VECTOR_SPURIOUS => {}
        v if device_handler(v).is_some() => {
            if let Some(h) = device_handler(v) {
                h();
            }
            super::apic::eoi();
        }
        _ => {
            super::apic::eoi();
            log::warn!("irq: unexpected vector {vector}");
        }
    }
    // Back to user mode: leave if the process is dying, deliver what became pending
    // (e.g. a kill while preempted).
    if frame.cs & 3 == 3 && !(0..=31).contains(&vector) {
        // Not a counted reference: a fatal signal ends the thread from in here.
        if let Some(proc) = crate::process::current_unowned() {
            // This work takes ordinary locks another (preempted) thread may hold: do it
            // with interrupts on, as on the system call path.
            x86_64::instructions::interrupts::enable();
            crate::process::before_user_return(&proc, frame);
            x86_64::instructions::interrupts::disable();
        }
    }
}

/// A fault in user mode ends the process with the signal Linux would send; the kernel
/// carries on. (Signal handlers come with the signals work in issue 5.)
fn user_exception(f: &mut TrapFrame) {
    use linux_personality::signal::{self, SigInfo};
    let (sig, code) = match f.vector {
        0 | 16 | 19 => (signal::SIGFPE, 1),
        1 | 3 => (signal::SIGTRAP, 1),
        6 => (signal::SIGILL, 2),
        17 => (signal::SIGBUS, 1),
        // Page faults: not present -> MAPERR, protection -> ACCERR.
        14 if f.error & 1 != 0 => (signal::SIGSEGV, signal::SEGV_ACCERR),
        14 => (signal::SIGSEGV, signal::SEGV_MAPERR),
        _ => (signal::SIGSEGV, signal::SI_KERNEL),
    };
    let addr = if f.vector == 14 {
        x86_64::registers::control::Cr2::read_raw()
    } else {
        f.rip
    };
    // Not a counted reference: the fault may end the process from in here.
    let Some(proc) = crate::process::current_unowned() else {
        fatal_exception(f);
    };
    // Faults from user mode may sleep on ordinary locks (the address space's, held
    // by a preempted thread of the same process): interrupts on, as for a syscall.
    x86_64::instructions::interrupts::enable();
    // Lazy pages get their frame, copy-on-write pages their own copy. Out of memory
    // for it: SIGSEGV below (Linux's OOM killer would choose a victim instead).
    if f.vector == 14 && proc.mm.lock().aspace.fault_in(addr, f.error & 2 != 0) == Ok(true) {
        return;
    }
    // Stack growth: a not-present fault inside the stack's reserved range maps a page.
    if f.vector == 14 && f.error & 1 == 0 {
        let top = crate::exec::STACK_TOP;
        if addr < top && addr >= top - crate::exec::STACK_LIMIT {
            let page = addr & !(crate::mm::PAGE_SIZE - 1);
            let rw = crate::mm::vm::Prot::RW;
            if proc.mm.lock().aspace.map_zeroed(page, rw).is_ok() {
                return;
            }
        }
    }
    log::info!(
        "user fault: pid {} {} at rip={:#x} error={:#x} addr={:#x}: signal {}",
        proc.pid,
        EXCEPTION_NAMES
            .get(f.vector as usize)
            .copied()
            .unwrap_or("?"),
        f.rip,
        f.error,
        addr,
        sig
    );
    // A synchronous fault cannot be blocked or ignored: Linux forces the default
    // action if the signal is blocked or ignored.
    crate::process::with_signals(&proc, |s| {
        let a = s.actions[(sig - 1) as usize];
        if s.blocked & signal::bit(sig) != 0 || a.handler == signal::SIG_IGN {
            s.blocked &= !signal::bit(sig);
            s.actions[(sig - 1) as usize] = signal::Action::default();
        }
        // The faulting thread's own signal (Linux's force_sig_fault).
        s.post_thread(SigInfo {
            signo: sig,
            code,
            addr,
            ..SigInfo::default()
        });
    });
    crate::signals::deliver(&proc, f);
}

fn fatal_exception(f: &TrapFrame) -> ! {
    crate::serial::force_unlock();
    let name = EXCEPTION_NAMES
        .get(f.vector as usize)
        .copied()
        .unwrap_or("reserved");
    let mnemonic = name.split(' ').next().unwrap_or(name);
    crate::println!(
        "EXCEPTION {} (vector {}) error={:#x} rip={:#x} — {}",
        mnemonic,
        f.vector,
        f.error,
        f.rip,
        name
    );
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    crate::println!(
        "cr2={:#x} cr3={:#x}",
        cr2,
        x86_64::registers::control::Cr3::read_raw()
            .0
            .start_address()
            .as_u64()
    );
    crate::println!(
        "rax={:#018x} rbx={:#018x} rcx={:#018x} rdx={:#018x}",
        f.rax,
        f.rbx,
        f.rcx,
        f.rdx
    );
    crate::println!(
        "rsi={:#018x} rdi={:#018x} rbp={:#018x} rsp={:#018x}",
        f.rsi,
        f.rdi,
        f.rbp,
        f.rsp
    );
    crate::println!(
        "r8 ={:#018x} r9 ={:#018x} r10={:#018x} r11={:#018x}",
        f.r8,
        f.r9,
        f.r10,
        f.r11
    );
    crate::println!(
        "r12={:#018x} r13={:#018x} r14={:#018x} r15={:#018x}",
        f.r12,
        f.r13,
        f.r14,
        f.r15
    );
    crate::println!(
        "cs={:#x} ss={:#x} rflags={:#x} thread={}",
        f.cs,
        f.ss,
        f.rflags,
        crate::sched::current_name()
    );
    crate::power::exit(crate::power::Exit::Failure)
}
