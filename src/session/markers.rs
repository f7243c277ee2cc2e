//! Finds the shell-integration markers (OSC 133) in the raw PTY stream.
//!
//! Shell presets install a prompt that brackets itself with invisible
//! `ESC ] 133 ; … BEL` sequences. Echoed input can never contain them (a
//! typed ESC is echoed as `^[`), so they tell exactly where a command's
//! output starts and ends, and with which exit status.

/// One marker and the absolute byte offsets of the sequence in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub kind: MarkerKind,
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerKind {
    /// `A`: a prompt starts; `secondary` for PS2 (a continuation line).
    PromptStart { secondary: bool },
    /// `B`: the prompt ends, the shell waits for input.
    PromptEnd,
    /// `C`: a command line was accepted and starts running.
    CommandStart,
    /// `D;status`: the previous command finished.
    CommandDone { status: Option<i32> },
}

/// Longest OSC body we bother to collect; longer ones are not ours.
const MAX_BODY: usize = 64;

#[derive(Debug, Default)]
enum State {
    #[default]
    Ground,
    Escape,
    Body,
    BodyEscape,
}

/// Incremental scanner: sequences may be split across PTY reads.
#[derive(Debug, Default)]
pub struct MarkerScanner {
    state: State,
    body: Vec<u8>,
    seq_start: u64,
    overflow: bool,
}

impl MarkerScanner {
    /// Scan `chunk`, which starts at absolute offset `base`.
    pub fn scan(&mut self, chunk: &[u8], base: u64, out: &mut Vec<Marker>) {
        if matches!(self.state, State::Ground) && !chunk.contains(&0x1b) {
            return;
        }
        for (i, &b) in chunk.iter().enumerate() {
            let at = base + i as u64;
            match self.state {
                State::Ground => {
                    if b == 0x1b {
                        self.state = State::Escape;
                        self.seq_start = at;
                    }
                }
                State::Escape => {
                    if b == b']' {
                        self.state = State::Body;
                        self.body.clear();
                        self.overflow = false;
                    } else if b == 0x1b {
                        self.seq_start = at;
                    } else {
                        self.state = State::Ground;
                    }
                }
                State::Body => match b {
                    0x07 => self.finish(at + 1, out),
                    0x1b => self.state = State::BodyEscape,
                    _ => {
                        if self.body.len() < MAX_BODY {
                            self.body.push(b);
                        } else {
                            self.overflow = true;
                        }
                    }
                },
                State::BodyEscape => {
                    if b == b'\\' {
                        self.finish(at + 1, out);
                    } else {
                        // A new escape sequence interrupted the OSC.
                        self.state = if b == b']' {
                            State::Body
                        } else {
                            State::Ground
                        };
                        self.seq_start = at - 1;
                        self.body.clear();
                    }
                }
            }
        }
    }

    fn finish(&mut self, end: u64, out: &mut Vec<Marker>) {
        self.state = State::Ground;
        if self.overflow {
            return;
        }
        if let Some(kind) = parse_body(&self.body) {
            out.push(Marker {
                kind,
                start: self.seq_start,
                end,
            });
        }
    }
}

fn parse_body(body: &[u8]) -> Option<MarkerKind> {
    let text = std::str::from_utf8(body).ok()?;
    let rest = text.strip_prefix("133;")?;
    let mut parts = rest.split(';');
    let kind = match parts.next()? {
        "A" => MarkerKind::PromptStart {
            secondary: parts.any(|p| p == "k=s"),
        },
        "B" => MarkerKind::PromptEnd,
        "C" => MarkerKind::CommandStart,
        "D" => MarkerKind::CommandDone {
            status: parts.next().and_then(|s| s.parse().ok()),
        },
        _ => return None,
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(chunks: &[&[u8]]) -> Vec<Marker> {
        let mut s = MarkerScanner::default();
        let mut out = Vec::new();
        let mut base = 0;
        for c in chunks {
            s.scan(c, base, &mut out);
            base += c.len() as u64;
        }
        out
    }

    #[test]
    fn finds_markers_with_offsets_and_status() {
        let m = scan_all(&[b"out\x1b]133;D;2\x07\x1b]133;A\x07$ \x1b]133;B\x07"]);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].kind, MarkerKind::CommandDone { status: Some(2) });
        assert_eq!((m[0].start, m[0].end), (3, 13));
        assert_eq!(m[1].kind, MarkerKind::PromptStart { secondary: false });
        assert_eq!(m[2].kind, MarkerKind::PromptEnd);
    }

    #[test]
    fn survives_splits_and_st_terminator() {
        let m = scan_all(&[b"\x1b", b"]13", b"3;A;k=s\x1b", b"\\> "]);
        assert_eq!(
            m,
            vec![Marker {
                kind: MarkerKind::PromptStart { secondary: true },
                start: 0,
                end: 13
            }]
        );
    }

    #[test]
    fn ignores_other_osc_and_echoed_text() {
        let m = scan_all(&[b"\x1b]0;title\x07^[]133;B echo", b"\x1b[31m"]);
        assert!(m.is_empty());
    }
}
