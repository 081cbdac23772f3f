//! The `log` backend: `[SSSSS.UUUUUU] LEVEL subsystem: message` on COM1.
//! The subsystem is part of the message by convention, so grep-able lines stay short.

use log::{Level, LevelFilter, Log, Metadata, Record};

struct SerialLogger;

impl Log for SerialLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ns = crate::time::uptime_ns();
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        crate::println!(
            "[{:5}.{:06}] {} {}",
            ns / 1_000_000_000,
            (ns % 1_000_000_000) / 1000,
            level,
            record.args()
        );
    }

    fn flush(&self) {}
}

static LOGGER: SerialLogger = SerialLogger;

pub fn init(level: LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
