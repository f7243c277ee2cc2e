//! Typing into sessions, signalling them, and waiting for them.

use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::common::Extension;
use rmcp::handler::server::tool::{InputResponses, RequestState};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResponse, CallToolResult};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, tool, tool_router};

use super::{fail, ok, ok_or_fail};
use crate::mcp::act::{carry_out, carry_out_answer, resolve_with_client};
use crate::mcp::answer::seconds;
use crate::mcp::ask::{Progress, input_required, retried_answer};
use crate::mcp::gate::{Action, AnswerVia, CallGate, Origin};
use crate::mcp::params::{SendInputOptions, SendInputParams, SignalParams, WaitParams};
use crate::mcp::results::{
    Failure, PolicyNote, Recovery, SendInputResult, SimpleResult, open_question, outcome_result,
};
use crate::mcp::schema;
use crate::mcp::server::ReplServer;
use crate::session::{Actor, DEFAULT_SETTLE, MAX_TIMEOUT_MS, SendOptions, Session, SessionState};

/// Longest `options.settle_ms`: a minute.
const MAX_SETTLE_MS: u64 = 60_000;
/// Longest `seconds` of wait_for_session: a day.
const MAX_WAIT_SECS: f64 = 86_400.0;

/// The send options, range-checked: an odd number is an error, never a clamp.
fn send_options(o: SendInputOptions, session: &Session) -> Result<SendOptions, String> {
    let timeout = o.timeout.unwrap_or(session.info.timeout_ms);
    if !(1..=MAX_TIMEOUT_MS).contains(&timeout) {
        return Err(format!(
            "options.timeout is {timeout} ms; it must be from 1 to {MAX_TIMEOUT_MS} ms"
        ));
    }
    let settle = o
        .settle_ms
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_SETTLE);
    if settle > Duration::from_millis(MAX_SETTLE_MS) {
        return Err(format!(
            "options.settle_ms is {} ms; it must be at most {MAX_SETTLE_MS} ms",
            settle.as_millis()
        ));
    }
    Ok(SendOptions {
        wait_for_prompt: o.wait_for_prompt.unwrap_or(false),
        timeout: Duration::from_millis(timeout),
        add_newline: o.add_newline.unwrap_or(true),
        settle,
        actor: Actor::Agent,
    })
}

fn refused(session: &Session, gate: &CallGate, error: String) -> Result<CallToolResult, McpError> {
    fail(&SendInputResult {
        state: session.state().as_str().to_string(),
        policy: PolicyNote {
            rule: gate.refused_rule(),
            retry_after_seconds: None,
        },
        recovery: Recovery {
            can_continue: Some(!session.state().is_terminal()),
            ..Default::default()
        },
        ..SendInputResult::failure(error)
    })
}

