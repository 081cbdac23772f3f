//! The kernel command line: space-separated `key` or `key=value` words.
//! Unknown keys are reported and ignored, never fatal (a typo must not stop a boot).

use arrayvec::ArrayVec;
use log::LevelFilter;
use writ_boot::BootInfo;

/// Most words of one kind kept; more are reported as dropped.
const MAX_WORDS: usize = 32;

/// The parsed line. It borrows the 'static boot copy of the command line and does not
/// allocate, because it is parsed before the heap exists (the log level is needed first).
pub struct Args {
    pub log_level: LevelFilter,
    pub selftests: ArrayVec<&'static str, MAX_WORDS>,
    pub poweroff: bool,
    /// `writ.exec=PATH`: the command file `writ-run --exec` put in the initramfs.
    pub exec: Option<&'static str>,
    /// `init=PATH`: the program to run as process 1 (default /init, then /sbin/init).
    pub init: Option<&'static str>,
    /// `debug_console=on|off`: grant the DebugConsole capability (COM2); on by default.
    pub debug_console: bool,
    /// `writ.net_revoke=PID:MS`: the test hook that revokes a process's NetStack
    /// capability MS milliseconds after boot (see `net::schedule_revoke`).
    pub net_revoke: Option<&'static str>,
    pub unknown: ArrayVec<&'static str, MAX_WORDS>,
    pub bad_values: ArrayVec<&'static str, MAX_WORDS>,
    pub dropped: usize,
}

/// The command line as the boot loader gave it (/proc/cmdline).
pub static LINE: spin::Once<&'static str> = spin::Once::new();

pub fn parse(line: &'static str) -> Args {
    LINE.call_once(|| line);
    let mut args = Args {
        log_level: LevelFilter::Info,
        selftests: ArrayVec::new(),
        poweroff: false,
        exec: None,
        init: None,
        debug_console: true,
        net_revoke: None,
        unknown: ArrayVec::new(),
        bad_values: ArrayVec::new(),
        dropped: 0,
    };
    for word in line.split_ascii_whitespace() {
        let (key, value) = match word.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (word, None),
        };
        let full = match (key, value) {
            ("log", Some(v)) => match level_from(v) {
                Some(l) => {
                    args.log_level = l;
                    false
                }
                None => args.bad_values.try_push(word).is_err(),
            },
            ("selftest", Some(v)) => v
                .split(',')
                .filter(|s| !s.is_empty())
                .any(|t| args.selftests.try_push(t).is_err()),
            ("poweroff", None) => {
                args.poweroff = true;
                false
            }
            ("writ.exec", Some(v)) if !v.is_empty() => {
                args.exec = Some(v);
                false
            }
            ("debug_console", Some("on")) => {
                args.debug_console = true;
                false
            }
            ("debug_console", Some("off")) => {
                args.debug_console = false;
                false
            }
            ("debug_console", _) => args.bad_values.try_push(word).is_err(),
            ("writ.net_revoke", Some(v)) => {
                args.net_revoke = Some(v);
                false
            }
            ("init", Some(v)) if v.starts_with('/') => {
                args.init = Some(v);
                false
            }
            // Linux's console= and quiet are meaningful to a shared command line (the
            // same rootfs boots Linux): Writ's console is always COM1.
            ("console", Some(_)) | ("quiet", None) => false,
            _ => args.unknown.try_push(word).is_err(),
        };
        if full {
            args.dropped += 1;
        }
    }
    args
}

fn level_from(v: &str) -> Option<LevelFilter> {
    Some(match v {
        "off" => LevelFilter::Off,
        "error" => LevelFilter::Error,
        "warn" => LevelFilter::Warn,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => return None,
    })
}

pub fn report(info: &BootInfo, args: &Args) {
    log::info!("cmdline: \"{}\"", info.cmdline.as_str());
    if info.cmdline_truncated {
        log::warn!(
            "cmdline: longer than {} bytes, truncated",
            writ_boot::MAX_CMDLINE
        );
    }
    for k in &args.unknown {
        log::warn!("cmdline: unknown key '{}' ignored", k);
    }
    for k in &args.bad_values {
        log::warn!("cmdline: bad value in '{}' ignored", k);
    }
    if args.dropped > 0 {
        log::warn!(
            "cmdline: {} words beyond the first {} of their kind ignored",
            args.dropped,
            MAX_WORDS
        );
    }
}
