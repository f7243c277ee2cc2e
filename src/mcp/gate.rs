//! The policy side of "one executor, one gate" (contract B): every action an
//! MCP call takes on a session — the agent's input, an answer from
//! answer_session_question, elicitation, an input-required retry or
//! sampling — is admitted here (input deny rules on the text with the
//! session's pending line, approval through the call's context) and leaves
//! one audit record.
//!
//! `Origin`, `Action` and `ActionFacts` have the shapes of contract B. When
//! `src/session/gate.rs` lands they are replaced by those, [`CallGate`]
//! implements its `Gate` trait, and the executor calls it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::service::{ElicitationError, RequestContext};
use serde_json::{Value, json};

use super::guard::{Approval, Guard};
use crate::policy::{AuditEntry, Decision, SamplingMode, Verdict};
use crate::session::{Session, SessionState};

/// Who wants to act on a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Agent,
    Plugin { id: String },
    Answer { via: AnswerVia },
    Person,
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
            Origin::Person => "person".into(),
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
}

/// `text`, or what the log may say of it when it is a secret.
pub fn shown_text(text: &str, secret: bool) -> String {
    if secret {
        secret_of(text)
    } else {
        text.to_string()
    }
}

pub fn secret_of(text: &str) -> String {
    let n = text.trim_end_matches(['\r', '\n']).chars().count();
    format!("secret of {n} characters")
}

/// Everything the gate is told about one action.
#[derive(Debug, Clone, Copy)]
pub struct ActionFacts<'a> {
    pub session_id: &'a str,
    pub origin: &'a Origin,
    pub action: &'a Action,
    pub state: SessionState,
    /// Typed while the program waits for a secret (a password prompt).
    pub secret: bool,
}

/// Whether input typed into `session` now would be a secret: it waits at a
/// password prompt.
pub fn awaits_secret(session: &Session) -> bool {
    session.state() == SessionState::AwaitingInput
        && session.snapshot().awaiting.as_deref() == Some("password")
}

/// Why an action was not carried out.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub verdict: Verdict,
    pub decision: Decision,
    pub message: String,
}

/// The gate of one MCP call: the shared guard, the connection, and the
/// call's context (to ask a person for approval).
pub struct CallGate {
    guard: Arc<Guard>,
    connection: u64,
    tool: String,
    context: Option<RequestContext<RoleServer>>,
    /// A refusal inside the call, for the call's own audit line.
    refused: Mutex<Option<(Verdict, Decision)>>,
}

impl CallGate {
    pub fn new(
        guard: Arc<Guard>,
        connection: u64,
        tool: &str,
        context: RequestContext<RoleServer>,
    ) -> Self {
        Self {
            guard,
            connection,
            tool: tool.to_string(),
            context: Some(context),
            refused: Mutex::new(None),
        }
    }

