//! The `[input]` table of a preset: how typed text is submitted to the REPL.

use serde::{Deserialize, Serialize};

/// How a multi-line input reaches the REPL.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum InputMode {
    /// One line at a time, each after the REPL's next prompt (or a short
    /// pause, for lines a running program reads itself).
    #[default]
    Lines,
    /// The whole input as one bracketed paste (`ESC[200~ … ESC[201~`) and
    /// then Enter, for line editors that take a pasted block as one unit.
    /// Used only while the program has bracketed paste turned on; otherwise
    /// the input is typed as `lines`.
    BracketedPaste,
    /// Like `lines`, for REPLs that end a block at a blank line (python's
    /// basic REPL, ipython's simple prompt): blank lines inside an indented
    /// block are dropped, and a compound statement at the top level gets
    /// exactly the one blank line that ends it.
    PythonBlocks,
}

impl InputMode {
    pub fn as_str(self) -> &'static str {
        match self {
            InputMode::Lines => "lines",
            InputMode::BracketedPaste => "bracketed-paste",
            InputMode::PythonBlocks => "python-blocks",
        }
    }
}

/// What to do with a line longer than `max_line_bytes`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum LongLines {
    /// Refuse the whole input with an error naming the limit; nothing is typed.
    #[default]
    Refuse,
    /// Hand the line to the program in pieces, each ended by the terminal's
    /// end-of-file key (Ctrl-D), which passes a partial line on to a program
    /// reading in canonical mode. Only for programs that read their input
    /// as a stream (most do); never for a line editor in raw mode.
    EofChunks,
}

/// `[input]`: how text typed into this REPL is submitted.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    #[serde(default)]
    pub mode: InputMode,
    /// The longest line (in bytes, without the newline) the program takes.
    /// A program reading in the terminal's canonical mode (no line editor)
    /// takes 4095 on Linux; longer lines would be cut silently.
    #[serde(default)]
    pub max_line_bytes: Option<usize>,
    /// What to do with a longer line.
    #[serde(default)]
    pub long_lines: LongLines,
}

impl InputConfig {
    /// The rules for input read by whoever reads the terminal now: the REPL
    /// itself (at its prompt) takes input its own way; a program it runs
    /// gets plain lines, within the same limit.
    pub fn for_reader(self, repl_reads: bool) -> InputConfig {
        if repl_reads {
            return self;
        }
        InputConfig {
            mode: InputMode::Lines,
            ..self
        }
    }

    /// What serde cannot check; `Err((key, message))`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.max_line_bytes == Some(0) {
            return Err(("input.max_line_bytes", "must be greater than 0".into()));
        }
        if self.long_lines == LongLines::EofChunks {
            if self.max_line_bytes.is_none() {
                return Err((
                    "input.long_lines",
                    "`eof-chunks` needs `max_line_bytes` (the limit the pieces stay under)".into(),
                ));
            }
            if self.mode == InputMode::BracketedPaste {
                return Err((
                    "input.long_lines",
                    "`eof-chunks` is for programs reading in canonical mode, not a line editor \
                     taking bracketed paste"
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks() {
        let c: InputConfig = toml::from_str(
            "mode = \"python-blocks\"\nmax_line_bytes = 4095\nlong_lines = \"eof-chunks\"",
        )
        .unwrap();
        assert_eq!(c.mode, InputMode::PythonBlocks);
        assert_eq!(c.max_line_bytes, Some(4095));
        assert!(c.check().is_ok());
        assert_eq!(InputConfig::default().mode, InputMode::Lines);
        let bad: InputConfig = toml::from_str("long_lines = \"eof-chunks\"").unwrap();
        assert_eq!(bad.check().unwrap_err().0, "input.long_lines");
        assert!(toml::from_str::<InputConfig>("mode = \"paste\"").is_err());
        assert!(toml::from_str::<InputConfig>("modes = \"lines\"").is_err());
    }
}
