//! The values exchanged with plugins, and the checks every answer passes
//! before the host acts on it: first "is it well formed" (sizes, ranges),
//! then "is it allowed" (the manifest's capabilities).

use regex::Regex;

use super::facts::SessionFacts;
use super::manifest::Capabilities;

/// Longest prompt text a detection may carry.
pub const MAX_PROMPT_BYTES: usize = 4 * 1024;
/// Longest text a decision may carry (input, reason, pattern).
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// Longest question for the agent.
pub const MAX_QUESTION_BYTES: usize = 16 * 1024;
/// Longest `question_type`.
pub const MAX_QUESTION_TYPE_BYTES: usize = 64;
/// Longest wait a plugin may ask for in one decision.
pub const MAX_WAIT_MS: u64 = 10 * 60 * 1000;
/// Compiled size limit for regexes that come from plugins.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// What the prompt detector sees after each chunk of output.
#[derive(Debug, Clone, Copy)]
pub struct DetectInput<'a> {
    /// The visible rows joined by `'\n'`.
    pub screen: &'a str,
    pub cursor_row: u16,
    pub cursor_col: u16,
    /// The cursor row up to the cursor.
    pub cursor_line: &'a str,
    pub recent_output: &'a str,
    pub alternate_screen: bool,
    pub preset: &'a str,
    /// Kernel facts, target, parameters, time since input (API 0.2 plugins
    /// see them; 0.1 plugins do not).
    pub session: &'a SessionFacts,
}

/// What a `DetectInput` that knows nothing about its session points at.
static UNKNOWN_FACTS: SessionFacts = SessionFacts::UNKNOWN;

impl Default for DetectInput<'_> {
    /// An empty screen and unknown facts; callers set what they know.
    fn default() -> Self {
        DetectInput {
            screen: "",
            cursor_row: 0,
            cursor_col: 0,
            cursor_line: "",
            recent_output: "",
            alternate_screen: false,
            preset: "",
            session: &UNKNOWN_FACTS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PromptKind {
    Ready,
    Continuation,
    Busy,
    AwaitingInput,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub kind: PromptKind,
    pub prompt: String,
}

/// What the host knows about a session when it asks a plugin to decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HookFacts {
    pub preset: String,
    /// starting, ready, busy, continuation, awaiting-input, exited, failed.
    pub state: String,
    /// How long the current wait has run. API 0.1 plugins get
    /// `session.since_input_ms` in its place when it is known, which is what
    /// that API promises.
    pub elapsed_ms: u64,
    pub screen: String,
    pub recent_output: String,
    pub exit_code: Option<i32>,
    pub restarts: u32,
    pub last_input: String,
    pub session: SessionFacts,
}

/// A plugin's decision, already checked against its capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Wait {
        ms: u64,
    },
    SendInput {
        text: String,
    },
    /// `name` is canonical: `SIGINT`, `SIGTERM`, …
    SendSignal {
        name: String,
    },
    SetReady {
        pattern: String,
    },
    Restart,
    MarkFailed {
        reason: String,
    },
    AskLlm {
        question: String,
        question_type: String,
    },
}

impl Decision {
    /// A short label for logs and refusals.
    pub fn label(&self) -> String {
        match self {
            Decision::Wait { ms } => format!("wait({ms})"),
            Decision::SendInput { text } => format!("send-input({})", shorten(text)),
            Decision::SendSignal { name } => format!("send-signal({})", shorten(name)),
            Decision::SetReady { pattern } => format!("set-ready({})", shorten(pattern)),
            Decision::Restart => "restart".to_string(),
            Decision::MarkFailed { .. } => "mark-failed".to_string(),
            Decision::AskLlm { .. } => "ask-llm".to_string(),
        }
    }
}

/// Debug-escaped and cut to a length fit for a log line.
fn shorten(text: &str) -> String {
    let escaped = format!("{text:?}");
    if escaped.chars().count() <= 60 {
        escaped
    } else {
        let head: String = escaped.chars().take(57).collect();
        format!("{head}...")
    }
}

/// `int`, `INT`, `SigInt` and `SIGINT` all mean `SIGINT`: the sessions'
/// own table, so a plugin may name exactly the signals a session can send.
pub use crate::session::pty::canonical_signal;

/// Compiles `pattern` so that it must match a whole string.
pub fn compile_full_match(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// Why an answer is unusable; becomes `PluginError::Malformed` or `Refused`.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    Malformed(String),
    Refused { decision: String, reason: String },
}

fn too_long(what: &str, len: usize, max: usize) -> Result<(), Rejection> {
    if len > max {
        Err(Rejection::Malformed(format!(
            "{what} is {len} bytes, the limit is {max}"
        )))
    } else {
        Ok(())
    }
}

pub fn check_detection(d: &Detection) -> Result<(), Rejection> {
    too_long("prompt", d.prompt.len(), MAX_PROMPT_BYTES)
}

