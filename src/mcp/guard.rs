//! The policy shared by every connection of one server: the tool-level
//! checks before a call (allow, deny, rate limit, a person's approval), the
//! rules on what a call does (sessions started, text typed), the line
//! typed so far in each session, and the audit log.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::RoleServer;
use rmcp::model::{CallToolResult, InputRequiredResult};
use rmcp::service::{ElicitationError, RequestContext};
use serde_json::Value;

use super::ask::{form_round, round_answer};
use super::params::CreateSessionParams;
use crate::policy::{
    AuditEntry, AuditLog, CallFacts, Decision, PendingLine, Policy, SamplingMode, Verdict,
};
use crate::session::gate::{Action, ActionFacts, Origin};

/// The connection id of what sessions do on their own (a plugin's
/// decisions): connections are numbered from 1, so its rate-limit buckets
/// and audit lines are its own.
pub const SESSION_CONNECTION: u64 = 0;

/// The tool that types into a session: what a person's typing answers to.
const SEND_TOOL: &str = "send_input_to_session";

/// The tool whose rule governs a plugin doing `action` itself: a plugin may
/// type, signal or give up on a session only where the agent may. A restart
/// starts the program again, so it counts against `create_session`.
fn tool_for(action: &Action) -> Option<&'static str> {
    match action {
        Action::Send { .. } => Some(SEND_TOOL),
        Action::Signal { .. } => Some("send_signal_to_session"),
        Action::SetReady { .. } => Some("set_session_ready"),
        Action::MarkFailed { .. } => Some("mark_session_failed"),
        Action::Restart => Some("create_session"),
        Action::Wait { .. } => None,
    }
}

/// A yes/no a person gives through MCP elicitation.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct Approval {
    /// Allow this call?
    pub approve: bool,
}
rmcp::elicit_safe!(Approval);

/// Shared by every connection of one server.
pub struct Guard {
    policy: Arc<Policy>,
    audit: AuditLog,
    /// What has been typed into each session since its last newline, so an
    /// input pattern cannot be slipped through in pieces.
    pending: Mutex<HashMap<String, PendingLine>>,
}

/// The outcome of the checks before a call.
pub enum Admission {
    Go {
        decision: Decision,
    },
    /// 2026-07-28: ask the person through an input-required round; the
    /// client retries the call with the answer.
    Ask(Box<InputRequiredResult>),
    Refused {
        verdict: Verdict,
        decision: Decision,
        message: String,
    },
}

/// What the server tells the guard about a call that ran (or did not).
pub struct CallRecord<'a> {
    pub connection: u64,
    pub tool: &'a str,
    pub session_id: Option<&'a str>,
    /// As the log may show them (secrets already replaced).
    pub arguments: Value,
    pub verdict: &'a Verdict,
    pub decision: Decision,
    pub started: Instant,
    pub result: Option<&'a CallToolResult>,
}

const APPROVAL_KEY: &str = "approve";
const APPROVAL_STATE: &str = "approval:";

/// The approval question as an input-required round (2026-07-28).
fn approval_round(
    context: &RequestContext<RoleServer>,
    tool: &str,
    prompt: &str,
) -> Option<InputRequiredResult> {
    form_round::<Approval>(
        context,
        APPROVAL_KEY,
        prompt.to_string(),
        format!("{APPROVAL_STATE}{tool}"),
    )
}

/// The person's answer carried by a retried call, if this call is one.
pub fn approval_answer(
    tool: &str,
    state: Option<&str>,
    responses: Option<&rmcp::model::InputResponses>,
) -> Option<bool> {
    let round = format!("{APPROVAL_STATE}{tool}");
    let (accepted, content) = round_answer(state, responses, &round, APPROVAL_KEY)?;
    let approve = content
        .and_then(|c| c.get(APPROVAL_KEY))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Some(accepted && approve)
}

