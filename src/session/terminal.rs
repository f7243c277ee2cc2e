//! The terminal model of a session: a vt100 screen, fed so that bulk output
//! costs about one screenful per burst instead of its whole length.
//!
//! Plain text (no escape sequences) that scrolls by more than a screen only
//! matters for its last screenful. While more bytes are already waiting, such
//! text is kept aside (trimmed to its last screenful) and fed to the screen
//! when the burst pauses, when other bytes arrive, or when anyone looks.

use std::num::NonZeroU16;

/// Bytes fed as they are at the start of a plain run: they finish any escape
/// sequence an earlier chunk left open.
const HEAD: usize = 64;

pub struct Terminal {
    parser: vt100::Parser,
    /// Plain text not yet fed to the screen.
    deferred: Vec<u8>,
    /// The front of `deferred` was dropped: start it on a fresh line.
    trimmed: bool,
    /// The last chunk ended with ESC, held back: it may start a line motion.
    held_escape: bool,
}

fn nz(v: u16) -> NonZeroU16 {
    NonZeroU16::new(v.max(1)).unwrap_or(NonZeroU16::MIN)
}

impl Terminal {
    pub fn new(rows: u16, cols: u16) -> Self {
        Self {
            parser: vt100::Parser::new(nz(rows), nz(cols), 0),
            deferred: Vec::new(),
            trimmed: false,
            held_escape: false,
        }
    }

    fn rows(&self) -> usize {
        usize::from(self.parser.screen().size().0.get())
    }

    /// Feed a chunk; `more` says further bytes are already waiting.
    pub fn feed(&mut self, chunk: &[u8], more: bool) {
        if self.held_escape || chunk.contains(&0x1b) {
            let chunk = line_motions(chunk, &mut self.held_escape);
            self.flush();
            self.parser.process(&chunk);
            return;
        }
        let mut rest = chunk;
        if self.deferred.is_empty() && !self.trimmed {
            let head = rest.len().min(HEAD);
            self.parser.process(&rest[..head]);
            rest = &rest[head..];
        }
        self.deferred.extend_from_slice(rest);
        self.trim();
        if !more {
            self.flush();
        }
    }

    /// Keep only the last screenful (plus one line) of the deferred text.
    fn trim(&mut self) {
        let keep = self.rows() + 1;
        let mut newlines = 0;
        let cut = self.deferred.iter().rposition(|&b| {
            newlines += usize::from(b == b'\n');
            newlines > keep
        });
        // Trim only when well past a screenful, so short bursts cost nothing.
        if let Some(cut) = cut
            && cut > 16 * 1024
        {
            self.deferred.drain(..=cut);
            self.trimmed = true;
        }
    }

    fn flush(&mut self) {
        if self.trimmed {
            self.parser.process(b"\r\n");
            self.trimmed = false;
        }
        if !self.deferred.is_empty() {
            self.parser.process(&self.deferred);
            self.deferred.clear();
        }
    }

    /// The screen, up to date.
    pub fn screen(&mut self) -> &vt100::Screen {
        self.flush();
        self.parser.screen()
    }

    pub fn set_size(&mut self, rows: u16, cols: u16) {
        self.flush();
        self.parser.set_size(nz(rows), nz(cols));
    }

    /// A fresh screen of the same size (a restarted REPL).
    pub fn reset(&mut self) {
        let (rows, cols) = self.parser.screen().size();
        *self = Self::new(rows.get(), cols.get());
    }
}

/// ESC E (next line) and ESC D (index) as the moves the vt100 crate knows,
/// CR LF and LF: it ignores them, and ghci ends every echo with ESC E. An ESC
/// at the end of a chunk is held back until the next one says what it starts.
fn line_motions<'a>(chunk: &'a [u8], held_escape: &mut bool) -> std::borrow::Cow<'a, [u8]> {
    let rewrite = *held_escape
        || chunk.last() == Some(&0x1b)
        || chunk
            .windows(2)
            .any(|w| w[0] == 0x1b && matches!(w[1], b'E' | b'D'));
    if !rewrite {
        return std::borrow::Cow::Borrowed(chunk);
    }
    let mut out = Vec::with_capacity(chunk.len() + 2);
    let mut escape = std::mem::take(held_escape);
    for &b in chunk {
        if escape {
            match b {
                // A second ESC abandons the first, as the terminal does.
                0x1b => continue,
                b'E' => out.extend_from_slice(b"\r\n"),
                b'D' => out.push(b'\n'),
                _ => out.extend_from_slice(&[0x1b, b]),
            }
            escape = false;
        } else if b == 0x1b {
            escape = true;
        } else {
            out.push(b);
        }
    }
    *held_escape = escape;
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::Terminal;

    #[test]
    fn next_line_and_index_move_the_cursor() {
        let mut t = Terminal::new(5, 40);
        // ghci: the echo ends with ESC E; a definition prints nothing.
        t.feed(b"ghci> f x = x\x1bE\x1b[?1l\x1b>\x1b[?1h\x1b=ghci> ", false);
        assert_eq!(t.screen().contents(), "ghci> f x = x\nghci> ");
        assert_eq!(t.screen().cursor_position(), (1, 6));
        // Split across chunks, and ESC D (index: down, same column).
        let mut t = Terminal::new(5, 40);
        t.feed(b"ab\x1b", true);
        t.feed(b"Dc\x1b", true);
        t.feed(b"\x1b", true);
        t.feed(b"E>", false);
        assert_eq!(t.screen().contents(), "ab\n  c\n>");
        // Other escapes pass untouched.
        let mut t = Terminal::new(5, 40);
        t.feed(b"\x1b[31mred\x1b", true);
        t.feed(b"[0m ok", false);
        assert_eq!(t.screen().contents(), "red ok");
    }

    fn lines(from: usize, to: usize) -> Vec<u8> {
        (from..to)
            .flat_map(|i| format!("line {i}\r\n").into_bytes())
            .collect()
    }

    #[test]
    fn deferred_bulk_gives_the_same_screen_as_feeding_everything() {
        let data = lines(0, 20_000);
        let mut full = vt100::Parser::new(
            std::num::NonZeroU16::new(10).unwrap(),
            std::num::NonZeroU16::new(40).unwrap(),
            0,
        );
        full.process(b"\x1b[31mred\x1b[0m\r\n");
        full.process(&data);
        full.process(b">>> ");
        let mut t = Terminal::new(10, 40);
        t.feed(b"\x1b[31mred\x1b[0m\r\n", false);
        for c in data.chunks(4096) {
            t.feed(c, true);
        }
        t.feed(b">>> ", false);
        assert_eq!(t.screen().contents(), full.screen().contents());
        assert_eq!(
            t.screen().cursor_position(),
            full.screen().cursor_position()
        );
    }

    #[test]
    fn an_escape_split_across_chunks_is_finished_by_the_head() {
        let mut full = vt100::Parser::new(
            std::num::NonZeroU16::new(5).unwrap(),
            std::num::NonZeroU16::new(40).unwrap(),
            0,
        );
        full.process(b"a\x1b[3");
        full.process(b"1mb");
        let mut t = Terminal::new(5, 40);
        t.feed(b"a\x1b[3", true);
        t.feed(b"1mb", false);
        assert_eq!(
            t.screen().contents_formatted(),
            full.screen().contents_formatted()
        );
    }
}
