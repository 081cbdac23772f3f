//! COM1, the console: a 16550 UART driven by port I/O, polled for output.

use core::fmt::{self, Write};
use spin::Mutex;
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;

pub struct Uart {
    base: u16,
}

impl Uart {
    const fn new(base: u16) -> Self {
        Uart { base }
    }

    fn reg(&self, off: u16) -> Port<u8> {
        Port::new(self.base + off)
    }

    fn init(&mut self) {
        // SAFETY: standard 16550 programming on the UART's own ports: 115200 8N1,
        // FIFOs on, interrupts off (output is polled).
        unsafe {
            self.reg(1).write(0x00);
            self.reg(3).write(0x80);
            self.reg(0).write(0x01);
            self.reg(1).write(0x00);
            self.reg(3).write(0x03);
            self.reg(2).write(0xc7);
            self.reg(4).write(0x0b);
        }
    }

    fn put(&mut self, b: u8) {
        // SAFETY: reading LSR and writing THR of the UART we own.
        unsafe {
            let mut lsr = self.reg(5);
            let mut spins = 0u32;
            while lsr.read() & 0x20 == 0 && spins < 100_000 {
                spins += 1;
                core::hint::spin_loop();
            }
            self.reg(0).write(b);
        }
    }
}

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.put(b'\r');
            }
            self.put(b);
        }
        Ok(())
    }
}

static CONSOLE: Mutex<Uart> = Mutex::new(Uart::new(COM1));

pub fn init() {
    CONSOLE.lock().init();
}

/// Turns on the receive interrupt once the I/O APIC routes IRQ 4 (console input).
pub fn enable_receive_interrupt() {
    crate::arch::apic::route_isa_irq(4, crate::arch::idt::VECTOR_COM1);
    // SAFETY: IER of our UART: "received data available" only.
    x86_64::instructions::interrupts::without_interrupts(|| unsafe {
        CONSOLE.lock().reg(1).write(0x01);
    });
}

/// The COM1 interrupt: move every received byte to the console's input buffer.
pub fn on_receive_interrupt() {
    let mut bytes = [0u8; 16];
    let mut n = 0;
    {
        let c = CONSOLE.lock();
        // SAFETY: LSR/RBR reads of our UART.
        unsafe {
            while n < bytes.len() && c.reg(5).read() & 1 != 0 {
                bytes[n] = c.reg(0).read();
                n += 1;
            }
        }
    }
    for &b in &bytes[..n] {
        crate::console::input(b);
    }
}

/// Used only by the panic and fatal-exception paths, which never return.
pub fn force_unlock() {
    // SAFETY: called with interrupts off on a path that ends the machine; the holder of
    // the lock (if any) will never run again.
    unsafe { CONSOLE.force_unlock() };
}

/// Bytes exactly as given (the tty's line discipline did any output processing).
pub fn write_raw(data: &[u8]) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        let mut c = CONSOLE.lock();
        for &b in data {
            c.put(b);
        }
    });
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        let _ = CONSOLE.lock().write_fmt(args);
    });
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::serial::_print(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::serial::_print(format_args!("{}\n", format_args!($($arg)*))));
}
