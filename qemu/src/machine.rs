//! A running QEMU and its serial line: the test harness's core, and what `writ-run`
//! drives too.
//!
//! A reader thread drains QEMU's stdout (COM1, `-serial stdio`) as it arrives, into a
//! shared buffer that [`Machine::wait_for`] searches under a condition variable, and into
//! the run's log file (`target/qemu-logs/<name>.log` for tests) so a log exists even if
//! the test process dies. Carriage returns are dropped from the buffer and the log so
//! patterns can use `$` and the log reads cleanly; echo to the terminal stays raw.
//! Every error about the serial line carries its last [`TAIL_LINES`] lines.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use regex::bytes::Regex;

use crate::config::QemuConfig;
use crate::error::Error;
use crate::exit::{poweroff_status, KernelKind, Outcome};
use crate::paths;

/// How many serial lines an error shows.
pub const TAIL_LINES: usize = 40;

/// Where QEMU's standard input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A pipe that [`Machine::send`] writes to.
    Piped,
    /// The launcher's own stdin (an interactive terminal).
    Inherit,
    /// Nothing.
    Null,
}

/// How to run a machine beyond its QEMU configuration.
#[derive(Debug, Clone)]
pub struct MachineOptions {
    /// The serial log file (its directory is created), if any.
    pub log: Option<PathBuf>,
    /// Copy the serial output to our stdout and QEMU's stderr to our stderr, live.
    pub echo: bool,
    pub input: Input,
}

impl MachineOptions {
    /// The harness default: log under `target/qemu-logs/<name>.log`, piped input, quiet.
    pub fn for_test(name: &str) -> Self {
        let file: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        MachineOptions {
            log: Some(paths::log_dir().join(format!("{file}.log"))),
            echo: false,
            input: Input::Piped,
        }
    }
}

/// A pattern found on the serial line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The whole match.
    pub text: String,
    /// Capture groups 1.., `None` where a group did not take part.
    pub groups: Vec<Option<String>>,
    /// Time from QEMU's start until the match was seen.
    pub at: Duration,
}

impl Match {
    /// Capture group `i` (1-based, like the regex), if it took part.
    pub fn group(&self, i: usize) -> Option<&str> {
        self.groups.get(i.checked_sub(1)?)?.as_deref()
    }
}

#[derive(Default)]
struct Serial {
    bytes: Vec<u8>,
    eof: bool,
}

#[derive(Default)]
struct Shared {
    serial: Mutex<Serial>,
    grew: Condvar,
    stderr: Mutex<Vec<u8>>,
}

impl Shared {
    fn serial(&self) -> MutexGuard<'_, Serial> {
        // A reader thread that panicked left consistent bytes behind; keep reading them.
        self.serial.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One QEMU process.
pub struct Machine {
    child: Child,
    kind: KernelKind,
    stdin: Option<ChildStdin>,
    shared: Arc<Shared>,
    cursor: usize,
    log: Option<PathBuf>,
    started: Instant,
    readers: Vec<JoinHandle<()>>,
    outcome: Option<Outcome>,
}

impl Machine {
    /// Boots `config` for the test `name`, logging to `target/qemu-logs/<name>.log`.
    pub fn start(name: &str, config: &QemuConfig) -> Result<Machine, Error> {
        Machine::start_with(config, &MachineOptions::for_test(name))
    }

