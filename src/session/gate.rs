//! Contract of "one executor, one gate" on the session side: what an action
//! on a session is, who asked for it, and the [`ActionGate`] that admits and
//! records it. The session layer knows no policy; the composition root
//! injects a gate that applies one (`mcp::PolicyGate`), and every call
//! carries its own (`mcp::CallGate`). Recovery asks the injected gate before
//! it carries out a plugin's decision, so a plugin can type, signal or
//! restart nothing the policy would refuse the agent.

use std::time::Duration;

use serde_json::{Value, json};

use super::SessionState;

/// Who wants to act on a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Agent,
    Plugin {
        id: String,
    },
    Answer {
        via: AnswerVia,
    },
    /// A person typing in the web view's interactive page.
    Web,
}

/// How an answer to a recovery question arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerVia {
    Tool,
    Elicitation,
    InputRequired,
    Sampling,
}

impl Origin {
    /// The action is what the MCP call itself asked for, so the call's own
    /// audit line records it.
    pub fn is_the_call(&self) -> bool {
        matches!(
            self,
            Origin::Agent
                | Origin::Answer {
                    via: AnswerVia::Tool
                }
        )
    }

    pub fn as_str(&self) -> String {
        match self {
            Origin::Agent => "agent".into(),
            Origin::Plugin { id } => format!("plugin:{id}"),
            Origin::Answer { via } => format!(
                "answer:{}",
                match via {
                    AnswerVia::Tool => "tool",
                    AnswerVia::Elicitation => "elicitation",
                    AnswerVia::InputRequired => "input_required",
                    AnswerVia::Sampling => "sampling",
                }
            ),
            Origin::Web => "web".into(),
        }
    }
}

/// What is carried out on a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Typed text, exactly as it reaches the terminal.
    Send {
        text: String,
    },
    Signal {
        signal: String,
    },
    SetReady {
        pattern: String,
    },
    /// Finite and range-checked where it was parsed.
    Wait {
        duration: Duration,
    },
    Restart,
    MarkFailed {
        reason: String,
    },
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Send { .. } => "send",
            Action::Signal { .. } => "signal",
            Action::SetReady { .. } => "set_ready",
            Action::Wait { .. } => "wait",
            Action::Restart => "restart",
            Action::MarkFailed { .. } => "mark_failed",
        }
    }

    /// The action as the audit log shows it: typed text while the terminal
    /// waits for a secret becomes "secret of N characters".
    pub fn audit_summary(&self, secret: bool) -> Value {
        match self {
            Action::Send { text } => json!({ "send": shown_text(text, secret) }),
            Action::Signal { signal } => json!({ "signal": signal }),
            Action::SetReady { pattern } => json!({ "ready": pattern }),
            Action::Wait { duration } => json!({ "wait_seconds": duration.as_secs_f64() }),
            Action::Restart => json!({ "restart": true }),
            Action::MarkFailed { reason } => json!({ "failed": reason }),
        }
    }

    /// One short phrase for the session's event log and recovery steps.
    pub fn describe(&self, secret: bool) -> String {
        match self {
            Action::Send { text } if secret => format!("send {}", secret_of(text)),
            Action::Send { text } => format!("send {text:?}"),
            Action::Signal { signal } => format!("signal {signal}"),
            Action::SetReady { pattern } => format!("set ready on {pattern:?}"),
            Action::Wait { duration } => format!("wait {} ms", duration.as_millis()),
            Action::Restart => "restart".into(),
            Action::MarkFailed { reason } => format!("mark failed: {reason}"),
        }
    }
}

/// `text`, or what a log may say of it when it is a secret.
pub fn shown_text(text: &str, secret: bool) -> String {
    if secret {
        secret_of(text)
    } else {
        text.to_string()
    }
}

/// What every record (audit, history, event log) says of a secret: its
/// length without the Enter, never its characters.
pub fn secret_of(text: &str) -> String {
    let n = text.trim_end_matches(['\r', '\n']).chars().count();
    format!("secret of {n} characters")
}

/// Everything a gate is told about one action.
#[derive(Debug, Clone, Copy)]
pub struct ActionFacts<'a> {
    pub session_id: &'a str,
    pub origin: &'a Origin,
    pub action: &'a Action,
    pub state: SessionState,
    /// Typed while the program waits for a secret (a password prompt).
    pub secret: bool,
}

/// Why a gate refused an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateRefusal {
    /// The policy rule that refused (`input.deny[0]`, `tools.x.rate_limit`…).
    pub rule: Option<String>,
    /// The whole explanation, with how to allow it.
    pub message: String,
}

/// Admits and records the actions a session takes on its own (a strategy
/// plugin's decisions). Synchronous: nobody can be asked for approval from
/// inside a recovery round, so what needs approval is refused.
pub trait ActionGate: Send + Sync {
    /// May this action go ahead? A refusal is recorded by the gate.
    fn admit(&self, facts: &ActionFacts<'_>) -> Result<(), GateRefusal>;
    /// After the action: one audit line, with its result.
    fn record(&self, facts: &ActionFacts<'_>, result: Result<(), &str>);
}

// Configurations that hold a gate stay printable.
impl std::fmt::Debug for dyn ActionGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ActionGate")
    }
}

/// A gate that admits everything and records nothing: library users and
/// tests that run sessions without a policy.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenGate;

impl ActionGate for OpenGate {
    fn admit(&self, _facts: &ActionFacts<'_>) -> Result<(), GateRefusal> {
        Ok(())
    }

    fn record(&self, _facts: &ActionFacts<'_>, _result: Result<(), &str>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_described_by_its_length_only() {
        let send = Action::Send {
            text: "hunter2\n".into(),
        };
        assert_eq!(secret_of("hunter2\r\n"), "secret of 7 characters");
        assert_eq!(send.describe(true), "send secret of 7 characters");
        assert!(!send.audit_summary(true).to_string().contains("hunter2"));
        assert_eq!(send.describe(false), "send \"hunter2\\n\"");
    }
}
