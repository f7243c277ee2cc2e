//! Helpers on the facts the host passes, and defaults for tests: build a
//! `DetectInput` or `HookFacts` with `..Default::default()` and set only
//! what the test is about.

use crate::bindings::{DetectInput, HookFacts, KernelFacts, SessionFacts};

impl Default for KernelFacts {
    /// Everything unknown.
    fn default() -> Self {
        KernelFacts {
            echo: None,
            canonical: None,
            foreground: None,
            reading_terminal: None,
        }
    }
}

impl KernelFacts {
    /// Echo off in canonical mode while the program reads its terminal:
    /// how every password prompt reads a line.
    pub fn reads_secret(&self) -> bool {
        self.echo == Some(false)
            && self.canonical == Some(true)
            && self.reading_terminal != Some(false)
    }

    /// The foreground program's name, when known (`python3`, `less`, …).
    pub fn foreground_name(&self) -> Option<&str> {
        self.foreground.as_ref().map(|f| f.name.as_str())
    }
}

impl Default for SessionFacts {
    /// A local session about which nothing is known.
    fn default() -> Self {
        SessionFacts {
            kernel: KernelFacts::default(),
            target: None,
            parameters: Vec::new(),
            since_input_ms: None,
        }
    }
}

impl SessionFacts {
    /// The value of target parameter `key` (e.g. `host`), if set.
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

// The generated types cannot derive Default (wit-bindgen would add it to the
// enums too, which have no default).
#[allow(clippy::derivable_impls)]
impl Default for DetectInput {
    fn default() -> Self {
        DetectInput {
            screen: String::new(),
            cursor_row: 0,
            cursor_col: 0,
            cursor_line: String::new(),
            recent_output: String::new(),
            alternate_screen: false,
            preset: String::new(),
            session: SessionFacts::default(),
        }
    }
}

impl DetectInput {
    /// A screen whose last line is `line`, with the cursor at its end: what
    /// the host passes when a REPL has just printed a prompt.
    pub fn at_prompt(screen: &str, line: &str) -> DetectInput {
        let row = screen.lines().count().saturating_sub(1);
        DetectInput {
            screen: screen.to_string(),
            cursor_row: u16::try_from(row).unwrap_or(u16::MAX),
            cursor_col: u16::try_from(line.chars().count()).unwrap_or(u16::MAX),
            cursor_line: line.to_string(),
            ..DetectInput::default()
        }
    }
}

// The generated types cannot derive Default (wit-bindgen would add it to the
// enums too, which have no default).
#[allow(clippy::derivable_impls)]
impl Default for HookFacts {
    fn default() -> Self {
        HookFacts {
            preset: String::new(),
            state: String::new(),
            elapsed_ms: 0,
            screen: String::new(),
            recent_output: String::new(),
            exit_code: None,
            restarts: 0,
            last_input: String::new(),
            session: SessionFacts::default(),
        }
    }
}

impl HookFacts {
    /// Milliseconds since the last input: the session's figure when the host
    /// knows it, else the time the current wait has run.
    pub fn since_input_ms(&self) -> u64 {
        self.session.since_input_ms.unwrap_or(self.elapsed_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_unknown_and_helpers_read_them() {
        let mut facts = HookFacts {
            elapsed_ms: 5,
            ..HookFacts::default()
        };
        assert_eq!(facts.since_input_ms(), 5);
        facts.session.since_input_ms = Some(70);
        assert_eq!(facts.since_input_ms(), 70);
        assert!(!facts.session.kernel.reads_secret());
        facts.session.kernel.echo = Some(false);
        facts.session.kernel.canonical = Some(true);
        assert!(facts.session.kernel.reads_secret());
        facts.session.parameters = vec![("host".into(), "db1".into())];
        assert_eq!(facts.session.parameter("host"), Some("db1"));
        let input = DetectInput::at_prompt("banner\n>>> ", ">>> ");
        assert_eq!((input.cursor_row, input.cursor_col), (1, 4));
    }
}
