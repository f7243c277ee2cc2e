//! How one input becomes the keystrokes its REPL needs: a pure planner.
//!
//! An agent sends text; the REPL wants it typed the way it can take it —
//! line by line after each prompt, as one bracketed paste, or with blank
//! lines only where they end a block (python). A line too long for a program
//! reading in the terminal's canonical mode is handed over in pieces, or the
//! whole input is refused before anything is typed: never cut silently.
//!
//! The planner sees only the text and facts it is given (the preset's
//! `[input]` table, whether the program has bracketed paste on); the caller
//! writes the steps and waits between them.

mod python;

use std::borrow::Cow;

use crate::preset::{InputConfig, InputMode, LongLines};

const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";
/// Enter, as a keyboard sends it.
const ENTER: u8 = b'\r';
/// The terminal's end-of-file key: in canonical mode it hands the line typed
/// so far to the reader without a newline (and ends the input only when
/// nothing was typed, which a piece never is).
const EOF_KEY: u8 = 0x04;

/// One input and what is known about where it goes.
#[derive(Debug, Clone, Copy)]
pub struct Submission<'a> {
    pub text: &'a str,
    /// Press Enter after the text.
    pub add_newline: bool,
    /// How this REPL takes input (the caller uses `lines` when the input
    /// is not for the REPL itself, e.g. a program it runs reads a line).
    pub input: &'a InputConfig,
    /// The program has bracketed paste turned on right now.
    pub paste_on: bool,
    /// Pieces ended by the end-of-file key may be used for long lines (the
    /// REPL itself reads the line); otherwise long lines are refused.
    pub eof_chunks_allowed: bool,
}

/// One write to the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The keys to type.
    pub bytes: Vec<u8>,
    /// The step ends with Enter: the REPL answers it (its next prompt, or
    /// output and a pause) before the next step is typed.
    pub await_prompt: bool,
    /// One line of text with tabs, which a line editor would take as
    /// completion requests: when the program has bracketed paste on at the
    /// moment this is typed, it goes as a paste, so the tabs stay tabs.
    pub literal: bool,
}

impl Step {
    /// The bytes to write, given whether the program has bracketed paste on
    /// now (as a terminal pastes only into programs that asked for it).
    pub fn keys(&self, paste_on: bool) -> Cow<'_, [u8]> {
        if !(self.literal && paste_on) {
            return Cow::Borrowed(&self.bytes);
        }
        let text = self.bytes.strip_suffix(&[ENTER]).unwrap_or(&self.bytes);
        let enter = text.len() != self.bytes.len();
        Cow::Owned(pasted(text, enter))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error(
        "nothing was typed: line {line} of the input is {bytes} bytes, longer than the {limit} \
         bytes this session's program takes in one line (a longer line would be cut, not read \
         whole: the terminal's canonical mode holds 4095 bytes, and some programs have their \
         own limit). Split it into shorter lines, or pass long data another way (e.g. write it \
         to a file and read that)"
    )]
    LineTooLong {
        line: usize,
        bytes: usize,
        limit: usize,
    },
}

/// Plan the steps for one input.
pub fn plan(s: &Submission<'_>) -> Result<Vec<Step>, SubmitError> {
    let (lines, tail) = split(s.text, s.add_newline);
    let limit = s.input.max_line_bytes;
    if s.input.mode == InputMode::BracketedPaste
        && s.paste_on
        && (lines.len() + usize::from(!tail.is_empty()) > 1 || s.text.contains('\t'))
        && pasteable(s.text)
    {
        check_lengths(lines.iter().copied().chain(Some(tail)), limit)?;
        let mut text = lines.join("\r");
        if !tail.is_empty() {
            if !lines.is_empty() {
                text.push('\r');
            }
            text.push_str(tail);
        }
        return Ok(vec![Step {
            bytes: pasted(text.as_bytes(), tail.is_empty()),
            await_prompt: tail.is_empty(),
            literal: false,
        }]);
    }
    let chunk = match (s.input.long_lines, s.eof_chunks_allowed, limit) {
        (LongLines::EofChunks, true, Some(limit)) => Some(piece_size(limit)),
        _ => None,
    };
    if chunk.is_none() {
        check_lengths(lines.iter().copied().chain(Some(tail)), limit)?;
    }
    let (lines, tail) = match s.input.mode {
        InputMode::PythonBlocks => python::arrange(&lines, tail),
        _ => (lines, tail),
    };
    let mut steps = Vec::with_capacity(lines.len() + 1);
    for line in lines {
        let mut bytes = typed(line, limit, chunk);
        bytes.push(ENTER);
        steps.push(Step {
            bytes,
            await_prompt: true,
            literal: is_literal(line),
        });
    }
    if !tail.is_empty() {
        steps.push(Step {
            bytes: typed(tail, limit, chunk),
            await_prompt: false,
            literal: false,
        });
    }
    Ok(steps)
}