    /// A gate with nobody to ask (outside a call, and in tests): approval
    /// is unavailable, so what needs it is refused.
    pub fn detached(guard: Arc<Guard>, connection: u64, tool: &str) -> Self {
        Self {
            guard,
            connection,
            tool: tool.to_string(),
            context: None,
            refused: Mutex::new(None),
        }
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    pub fn context(&self) -> Option<&RequestContext<RoleServer>> {
        self.context.as_ref()
    }

    /// The refusal the call met inside, if any (for its audit line).
    pub fn take_refusal(&self) -> Option<(Verdict, Decision)> {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// The rule behind a refusal met inside the call, if any.
    pub fn refused_rule(&self) -> Option<String> {
        let refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        refused
            .as_ref()
            .and_then(|(v, _)| v.rule().map(str::to_string))
    }

    /// Note a refusal the tool met (create rules) for the call's audit line.
    pub fn note_refusal(&self, verdict: &Verdict, decision: Decision) {
        *self.refused.lock().unwrap_or_else(|e| e.into_inner()) = Some((verdict.clone(), decision));
    }

    /// May this action go ahead? Input deny rules apply to every text sent,
    /// joined with what is pending on the session's line; an answer from
    /// the client's model needs a person's approval when the policy says
    /// `sampling = "ask"`. A refusal is recorded before it is returned.
    pub async fn admit(&self, facts: &ActionFacts<'_>) -> Result<(), Refusal> {
        let verdict = match facts.action {
            Action::Send { text } => self.guard.check_input(facts.session_id, text),
            _ => Verdict::Allow,
        };
        let refusal = if !verdict.is_allow() {
            let decision = Decision::from_verdict(&verdict);
            Some(Refusal {
                message: verdict.message(),
                verdict,
                decision,
            })
        } else if facts.origin
            == &(Origin::Answer {
                via: AnswerVia::Sampling,
            })
            && self.guard.sampling_mode() == SamplingMode::Ask
        {
            self.approve_model_answer(facts).await.err()
        } else {
            None
        };
        match refusal {
            None => Ok(()),
            Some(r) => {
                self.note_refusal(&r.verdict, r.decision);
                if !facts.origin.is_the_call() {
                    self.write(facts, r.decision, r.verdict.rule(), Err(&r.message));
                }
                Err(r)
            }
        }
    }

    async fn approve_model_answer(&self, facts: &ActionFacts<'_>) -> Result<(), Refusal> {
        let summary = facts.action.audit_summary(facts.secret);
        let prompt = format!(
            "The client's model proposes to act on session `{}`: {summary}. Allow it?",
            facts.session_id
        );
        let verdict = Verdict::RequireApproval {
            rule: "sampling.mode".into(),
            prompt: prompt.clone(),
            fix: "To carry out the model's answers without asking, set `mode = \"on\"` in the \
                  `[sampling]` table of the policy."
                .into(),
        };
        let refuse = |decision: Decision, message: String| Refusal {
            verdict: verdict.clone(),
            decision,
            message,
        };
        let Some(context) = &self.context else {
            return Err(refuse(Decision::ApprovalUnavailable, verdict.message()));
        };
        let asked = context.peer.elicit::<Approval>(prompt.clone());
        match tokio::time::timeout(self.guard.sampling_timeout(), asked).await {
            Ok(Ok(Some(Approval { approve: true }))) => Ok(()),
            Ok(Ok(_) | Err(ElicitationError::UserDeclined | ElicitationError::UserCancelled)) => {
                Err(refuse(Decision::Declined, verdict.declined_message()))
            }
            Ok(Err(e)) => {
                tracing::info!("approval of a model's answer could not be asked for: {e}");
                Err(refuse(Decision::ApprovalUnavailable, verdict.message()))
            }
            Err(_) => Err(refuse(
                Decision::ApprovalUnavailable,
                "Refused: nobody approved the model's answer in time.".into(),
            )),
        }
    }

    /// After the action: keep the session's pending line in step, and
    /// write one audit line for actions that are not the call itself (what
    /// the call asked for is in the call's own line).
    pub fn record(&self, facts: &ActionFacts<'_>, result: Result<(), &str>) {
        match facts.action {
            Action::Send { text } if result.is_ok() => self.guard.note_sent(facts.session_id, text),
            Action::Signal { .. } | Action::MarkFailed { .. } | Action::Restart => {
                self.guard.clear_line(facts.session_id);
            }
            _ => {}
        }
        if !facts.origin.is_the_call() {
            self.write(facts, Decision::Allow, None, result);
        }
    }

    /// An answer that could not be used (not in the grammar, or the
    /// client's model failed to give one): one audit line saying why.
    pub fn record_unusable(&self, session_id: &str, origin: &Origin, error: &str) {
        let mut entry = AuditEntry::new(self.connection, &self.tool, &Verdict::Allow);
        entry.session_id = Some(session_id.to_string());
        entry.origin = Some(origin.as_str());
        entry.action = Some("answer".into());
        entry.ok = Some(false);
        entry.error = Some(error.to_string());
        self.guard.record(entry);
    }

    fn write(
        &self,
        facts: &ActionFacts<'_>,
        decision: Decision,
        rule: Option<&str>,
        result: Result<(), &str>,
    ) {
        let mut entry = AuditEntry::new(self.connection, &self.tool, &Verdict::Allow);
        entry.decision = decision;
        entry.rule = rule.map(str::to_string);
        entry.session_id = Some(facts.session_id.to_string());
        entry.origin = Some(facts.origin.as_str());
        entry.action = Some(facts.action.kind().to_string());
        entry.ok = Some(result.is_ok());
        entry.error = result.err().map(str::to_string);
        entry.arguments = facts.action.audit_summary(facts.secret);
        self.guard.record(entry);
    }
}

#[cfg(test)]
mod tests;
