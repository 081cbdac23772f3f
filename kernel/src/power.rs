//! Ending the machine: QEMU's isa-debug-exit device at port 0xf4 turns a value V into
//! QEMU's exit status (V << 1) | 1 (see docs/KERNEL-HOST-CONTRACT.md).

use x86_64::instructions::port::Port;

#[derive(Clone, Copy)]
pub enum Exit {
    /// QEMU exits with status 33.
    Success = 0x10,
    /// QEMU exits with status 35.
    Failure = 0x11,
}

pub fn exit(code: Exit) -> ! {
    x86_64::instructions::interrupts::disable();
    // SAFETY: port 0xf4 is the debug-exit device the launcher always attaches; writing
    // it has no effect on memory. Without the device the write is ignored and we halt.
    unsafe { Port::<u32>::new(0xf4).write(code as u32) };
    // ACPI shutdown is not wired yet: halt forever if the device is absent.
    loop {
        x86_64::instructions::hlt();
    }
}
