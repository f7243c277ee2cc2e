//! Turn raw terminal output into the text a person would read: escape
//! sequences removed, carriage-return overwrites resolved (so a progress bar
//! collapses to its final state), backspaces and line erasures applied.
//!
//! This is a line-oriented renderer, not a full screen model: output longer
//! than a screen must survive intact, and absolute cursor moves (which only
//! full-screen programs use) cannot be mapped onto a transcript anyway.

/// Render `raw` to clean text. Lines are joined with `\n`, trailing blanks
/// trimmed.
pub fn render(raw: &[u8]) -> String {
    let text = lossy_utf8(raw);
    let mut r = Renderer::default();
    // One row per line: reserved at once instead of grown by doubling
    // through megabytes of output.
    r.lines
        .reserve(text.bytes().filter(|&b| b == b'\n').count() + 1);
    for segment in text.split_inclusive('\n') {
        let (body, newline) = match segment.strip_suffix('\n') {
            Some(body) => (body.strip_suffix('\r').unwrap_or(body), true),
            None => (segment, false),
        };
        // Fast path: a plain line written on a fresh row, the bulk of any
        // long output, is copied as is instead of interpreted char by char.
        if r.at_fresh_row() && body.bytes().all(|b| b >= 0x20 && b != 0x7f) {
            r.put_plain(body, newline);
            continue;
        }
        for c in segment.chars() {
            r.feed(c);
        }
    }
    r.finish()
}

/// The line the cursor is on once `raw` is written from the start of a
/// fresh row, up to the cursor, blanks kept: what a screen's cursor line
/// reads (a prompt's trailing space is part of it).
pub fn cursor_line_text(raw: &[u8]) -> String {
    let text = lossy_utf8(raw);
    let mut r = Renderer::default();
    for c in text.chars() {
        r.feed(c);
    }
    let col = r.col;
    let line = r.line();
    line.iter()
        .copied()
        .chain(std::iter::repeat(' '))
        .take(col)
        .collect()
}

/// `raw` as text, invalid sequences replaced. Valid UTF-8 (nearly all
/// output) goes through the standard library's word-at-a-time check and is
/// borrowed; only invalid input takes the slower replacing walk.
pub fn lossy_utf8(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(raw),
    }
}

#[derive(Default)]
enum Mode {
    #[default]
    Ground,
    Escape,
    /// A charset designation (`ESC ( B`) or the like: one more character.
    EscapeArg,
    Csi(String),
    /// OSC, DCS, APC, PM, SOS: skipped up to BEL or ST.
    Str,
    StrEscape,
}

/// A rendered row: the slice of the input it arrived as until something
/// writes into it (most rows of a long output never are: no copy, no
/// allocation), then as characters.
enum Row<'a> {
    Text(&'a str),
    Chars(Vec<char>),
}

impl Row<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Row::Text(t) => t.is_empty(),
            Row::Chars(c) => c.is_empty(),
        }
    }

    fn chars(&mut self) -> &mut Vec<char> {
        if let Row::Text(t) = self {
            *self = Row::Chars(t.chars().collect());
        }
        match self {
            Row::Chars(c) => c,
            Row::Text(_) => unreachable!("converted above"),
        }
    }

    /// The row without trailing blanks, appended to `out`.
    fn push_trimmed(&self, out: &mut String) {
        match self {
            // Most rows end in a visible ASCII character: nothing to trim.
            Row::Text(t) if t.as_bytes().last().is_none_or(|&b| b > b' ' && b < 0x7f) => {
                out.push_str(t)
            }
            Row::Text(t) => out.push_str(t.trim_end()),
            Row::Chars(c) => {
                let end = c
                    .iter()
                    .rposition(|c| !c.is_whitespace())
                    .map_or(0, |p| p + 1);
                out.extend(&c[..end]);
            }
        }
    }

    fn len_hint(&self) -> usize {
        match self {
            Row::Text(t) => t.len(),
            Row::Chars(c) => c.len(),
        }
    }
}

#[derive(Default)]
struct Renderer<'a> {
    lines: Vec<Row<'a>>,
    row: usize,
    col: usize,
    mode: Mode,
}

