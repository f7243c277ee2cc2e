//! What a session is doing right now.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Started, first prompt not seen yet.
    Starting,
    /// At its main prompt, waiting for a command.
    Ready,
    /// Running something.
    Busy,
    /// In the middle of a multi-line block (`...`, `>`), waiting for more lines.
    Continuation,
    /// Wants a person's answer: a password, `[y/N]`, a pager.
    AwaitingInput,
    /// The program has ended.
    Exited,
    /// Given up on (`mark_session_failed`, or a start-up that cannot succeed).
    Failed,
}

impl SessionState {
    /// A wait ends on these: nothing more will happen without new input.
    pub fn is_settled(self) -> bool {
        !matches!(self, SessionState::Starting | SessionState::Busy)
    }

    pub fn is_prompt(self) -> bool {
        matches!(self, SessionState::Ready | SessionState::Continuation)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, SessionState::Exited | SessionState::Failed)
    }

    /// takafu/repl-mcp's `status` vocabulary, kept for compatibility.
    pub fn legacy_status(self) -> &'static str {
        match self {
            SessionState::Starting => "initializing",
            SessionState::Ready | SessionState::Continuation | SessionState::AwaitingInput => {
                "ready"
            }
            SessionState::Busy => "executing",
            SessionState::Failed => "error",
            SessionState::Exited => "terminated",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Starting => "starting",
            SessionState::Ready => "ready",
            SessionState::Busy => "busy",
            SessionState::Continuation => "continuation",
            SessionState::AwaitingInput => "awaiting_input",
            SessionState::Exited => "exited",
            SessionState::Failed => "failed",
        }
    }
}

/// Who last typed into the session (shown by the web view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    Agent,
    Person,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Agent => "agent",
            Actor::Person => "person",
        }
    }
}