impl Guard {
    pub fn new(policy: Policy, audit: AuditLog) -> Self {
        Self {
            policy: Arc::new(policy),
            audit,
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Everything allowed, nothing audited (library users, tests).
    pub fn permissive() -> Self {
        Self::new(
            Policy::from_toml_str("", "permissive").unwrap_or_else(|_| Policy::builtin()),
            AuditLog::disabled(),
        )
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn sampling_mode(&self) -> SamplingMode {
        self.policy.sampling().mode
    }

    pub fn sampling_timeout(&self) -> Duration {
        self.policy.sampling().timeout
    }

    /// The tool-level rules for one call: its action, its rate limit, and
    /// a person's approval (asked through the call's context).
    pub async fn admit_call(
        &self,
        facts: CallFacts<'_>,
        context: &RequestContext<RoleServer>,
        answered: Option<bool>,
    ) -> Admission {
        let verdict = self.policy.check_call(&facts);
        let refused = |verdict: Verdict, decision: Decision, message: String| Admission::Refused {
            verdict,
            decision,
            message,
        };
        match verdict {
            Verdict::Allow => Admission::Go {
                decision: Decision::Allow,
            },
            Verdict::RequireApproval { .. } if answered == Some(true) => Admission::Go {
                decision: Decision::Approved,
            },
            Verdict::RequireApproval { .. } if answered == Some(false) => {
                let message = verdict.declined_message();
                refused(verdict, Decision::Declined, message)
            }
            Verdict::RequireApproval { ref prompt, .. } => {
                if let Some(ask) = approval_round(context, facts.tool, prompt) {
                    return Admission::Ask(Box::new(ask));
                }
                match context.peer.elicit::<Approval>(prompt.clone()).await {
                    Ok(Some(Approval { approve: true })) => Admission::Go {
                        decision: Decision::Approved,
                    },
                    Ok(_)
                    | Err(ElicitationError::UserDeclined | ElicitationError::UserCancelled) => {
                        let message = verdict.declined_message();
                        refused(verdict, Decision::Declined, message)
                    }
                    Err(e) => {
                        tracing::info!("approval could not be asked for: {e}");
                        let message = verdict.message();
                        refused(verdict, Decision::ApprovalUnavailable, message)
                    }
                }
            }
            other => {
                let message = other.message();
                let decision = Decision::from_verdict(&other);
                refused(other, decision, message)
            }
        }
    }

    /// The rules on starting a session, read from the typed parameters:
    /// the preset or custom command, then the target and parameter values.
    pub fn check_create(&self, p: &CreateSessionParams, live_sessions: usize) -> Verdict {
        let custom = p.custom_config.as_ref();
        let commands = custom.map(|c| c.commands.as_slice()).unwrap_or_default();
        let shell = custom.and_then(|c| c.shell.as_deref());
        let verdict =
            self.policy
                .check_create(p.preset_config.as_deref(), commands, shell, live_sessions);
        if !verdict.is_allow() {
            return verdict;
        }
        let values: Vec<(&str, &str)> = p
            .parameters
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.policy.check_target(p.target.as_deref(), &values)
    }

    /// The input deny rules on `text` about to be typed into `session_id`,
    /// alone and joined with what is pending on its line.
    pub fn check_input(&self, session_id: &str, text: &str) -> Verdict {
        let pending = self.lines();
        let line = pending
            .get(session_id)
            .map(PendingLine::as_str)
            .unwrap_or("");
        self.policy.check_input(line, text)
    }

    /// The policy's verdict on one action on a session (the sync part of
    /// every gate). Text sent meets the input deny rules, joined with the
    /// session's pending line. A plugin acting on its own also meets the
    /// rule of the tool that does the same (its action, rate limit and
    /// approval, counted on `connection`); a person's line in the web view
    /// meets that tool's denial; answers and the agent's own input come
    /// inside a call that was already admitted.
    pub fn admit_action(&self, connection: u64, facts: &ActionFacts<'_>) -> Verdict {
        // A person's line is input like the agent's: a denied tool is
        // denied to them too (rate limits and approval are the agent's).
        if let (Origin::Web, Some(tool)) = (facts.origin, tool_for(facts.action))
            && let Some(denied) = self.policy.denial(tool)
        {
            return denied;
        }
        if let Action::Send { text } = facts.action {
            let verdict = self.check_input(facts.session_id, text);
            if !verdict.is_allow() {
                return verdict;
            }
        }
        match (facts.origin, tool_for(facts.action)) {
            (Origin::Plugin { .. }, Some(tool)) => self
                .policy
                .check_call(&CallFacts::new(connection, tool).session(facts.session_id)),
            _ => Verdict::Allow,
        }
    }

    /// Why a person may not type into sessions at all (the policy denies
    /// the tool that types), if so: the web view then serves read-only.
    pub fn typing_denied(&self) -> Option<String> {
        self.policy.denial(SEND_TOOL).map(|v| v.message())
    }

    /// After an action ran (or failed): keep the session's pending line in
    /// step with what reached it.
    pub fn action_done(&self, facts: &ActionFacts<'_>, result: Result<(), &str>) {
        match facts.action {
            Action::Send { text } if result.is_ok() => self.note_sent(facts.session_id, text),
            Action::Signal { .. } | Action::MarkFailed { .. } | Action::Restart => {
                self.clear_line(facts.session_id);
            }
            _ => {}
        }
    }

    /// The audit line of one action taken inside a call (or by a session on
    /// its own): who, what (a secret only as its length), and how it went.
    pub fn record_action(
        &self,
        connection: u64,
        tool: &str,
        facts: &ActionFacts<'_>,
        decision: Decision,
        rule: Option<&str>,
        result: Result<(), &str>,
    ) {
        let mut entry = AuditEntry::new(connection, tool, &Verdict::Allow);
        entry.decision = decision;
        entry.rule = rule.map(str::to_string);
        entry.session_id = Some(facts.session_id.to_string());
        entry.origin = Some(facts.origin.as_str());
        entry.action = Some(facts.action.kind().to_string());
        entry.ok = Some(result.is_ok());
        entry.error = result.err().map(str::to_string);
        entry.arguments = facts.action.audit_summary(facts.secret);
        self.record(entry);
    }

    /// `text` was typed into `session_id`.
    pub fn note_sent(&self, session_id: &str, text: &str) {
        self.lines()
            .entry(session_id.to_string())
            .or_default()
            .push(text);
    }

    /// The session's line was abandoned (a signal, an end).
    pub fn clear_line(&self, session_id: &str) {
        self.lines().remove(session_id);
    }

    fn lines(&self) -> std::sync::MutexGuard<'_, HashMap<String, PendingLine>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One audit line.
    pub fn record(&self, entry: AuditEntry) {
        self.audit.record(entry);
    }

    /// The audit line of a call.
    pub fn finish(&self, call: CallRecord<'_>) {
        let ok = call.result.map(|r| r.is_error != Some(true));
        if matches!(
            call.tool,
            "destroy_repl_session" | "mark_session_failed" | "send_signal_to_session"
        ) && let Some(id) = call.session_id
        {
            self.clear_line(id);
        }
        let mut entry = AuditEntry::new(call.connection, call.tool, call.verdict);
        entry.decision = call.decision;
        entry.session_id = call.session_id.map(str::to_string);
        entry.duration = call.started.elapsed();
        entry.ok = ok;
        entry.error = call
            .result
            .filter(|r| r.is_error == Some(true))
            .and_then(|r| r.structured_content.as_ref())
            .and_then(|v| v.get("error"))
            .and_then(Value::as_str)
            .map(str::to_string);
        entry.arguments = call.arguments;
        self.audit.record(entry);
    }

    pub fn forget_connection(&self, connection: u64) {
        self.policy.forget_connection(connection);
    }

    pub fn flush(&self) {
        self.audit.flush();
    }
}