impl<'a> Renderer<'a> {
    /// In plain text mode at the start of an empty last row.
    fn at_fresh_row(&self) -> bool {
        matches!(self.mode, Mode::Ground)
            && self.col == 0
            && (self.row == self.lines.len()
                || (self.row + 1 == self.lines.len() && self.lines[self.row].is_empty()))
    }

    fn line(&mut self) -> &mut Vec<char> {
        while self.lines.len() <= self.row {
            self.lines.push(Row::Chars(Vec::new()));
        }
        self.lines[self.row].chars()
    }

    /// A plain line (no control characters) on a fresh row, kept as text;
    /// with `newline`, the cursor goes on to the start of the next row.
    fn put_plain(&mut self, body: &'a str, newline: bool) {
        // A fresh row is the last one, empty, or the one just past the end.
        debug_assert!(self.at_fresh_row());
        self.lines.truncate(self.row);
        self.lines.push(Row::Text(body));
        if newline {
            self.row += 1;
            self.col = 0;
            self.lines.push(Row::Chars(Vec::new()));
        } else {
            self.col = body.chars().count();
        }
    }

    fn put(&mut self, c: char) {
        let col = self.col;
        let line = self.line();
        if line.len() < col {
            line.resize(col, ' ');
        }
        if col < line.len() {
            line[col] = c;
        } else {
            line.push(c);
        }
        self.col += 1;
    }

    /// Move `count` rows down, to the first column with `to_start`.
    fn down(&mut self, count: usize, to_start: bool) {
        self.row += count;
        if to_start {
            self.col = 0;
        }
        self.line();
    }

    fn feed(&mut self, c: char) {
        match std::mem::take(&mut self.mode) {
            Mode::Ground => self.ground(c),
            Mode::Escape => match c {
                '[' => self.mode = Mode::Csi(String::new()),
                ']' | 'P' | '_' | '^' | 'X' => self.mode = Mode::Str,
                // Charset designations take one more character.
                '(' | ')' | '*' | '+' | '#' | '%' => self.mode = Mode::EscapeArg,
                // Next line (ghci ends its echo with it), index, reverse index.
                'E' => self.down(1, true),
                'D' => self.down(1, false),
                'M' => self.row = self.row.saturating_sub(1),
                _ => {}
            },
            Mode::EscapeArg => {}
            Mode::Csi(mut params) => {
                if ('\x40'..='\x7e').contains(&c) {
                    self.csi(&params, c);
                } else if params.len() < 64 {
                    params.push(c);
                    self.mode = Mode::Csi(params);
                } else {
                    self.mode = Mode::Csi(params);
                }
            }
            Mode::Str => match c {
                '\x07' => {}
                '\x1b' => self.mode = Mode::StrEscape,
                _ => self.mode = Mode::Str,
            },
            Mode::StrEscape => {
                if c != '\\' {
                    self.mode = Mode::Str;
                }
            }
        }
    }

    fn ground(&mut self, c: char) {
        match c {
            '\x1b' => self.mode = Mode::Escape,
            '\r' => self.col = 0,
            '\n' => {
                self.row += 1;
                self.col = 0;
                self.line();
            }
            // Vertical tab and form feed move down like a line feed, in
            // the same column (the terminal adds no carriage return).
            '\x0b' | '\x0c' => self.down(1, false),
            '\x08' => self.col = self.col.saturating_sub(1),
            '\t' => self.col = (self.col / 8 + 1) * 8,
            c if (c as u32) < 0x20 || c == '\x7f' => {}
            c => self.put(c),
        }
    }

    fn csi(&mut self, params: &str, fin: char) {
        // Private-mode sequences (`ESC [ ? …`) never move text.
        if params.starts_with(['?', '>', '<', '=']) {
            return;
        }
        let nums: Vec<usize> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
        let first = nums.first().copied().unwrap_or(0);
        let count = first.max(1);
        let col = self.col;
        match fin {
            'K' => {
                let line = self.line();
                match first {
                    0 => line.truncate(col),
                    1 => line.iter_mut().take(col + 1).for_each(|c| *c = ' '),
                    _ => line.clear(),
                }
            }
            'C' => self.col += count,
            'D' => self.col = self.col.saturating_sub(count),
            'G' => self.col = count - 1,
            'A' => self.row = self.row.saturating_sub(count),
            'B' => self.down(count, false),
            // Cursor next / previous line: to the first column.
            'E' => self.down(count, true),
            'F' => {
                self.row = self.row.saturating_sub(count);
                self.col = 0;
            }
            'P' => {
                let line = self.line();
                if col < line.len() {
                    let end = (col + count).min(line.len());
                    line.drain(col..end);
                }
            }
            'X' => {
                let line = self.line();
                for c in line.iter_mut().skip(col).take(count) {
                    *c = ' ';
                }
            }
            '@' => {
                let line = self.line();
                if col < line.len() {
                    for _ in 0..count {
                        line.insert(col, ' ');
                    }
                }
            }
            'J' if first == 0 => {
                self.line().truncate(col);
                self.lines.truncate(self.row + 1);
            }
            _ => {}
        }
    }

