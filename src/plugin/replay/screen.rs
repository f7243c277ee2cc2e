//! The terminal of a replay: a vt100 screen and the recent raw output,
//! giving `detect-prompt` the input the session gives it.

use std::num::NonZeroU16;

use crate::plugin::{DetectInput, SessionFacts};

/// How much recent output a plugin sees, as in the session.
const RECENT: usize = 4096;

pub struct Screen {
    parser: vt100::Parser,
    recent: Vec<u8>,
}

/// A copy of the screen, for one `detect-prompt` call.
pub struct Snapshot {
    text: String,
    cursor: (u16, u16),
    cursor_line: String,
    recent: String,
    alternate: bool,
}

fn nz(v: u16) -> NonZeroU16 {
    NonZeroU16::new(v.max(1)).unwrap_or(NonZeroU16::MIN)
}

impl Screen {
    pub fn new(rows: u16, cols: u16) -> Screen {
        Screen {
            parser: vt100::Parser::new(nz(rows), nz(cols), 0),
            recent: Vec::with_capacity(2 * RECENT),
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
        self.recent.extend_from_slice(bytes);
        if self.recent.len() > 2 * RECENT {
            self.recent.drain(..self.recent.len() - RECENT);
        }
    }

    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.parser.set_size(nz(rows), nz(cols));
    }

    /// The last output bytes (at most 4 KiB).
    pub fn recent(&self) -> &[u8] {
        &self.recent[self.recent.len().saturating_sub(RECENT)..]
    }

    pub fn text(&self) -> String {
        self.parser.screen().contents()
    }

    pub fn snapshot(&self) -> Snapshot {
        let screen = self.parser.screen();
        Snapshot {
            text: screen.contents(),
            cursor: screen.cursor_position(),
            cursor_line: crate::session::cursor_line(screen),
            recent: String::from_utf8_lossy(self.recent()).into_owned(),
            alternate: screen.alternate_screen(),
        }
    }
}

impl Snapshot {
    /// The cursor row up to the cursor.
    pub fn cursor_line(&self) -> &str {
        &self.cursor_line
    }

    pub fn input<'a>(&'a self, preset: &'a str, session: &'a SessionFacts) -> DetectInput<'a> {
        DetectInput {
            screen: &self.text,
            cursor_row: self.cursor.0,
            cursor_col: self.cursor.1,
            cursor_line: &self.cursor_line,
            recent_output: &self.recent,
            alternate_screen: self.alternate,
            preset,
            session,
        }
    }
}