    /// Boots `config` with explicit options.
    pub fn start_with(config: &QemuConfig, options: &MachineOptions) -> Result<Machine, Error> {
        config.check_files()?;
        let args = config.args()?;
        let log = match &options.log {
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    fs::create_dir_all(dir).map_err(|source| Error::Io {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                Some(File::create(path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?)
            }
            None => None,
        };
        let stdin = match options.input {
            Input::Piped => Stdio::piped(),
            Input::Inherit => Stdio::inherit(),
            Input::Null => Stdio::null(),
        };
        let started = Instant::now();
        let mut child = Command::new(&config.qemu)
            .args(&args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| match source.kind() {
                io::ErrorKind::NotFound => Error::QemuNotInstalled {
                    program: config.qemu.clone(),
                },
                _ => Error::Spawn {
                    program: config.qemu.clone(),
                    source,
                },
            })?;
        let shared = Arc::new(Shared::default());
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            let shared = Arc::clone(&shared);
            let echo = options.echo;
            readers.push(thread::spawn(move || read_serial(out, log, echo, &shared)));
        }
        if let Some(err) = child.stderr.take() {
            let shared = Arc::clone(&shared);
            let echo = options.echo;
            readers.push(thread::spawn(move || read_stderr(err, echo, &shared)));
        }
        Ok(Machine {
            stdin: child.stdin.take(),
            child,
            kind: config.kind,
            shared,
            cursor: 0,
            log: options.log.clone(),
            started,
            readers,
            outcome: None,
        })
    }

    /// Waits until the regex `pattern` matches serial output after the previous match,
    /// and consumes output up to the end of this one. Patterns are multi-line: `^` and
    /// `$` match at line starts and ends.
    pub fn wait_for(&mut self, pattern: &str, timeout: Duration) -> Result<Match, Error> {
        let re = Regex::new(&format!("(?m){pattern}")).map_err(|source| Error::BadPattern {
            pattern: pattern.to_string(),
            source,
        })?;
        let deadline = Instant::now().checked_add(timeout);
        let shared = Arc::clone(&self.shared);
        let mut serial = shared.serial();
        loop {
            if let Some(caps) = re.captures(&serial.bytes[self.cursor..]) {
                let whole = caps.get(0).map_or(0..0, |m| m.range());
                let text = |r: std::ops::Range<usize>| {
                    String::from_utf8_lossy(&serial.bytes[self.cursor..][r]).into_owned()
                };
                let found = Match {
                    text: text(whole.clone()),
                    groups: caps
                        .iter()
                        .skip(1)
                        .map(|g| g.map(|m| text(m.range())))
                        .collect(),
                    at: self.started.elapsed(),
                };
                self.cursor += whole.end;
                return Ok(found);
            }
            if serial.eof {
                drop(serial);
                let status = self.reap(Duration::from_secs(5));
                return Err(Error::ExitedBeforeMatch {
                    pattern: pattern.to_string(),
                    status,
                    tail: self.tail(TAIL_LINES),
                    log: self.log.clone(),
                });
            }
            let now = Instant::now();
            let left = deadline.map_or(Duration::from_secs(3600), |d| {
                d.saturating_duration_since(now)
            });
            if left.is_zero() {
                drop(serial);
                return Err(Error::WaitTimeout {
                    pattern: pattern.to_string(),
                    waited: timeout,
                    tail: self.tail(TAIL_LINES),
                    log: self.log.clone(),
                });
            }
            serial = shared
                .grew
                .wait_timeout(serial, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Types `input` on the serial line (needs [`Input::Piped`]).
    pub fn send(&mut self, input: &str) -> Result<(), Error> {
        let stdin = self.stdin.as_mut().ok_or_else(|| Error::Pipe {
            source: io::Error::new(io::ErrorKind::BrokenPipe, "QEMU's input is not a pipe"),
        })?;
        stdin
            .write_all(input.as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|source| Error::Pipe { source })
    }

    /// Waits for QEMU to exit and says how the run ended. On timeout QEMU is stopped
    /// ([`Machine::terminate`]).
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<Outcome, Error> {
        if let Some(o) = self.outcome {
            return Ok(o);
        }
        let deadline = Instant::now().checked_add(timeout);
        loop {
            match self
                .child
                .try_wait()
                .map_err(|source| Error::Pipe { source })?
            {
                Some(status) => {
                    self.join_readers();
                    let o = Outcome::classify(
                        self.kind,
                        status.code(),
                        poweroff_status(&self.shared.serial().bytes),
                    );
                    self.outcome = Some(o);
                    return Ok(o);
                }
                None if deadline.is_some_and(|d| Instant::now() >= d) => {
                    self.terminate(Duration::from_secs(2));
                    return Err(Error::ExitTimeout {
                        waited: timeout,
                        tail: self.tail(TAIL_LINES),
                        log: self.log.clone(),
                    });
                }
                None => thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    /// Waits for exit and checks that the run ended as `expected`.
    pub fn expect_exit(&mut self, expected: Outcome, timeout: Duration) -> Result<(), Error> {
        let outcome = self.wait_exit(timeout)?;
        if outcome == expected {
            Ok(())
        } else {
            Err(Error::UnexpectedOutcome {
                outcome,
                tail: self.tail(TAIL_LINES),
                log: self.log.clone(),
            })
        }
    }

    /// Everything read from the serial line so far (carriage returns removed).
    pub fn serial(&self) -> String {
        String::from_utf8_lossy(&self.shared.serial().bytes).into_owned()
    }

    /// The last `lines` serial lines, then QEMU's own stderr if it said anything.
    pub fn tail(&self, lines: usize) -> String {
        let serial = self.serial();
        let all: Vec<&str> = serial.lines().collect();
        let mut out = all[all.len().saturating_sub(lines)..].join("\n");
        let stderr = self
            .shared
            .stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !stderr.is_empty() {
            out.push_str("\n--- QEMU stderr ---\n");
            out.push_str(String::from_utf8_lossy(&stderr).trim_end());
        }
        out
    }

    /// The serial log file, if this run keeps one.
    pub fn log_path(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    /// When QEMU was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills QEMU at once (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.join_readers();
    }

    /// Asks QEMU to quit (SIGTERM, so it restores a terminal it put in raw mode), and
    /// kills it if it has not within `grace`.
    pub fn terminate(&mut self, grace: Duration) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        if self.reap(grace).is_none() {
            self.kill();
        }
        self.join_readers();
    }

    /// Waits up to `limit` for QEMU to exit; its exit code if it did.
    fn reap(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.code(),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                _ => return None,
            }
        }
    }

    fn join_readers(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
        self.join_readers();
    }
}

fn read_serial(mut out: impl Read, mut log: Option<File>, echo: bool, shared: &Shared) {
    let mut chunk = [0u8; 4096];
    loop {
        let n = match out.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if echo {
            let mut stdout = io::stdout().lock();
            let _ = stdout.write_all(&chunk[..n]).and_then(|()| stdout.flush());
        }
        let clean: Vec<u8> = chunk[..n].iter().copied().filter(|&b| b != b'\r').collect();
        // A log write failure must not stop the run; the buffer still has everything.
        if let Some(log) = log.as_mut() {
            let _ = log.write_all(&clean);
        }
        shared.serial().bytes.extend_from_slice(&clean);
        shared.grew.notify_all();
    }
    if let Some(log) = log.as_mut() {
        let _ = log.flush();
    }
    shared.serial().eof = true;
    shared.grew.notify_all();
}

fn read_stderr(mut err: impl Read, echo: bool, shared: &Shared) {
    let mut chunk = [0u8; 1024];
    loop {
        let n = match err.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if echo {
            let _ = io::stderr().write_all(&chunk[..n]);
        }
        shared
            .stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests;