    fn finish(self) -> String {
        let total: usize = self.lines.iter().map(|l| l.len_hint() + 1).sum();
        let mut out = String::with_capacity(total);
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            line.push_trimmed(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn strips_colours_and_osc() {
        assert_eq!(render(b"\x1b[31mred\x1b[0m \x1b]0;title\x07ok"), "red ok");
        assert_eq!(render(b"a\x1b]133;D;0\x1b\\b"), "ab");
    }

    #[test]
    fn carriage_return_overwrites() {
        assert_eq!(render(b" 10%\r 50%\r100%\r\ndone\r\n"), "100%\ndone\n");
        assert_eq!(render(b"abcdef\rxy"), "xycdef");
        assert_eq!(render(b"abcdef\rxy\x1b[K"), "xy");
    }

    #[test]
    fn backspace_and_erase() {
        assert_eq!(render(b"abc\x08\x08X"), "aXc");
        assert_eq!(render(b"hello\x1b[2K\rbye"), "bye");
        assert_eq!(render(b"abcdef\x1b[3D\x1b[P"), "abcef");
    }

    #[test]
    fn cursor_up_rewrites_previous_line() {
        assert_eq!(render(b"one\r\ntwo\x1b[A\rONE"), "ONE\ntwo");
    }

    #[test]
    fn every_line_motion_is_a_line_break() {
        // ghci's echo ends with ESC E (next line), then the result.
        assert_eq!(
            render(b"ghci> 6*7\x1bE\x1b[?1l\x1b>42\r\n"),
            "ghci> 6*7\n42\n"
        );
        // Index: down one row, same column.
        assert_eq!(render(b"ab\x1bDc"), "ab\n  c");
        // Reverse index: up one row.
        assert_eq!(render(b"one\r\ntwo\x1bM\rONE"), "ONE\ntwo");
        // Cursor next line (CSI n E) and previous line (CSI n F).
        assert_eq!(render(b"a\x1b[Eb\x1b[2Ec"), "a\nb\n\nc");
        assert_eq!(render(b"a\r\nb\x1b[Fx"), "x\nb");
        // Vertical tab and form feed move down in the same column.
        assert_eq!(render(b"a\x0bb\x0cc"), "a\n b\n  c");
        // A charset designation ending in a letter moves nothing.
        assert_eq!(render(b"a\x1b(Eb\x1b)Dc"), "abc");
    }

    #[test]
    fn the_cursor_line_keeps_the_blanks_before_the_cursor() {
        use super::cursor_line_text;
        assert_eq!(cursor_line_text(b">>> "), ">>> ");
        assert_eq!(cursor_line_text(b"\x1b[1;32mIn [3]:\x1b[0m "), "In [3]: ");
        // Only what lies before the cursor: a rewritten line is cut there.
        assert_eq!(cursor_line_text(b"abcdef\rxy"), "xy");
        assert_eq!(cursor_line_text(b"ab\x1b[3C"), "ab   ");
        assert_eq!(cursor_line_text(b""), "");
    }

    #[test]
    fn lossy_text_borrows_valid_input_and_replaces_the_rest() {
        use super::lossy_utf8;
        assert!(matches!(
            lossy_utf8("héllo".as_bytes()),
            std::borrow::Cow::Borrowed("héllo")
        ));
        assert_eq!(
            lossy_utf8(b"ok \xff then \xe2\x9c"),
            "ok \u{fffd} then \u{fffd}"
        );
        assert_eq!(lossy_utf8(b"\xc3"), "\u{fffd}");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(render(b"a\xffb"), "a\u{fffd}b");
    }
}
