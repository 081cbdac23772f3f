//! The host side of Writ's capability debug console (COM2 on a unix socket, see
//! [`crate::QemuConfig::console_socket`]): connect, run commands, read their output.
//!
//! A reader thread collects everything the console prints (also into
//! `target/qemu-logs/<name>-console.log`). [`DebugConsole::command`] types a line and
//! returns what the command printed between its echoed line and the next prompt
//! (`[12.345] writ> `), with carriage returns removed.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use regex::Regex;

use crate::error::Error;
use crate::paths;

/// The console prompt, as a regex.
pub const PROMPT: &str = r"\[\d+\.\d{3}\] writ> ";

#[derive(Default)]
struct Shared {
    text: Mutex<(String, bool)>,
    grew: Condvar,
}

/// A connection to a running machine's debug console.
pub struct DebugConsole {
    sock: UnixStream,
    shared: Arc<Shared>,
    cursor: usize,
    log: PathBuf,
}

impl DebugConsole {
    /// Connects to the socket at `path` (retrying while QEMU starts listening, up to
    /// `timeout`) and waits for a prompt. `name` names the log file.
    pub fn connect(name: &str, path: &Path, timeout: Duration) -> Result<DebugConsole, Error> {
        let deadline = Instant::now() + timeout;
        let sock = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
                Err(source) => return Err(Error::Pipe { source }),
            }
        };
        let log = paths::log_dir().join(format!("{name}-console.log"));
        let _ = std::fs::create_dir_all(paths::log_dir());
        let shared = Arc::new(Shared::default());
        let mut reader = sock.try_clone().map_err(|source| Error::Pipe { source })?;
        let file = File::create(&log).ok();
        let s2 = Arc::clone(&shared);
        thread::spawn(move || read_loop(&mut reader, file, &s2));
        let mut c = DebugConsole {
            sock,
            shared,
            cursor: 0,
            log,
        };
        // What the console printed before we connected is gone: ask for a fresh prompt.
        // The kernel may still be booting, so keep asking until one comes.
        loop {
            c.send("\r")?;
            match c.wait_for(PROMPT, Duration::from_secs(2)) {
                Ok(_) => break,
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => {}
            }
        }
        // Anything that piled up meanwhile (several prompts) is skipped.
        thread::sleep(Duration::from_millis(200));
        c.skip_all();
        Ok(c)
    }

    /// Sends raw bytes (no newline added).
    pub fn send(&mut self, text: &str) -> Result<(), Error> {
        self.send_bytes(text.as_bytes())
    }

    pub fn send_bytes(&mut self, data: &[u8]) -> Result<(), Error> {
        self.sock
            .write_all(data)
            .and_then(|()| self.sock.flush())
            .map_err(|source| Error::Pipe { source })
    }

    /// Runs `line` and returns its output (without the echo and the prompt).
    pub fn command(&mut self, line: &str, timeout: Duration) -> Result<String, Error> {
        self.skip_all();
        self.send(&format!("{line}\r"))?;
        let m = self.wait_for(&format!(r"(?s)\n(.*?){PROMPT}"), timeout)?;
        Ok(m)
    }

    /// Waits until `pattern` matches output after the previous match; returns capture
    /// group 1 if the pattern has one, else the whole match.
    pub fn wait_for(&mut self, pattern: &str, timeout: Duration) -> Result<String, Error> {
        let re = Regex::new(&format!("(?m){pattern}")).map_err(|e| Error::Pipe {
            source: io::Error::new(io::ErrorKind::InvalidInput, e.to_string()),
        })?;
        let deadline = Instant::now() + timeout;
        let mut g = self
            .shared
            .text
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(c) = re.captures(&g.0[self.cursor..]) {
                let whole = c.get(0).map_or(0..0, |m| m.range());
                let out = c
                    .get(1)
                    .unwrap_or(c.get(0).expect("match"))
                    .as_str()
                    .to_string();
                self.cursor += whole.end;
                return Ok(out);
            }
            let now = Instant::now();
            if now >= deadline || g.1 {
                let all = &g.0;
                let tail: Vec<&str> = all.lines().rev().take(40).collect();
                return Err(Error::WaitTimeout {
                    pattern: pattern.to_string(),
                    waited: timeout,
                    tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
                    log: Some(self.log.clone()),
                });
            }
            g = self
                .shared
                .grew
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The socket itself (a test may flood it from another thread).
    pub fn socket(&self) -> &UnixStream {
        &self.sock
    }

    /// Forgets output seen so far.
    pub fn skip_all(&mut self) {
        self.cursor = self
            .shared
            .text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .len();
    }

    /// Everything the console printed since we connected.
    pub fn transcript(&self) -> String {
        self.shared
            .text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone()
    }
}

fn read_loop(sock: &mut UnixStream, mut log: Option<File>, shared: &Shared) {
    let mut buf = [0u8; 8192];
    loop {
        let n = match sock.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let clean: Vec<u8> = buf[..n].iter().copied().filter(|&b| b != b'\r').collect();
        if let Some(f) = log.as_mut() {
            let _ = f.write_all(&clean);
        }
        shared
            .text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .push_str(&String::from_utf8_lossy(&clean));
        shared.grew.notify_all();
    }
    shared.text.lock().unwrap_or_else(PoisonError::into_inner).1 = true;
    shared.grew.notify_all();
}
