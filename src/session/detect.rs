//! Classifying the screen: is the REPL ready, in the middle of a block,
//! waiting for a person's answer, or busy?

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::{Regex, RegexSet};
use serde::Serialize;

use crate::preset::PromptConfig;

/// Prompts that want a person, whatever the REPL: matched after the
/// preset's own patterns.
const COMMON_AWAITING: &[(&str, &str)] = &[
    (
        "password",
        r"(?i)(password|passphrase|passcode)[^:\n]*:\s*$",
    ),
    ("password", r"(?i)\[sudo\][^:\n]*:\s*$"),
    ("confirm", r"(?i)[\[(](y/n|yes/no)[\])]\s*[?:]?\s*$"),
    ("confirm", r"(?i)\((yes/no(/\[fingerprint\])?)\)\?\s*$"),
    ("pager", r"^\(END\)\s*$"),
    ("pager", r"--\s?[Mm]ore\s?(\(\d+%\))?\s?--"),
    ("pager", r"^:$"),
    ("key", r"(?i)press (enter|return|any key)"),
];

/// Compiled patterns are shared by every session that uses them: a
/// compiled (especially case-insensitive Unicode) regex costs tens of KB,
/// and a hundred sessions of one preset need it only once.
static REGEXES: LazyLock<Mutex<HashMap<String, Regex>>> = LazyLock::new(Default::default);
static SETS: LazyLock<Mutex<HashMap<Vec<String>, RegexSet>>> = LazyLock::new(Default::default);

fn shared_regex(pattern: &str) -> Result<Regex, regex::Error> {
    let mut cache = REGEXES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = cache.get(pattern) {
        return Ok(re.clone());
    }
    let re = Regex::new(pattern)?;
    cache.insert(pattern.to_string(), re.clone());
    Ok(re)
}

