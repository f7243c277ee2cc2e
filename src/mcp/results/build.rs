//! Building results: from a session's outcome, and the failure shape of
//! each tool (so a refusal validates against the tool's output schema).

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::*;
use crate::mcp::bound::{head_tail, head_tail_counted};
use crate::policy::Verdict;
use crate::session::{Outcome, Session, SessionState};

/// A result shape that can carry "this call failed: <why>".
pub trait Failure: Serialize {
    fn failure(error: String) -> Self;
}

impl Failure for SendInputResult {
    fn failure(error: String) -> Self {
        SendInputResult {
            success: false,
            error: Some(error),
            state: "unknown".into(),
            ..Default::default()
        }
    }
}

macro_rules! failure_with_error_field {
    ($($t:ty),*) => {$(
        impl Failure for $t {
            fn failure(error: String) -> Self {
                Self { success: false, error: Some(error), ..Default::default() }
            }
        }
    )*};
}
failure_with_error_field!(
    CreateSessionResult,
    SessionDetailsResult,
    FullOutputResult,
    CleanTextResult,
    SimpleResult,
    ListSessionsResult,
    ListConfigurationsResult,
    ReloadPresetsResult
);

fn value_of<T: Failure>(error: String) -> Value {
    serde_json::to_value(T::failure(error.clone()))
        .unwrap_or_else(|_| json!({ "success": false, "error": error }))
}

/// The failure result of `tool` saying `error`, with the policy rule that
/// refused it (and when to retry, for a rate limit).
pub fn failure_for_tool(tool: &str, error: String, verdict: Option<&Verdict>) -> Value {
    let mut v = match tool {
        "create_session" => value_of::<CreateSessionResult>(error),
        "send_input_to_session" | "wait_for_session" | "answer_session_question" => {
            value_of::<SendInputResult>(error)
        }
        "list_repl_sessions" => value_of::<ListSessionsResult>(error),
        "get_session_details" => value_of::<SessionDetailsResult>(error),
        "list_repl_configurations" => value_of::<ListConfigurationsResult>(error),
        "reload_presets" => value_of::<ReloadPresetsResult>(error),
        "get_full_output" => value_of::<FullOutputResult>(error),
        "get_clean_text" => value_of::<CleanTextResult>(error),
        _ => value_of::<SimpleResult>(error),
    };
    if let Some(verdict) = verdict {
        v["rule"] = json!(verdict.rule());
        if let Verdict::RateLimited { retry_after, .. } = verdict {
            v["retryAfterSeconds"] = json!(retry_after.as_secs_f64().ceil());
        }
    }
    v
}

