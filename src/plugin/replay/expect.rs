//! Expectations for a replay, from a TOML file:
//!
//! ```toml
//! [[expect]]
//! after_input = 1          # once the output after the 1st input settled…
//! state = "ready"          # …the session is ready
//!
//! [[expect]]
//! at = 42.0                # the first hook called at or after 42 s…
//! hook = "on-timeout"      # (optional: this hook)
//! decision = "send-signal" # …decides this (a kind, or a full label such as 'send-signal("SIGINT")', or "none")
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{Replay, StepKind};
use crate::plugin::manifest::line_col;

const STATES: &[&str] = &[
    "starting",
    "ready",
    "busy",
    "continuation",
    "awaiting-input",
    "exited",
];
const HOOKS: &[&str] = &["on-timeout", "on-exit", "on-startup-failure"];
const DECISIONS: &[&str] = &[
    "none",
    "wait",
    "send-input",
    "send-signal",
    "set-ready",
    "restart",
    "mark-failed",
    "ask-llm",
];

/// A problem in an expectations file, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {}{message}", file.display(), key.as_deref().map(|k| format!("`{k}`: ")).unwrap_or_default())]
pub struct ExpectError {
    pub file: PathBuf,
    pub line: usize,
    pub key: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    At(f64),
    AfterInput(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// Line in the file, for messages.
    pub line: usize,
    pub when: When,
    pub state: Option<String>,
    pub hook: Option<String>,
    pub decision: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expectations {
    pub file: PathBuf,
    pub items: Vec<Expectation>,
}

/// An expectation the replay did not meet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {what}: expected {expected}, got {got}", file.display())]
pub struct Mismatch {
    pub file: PathBuf,
    pub line: usize,
    pub what: String,
    pub expected: String,
    pub got: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    expect: Vec<Spanned<RawExpect>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    at: Option<Spanned<f64>>,
    after_input: Option<Spanned<i64>>,
    state: Option<Spanned<String>>,
    hook: Option<Spanned<String>>,
    decision: Option<Spanned<String>>,
}

/// The decision's kind: the label up to `(`.
fn kind_of(label: &str) -> &str {
    label.split('(').next().unwrap_or(label)
}

impl Expectations {
    pub fn read(path: &Path) -> Result<Expectations, ExpectError> {
        let text = std::fs::read_to_string(path).map_err(|e| ExpectError {
            file: path.to_path_buf(),
            line: 0,
            key: None,
            message: format!("cannot read: {e}"),
        })?;
        Expectations::parse(&text, path)
    }

    pub fn parse(text: &str, file: &Path) -> Result<Expectations, ExpectError> {
        let at = |span: Option<Range<usize>>, key: Option<&str>, message: String| {
            let line = span.map_or(0, |s| line_col(text, s.start).0);
            ExpectError {
                file: file.to_path_buf(),
                line,
                key: key.map(str::to_string),
                message,
            }
        };
        let raw: RawFile =
            toml::from_str(text).map_err(|e| at(e.span(), None, e.message().trim().to_string()))?;
        let mut items = Vec::new();
        for item in &raw.expect {
            let span = item.span();
            let line = line_col(text, span.start).0;
            let e = item.get_ref();
            let when = match (&e.at, &e.after_input) {
                (Some(t), None) => {
                    let v = *t.get_ref();
                    if !v.is_finite() || v < 0.0 {
                        return Err(at(
                            Some(t.span()),
                            Some("at"),
                            format!("{v} is not a time in seconds (a number >= 0)"),
                        ));
                    }
                    When::At(v)
                }
                (None, Some(i)) => {
                    let v = *i.get_ref();
                    if v < 1 {
                        return Err(at(
                            Some(i.span()),
                            Some("after_input"),
                            format!("{v}: inputs count from 1"),
                        ));
                    }
                    When::AfterInput(usize::try_from(v).unwrap_or(usize::MAX))
                }
                _ => {
                    return Err(at(
                        Some(span),
                        None,
                        "give exactly one of `at` (seconds) or `after_input` (1, 2, …)".into(),
                    ));
                }
            };
            let pick =
                |v: &Option<Spanned<String>>, key: &str, allowed: &[&str], of: fn(&str) -> &str| {
                    match v {
                        Some(s) if !allowed.contains(&of(s.get_ref())) => Err(at(
                            Some(s.span()),
                            Some(key),
                            format!(
                                "unknown {key} `{}`; one of: {}",
                                s.get_ref(),
                                allowed.join(", ")
                            ),
                        )),
                        Some(s) => Ok(Some(s.get_ref().clone())),
                        None => Ok(None),
                    }
                };
            let state = pick(&e.state, "state", STATES, |s| s)?;
            let hook = pick(&e.hook, "hook", HOOKS, |s| s)?;
            let decision = pick(&e.decision, "decision", DECISIONS, kind_of)?;
            if state.is_none() && decision.is_none() {
                return Err(at(
                    Some(span),
                    None,
                    "expect a `state` or a `decision`".into(),
                ));
            }
            items.push(Expectation {
                line,
                when,
                state,
                hook,
                decision,
            });
        }
        Ok(Expectations {
            file: file.to_path_buf(),
            items,
        })
    }

    /// Every expectation the replay did not meet.
    pub fn check(&self, replay: &Replay) -> Vec<Mismatch> {
        let mut out = Vec::new();
        for e in &self.items {
            let mismatch = |what: String, expected: String, got: String| Mismatch {
                file: self.file.clone(),
                line: e.line,
                what,
                expected,
                got,
            };
            let (what, from) = match e.when {
                When::At(t) => (
                    format!("at {t}s"),
                    replay
                        .steps
                        .iter()
                        .position(|s| s.time > t)
                        .unwrap_or(replay.steps.len()),
                ),
                When::AfterInput(i) => {
                    let Some(pos) = replay.steps.iter().position(
                        |s| matches!(s.kind, StepKind::Input { index, .. } if index == i),
                    ) else {
                        out.push(mismatch(
                            format!("after input {i}"),
                            format!("input {i}"),
                            format!("{} input(s) in the cast", replay.inputs),
                        ));
                        continue;
                    };
                    (format!("after input {i}"), pos + 1)
                }
            };
            if let Some(want) = &e.state {
                let got = state_at(replay, e.when, from);
                if got != want {
                    out.push(mismatch(
                        what.clone(),
                        format!("state `{want}`"),
                        format!("`{got}`"),
                    ));
                }
            }
            if let Some(want) = &e.decision {
                // The first hook at or after the time, or after the input.
                let start = match e.when {
                    When::At(t) => replay
                        .steps
                        .iter()
                        .position(|s| s.time >= t)
                        .unwrap_or(replay.steps.len()),
                    When::AfterInput(_) => from,
                };
                let hook = replay.steps[start..].iter().find_map(|s| match &s.kind {
                    StepKind::Hook { hook, decision }
                        if e.hook.as_deref().is_none_or(|h| h == *hook) =>
                    {
                        let label = decision.as_ref().map_or("none".to_string(), |d| d.label());
                        Some((*hook, label, s.time))
                    }
                    _ => None,
                });
                let expected = match &e.hook {
                    Some(h) => format!("{h} deciding `{want}`"),
                    None => format!("a hook deciding `{want}`"),
                };
                match hook {
                    Some((_, label, _)) if &label == want || kind_of(&label) == want => {}
                    Some((hook, label, time)) => out.push(mismatch(
                        what.clone(),
                        expected,
                        format!("{hook} deciding `{label}` at {time:.3}s"),
                    )),
                    None => out.push(mismatch(what.clone(), expected, "no hook call".into())),
                }
            }
        }
        out
    }
}

/// The state at `when`: for a time, after every step up to it; after an
/// input, once the output that followed it settled (before the next input
/// and before the final `on-exit`).
fn state_at(replay: &Replay, when: When, from: usize) -> &'static str {
    match when {
        When::At(_) => from
            .checked_sub(1)
            .and_then(|i| replay.steps.get(i))
            .map_or("starting", |s| s.state),
        When::AfterInput(_) => {
            let rest = &replay.steps[from..];
            let end = rest
                .iter()
                .position(|s| {
                    matches!(s.kind, StepKind::Input { .. })
                        || matches!(
                            s.kind,
                            StepKind::Hook {
                                hook: "on-exit",
                                ..
                            }
                        )
                })
                .unwrap_or(rest.len());
            rest[..end]
                .last()
                .or_else(|| from.checked_sub(1).and_then(|i| replay.steps.get(i)))
                .map_or("starting", |s| s.state)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Decision;
    use crate::plugin::replay::Step;

    fn parse(text: &str) -> Result<Expectations, ExpectError> {
        Expectations::parse(text, Path::new("e.toml"))
    }

    fn step(time: f64, kind: StepKind, state: &'static str) -> Step {
        Step { time, kind, state }
    }

    #[test]
    fn bad_files_name_line_and_key() {
        for (text, line, key) in [
            ("[[expect]]\nat = 1\nstate = \"happy\"\n", 3, Some("state")),
            ("[[expect]]\nat = -1\nstate = \"ready\"\n", 2, Some("at")),
            (
                "[[expect]]\nafter_input = 0\nstate = \"ready\"\n",
                2,
                Some("after_input"),
            ),
            ("[[expect]]\nstate = \"ready\"\n", 1, None),
            ("[[expect]]\nat = 1\n", 1, None),
            (
                "[[expect]]\nat = 1\ndecision = \"explode\"\n",
                3,
                Some("decision"),
            ),
            (
                "[[expect]]\nat = 1\nstate = \"ready\"\ncolour = 1\n",
                4,
                None,
            ),
            ("[[expect]\n", 1, None),
        ] {
            let e = parse(text).expect_err(text);
            assert_eq!(e.line, line, "{e}");
            assert_eq!(e.key.as_deref(), key, "{e}");
        }
    }

    #[test]
    fn checks_states_and_decisions() {
        let replay = Replay {
            steps: vec![
                step(
                    0.1,
                    StepKind::Detect {
                        chunk: 1,
                        detection: None,
                    },
                    "ready",
                ),
                step(
                    1.0,
                    StepKind::Input {
                        index: 1,
                        text: "x\r".into(),
                    },
                    "busy",
                ),
                step(
                    1.1,
                    StepKind::Detect {
                        chunk: 2,
                        detection: None,
                    },
                    "busy",
                ),
                step(
                    31.0,
                    StepKind::Hook {
                        hook: "on-timeout",
                        decision: Some(Decision::SendSignal {
                            name: "SIGINT".into(),
                        }),
                    },
                    "busy",
                ),
                step(
                    32.0,
                    StepKind::Hook {
                        hook: "on-exit",
                        decision: None,
                    },
                    "exited",
                ),
            ],
            outputs: 2,
            inputs: 1,
        };
        let good = parse(
            "[[expect]]\nat = 0.5\nstate = \"ready\"\n\
             [[expect]]\nafter_input = 1\nstate = \"busy\"\n\
             [[expect]]\nafter_input = 1\nhook = \"on-timeout\"\ndecision = \"send-signal\"\n\
             [[expect]]\nat = 31.5\ndecision = \"none\"\n\
             [[expect]]\nat = 2\ndecision = 'send-signal(\"SIGINT\")'\n",
        )
        .expect("valid");
        assert_eq!(good.check(&replay), vec![]);
        let bad = parse(
            "[[expect]]\nafter_input = 1\nstate = \"ready\"\n\
             [[expect]]\nafter_input = 2\nstate = \"ready\"\n\
             [[expect]]\nat = 0\nhook = \"on-startup-failure\"\ndecision = \"restart\"\n",
        )
        .expect("valid");
        let m = bad.check(&replay);
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!(m[0].line, 1);
        assert!(
            m[0].to_string()
                .contains("expected state `ready`, got `busy`"),
            "{}",
            m[0]
        );
        assert!(m[1].got.contains("1 input(s)"), "{}", m[1]);
        assert_eq!(m[2].got, "no hook call");
    }
}
