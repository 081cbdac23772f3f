//! The console's line editor: echo, backspace, ^U (erase line), ^C (cancel), and a
//! history walked with the up and down arrows. It only edits bytes; the caller echoes
//! what [`Editor::feed`] returns and runs the finished lines.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

/// Longest command line; longer input is rejected with one error line.
pub const MAX_LINE: usize = 256;
const HISTORY: usize = 32;

/// What one input byte did.
pub enum Event {
    /// Nothing to run; echo these bytes.
    Echo(Vec<u8>),
    /// A line is complete (echo the newline first).
    Line(String),
    /// The line was too long (its bytes were discarded).
    TooLong,
    /// ^C: the line was abandoned.
    Cancel,
}

#[derive(Default)]
pub struct Editor {
    line: Vec<u8>,
    overflow: bool,
    history: VecDeque<String>,
    /// Position while walking the history (None: editing a new line).
    walk: Option<usize>,
    /// Escape-sequence state: 0 none, 1 after ESC, 2 after ESC [.
    esc: u8,
    /// The previous byte was CR (so a following LF is not a second Enter).
    after_cr: bool,
}

impl Editor {
    pub fn feed(&mut self, b: u8) -> Event {
        let after_cr = core::mem::replace(&mut self.after_cr, b == b'\r');
        match self.esc {
            1 => {
                self.esc = if b == b'[' || b == b'O' { 2 } else { 0 };
                return Event::Echo(Vec::new());
            }
            2 => {
                self.esc = 0;
                return match b {
                    b'A' => self.recall(true),
                    b'B' => self.recall(false),
                    _ => Event::Echo(Vec::new()),
                };
            }
            _ => {}
        }
        match b {
            b'\n' if after_cr => Event::Echo(Vec::new()),
            b'\r' | b'\n' => {
                let line = core::mem::take(&mut self.line);
                self.walk = None;
                if core::mem::take(&mut self.overflow) {
                    return Event::TooLong;
                }
                let text = String::from_utf8_lossy(&line).into_owned();
                let trimmed = text.trim();
                if !trimmed.is_empty() && self.history.back().map(String::as_str) != Some(trimmed) {
                    if self.history.len() == HISTORY {
                        self.history.pop_front();
                    }
                    self.history.push_back(trimmed.into());
                }
                Event::Line(text)
            }
            0x1b => {
                self.esc = 1;
                Event::Echo(Vec::new())
            }
            0x03 => {
                self.line.clear();
                self.overflow = false;
                self.walk = None;
                Event::Cancel
            }
            0x08 | 0x7f => {
                if self.line.pop().is_some() {
                    Event::Echo(b"\x08 \x08".to_vec())
                } else {
                    Event::Echo(Vec::new())
                }
            }
            0x15 => Event::Echo(self.replace(Vec::new())),
            b'\t' | 0x20..=0x7e => {
                let c = if b == b'\t' { b' ' } else { b };
                if self.line.len() >= MAX_LINE {
                    self.overflow = true;
                    Event::Echo(Vec::new())
                } else {
                    self.line.push(c);
                    Event::Echo(alloc::vec![c])
                }
            }
            // Other control bytes and non-ASCII are ignored.
            _ => Event::Echo(Vec::new()),
        }
    }

    /// Up (`older`) or down through the history.
    fn recall(&mut self, older: bool) -> Event {
        let n = self.history.len();
        if n == 0 {
            return Event::Echo(Vec::new());
        }
        let next = match (self.walk, older) {
            (None, true) => Some(n - 1),
            (None, false) => return Event::Echo(Vec::new()),
            (Some(0), true) => Some(0),
            (Some(i), true) => Some(i - 1),
            (Some(i), false) if i + 1 < n => Some(i + 1),
            (Some(_), false) => None,
        };
        self.walk = next;
        let text = next.map_or(Vec::new(), |i| self.history[i].as_bytes().to_vec());
        Event::Echo(self.replace(text))
    }

    /// Replaces the line, returning the bytes that redraw it.
    fn replace(&mut self, text: Vec<u8>) -> Vec<u8> {
        let mut echo = Vec::new();
        for _ in 0..self.line.len() {
            echo.extend_from_slice(b"\x08 \x08");
        }
        self.overflow = false;
        echo.extend_from_slice(&text);
        self.line = text;
        echo
    }
}
