//! COM2 (a 16550 at 0x2f8, ISA IRQ 3), interrupt-driven both ways, for the debug
//! console.
//!
//! Input: the receive interrupt moves bytes into a small ring and wakes the console
//! thread; when the ring is full the receive interrupt goes off until the thread has
//! drained half of it, so a flood backs up into QEMU and the host's socket (flow
//! control) instead of costing the kernel an interrupt per byte. [`read`] also paces
//! input: at most `RX_BATCH` bytes per `RX_WINDOW_NS` (800 bytes a second, far above
//! typing; a pasted 256-byte line takes a third of a second). Every byte taken costs
//! more than its interrupt: under QEMU each read of the receive register also wakes
//! QEMU's main loop to refill the FIFO from the socket, and that loop also moves the
//! guest's network packets. At 64 bytes a tick a flood slowed a `wget` in the guest by
//! 8-21%; paced, by nothing measurable (docs/DEBUG-CONSOLE.md).
//!
//! Output: writers append to a bounded ring and the transmit-empty interrupt drains it
//! into the UART's FIFO. Nobody ever waits for the host: when the ring is full (nobody
//! reading the socket, or a flood of trace lines) bytes are dropped and counted, so the
//! kernel never spins on a slow or absent reader. Everything is behind one IrqMutex
//! shared with the interrupt handler.

use core::sync::atomic::{AtomicBool, Ordering};

use x86_64::instructions::port::Port;

use crate::sync::IrqMutex;

const BASE: u16 = 0x2f8;
pub const IRQ: u8 = 3;
const RX_CAP: usize = 1024;
/// Input pacing: at most `RX_BATCH` received bytes are handed to the console per
/// `RX_WINDOW_NS` of uptime; the rest waits in the ring, QEMU and the socket. A whole
/// batch at once keeps the console's paste detection (a full read with more waiting)
/// working. Uptime, not ticks: a loaded host delivers fewer ticks than time passes.
const RX_BATCH: usize = 64;
const RX_WINDOW_NS: u64 = 80_000_000;
const TX_CAP: usize = 64 * 1024;
/// The 16550's transmit FIFO depth.
const FIFO: usize = 16;

const IER_RX: u8 = 0x01;
const IER_TX: u8 = 0x02;
const LSR_DATA: u8 = 0x01;
const LSR_THRE: u8 = 0x20;

/// A fixed-size byte ring (no allocation: the interrupt handler uses it).
struct Ring<const N: usize> {
    buf: [u8; N],
    head: usize,
    len: usize,
}

impl<const N: usize> Ring<N> {
    const fn new() -> Self {
        Ring {
            buf: [0; N],
            head: 0,
            len: 0,
        }
    }

    fn push(&mut self, b: u8) -> bool {
        if self.len == N {
            return false;
        }
        self.buf[(self.head + self.len) % N] = b;
        self.len += 1;
        true
    }

    fn pop(&mut self) -> Option<u8> {
        if self.len == 0 {
            return None;
        }
        let b = self.buf[self.head];
        self.head = (self.head + 1) % N;
        self.len -= 1;
        Some(b)
    }
}

struct Com2 {
    rx: Ring<RX_CAP>,
    tx: Ring<TX_CAP>,
    ier: u8,
    /// Output bytes lost because the ring was full (input is flow-controlled instead).
    tx_dropped: u64,
    /// When (uptime ns) the current pacing window began, and the bytes handed out in it.
    window_start: u64,
    window_taken: usize,
}

static COM2: IrqMutex<Com2> = IrqMutex::new(Com2 {
    rx: Ring::new(),
    tx: Ring::new(),
    ier: 0,
    tx_dropped: 0,
    window_start: 0,
    window_taken: 0,
});
static PRESENT: AtomicBool = AtomicBool::new(false);

fn reg(off: u16) -> Port<u8> {
    Port::new(BASE + off)
}

/// Programs the UART (115200 8N1, FIFOs on) if one answers at COM2; false if absent.
pub fn init() -> bool {
    let _g = COM2.lock();
    // SAFETY: standard 16550 programming on COM2's own ports; the scratch register
    // test (an absent port reads 0xff) comes first and writes nothing else.
    let present = unsafe {
        reg(7).write(0x5a);
        let ok = reg(7).read() == 0x5a;
        if ok {
            reg(1).write(0x00);
            reg(3).write(0x80);
            reg(0).write(0x01);
            reg(1).write(0x00);
            reg(3).write(0x03);
            reg(2).write(0xc7);
            // DTR, RTS and OUT2 (which gates the IRQ line on PCs).
            reg(4).write(0x0b);
        }
        ok
    };
    PRESENT.store(present, Ordering::Release);
    present
}