/// The text the REPL echoes for these steps, one line per line typed:
/// without Enter, paste brackets or end-of-file keys.
pub fn echoed(steps: &[Step]) -> String {
    let mut lines: Vec<String> = Vec::with_capacity(steps.len());
    for step in steps {
        let mut bytes = step.bytes.as_slice();
        if let Some(inner) = bytes
            .strip_prefix(PASTE_START)
            .and_then(|b| b.strip_suffix(&[ENTER]).or(Some(b)))
            .and_then(|b| b.strip_suffix(PASTE_END))
        {
            bytes = inner;
        }
        let text: Vec<u8> = bytes.iter().copied().filter(|&b| b != EOF_KEY).collect();
        let text = String::from_utf8_lossy(&text);
        let text = text.strip_suffix(ENTER as char).unwrap_or(&text);
        lines.extend(text.split(ENTER as char).map(str::to_string));
    }
    lines.join("\n")
}

/// The input's complete lines (each to be followed by Enter; a `\r` before
/// the `\n` is dropped) and the text after the last one, typed as is.
fn split(text: &str, add_newline: bool) -> (Vec<&str>, &str) {
    let mut lines: Vec<&str> = text.split('\n').collect();
    let mut tail = lines.pop().unwrap_or_default();
    let mut lines: Vec<&str> = lines
        .into_iter()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if add_newline {
        lines.push(tail.strip_suffix('\r').unwrap_or(tail));
        tail = "";
    }
    (lines, tail)
}

/// Refuse the input if a line is longer than `limit`; 1-based line numbers.
fn check_lengths<'a>(
    lines: impl Iterator<Item = &'a str>,
    limit: Option<usize>,
) -> Result<(), SubmitError> {
    let Some(limit) = limit else { return Ok(()) };
    for (i, line) in lines.enumerate() {
        if line.len() > limit {
            return Err(SubmitError::LineTooLong {
                line: i + 1,
                bytes: line.len(),
                limit,
            });
        }
    }
    Ok(())
}

/// Pieces stay well under the limit: the terminal's line buffer also holds
/// the end-of-file mark, and a reader may not have taken all of the piece
/// before.
fn piece_size(limit: usize) -> usize {
    (limit - limit / 4).max(1)
}

/// The keys for one line (without Enter): a line longer than the limit goes
/// in pieces, each ended by the end-of-file key, cut at character
/// boundaries and never empty.
fn typed(line: &str, limit: Option<usize>, chunk: Option<usize>) -> Vec<u8> {
    let (Some(limit), Some(chunk)) = (limit, chunk) else {
        return line.as_bytes().to_vec();
    };
    if line.len() <= limit {
        return line.as_bytes().to_vec();
    }
    let mut out = Vec::with_capacity(line.len() + line.len() / chunk + 1);
    let mut rest = line;
    while rest.len() > chunk {
        let mut cut = chunk;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        out.extend_from_slice(&rest.as_bytes()[..cut]);
        out.push(EOF_KEY);
        rest = &rest[cut..];
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

/// Text a line editor may take as a paste: no keys meant as keys (control
/// characters other than tab and line breaks, escape sequences).
fn pasteable(text: &str) -> bool {
    !text
        .chars()
        .any(|c| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{7f}')
}

fn is_literal(line: &str) -> bool {
    line.contains('\t') && pasteable(line)
}

fn pasted(text: &[u8], enter: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + PASTE_START.len() + PASTE_END.len() + 1);
    out.extend_from_slice(PASTE_START);
    out.extend_from_slice(text);
    out.extend_from_slice(PASTE_END);
    if enter {
        out.push(ENTER);
    }
    out
}

#[cfg(test)]
mod tests;
