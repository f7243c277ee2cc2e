//! The policy side of "one executor, one gate" (contract B): every action an
//! MCP call takes on a session — the agent's input, an answer from
//! answer_session_question, elicitation, an input-required retry or
//! sampling — is admitted here (input deny rules on the text with the
//! session's pending line, approval through the call's context) and leaves
//! one audit record.
//!
//! `Origin`, `Action` and `ActionFacts` are the session layer's
//! (`crate::session::gate`). The policy checks themselves are the guard's
//! ([`Guard::admit_action`], [`Guard::record_action`]): [`CallGate`] adds a
//! person's approval through the call's context, [`PolicyGate`] serves
//! actions a session takes on its own (a plugin's decisions), so both paths
//! apply the same rules and write the same audit lines.

use std::sync::{Arc, Mutex};

use rmcp::RoleServer;
use rmcp::service::{ElicitationError, RequestContext};

use super::guard::{Approval, Guard, SESSION_CONNECTION};
use crate::policy::{AuditEntry, Decision, SamplingMode, Verdict};
use crate::session::Session;
use crate::session::gate::{ActionGate, GateRefusal};

pub use crate::session::gate::{Action, ActionFacts, AnswerVia, Origin, secret_of};
pub use web::{WebGate, WebLine};

mod web;

/// Whether input typed into `session` now would be a secret (one test for
/// the whole crate: the session's own).
pub fn awaits_secret(session: &Session) -> bool {
    session.awaits_secret()
}

/// An answer (`SEND:<text>`…) as logs may show it: while the session
/// awaits a secret, the text after the verb is only its length.
pub fn shown_answer(answer: &str, secret: bool) -> String {
    match answer.split_once(':') {
        Some((verb, rest)) if secret => format!("{verb}:{}", secret_of(rest)),
        _ if secret => secret_of(answer),
        _ => answer.to_string(),
    }
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
        let verdict = self.guard.admit_action(self.connection, facts);
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
        self.guard.action_done(facts, result);
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
        self.guard
            .record_action(self.connection, &self.tool, facts, decision, rule, result);
    }
}

/// The gate of what a session does on its own — a strategy plugin's
/// decisions during recovery — injected into the session manager by the
/// composition root. Same rules and audit lines as a call's gate, counted
/// on connection 0; nobody can be asked, so approval means refusal.
pub struct PolicyGate {
    guard: Arc<Guard>,
}

impl PolicyGate {
    pub fn new(guard: Arc<Guard>) -> Self {
        Self { guard }
    }
}

/// The audit log's `tool` for actions a session takes on its own.
const RECOVERY_TOOL: &str = "recovery";

impl ActionGate for PolicyGate {
    fn admit(&self, facts: &ActionFacts<'_>) -> Result<(), GateRefusal> {
        let verdict = self.guard.admit_action(SESSION_CONNECTION, facts);
        if verdict.is_allow() {
            return Ok(());
        }
        let message = verdict.message();
        self.guard.record_action(
            SESSION_CONNECTION,
            RECOVERY_TOOL,
            facts,
            Decision::from_verdict(&verdict),
            verdict.rule(),
            Err(&message),
        );
        Err(GateRefusal {
            rule: verdict.rule().map(str::to_string),
            message,
        })
    }

    fn record(&self, facts: &ActionFacts<'_>, result: Result<(), &str>) {
        self.guard.action_done(facts, result);
        self.guard.record_action(
            SESSION_CONNECTION,
            RECOVERY_TOOL,
            facts,
            Decision::Allow,
            None,
            result,
        );
    }
}

#[cfg(test)]
mod tests;