/// Routes IRQ 3 and turns on the receive interrupt.
pub fn enable_interrupts() {
    crate::arch::apic::route_isa_irq(IRQ, crate::arch::idt::VECTOR_COM2);
    let mut c = COM2.lock();
    c.ier = IER_RX;
    // SAFETY: IER of COM2.
    unsafe { reg(1).write(c.ier) };
}

/// The COM2 interrupt: drain received bytes, refill the transmit FIFO.
pub fn on_interrupt() {
    let mut got = false;
    {
        let mut c = COM2.lock();
        // Bounded: a stuck UART cannot keep the handler here.
        for _ in 0..64 {
            // SAFETY: IIR/LSR/RBR/MSR reads of COM2.
            let iir = unsafe { reg(2).read() };
            if iir & 1 != 0 {
                break;
            }
            match (iir >> 1) & 7 {
                // Received data, or a character timeout.
                2 | 6 => {
                    for _ in 0..FIFO {
                        if c.rx.len == RX_CAP {
                            // Full: stop taking input until the thread catches up.
                            c.ier &= !IER_RX;
                            // SAFETY: IER of COM2.
                            unsafe { reg(1).write(c.ier) };
                            break;
                        }
                        // SAFETY: as above.
                        if unsafe { reg(5).read() } & LSR_DATA == 0 {
                            break;
                        }
                        let b = unsafe { reg(0).read() };
                        got |= c.rx.push(b);
                    }
                }
                1 => fill_fifo(&mut c),
                3 => {
                    // SAFETY: reading LSR clears a line-status interrupt.
                    unsafe { reg(5).read() };
                }
                _ => {
                    // SAFETY: reading MSR clears a modem-status interrupt.
                    unsafe { reg(6).read() };
                }
            }
        }
    }
    if got {
        crate::waits::wake(super::KEY_INPUT);
    }
}

/// Moves up to a FIFO's worth of queued output to the UART; with nothing left, turns
/// the transmit interrupt off (a writer turns it back on).
fn fill_fifo(c: &mut Com2) {
    // SAFETY: LSR read and THR writes of COM2, under its lock.
    unsafe {
        if reg(5).read() & LSR_THRE == 0 {
            return;
        }
        for _ in 0..FIFO {
            match c.tx.pop() {
                Some(b) => reg(0).write(b),
                None => break,
            }
        }
        if c.tx.len == 0 && c.ier & IER_TX != 0 {
            c.ier &= !IER_TX;
            reg(1).write(c.ier);
        }
    }
}

/// Queues `data` for output and returns how many bytes fit; never waits.
pub fn write(data: &[u8]) -> usize {
    if !PRESENT.load(Ordering::Acquire) {
        return 0;
    }
    let mut c = COM2.lock();
    let mut n = 0;
    for &b in data {
        if !c.tx.push(b) {
            break;
        }
        n += 1;
    }
    if n > 0 && c.ier & IER_TX == 0 {
        c.ier |= IER_TX;
        // SAFETY: IER of COM2. Enabling the transmit interrupt while THR is empty
        // raises it at once, so the handler starts the transfer.
        unsafe { reg(1).write(c.ier) };
    }
    n
}

/// Queues `data`, dropping (and counting) what does not fit.
pub fn write_or_drop(data: &[u8]) {
    let n = write(data);
    if n < data.len() && PRESENT.load(Ordering::Acquire) {
        COM2.lock().tx_dropped += (data.len() - n) as u64;
    }
}

/// Takes up to `out.len()` received bytes, none once this window's batch is taken
/// (then [`has_input`] stays true: the console sleeps a tick and asks again).
pub fn read(out: &mut [u8]) -> usize {
    let mut c = COM2.lock();
    let now = crate::time::uptime_ns();
    if now >= c.window_start + RX_WINDOW_NS {
        c.window_start = now;
        c.window_taken = 0;
    }
    let max = out.len().min(RX_BATCH - c.window_taken);
    let mut n = 0;
    while n < max {
        match c.rx.pop() {
            Some(b) => {
                out[n] = b;
                n += 1;
            }
            None => break,
        }
    }
    c.window_taken += n;
    if c.ier & IER_RX == 0 && c.rx.len <= RX_CAP / 2 && PRESENT.load(Ordering::Acquire) {
        c.ier |= IER_RX;
        // SAFETY: IER of COM2; bytes waiting in the FIFO raise the interrupt at once.
        unsafe { reg(1).write(c.ier) };
    }
    n
}

pub fn has_input() -> bool {
    COM2.lock().rx.len > 0
}

/// Output bytes dropped so far.
pub fn dropped() -> u64 {
    COM2.lock().tx_dropped
}