/// The recovery tools an agent can use on a stuck session.
pub fn recovery_context(session: &Session, outcome: &Outcome) -> RecoveryContext {
    let id = session.id();
    let call = |tool: &str, arguments: Value, when: &str| RecoveryCall {
        tool: tool.into(),
        arguments: match arguments {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        when: when.into(),
    };
    RecoveryContext {
        session_id: id.to_string(),
        state: outcome.state.as_str().to_string(),
        raw_output: String::from_utf8_lossy(&session.raw_tail(2000)).into_owned(),
        clean_tail: session.recent_output(4000),
        screen: session.screen_text(false),
        recovery_tools: vec![
            call(
                "wait_for_session",
                json!({"sessionId": id, "seconds": 10}),
                "the command is slow but progressing",
            ),
            call(
                "send_signal_to_session",
                json!({"sessionId": id, "signal": "SIGINT"}),
                "the command hangs; interrupt it",
            ),
            call(
                "set_session_ready",
                json!({"sessionId": id, "pattern": "<the prompt you see>"}),
                "the REPL is at a prompt the server does not recognise",
            ),
            call(
                "mark_session_failed",
                json!({"sessionId": id, "reason": "<why>"}),
                "the session cannot be saved",
            ),
        ],
    }
}

/// The question an outcome leaves open: the strategy's, or the generic one
/// of a command that outlived its timeout.
pub fn open_question(outcome: &Outcome) -> Option<String> {
    match &outcome.question {
        Some(q) => Some(q.text.clone()),
        None if outcome.timed_out() && outcome.state == SessionState::Busy => Some(
            "The command did not finish in time. Wait longer, interrupt it, or name the prompt to expect?".to_string(),
        ),
        None => None,
    }
}

/// A session's outcome as a result; the flag says whether it is an error.
pub fn outcome_result(
    max_chars: usize,
    session: &Session,
    outcome: Outcome,
) -> (SendInputResult, bool) {
    let id = session.id();
    let total_length = outcome.output.chars().count();
    let (output, cut_a) = head_tail_counted(&outcome.output, total_length, max_chars, id);
    let raw = crate::session::lossy_utf8(&outcome.raw);
    let (raw_output, cut_b) = head_tail(&raw, max_chars, id);
    let mut r = SendInputResult {
        success: true,
        raw_output,
        output,
        execution_time: u64::try_from(outcome.elapsed.as_millis()).unwrap_or(u64::MAX),
        state: outcome.state.as_str().to_string(),
        exit_code: outcome.exit_code,
        awaiting_input: outcome.awaiting.clone(),
        awaiting_prompt: outcome.prompt_text.clone(),
        foreground: outcome
            .foreground
            .as_ref()
            .map(|f| super::ForegroundProgram {
                pid: f.pid,
                name: f.name.clone(),
            }),
        truncated: cut_a || cut_b || outcome.truncated_start,
        total_length,
        restarted: outcome.restarted,
        recovery_steps: outcome.recovery.clone(),
        output_cursor: Some(session.status().output_bytes),
        ..Default::default()
    };
    match outcome.state {
        SessionState::Exited => {
            r.success = false;
            let code = outcome
                .exit_code
                .map(|c| format!(" with code {c}"))
                .unwrap_or_default();
            // Through a target, the wrapper's last words say why.
            let through = session
                .info
                .target
                .as_deref()
                .map(|t| crate::preset::target::ended_through(t, &session.recent_output(1024)));
            r.error = Some(format!(
                "the REPL exited{code}{}",
                through.unwrap_or_default()
            ));
            r.recovery.can_continue = Some(false);
        }
        SessionState::Failed => {
            r.success = false;
            r.error = Some(format!(
                "the session failed: {}",
                outcome.failure.as_deref().unwrap_or("unknown reason")
            ));
            r.recovery.can_continue = Some(false);
        }
        SessionState::Continuation => {
            r.hint = Some(
                "The REPL waits for more lines of a block: send the rest (an empty line ends a Python block), or SIGINT to abandon it."
                    .into(),
            );
        }
        SessionState::AwaitingInput => {
            let what = outcome.awaiting.as_deref().unwrap_or("input");
            let at = outcome
                .prompt_text
                .as_deref()
                .filter(|p| !p.trim().is_empty())
                .map(|p| format!(" at {:?}", p.trim_end()))
                .unwrap_or_default();
            r.hint = Some(format!(
                "The program waits for {what}{at}: answer with send_input_to_session (for a pager, input \"q\" with add_newline false), or send SIGINT."
            ));
            r.recovery = Recovery {
                question: Some(format!(
                    "The session is waiting for {what}. What should be sent?"
                )),
                question_type: Some("awaiting_input".into()),
                can_continue: Some(true),
                context: Some(recovery_context(session, &outcome)),
            };
        }
        _ if outcome.timed_out() => {
            r.success = false;
            r.pending = outcome.state == SessionState::Busy;
            r.error = Some(format!(
                "no prompt after {} ms; the command is still running (state: {}): wait_for_session picks up the rest",
                outcome.elapsed.as_millis(),
                outcome.state.as_str()
            ));
            r.recovery = Recovery {
                question: Some(
                    "The command did not finish in time. Wait longer, interrupt it, or tell me which prompt to expect?"
                        .into(),
                ),
                question_type: Some("timeout_analysis".into()),
                can_continue: Some(true),
                context: Some(recovery_context(session, &outcome)),
            };
        }
        _ => {}
    }
    if let Some(q) = &outcome.question {
        r.recovery.question = Some(q.text.clone());
        r.recovery.question_type = Some(q.kind.clone());
        r.recovery.can_continue = Some(!outcome.state.is_terminal());
        if r.recovery.context.is_none() {
            r.recovery.context = Some(recovery_context(session, &outcome));
        }
    }
    if let Some(n) = outcome.restarted {
        r.success = false;
        r.error = Some(format!(
            "the REPL exited and was restarted by its strategy (restart {n}); everything defined in it before is lost{}",
            outcome
                .failure
                .as_deref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default()
        ));
        r.recovery.can_continue = Some(!outcome.state.is_terminal());
    }
    let is_error = !r.success;
    (r, is_error)
}