/// Checks a decision's form, then its capability; returns it with the
/// signal name made canonical.
pub fn check_decision(
    decision: Decision,
    caps: &Capabilities,
    compiled_inputs: &[Regex],
) -> Result<Decision, Rejection> {
    let refuse = |d: &Decision, reason: &str| Rejection::Refused {
        decision: d.label(),
        reason: reason.to_string(),
    };
    match decision {
        Decision::Wait { ms } => {
            if ms > MAX_WAIT_MS {
                return Err(Rejection::Malformed(format!(
                    "wait of {ms} ms exceeds the limit of {MAX_WAIT_MS} ms"
                )));
            }
            Ok(Decision::Wait { ms })
        }
        Decision::SendInput { text } => {
            too_long("input", text.len(), MAX_TEXT_BYTES)?;
            let allowed =
                caps.inputs.contains(&text) || compiled_inputs.iter().any(|r| r.is_match(&text));
            let d = Decision::SendInput { text };
            if allowed {
                Ok(d)
            } else {
                Err(refuse(
                    &d,
                    "the input is neither in capabilities.inputs nor matched by capabilities.input_patterns",
                ))
            }
        }
        Decision::SendSignal { name } => {
            too_long("signal name", name.len(), 64)?;
            let Some(canon) = canonical_signal(&name) else {
                return Err(Rejection::Malformed(format!(
                    "unknown signal {}",
                    shorten(&name)
                )));
            };
            let d = Decision::SendSignal {
                name: canon.to_string(),
            };
            if caps.signals.iter().any(|s| s == canon) {
                Ok(d)
            } else {
                Err(refuse(&d, "the signal is not in capabilities.signals"))
            }
        }
        Decision::SetReady { pattern } => {
            too_long("pattern", pattern.len(), MAX_TEXT_BYTES)?;
            if let Err(e) = regex::RegexBuilder::new(&pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
            {
                return Err(Rejection::Malformed(format!(
                    "invalid set-ready regex: {e}"
                )));
            }
            let d = Decision::SetReady { pattern };
            if caps.may_set_ready {
                Ok(d)
            } else {
                Err(refuse(&d, "may_set_ready is false"))
            }
        }
        Decision::Restart => {
            if caps.may_restart {
                Ok(Decision::Restart)
            } else {
                Err(refuse(&Decision::Restart, "may_restart is false"))
            }
        }
        Decision::MarkFailed { reason } => {
            too_long("reason", reason.len(), MAX_TEXT_BYTES)?;
            let d = Decision::MarkFailed { reason };
            if caps.may_mark_failed {
                Ok(d)
            } else {
                Err(refuse(&d, "may_mark_failed is false"))
            }
        }
        Decision::AskLlm {
            question,
            question_type,
        } => {
            too_long("question", question.len(), MAX_QUESTION_BYTES)?;
            too_long(
                "question type",
                question_type.len(),
                MAX_QUESTION_TYPE_BYTES,
            )?;
            let d = Decision::AskLlm {
                question,
                question_type,
            };
            if caps.may_ask_llm {
                Ok(d)
            } else {
                Err(refuse(&d, "may_ask_llm is false"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> Capabilities {
        Capabilities {
            signals: vec!["SIGINT".into()],
            inputs: vec!["q".into()],
            input_patterns: vec!["[yn]\n".into()],
            may_restart: true,
            ..Capabilities::default()
        }
    }

    fn check(d: Decision) -> Result<Decision, Rejection> {
        let c = caps();
        let compiled: Vec<Regex> = c
            .input_patterns
            .iter()
            .map(|p| compile_full_match(p).expect("regex"))
            .collect();
        check_decision(d, &c, &compiled)
    }

    #[test]
    fn allowed_decisions_pass() {
        assert_eq!(
            check(Decision::SendSignal { name: "int".into() }),
            Ok(Decision::SendSignal {
                name: "SIGINT".into()
            })
        );
        assert!(check(Decision::SendInput { text: "q".into() }).is_ok());
        assert!(check(Decision::SendInput { text: "y\n".into() }).is_ok());
        assert!(check(Decision::Restart).is_ok());
        assert!(check(Decision::Wait { ms: 10 }).is_ok());
    }

    #[test]
    fn others_are_refused() {
        for d in [
            Decision::SendSignal {
                name: "SIGKILL".into(),
            },
            Decision::SendInput {
                text: "rm -rf /\n".into(),
            },
            Decision::SendInput {
                text: "yy\n".into(),
            },
            Decision::MarkFailed { reason: "x".into() },
            Decision::AskLlm {
                question: "?".into(),
                question_type: "confirm".into(),
            },
            Decision::SetReady {
                pattern: "x".into(),
            },
        ] {
            assert!(
                matches!(check(d.clone()), Err(Rejection::Refused { .. })),
                "{d:?}"
            );
        }
    }

    #[test]
    fn malformed_answers_are_caught() {
        for d in [
            Decision::Wait { ms: u64::MAX },
            Decision::SendSignal {
                name: "SIGBOGUS".into(),
            },
            Decision::SendInput {
                text: "q".repeat(MAX_TEXT_BYTES + 1),
            },
            Decision::SetReady {
                pattern: "(".into(),
            },
        ] {
            assert!(
                matches!(check(d.clone()), Err(Rejection::Malformed(_))),
                "{d:?}"
            );
        }
        let big = Detection {
            kind: PromptKind::Ready,
            prompt: "x".repeat(MAX_PROMPT_BYTES + 1),
        };
        assert!(check_detection(&big).is_err());
    }
}
