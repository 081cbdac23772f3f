//! The `log` backend: `[SSSSS.UUUUUU] LEVEL subsystem: message` on COM1, and the
//! kernel's message buffer that syslog(2) and `dmesg` read.
//! The subsystem is part of the message by convention, so grep-able lines stay short.
//!
//! As on Linux, what is kept and what is printed are separate: the buffer records every
//! message up to Info whatever the console level (`log=`), so `dmesg` shows the boot
//! even when `log=error` kept the console quiet. Buffer lines carry the syslog priority
//! (`<6>[    0.041000] ...`) as Linux's do; busybox dmesg strips it.

use core::fmt::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::sync::IrqMutex;

struct SerialLogger;

/// The level printed on the console (the buffer keeps up to Info regardless).
static CONSOLE_LEVEL: IrqMutex<LevelFilter> = IrqMutex::new(LevelFilter::Info);

/// Bytes of log text kept; the oldest lines go first.
const BUF_SIZE: usize = 64 * 1024;

/// A byte ring that never allocates (messages may come from interrupt handlers).
struct Ring {
    data: [u8; BUF_SIZE],
    start: usize,
    len: usize,
}

static RING: IrqMutex<Ring> = IrqMutex::new(Ring {
    data: [0; BUF_SIZE],
    start: 0,
    len: 0,
});

impl Write for Ring {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.len == BUF_SIZE {
                self.start = (self.start + 1) % BUF_SIZE;
                self.len -= 1;
            }
            self.data[(self.start + self.len) % BUF_SIZE] = b;
            self.len += 1;
        }
        Ok(())
    }
}

/// The buffer's text (from the oldest complete line), optionally clearing it.
pub fn buffer(clear: bool) -> alloc::vec::Vec<u8> {
    let mut r = RING.lock();
    let mut out = alloc::vec::Vec::with_capacity(r.len);
    for i in 0..r.len {
        out.push(r.data[(r.start + i) % BUF_SIZE]);
    }
    if clear {
        r.start = 0;
        r.len = 0;
    }
    drop(r);
    // After wrapping, the first line is cut: start at the next whole one.
    if out.len() == BUF_SIZE {
        if let Some(nl) = out.iter().position(|&b| b == b'\n') {
            out.drain(..=nl);
        }
    }
    out
}

pub const BUFFER_SIZE: usize = BUF_SIZE;

impl Log for SerialLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ns = crate::time::uptime_ns();
        let (level, prio) = match record.level() {
            Level::Error => ("ERROR", 3),
            Level::Warn => ("WARN ", 4),
            Level::Info => ("INFO ", 6),
            Level::Debug => ("DEBUG", 7),
            Level::Trace => ("TRACE", 7),
        };
        let (s, us) = (ns / 1_000_000_000, (ns % 1_000_000_000) / 1000);
        if record.level() <= Level::Info {
            let _ = writeln!(RING.lock(), "<{prio}>[{s:5}.{us:06}] {}", record.args());
        }
        if record.level() <= *CONSOLE_LEVEL.lock() {
            crate::println!("[{s:5}.{us:06}] {level} {}", record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: SerialLogger = SerialLogger;

pub fn init(level: LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    *CONSOLE_LEVEL.lock() = level;
    log::set_max_level(level.max(LevelFilter::Info));
}