fn shared_set(patterns: &[String]) -> Result<RegexSet, regex::Error> {
    let mut cache = SETS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(set) = cache.get(patterns) {
        return Ok(set.clone());
    }
    let set = RegexSet::new(patterns)?;
    cache.insert(patterns.to_vec(), set.clone());
    Ok(set)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Detected {
    Ready,
    Continuation,
    AwaitingInput,
    Busy,
}

/// Prompts a session keeps learned at most (taught by the agent or seen by
/// the kernel); each is tried on every classification.
const MAX_LEARNED: usize = 32;

/// The compiled prompt patterns of one session.
#[derive(Debug, Clone)]
pub struct PromptMatcher {
    ready: RegexSet,
    continuation: RegexSet,
    awaiting: Vec<(String, Regex)>,
    /// Patterns taught at run time (`set_session_ready`), tried first,
    /// with the text they were given as.
    learned: Vec<Regex>,
    learned_sources: Vec<String>,
    /// See [`PromptConfig::reads_while_running`].
    pub reads_while_running: bool,
}

impl PromptMatcher {
    pub fn new(cfg: &PromptConfig) -> Result<Self, regex::Error> {
        let mut awaiting = Vec::new();
        for p in &cfg.awaiting_input {
            awaiting.push(("input".to_string(), shared_regex(p)?));
        }
        for (kind, p) in COMMON_AWAITING {
            awaiting.push(((*kind).to_string(), shared_regex(p)?));
        }
        Ok(Self {
            ready: shared_set(&cfg.ready)?,
            continuation: shared_set(&cfg.continuation)?,
            awaiting,
            learned: Vec::new(),
            learned_sources: Vec::new(),
            reads_while_running: cfg.reads_while_running,
        })
    }

    /// Teach a ready prompt: a regex, or a literal if it is not a valid one.
    /// A prompt is what sits right before the cursor, so the pattern must
    /// match at the end of the cursor line (else `calc% p`, the prompt and a
    /// typed key, would count as the prompt).
    pub fn learn(&mut self, pattern: &str) -> Regex {
        // Taught again: nothing new. Taught too often: the oldest goes.
        if let Some(i) = self.learned_sources.iter().position(|p| p == pattern) {
            return self.learned[i].clone();
        }
        if self.learned.len() >= MAX_LEARNED {
            self.learned.remove(0);
            self.learned_sources.remove(0);
        }
        let anchored = |p: &str| {
            if p.ends_with('$') {
                p.to_string()
            } else {
                format!("(?:{p})$")
            }
        };
        let re = Regex::new(&anchored(pattern)).unwrap_or_else(|_| {
            Regex::new(&anchored(&regex::escape(pattern)))
                .unwrap_or_else(|_| Regex::new("$^").expect("valid"))
        });
        self.learned.push(re.clone());
        self.learned_sources.push(pattern.to_string());
        re
    }

    /// The taught patterns, as given.
    pub fn learned(&self) -> Vec<String> {
        self.learned_sources.clone()
    }

    pub fn matches_learned(&self, cursor_line: &str) -> bool {
        self.learned.iter().any(|r| r.is_match(cursor_line))
    }

    /// Classify the cursor line. Returns the state and, for awaiting input,
    /// what kind of answer is wanted.
    pub fn classify(&self, cursor_line: &str) -> (Detected, Option<&str>) {
        if self.learned.iter().any(|r| r.is_match(cursor_line)) || self.ready.is_match(cursor_line)
        {
            return (Detected::Ready, None);
        }
        if self.continuation.is_match(cursor_line) {
            return (Detected::Continuation, None);
        }
        if let Some((kind, _)) = self.awaiting.iter().find(|(_, r)| r.is_match(cursor_line)) {
            return (Detected::AwaitingInput, Some(kind));
        }
        (Detected::Busy, None)
    }

    /// Whether a line looks like one of this REPL's prompts (used to strip
    /// the trailing prompt from a command's output).
    pub fn is_prompt(&self, line: &str) -> bool {
        matches!(
            self.classify(line).0,
            Detected::Ready | Detected::Continuation
        )
    }

    /// Only the awaiting-input patterns (shells use markers for the rest).
    pub fn awaiting_kind(&self, cursor_line: &str) -> Option<&str> {
        self.awaiting
            .iter()
            .find(|(_, r)| r.is_match(cursor_line))
            .map(|(k, _)| k.as_str())
    }
}

/// The text of the cursor's row up to the cursor: what a prompt regex sees.
pub fn cursor_line(screen: &vt100::Screen) -> String {
    let (row, col) = screen.cursor_position();
    let mut line = String::new();
    for c in 0..col {
        match screen.cell(row, c) {
            Some(cell) if cell.has_contents() => line.push_str(cell.contents()),
            Some(cell) if cell.is_wide_continuation() => {}
            _ => line.push(' '),
        }
    }
    line
}

/// Matchers shared by the unit tests of this module and its neighbours.
#[cfg(test)]
pub(crate) mod test_support {
    use super::PromptMatcher;
    use crate::preset::PromptConfig;

    pub(crate) fn python() -> PromptMatcher {
        PromptMatcher::new(&PromptConfig {
            ready: vec![r"^>>> $".into()],
            continuation: vec![r"^\.\.\. $".into()],
            ..Default::default()
        })
        .expect("valid regexes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_support::python;

    #[test]
    fn learned_prompts_are_deduplicated_and_capped() {
        let mut m = python();
        m.learn("calc% ");
        m.learn("calc% ");
        assert_eq!(m.learned(), vec!["calc% ".to_string()]);
        for i in 0..100 {
            m.learn(&format!("p{i}> "));
        }
        assert_eq!(m.learned().len(), MAX_LEARNED);
        assert!(m.matches_learned("p99> ") && !m.matches_learned("calc% "));
    }

    #[test]
    fn classifies_python_prompts() {
        let m = python();
        assert_eq!(m.classify(">>> ").0, Detected::Ready);
        assert_eq!(m.classify("... ").0, Detected::Continuation);
        assert_eq!(m.classify(">>> print(1)").0, Detected::Busy);
        assert_eq!(
            m.classify("Password: "),
            (Detected::AwaitingInput, Some("password"))
        );
        assert_eq!(
            m.classify("Continue? [y/N] "),
            (Detected::AwaitingInput, Some("confirm"))
        );
    }

    #[test]
    fn learned_patterns_win_and_literals_work() {
        let mut m = python();
        assert_eq!(m.classify("~/src ❯ ").0, Detected::Busy);
        m.learn("❯ ");
        assert_eq!(m.classify("~/src ❯ ").0, Detected::Ready);
        m.learn("[(unbalanced");
        assert_eq!(m.classify("x [(unbalanced").0, Detected::Ready);
    }

    #[test]
    fn cursor_line_pads_written_spaces() {
        let mut p = vt100::Parser::new(
            std::num::NonZeroU16::new(5).unwrap(),
            std::num::NonZeroU16::new(20).unwrap(),
            0,
        );
        p.process(b"hello\r\n>>> ");
        assert_eq!(cursor_line(p.screen()), ">>> ");
    }
}
