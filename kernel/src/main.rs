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
mod capsys;
mod cmdline;
mod console;
mod debugcon;
mod devices;
mod exec;
mod futex;
mod initramfs;
mod logger;
mod mm;
mod net;
mod pci;
mod pidfd;
mod power;
mod process;
mod random;
mod sched;
mod selftest;
mod serial;
mod signals;
mod sync;
mod syscall;
mod time;
mod uaccess;
mod vfs;
mod virtio_net;
mod waits;

use writ_boot::BootInfo;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The node name (uname, /proc/sys/kernel/hostname): "(none)" until set, as Linux.
pub static HOSTNAME: spin::Mutex<alloc::vec::Vec<u8>> = spin::Mutex::new(alloc::vec::Vec::new());

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
    capsys::init();
    // The network self-tests claim the device themselves.
    let net_selftest = args.selftests.iter().any(|t| t.starts_with("net"));
    net::init(!net_selftest);
    if let Some(spec) = args.net_revoke {
        net::schedule_revoke(spec);
    }
    serial::enable_receive_interrupt();
    debugcon::start(args.debug_console);
    initramfs::init(info.initrd);
    vfs::init();
    console::install_pty_hooks();
    log::info!("boot: done in {} ms", time::uptime_ns() / 1_000_000);

    if !args.selftests.is_empty() {
        selftest::run(&args.selftests);
    }
    net::start();
    if args.poweroff {
        power::exit(power::Exit::Success);
    }
    if let Some(path) = args.exec {
        run_exec_file(path);
    }
    run_init(args.init);
}

/// Starts the initramfs's init as process 1, as Linux does for an initramfs
/// (`init=PATH` on the command line chooses another), and powers off when it ends.
/// Without one, the kernel idles.
fn run_init(chosen: Option<&str>) -> ! {
    let ctx = vfs::initial_context();
    let root = linux_personality::fs::Creds::root();
    let candidates: &[&str] = match chosen {
        Some(p) => &[p][..],
        None => &["/init", "/sbin/init"],
    };
    let found = candidates
        .iter()
        .copied()
        .find(|p| vfs::read_file(&ctx, &root, p.as_bytes(), true).is_ok());
    let Some(path) = found else {
        log::info!("writ: no init in the initramfs; idling (quit QEMU with Ctrl-A X)");
        sched::idle_loop()
    };
    log::info!("writ: starting {path} as process 1 (quit QEMU with Ctrl-A X)");
    let envp: [&[u8]; 3] = [
        b"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        b"HOME=/",
        b"TERM=linux",
    ];
    match exec::spawn(path, &[path.as_bytes()], &envp) {
        Ok(proc) => {
            process::protect_init();
            let status = proc.wait();
            log::warn!("writ: init ended ({status:?}); powering off");
            println!("writ: poweroff status={}", status.shell_code());
            power::exit(power::Exit::Success)
        }
        Err(e) => {
            log::error!("writ: cannot start {path}: {}", e.name());
            power::exit(power::Exit::Failure)
        }
    }
}

/// `writ.exec=PATH` (what `writ-run --exec` sets up): run the command in PATH, print
/// its status in the line the launcher reads, power off. With a shell in the initramfs
/// the file is a shell script; without one, the command is split on whitespace.
fn run_exec_file(path: &str) -> ! {
    let ctx = vfs::initial_context();
    let root = linux_personality::fs::Creds::root();
    let Ok(data) = vfs::read_file(&ctx, &root, path.as_bytes(), false) else {
        log::error!("exec: {path} is not in the initramfs");
        power::exit(power::Exit::Failure);
    };
    let text = core::str::from_utf8(&data).unwrap_or("");
    let words: alloc::vec::Vec<&[u8]> = if vfs::read_file(&ctx, &root, b"/bin/sh", true).is_ok() {
        alloc::vec![b"/bin/sh".as_slice(), path.as_bytes()]
    } else {
        text.split_ascii_whitespace().map(str::as_bytes).collect()
    };
    let status = match words.first().map(|w| core::str::from_utf8(w).unwrap_or("")) {
        None | Some("") => 0,
        Some(prog) => {
            let envp: [&[u8]; 3] = [
                b"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                b"HOME=/",
                b"TERM=linux",
            ];
            match exec::spawn(prog, &words, &envp) {
                Ok(proc) => proc.wait().shell_code(),
                Err(e) => {
                    println!("writ: {prog}: {}", e.name());
                    if e == linux_personality::Errno::ENOENT {
                        127
                    } else {
                        126
                    }
                }
            }
        }
    };
    println!("writ: poweroff status={status}");
    power::exit(power::Exit::Success)
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
