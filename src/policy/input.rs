//! What a line editor would make of typed text, and the per-session record of
//! the line typed so far.
//!
//! Input deny patterns are checked on the input itself and on the line the
//! program will actually see. An agent can send a command in pieces (`rm -rf `
//! then `/\n`), or type text and then move the cursor and edit it; the engine
//! therefore joins the session's pending line with the new input and replays
//! the common readline/emacs editing keys before matching.

/// Most bytes of pending line kept per session; older text is dropped.
pub const MAX_PENDING_BYTES: usize = 16 * 1024;

/// The text typed into a session since the last newline (raw, control
/// characters included). Keep one per session, check each input with
/// [`crate::policy::Policy::check_input`]`(pending.as_str(), input)`, and
/// [`push`](PendingLine::push) the input once it was actually sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingLine {
    text: String,
}

impl PendingLine {
    /// An empty pending line.
    pub fn new() -> PendingLine {
        PendingLine::default()
    }

    /// The raw text typed since the last newline.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Record `input` as sent: keep only what follows its last line end,
    /// except that a line ended by a backslash continues on the next one (as
    /// in shells and Python), so it stays pending without the backslash.
    pub fn push(&mut self, input: &str) {
        if input.contains(['\n', '\r']) {
            let combined = format!("{}{input}", self.text).replace("\r\n", "\n");
            let mut logical = String::new();
            let mut segments = combined.split(['\n', '\r']).peekable();
            while let Some(segment) = segments.next() {
                if segments.peek().is_none() {
                    logical.push_str(segment);
                } else if let Some(head) = segment.strip_suffix('\\') {
                    logical.push_str(head);
                } else {
                    logical.clear();
                }
            }
            self.text = logical;
        } else {
            self.text.push_str(input);
        }
        if self.text.len() > MAX_PENDING_BYTES {
            let mut cut = self.text.len() - MAX_PENDING_BYTES;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.text.drain(..cut);
        }
    }

    /// Forget the pending line (after a restart, an interrupt, a new prompt).
    pub fn clear(&mut self) {
        self.text.clear();
    }
}

/// `text` with backslash-newline line continuations joined, if it has any.
pub(crate) fn join_continuations(text: &str) -> Option<String> {
    if text.contains("\\\n") || text.contains("\\\r") {
        Some(
            text.replace("\\\r\n", "")
                .replace("\\\n", "")
                .replace("\\\r", ""),
        )
    } else {
        None
    }
}

/// The lines a readline-like editor would produce from `text`: the finished
/// lines and, last, the unfinished one. Handles backspace, ^A ^E ^B ^F ^D ^K
/// ^U ^W ^C, and the ANSI arrow / home / end / delete keys; other control
/// characters and escape sequences are dropped.
pub(crate) fn edited_lines(text: &str) -> Vec<String> {
    let mut editor = LineEditor::default();
    let mut lines = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\r' => lines.push(editor.take_line()),
            // ^C abandons the line in shells and most REPLs.
            '\x03' => lines.push(editor.take_line()),
            '\x7f' | '\x08' => {
                editor.left.pop();
            }
            '\x01' => editor.home(),
            '\x05' => editor.end(),
            '\x02' => editor.back(),
            '\x06' => editor.forward(),
            '\x04' => {
                editor.right.pop();
            }
            '\x0b' => editor.right.clear(),
            '\x15' => editor.left.clear(),
            '\x17' => editor.kill_word(),
            '\x1b' => match chars.peek() {
                Some('[') | Some('O') => {
                    chars.next();
                    let mut params = String::new();
                    let mut last = None;
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            last = Some(c);
                            break;
                        }
                        if params.len() < 16 {
                            params.push(c);
                        }
                    }
                    match (last, params.as_str()) {
                        (Some('D'), _) => editor.back(),
                        (Some('C'), _) => editor.forward(),
                        (Some('H'), _) | (Some('~'), "1") | (Some('~'), "7") => editor.home(),
                        (Some('F'), _) | (Some('~'), "4") | (Some('~'), "8") => editor.end(),
                        (Some('~'), "3") => {
                            editor.right.pop();
                        }
                        _ => {}
                    }
                }
                Some(']') => {
                    // OSC: skip to BEL or ESC \.
                    chars.next();
                    while let Some(c) = chars.next() {
                        if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                Some(_) => {
                    chars.next();
                }
                None => {}
            },
            '\t' => editor.left.push(c),
            c if c.is_control() => {}
            c => editor.left.push(c),
        }
    }
    lines.push(editor.take_line());
    lines
}

/// Cursor moves that may cost work proportional to the line (home, end) stop
/// being honoured past this many characters moved, so that no input makes
/// the check quadratic.
const MOVE_BUDGET: usize = 4 * 1024 * 1024;

/// A gap buffer: the characters left of the cursor, and those right of it
/// (reversed, so the one just right of the cursor is last).
#[derive(Default)]
struct LineEditor {
    left: Vec<char>,
    right: Vec<char>,
    moved: usize,
}

impl LineEditor {
    fn take_line(&mut self) -> String {
        let line = self.left.iter().chain(self.right.iter().rev()).collect();
        self.left.clear();
        self.right.clear();
        line
    }

    fn home(&mut self) {
        if self.moved < MOVE_BUDGET {
            self.moved += self.left.len();
            self.right.extend(self.left.drain(..).rev());
        }
    }

    fn end(&mut self) {
        if self.moved < MOVE_BUDGET {
            self.moved += self.right.len();
            self.left.extend(self.right.drain(..).rev());
        }
    }

    fn back(&mut self) {
        if let Some(c) = self.left.pop() {
            self.right.push(c);
        }
    }

    fn forward(&mut self) {
        if let Some(c) = self.right.pop() {
            self.left.push(c);
        }
    }

    fn kill_word(&mut self) {
        while self.left.last().is_some_and(|c| c.is_whitespace()) {
            self.left.pop();
        }
        while self.left.last().is_some_and(|c| !c.is_whitespace()) {
            self.left.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_line_keeps_text_after_last_newline() {
        let mut p = PendingLine::new();
        p.push("rm -rf ");
        assert_eq!(p.as_str(), "rm -rf ");
        p.push("x\nls ");
        assert_eq!(p.as_str(), "ls ");
        p.push("-l\r");
        assert_eq!(p.as_str(), "");
        p.push("rm -rf \\\r\n");
        assert_eq!(p.as_str(), "rm -rf ");
        p.push("x \\\ny");
        assert_eq!(p.as_str(), "rm -rf x y");
        p.push("\n");
        assert_eq!(p.as_str(), "");
        p.push(&"é".repeat(MAX_PENDING_BYTES));
        assert!(p.as_str().len() <= MAX_PENDING_BYTES);
        p.clear();
        assert_eq!(p.as_str(), "");
    }

    #[test]
    fn editing_keys_are_replayed() {
        assert_eq!(edited_lines("rm -rf x\x7f/"), vec!["rm -rf /"]);
        assert_eq!(edited_lines("-rf /\x01rm "), vec!["rm -rf /"]);
        assert_eq!(edited_lines("rm -rf /\x1b[D\x1b[Dx"), vec!["rm -rfx /"]);
        assert_eq!(edited_lines("abc\x15rm -rf /\n"), vec!["rm -rf /", ""]);
        assert_eq!(edited_lines("ls foo\x17/"), vec!["ls /"]);
        assert_eq!(edited_lines("a\x1b]0;t\x07b"), vec!["ab"]);
        assert_eq!(edited_lines("x\x1b[3~"), vec!["x"]);
        assert_eq!(edited_lines("xy\x02\x04"), vec!["x"]);
    }
}
