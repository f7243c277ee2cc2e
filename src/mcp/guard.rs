//! The policy in front of every tool call: allow, deny, rate-limit, ask a
//! person; and the audit line after it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rmcp::RoleServer;
use rmcp::model::{CallToolResult, InputRequiredResult};
use rmcp::service::{ElicitationError, RequestContext};
use serde_json::{Value, json};

use super::ask::{form_round, round_answer};
use crate::policy::{AuditEntry, AuditLog, CallFacts, Decision, PendingLine, Policy, Verdict};

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
        result: Box<CallToolResult>,
        decision: Decision,
        verdict: Verdict,
    },
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

fn refusal(verdict: &Verdict, message: String) -> CallToolResult {
    let mut body = json!({ "success": false, "error": message, "rule": verdict.rule() });
    if let Verdict::RateLimited { retry_after, .. } = verdict {
        body["retryAfterSeconds"] = json!(retry_after.as_secs_f64().ceil());
    }
    CallToolResult::structured_error(body)
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

    /// Run the tool-level, create and input rules for one call.
    pub async fn admit(
        &self,
        connection: u64,
        tool: &str,
        args: &Value,
        live_sessions: usize,
        context: &RequestContext<RoleServer>,
        answered: Option<bool>,
    ) -> Admission {
        let mut facts = CallFacts::new(connection, tool).arguments(args);
        if let Some(id) = args.get("sessionId").and_then(Value::as_str) {
            facts = facts.session(id);
        }
        let mut verdict = self.policy.check_call(&facts);
        if verdict.is_allow() {
            verdict = match tool {
                "create_session" => self.check_create(args, live_sessions),
                "send_input_to_session" => self.check_input(args),
                _ => Verdict::Allow,
            };
        }
        match verdict {
            Verdict::Allow => Admission::Go {
                decision: Decision::Allow,
            },
            Verdict::RequireApproval { .. } if answered.is_some() => {
                if answered == Some(true) {
                    Admission::Go {
                        decision: Decision::Approved,
                    }
                } else {
                    Admission::Refused {
                        result: Box::new(refusal(&verdict, verdict.declined_message())),
                        decision: Decision::Declined,
                        verdict,
                    }
                }
            }
            Verdict::RequireApproval { ref prompt, .. } => {
                if let Some(ask) = approval_round(context, tool, prompt) {
                    return Admission::Ask(Box::new(ask));
                }
                match context.peer.elicit::<Approval>(prompt.clone()).await {
                    Ok(Some(Approval { approve: true })) => Admission::Go {
                        decision: Decision::Approved,
                    },
                    Ok(_)
                    | Err(ElicitationError::UserDeclined | ElicitationError::UserCancelled) => {
                        Admission::Refused {
                            result: Box::new(refusal(&verdict, verdict.declined_message())),
                            decision: Decision::Declined,
                            verdict,
                        }
                    }
                    Err(e) => {
                        tracing::info!("approval could not be asked for: {e}");
                        Admission::Refused {
                            result: Box::new(refusal(&verdict, verdict.message())),
                            decision: Decision::ApprovalUnavailable,
                            verdict,
                        }
                    }
                }
            }
            other => Admission::Refused {
                result: Box::new(refusal(&other, other.message())),
                decision: Decision::from_verdict(&other),
                verdict: other,
            },
        }
    }

    fn check_create(&self, args: &Value, live_sessions: usize) -> Verdict {
        let preset = args
            .get("presetConfig")
            .or_else(|| args.get("configName"))
            .and_then(Value::as_str);
        let custom = args.get("customConfig");
        let commands: Vec<String> = custom
            .and_then(|c| c.get("commands"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let shell = custom.and_then(|c| c.get("shell")).and_then(Value::as_str);
        let verdict = self
            .policy
            .check_create(preset, &commands, shell, live_sessions);
        if !verdict.is_allow() {
            return verdict;
        }
        let target = args.get("target").and_then(Value::as_str);
        let values = args.get("parameters").and_then(Value::as_object);
        let values: Vec<(&str, String)> = values
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            })
            .collect();
        let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.policy.check_target(target, &values)
    }

    /// The text that will actually be typed, as the policy must see it.
    fn typed_text(args: &Value) -> Option<(String, String)> {
        let id = args.get("sessionId")?.as_str()?.to_string();
        let mut text = args.get("input")?.as_str()?.to_string();
        let add_newline = args
            .get("options")
            .and_then(|o| o.get("add_newline"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        if add_newline {
            text.push('\n');
        }
        Some((id, text))
    }

    fn check_input(&self, args: &Value) -> Verdict {
        let Some((id, text)) = Self::typed_text(args) else {
            return Verdict::Allow;
        };
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let line = pending.get(&id).map(PendingLine::as_str).unwrap_or("");
        self.policy.check_input(line, &text)
    }

    /// After a call ran: remember what was typed, write the audit line.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        &self,
        connection: u64,
        tool: &str,
        args: &Value,
        verdict: &Verdict,
        decision: Decision,
        started: Instant,
        result: Option<&CallToolResult>,
    ) {
        let ok = result.map(|r| r.is_error != Some(true));
        if tool == "send_input_to_session"
            && decision != Decision::Deny
            && ok.is_some()
            && let Some((id, text)) = Self::typed_text(args)
        {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.entry(id).or_default().push(&text);
        }
        if matches!(
            tool,
            "destroy_repl_session" | "mark_session_failed" | "send_signal_to_session"
        ) && let Some(id) = args.get("sessionId").and_then(Value::as_str)
        {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.remove(id);
        }
        let mut entry = AuditEntry::new(connection, tool, verdict);
        entry.decision = decision;
        entry.session_id = args
            .get("sessionId")
            .and_then(Value::as_str)
            .map(str::to_string);
        entry.duration = started.elapsed();
        entry.ok = ok;
        entry.error = result
            .filter(|r| r.is_error == Some(true))
            .and_then(|r| r.structured_content.as_ref())
            .and_then(|v| v.get("error"))
            .and_then(Value::as_str)
            .map(str::to_string);
        entry.arguments = args.clone();
        self.audit.record(entry);
    }

    pub fn forget_connection(&self, connection: u64) {
        self.policy.forget_connection(connection);
    }

    pub fn flush(&self) {
        self.audit.flush();
    }
}
