//! The line a person is typing in an interactive page: the keys since the
//! last Enter, kept as they pass through.
//!
//! Keys go to the terminal at once (echo, completion, arrows and Ctrl-C
//! work as in any terminal); only the Enter is held back: at each Enter the
//! line's keys are handed to the backend, which applies the policy's input
//! rules to them exactly as to the agent's input (replaying the editing
//! keys as a line editor would) and sends the Enter — or, for a refused
//! line, [`LineAssembler::kill_line`]'s keys instead, so the line is never
//! submitted. Here only the Enters are found (every `\r` or `\n`, even
//! one inside an escape sequence, since the program may take it as one)
//! and a bracketed paste followed, so a refused line can be killed.

/// One part of a page's input, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Keys to forward as they are.
    Keys(Vec<u8>),
    /// An Enter (`key` is `\r` or `\n`) ending `line`: its keys as typed,
    /// control keys and escape sequences included. `edited`: the line met
    /// keys whose effect only the program knows (history, completion), so
    /// the screen tells more.
    Enter { line: String, key: u8, edited: bool },
}

/// Where the assembler is inside an escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Start,
    /// After `ESC [`: parameters until a final byte.
    Csi,
    /// After `ESC O`: one more byte.
    Ss3,
}

/// Bracketed paste: `ESC [ 200 ~` … `ESC [ 201 ~`.
const PASTE_START: &[u8] = b"200";
const PASTE_END: &[u8] = b"201";

/// Most bytes of a line kept (a huge paste is still checked on its first
/// part).
const MAX_LINE: usize = 64 * 1024;

/// Longest CSI parameter string kept.
const MAX_PARAMS: usize = 32;

/// The line one page is typing. One per socket.
#[derive(Debug, Default)]
pub(crate) struct LineAssembler {
    line: Vec<u8>,
    escape: Escape,
    params: Vec<u8>,
    /// Inside a bracketed paste.
    pasting: bool,
    /// An escape sequence or a control key since the last Enter.
    edited: bool,
}

impl LineAssembler {
    /// Split `bytes` at each Enter, keeping the line in step.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<Piece> {
        let mut pieces = Vec::new();
        let mut keys = Vec::new();
        for &b in bytes {
            // An Enter byte is an Enter even inside an escape sequence: the
            // program may take it as one, so it is never let through
            // unchecked.
            if b == b'\r' || b == b'\n' {
                self.escape = Escape::None;
                if !keys.is_empty() {
                    pieces.push(Piece::Keys(std::mem::take(&mut keys)));
                }
                let line = String::from_utf8_lossy(&self.line).into_owned();
                self.line.clear();
                let edited = std::mem::take(&mut self.edited);
                pieces.push(Piece::Enter {
                    line,
                    key: b,
                    edited,
                });
                continue;
            }
            keys.push(b);
            if self.line.len() < MAX_LINE {
                self.line.push(b);
            }
            self.key(b);
        }
        if !keys.is_empty() {
            pieces.push(Piece::Keys(keys));
        }
        pieces
    }

    /// The keys that abandon the line on the terminal instead of its Enter:
    /// the end of an open bracketed paste, then Ctrl-E Ctrl-U (to the end
    /// of the line, kill it), which line editors and the kernel's own line
    /// discipline (where Ctrl-E is only a character, killed with the rest)
    /// both understand.
    pub(crate) fn kill_line(&mut self) -> Vec<u8> {
        let mut keys = Vec::new();
        if self.pasting {
            keys.extend_from_slice(b"\x1b[201~");
        }
        keys.extend_from_slice(b"\x05\x15");
        *self = Self::default();
        keys
    }

    fn key(&mut self, b: u8) {
        match self.escape {
            Escape::Start => {
                self.escape = match b {
                    b'[' => Escape::Csi,
                    b'O' => Escape::Ss3,
                    _ => Escape::None,
                };
                self.params.clear();
            }
            Escape::Ss3 => self.escape = Escape::None,
            Escape::Csi => {
                if (0x40..=0x7e).contains(&b) {
                    self.escape = Escape::None;
                    if b == b'~' && self.params == PASTE_START {
                        self.pasting = true;
                    } else if b == b'~' && self.params == PASTE_END {
                        self.pasting = false;
                    }
                } else if self.params.len() < MAX_PARAMS {
                    self.params.push(b);
                }
            }
            Escape::None => self.plain(b),
        }
    }

    fn plain(&mut self, b: u8) {
        match b {
            0x1b => {
                self.escape = Escape::Start;
                self.edited = true;
            }
            // Backspace is the one control key a line's keys say all about.
            0x7f | 0x08 => {}
            // Tab (completion), ^R (history search), ^Y (yank)…
            0x00..=0x1f => self.edited = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enter(line: &str) -> Piece {
        Piece::Enter {
            line: line.into(),
            key: b'\r',
            edited: false,
        }
    }

    fn keys(k: &[u8]) -> Piece {
        Piece::Keys(k.to_vec())
    }

    #[test]
    fn keys_pass_and_the_enter_carries_the_line() {
        let mut a = LineAssembler::default();
        assert_eq!(a.feed(b"ls -"), vec![keys(b"ls -")]);
        assert_eq!(a.feed(b"l\r"), vec![keys(b"l"), enter("ls -l")]);
        assert_eq!(a.feed(b"\r"), vec![enter("")]);
    }

    #[test]
    fn a_paste_is_one_line_per_enter() {
        let mut a = LineAssembler::default();
        assert_eq!(
            a.feed(b"a\rb\rc"),
            vec![keys(b"a"), enter("a"), keys(b"b"), enter("b"), keys(b"c")]
        );
    }

    #[test]
    fn the_line_is_its_keys_and_escape_sequences_hide_no_enter() {
        let mut a = LineAssembler::default();
        a.feed(b"ab\x7f");
        assert_eq!(a.feed(b"\r"), vec![enter("ab\x7f")]);
        // Up arrow, a function key split across frames, an SS3 arrow:
        // edited.
        a.feed(b"x\x1b[A\x1b[15");
        a.feed(b"~\x1bOBy");
        let edited = Piece::Enter {
            line: "x\x1b[A\x1b[15~\x1bOBy".into(),
            key: b'\r',
            edited: true,
        };
        assert_eq!(a.feed(b"\r"), vec![edited.clone()]);
        // An Enter inside an escape sequence is still an Enter.
        a.feed(b"\x1bO");
        let cut = Piece::Enter {
            line: "\x1bO".into(),
            key: b'\r',
            edited: true,
        };
        assert_eq!(a.feed(b"\rq"), vec![cut, keys(b"q")]);
        a.feed(b"\r");
        // The next line starts afresh; a Tab marks it edited.
        let next = Piece::Enter {
            line: "z\t".into(),
            key: b'\n',
            edited: true,
        };
        assert_eq!(a.feed(b"z\t\n")[1], next);
    }

    #[test]
    fn killing_a_line_closes_an_open_paste() {
        let mut a = LineAssembler::default();
        a.feed(b"plain");
        assert_eq!(a.kill_line(), b"\x05\x15");
        a.feed(b"\x1b[200~rm -rf /");
        assert_eq!(a.kill_line(), b"\x1b[201~\x05\x15");
        assert_eq!(a.feed(b"\r"), vec![enter("")]);
        a.feed(b"\x1b[200~a\x1b[201~");
        assert_eq!(a.kill_line(), b"\x05\x15");
    }
}
