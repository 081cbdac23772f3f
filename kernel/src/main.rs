//! The Writ kernel binary.
//!
//! Boot order (each step logs one line, see docs/KERNEL-HOST-CONTRACT.md):
//! serial -> command line and log level -> physical memory (frame allocator over the
//! E820 map) -> kernel page tables with a direct map of all RAM -> heap -> GDT/TSS ->
//! IDT -> ACPI (MADT) -> local APIC and I/O APIC -> calibrated APIC timer -> PCI ->
//! scheduler (kernel threads) -> initrd. Then self-tests if the command line asks, and
//! the idle loop.
//!
//! `arch/` holds what is x86-specific and unsafe (descriptor tables, interrupt entry,
//! APIC, port I/O); `mm/` physical frames, page tables and the heap; `sched` kernel
//! threads. Capability objects live in the `caps` crate and are wired in here.
#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod cmdline;
mod logger;
mod mm;
mod pci;
mod power;
mod process;
mod sched;
mod selftest;
mod serial;
mod sync;
mod syscall;
mod time;
mod uaccess;

use writ_boot::BootInfo;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[no_mangle]
fn writ_kernel_main(info: &'static BootInfo) -> ! {
    serial::init();
    time::init_early();
    println!("Writ {} (x86_64) — a capability kernel", VERSION);
    let args = cmdline::parse(info.cmdline.as_str());
    logger::init(args.log_level);
    cmdline::report(info, &args);

    mm::init(info);
    arch::gdt::init();
    arch::idt::init();
    arch::cpu::init();
    let platform = arch::acpi::init(info.rsdp);
    arch::apic::init(&platform);
    time::init_timer();
    pci::init();
    sched::init();
    match info.initrd {
        Some((start, len)) => log::info!(
            "initrd: {} bytes at {:#x}..{:#x} ({} KiB)",
            len,
            start,
            start + len,
            len / 1024
        ),
        None => log::info!("initrd: none"),
    }
    log::info!("boot: done in {} ms", time::uptime_ns() / 1_000_000);

    if !args.selftests.is_empty() {
        selftest::run(&args.selftests);
    }
    if args.poweroff {
        power::exit(power::Exit::Success);
    }
    if let Some(path) = args.exec {
        log::error!("exec: cannot run {path}: user processes are not implemented yet");
        power::exit(power::Exit::Failure);
    }
    log::info!("writ: no init to run yet; idling (quit QEMU with Ctrl-A X)");
    sched::idle_loop()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    x86_64::instructions::interrupts::disable();
    // The serial lock may be held by the code that panicked: take the port by force.
    serial::force_unlock();
    match info.location() {
        Some(loc) => println!(
            "KERNEL PANIC at {}:{}: {}",
            loc.file(),
            loc.line(),
            info.message()
        ),
        None => println!("KERNEL PANIC: {}", info.message()),
    }
    power::exit(power::Exit::Failure)
}
