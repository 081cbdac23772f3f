//! The capability debugging console on COM2: see and steer authority in the running
//! system without touching the Linux console on COM1.
//!
//! It runs only while the kernel holds a DebugConsole capability (slot 1 of the kernel's
//! CSpace), which boot grants unless the command line says `debug_console=off`; delete
//! that capability and the console stops. The object is charged to a Budget of its own
//! (slot 2), not to the root Budget processes share, so revoking theirs from the
//! console cannot take the console with it. A kernel thread reads lines from the UART
//! ([`uart`], interrupt-driven, bounded buffers that drop rather than wait), edits them
//! ([`line`]) and runs commands ([`commands`], each with `help COMMAND`); the views of
//! processes and their CSpaces are in [`views`], `net`/`socks` in [`net`], capability
//! tracing in [`trace`]. docs/DEBUG-CONSOLE.md is the user's guide.
//!
//! Commands read the capability system under its lock and format into a string first,
//! then write with the lock released, so a slow reader never holds up the kernel.

pub mod commands;
mod line;
pub mod net;
pub mod trace;
pub mod uart;
mod views;

use alloc::string::String;
use core::fmt::Write;

use caps::{CapSystem, Invocation, ObjectType, Reply, Rights, Slot};

/// Wait key the console thread sleeps on for input.
pub const KEY_INPUT: u64 = 1 << 63 | 0xdeb;
/// Kernel CSpace slots of the DebugConsole capability and of the Budget it is charged to.
const CONSOLE_SLOT: u32 = 1;
const CONSOLE_BUDGET_SLOT: u32 = 2;

/// The authority to run the debug console: the kernel holds it, nobody else can.
pub struct DebugConsole;

impl ObjectType for DebugConsole {
    const NAME: &'static str = "debugconsole";
    type Op = ();

    fn size(&self) -> u64 {
        0
    }

    /// It has no invocations: holding it is the whole point.
    fn decode(&self, _sys: &CapSystem, _inv: &Invocation<'_>) -> caps::Result<()> {
        Err(caps::Error::IllegalOperation)
    }

    fn perform(&self, _sys: &mut CapSystem, _inv: &Invocation<'_>, _op: ()) -> Reply {
        Reply::empty()
    }
}

fn kernel_slot(sys: &CapSystem, index: u32) -> Option<Slot> {
    let root = sys.cap_at(Slot::root(crate::capsys::kernel_cspace()))?;
    sys.slot_of(&root, index).ok()
}

fn console_slot(sys: &CapSystem) -> Option<Slot> {
    kernel_slot(sys, CONSOLE_SLOT)
}

/// Does the kernel still hold its DebugConsole capability?
fn authorized() -> bool {
    crate::capsys::with(|sys| {
        console_slot(sys)
            .and_then(|s| sys.cap_at(s))
            .is_some_and(|c| sys.object::<DebugConsole>(&c).is_some())
    })
}

/// Boot: grant the DebugConsole capability (when `enabled`) and start the console if a
/// UART answers at COM2.
pub fn start(enabled: bool) {
    if !enabled {
        log::info!("debugcon: off (debug_console=off)");
        return;
    }
    let granted = crate::capsys::with(|sys| {
        let slot = console_slot(sys).ok_or(caps::Error::IllegalOperation)?;
        let budget = kernel_slot(sys, CONSOLE_BUDGET_SLOT).ok_or(caps::Error::IllegalOperation)?;
        sys.create_budget(None, budget, 64)?;
        sys.create_object(budget, slot, DebugConsole, Rights::READ | Rights::WRITE)
    });
    if let Err(e) = granted {
        log::warn!("debugcon: cannot grant the DebugConsole capability: {e:?}");
        return;
    }
    if !uart::init() {
        log::info!("debugcon: no UART at COM2; console not started");
        return;
    }
    uart::enable_interrupts();
    crate::sched::spawn("debugcon", console_thread);
    log::info!("debugcon: capability console on COM2 (IRQ {})", uart::IRQ);
}

/// Writes console output; waits (briefly, this thread only) for room, then drops.
fn out(text: &str) {
    let mut bytes = alloc::vec::Vec::with_capacity(text.len() + text.len() / 16);
    for b in text.bytes() {
        if b == b'\n' {
            bytes.push(b'\r');
        }
        bytes.push(b);
    }
    let mut rest = &bytes[..];
    // A host that stops reading costs this thread at most ~2 s per command.
    let mut patience = 200;
    while !rest.is_empty() {
        let n = uart::write(rest);
        rest = &rest[n..];
        if rest.is_empty() {
            break;
        }
        if patience == 0 {
            uart::write_or_drop(rest);
            break;
        }
        patience -= 1;
        crate::sched::sleep_ms(10);
    }
}

fn prompt() -> String {
    let ms = crate::time::uptime_ns() / 1_000_000;
    let mut p = String::new();
    let _ = write!(p, "[{}.{:03}] writ> ", ms / 1000, ms % 1000);
    p
}

fn console_thread() {
    out("\nWrit capability console. Type help for commands.\n");
    out(&prompt());
    let mut editor = line::Editor::default();
    let mut reported = 0u64;
    let mut buf = [0u8; 64];
    let mut echo = alloc::vec::Vec::new();
    loop {
        crate::waits::wait(KEY_INPUT, &mut uart::has_input);
        let n = uart::read(&mut buf);
        // More than a batch waiting is a paste or a flood, not typing: no echo and no
        // prompt between its lines (command output still shows), which keeps the
        // console's cost to the system low while it works through the backlog.
        let backlog = n == buf.len() && uart::has_input();
        for &b in &buf[..n] {
            match editor.feed(b) {
                line::Event::Echo(e) => {
                    if !backlog {
                        echo.extend_from_slice(&e);
                    }
                    continue;
                }
                line::Event::Line(text) => {
                    uart::write_or_drop(&core::mem::take(&mut echo));
                    out("\n");
                    if !authorized() {
                        out("error: the DebugConsole capability is gone; console stopped\n");
                        return;
                    }
                    out(&commands::run(text.trim()));
                }
                line::Event::TooLong => out(&alloc::format!(
                    "{}\nerror: line longer than {} bytes ignored\n",
                    String::from_utf8_lossy(&core::mem::take(&mut echo)),
                    line::MAX_LINE
                )),
                line::Event::Cancel => {
                    uart::write_or_drop(&core::mem::take(&mut echo));
                    out("^C\n");
                }
            }
            let dropped = uart::dropped();
            if dropped != reported {
                out(&alloc::format!(
                    "({dropped} output bytes dropped so far: nobody was reading)\n"
                ));
                reported = dropped;
            }
            if !backlog {
                out(&prompt());
            }
        }
        if backlog && !uart::has_input() {
            out(&prompt());
        }
        // Echo a batch at once: the UART then moves it a FIFO-full per interrupt.
        uart::write_or_drop(&core::mem::take(&mut echo));
        // Input is a person typing: with more waiting (a paste, a flood), take what
        // the UART's pacing hands over (64 bytes per 80 ms, `uart::read`) and leave the
        // rest in QEMU (flow control), so the console never takes the CPU from the
        // system under test.
        if uart::has_input() {
            crate::sched::sleep_ms(10);
        }
    }
}