#[tool_router(router = io_router, vis = "pub(super)")]
impl ReplServer {
    #[tool(
        description = "Type input into a session; returns clean output (no echo, prompt or ANSI), rawOutput, state and exitCode (shells). Returns early on an open block, a password or [y/N] prompt, or a pager.",
        input_schema = schema::input::<SendInputParams>(),
        output_schema = schema::output::<SendInputResult>(),
        annotations(title = "Send input", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn send_input_to_session(
        &self,
        Parameters(p): Parameters<SendInputParams>,
        Extension(gate): Extension<Arc<CallGate>>,
        context: RequestContext<RoleServer>,
        RequestState(state): RequestState,
        InputResponses(responses): InputResponses,
    ) -> Result<CallToolResponse, McpError> {
        let session = match self.session_or::<SendInputResult>(&p.session_id) {
            Ok(s) => s,
            Err(r) => return (*r).map(Into::into),
        };
        let opts = match send_options(p.options.unwrap_or_default(), &session) {
            Ok(o) => o,
            Err(e) => return refused(&session, &gate, e).map(Into::into),
        };
        let progress = Progress::start(&context, "waiting for the prompt".into());
        // A retried call (2026-07-28) carries the answer to our question: the
        // input was typed in the first round, so only the answer is applied.
        let sent = match retried_answer(state.as_deref(), responses.as_ref(), &p.session_id) {
            Some(answer) => {
                carry_out_answer(
                    &session,
                    &gate,
                    AnswerVia::InputRequired,
                    &answer,
                    opts.timeout,
                )
                .await
            }
            None => {
                let mut text = p.input.clone();
                if opts.add_newline {
                    text.push('\n');
                }
                let action = Action::Send { text };
                match carry_out(&session, &gate, &Origin::Agent, &action, &opts).await {
                    Ok(o) => Ok(resolve_with_client(&session, o, opts.timeout, &gate).await),
                    Err(e) => Err(e),
                }
            }
        };
        drop(progress);
        let outcome = match sent {
            Ok(o) => o,
            Err(e) => return refused(&session, &gate, e).map(Into::into),
        };
        if let Some(question) = open_question(&outcome)
            && let Some(ask) = input_required(&context, &p.session_id, &question)
        {
            return Ok(ask.into());
        }
        let (r, is_error) = outcome_result(self.limits.max_chars, &session, outcome);
        ok_or_fail(&r, is_error).map(Into::into)
    }

    #[tool(
        description = "Send a signal to the session's foreground process group, as the keyboard would (SIGINT = Ctrl-C).",
        input_schema = schema::input::<SignalParams>(),
        output_schema = schema::output::<SimpleResult>(),
        annotations(title = "Send signal", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = false)
    )]
    async fn send_signal_to_session(
        &self,
        Parameters(p): Parameters<SignalParams>,
        Extension(gate): Extension<Arc<CallGate>>,
    ) -> Result<CallToolResult, McpError> {
        let session = match self.session_or::<SimpleResult>(&p.session_id) {
            Ok(s) => s,
            Err(r) => return *r,
        };
        let action = Action::Signal {
            signal: p.signal.clone(),
        };
        let opts = crate::mcp::act::answer_send_options(Duration::from_secs(1));
        match carry_out(&session, &gate, &Origin::Agent, &action, &opts).await {
            Ok(outcome) => ok(&SimpleResult {
                success: true,
                message: Some(format!("{} sent to session {}", p.signal, p.session_id)),
                state: Some(outcome.state.as_str().to_string()),
                ..Default::default()
            }),
            Err(e) => fail(&SimpleResult::failure(e)),
        }
    }

    #[tool(
        description = "Wait up to `seconds` for a busy session to reach a prompt (or need input, or exit); returns the output so far.",
        input_schema = schema::input::<WaitParams>(),
        output_schema = schema::output::<SendInputResult>(),
        annotations(title = "Wait for session", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn wait_for_session(
        &self,
        Parameters(p): Parameters<WaitParams>,
        Extension(gate): Extension<Arc<CallGate>>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let session = match self.session_or::<SendInputResult>(&p.session_id) {
            Ok(s) => s,
            Err(r) => return *r,
        };
        let wait = match seconds(p.seconds, MAX_WAIT_SECS) {
            Ok(w) => w,
            Err(e) => return refused(&session, &gate, format!("seconds: {e}")),
        };
        let progress = Progress::start(&context, "waiting for the session".into());
        let outcome = session.wait_settled(wait).await;
        let outcome = if outcome.state == SessionState::Exited {
            session.recover_locked(outcome, wait).await
        } else {
            outcome
        };
        // A strategy's question is put to the client; a plain "not yet" is
        // the agent's to judge.
        let outcome = if outcome.question.is_some() {
            resolve_with_client(&session, outcome, wait, &gate).await
        } else {
            outcome
        };
        drop(progress);
        let (r, is_error) = outcome_result(self.limits.max_chars, &session, outcome);
        ok_or_fail(&r, is_error)
    }
}
