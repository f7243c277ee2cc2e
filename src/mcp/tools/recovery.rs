//! Getting a stuck session going again: name its prompt, give it up, or
//! answer its strategy's question.

use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{ErrorData as McpError, tool, tool_router};

use super::{fail, ok, ok_or_fail};
use crate::mcp::act::{answer_send_options, carry_out, carry_out_answer};
use crate::mcp::gate::{Action, AnswerVia, CallGate, Origin};
use crate::mcp::params::{AnswerParams, MarkFailedParams, SetReadyParams};
use crate::mcp::results::{Failure, PolicyNote, SendInputResult, SimpleResult, outcome_result};
use crate::mcp::schema;
use crate::mcp::server::ReplServer;
use crate::session::SessionState;

#[tool_router(router = recovery_router, vis = "pub(super)")]
impl ReplServer {
    #[tool(
        description = "Say the session is at a prompt the server did not recognise; `pattern` is remembered, so later commands finish on it.",
        input_schema = schema::input::<SetReadyParams>(),
        output_schema = schema::output::<SimpleResult>(),
        annotations(title = "Set session ready", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn set_session_ready(
        &self,
        Parameters(p): Parameters<SetReadyParams>,
        Extension(gate): Extension<Arc<CallGate>>,
    ) -> Result<CallToolResult, McpError> {
        let s = match self.session_or::<SimpleResult>(&p.session_id) {
            Ok(s) => s,
            Err(r) => return *r,
        };
        // The one executor, as a plugin's READY or an answer's would be.
        let action = Action::SetReady {
            pattern: p.pattern.clone(),
        };
        let opts = answer_send_options(Duration::ZERO);
        let outcome = match carry_out(&s, &gate, &Origin::Agent, &action, &opts).await {
            Ok(o) => o,
            Err(e) => return fail(&SimpleResult::failure(e)),
        };
        let message = if outcome.state == SessionState::Ready {
            format!("Session is ready; prompt pattern {:?} learned", p.pattern)
        } else {
            format!(
                "Pattern {:?} learned, but the cursor line {:?} does not match it yet",
                p.pattern,
                s.screen_text(false)
            )
        };
        ok(&SimpleResult {
            success: true,
            message: Some(message),
            state: Some(outcome.state.as_str().to_string()),
            ..Default::default()
        })
    }

    #[tool(
        description = "Give a session up: its processes end, its transcript stays readable, further input is refused.",
        input_schema = schema::input::<MarkFailedParams>(),
        output_schema = schema::output::<SimpleResult>(),
        annotations(title = "Mark session failed", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn mark_session_failed(
        &self,
        Parameters(p): Parameters<MarkFailedParams>,
        Extension(gate): Extension<Arc<CallGate>>,
    ) -> Result<CallToolResult, McpError> {
        let s = match self.session_or::<SimpleResult>(&p.session_id) {
            Ok(s) => s,
            Err(r) => return *r,
        };
        let action = Action::MarkFailed {
            reason: p.reason.clone(),
        };
        let opts = answer_send_options(Duration::ZERO);
        match carry_out(&s, &gate, &Origin::Agent, &action, &opts).await {
            Ok(o) => ok(&SimpleResult {
                success: true,
                message: Some(format!(
                    "Session {} marked as failed: {}",
                    p.session_id, p.reason
                )),
                state: Some(o.state.as_str().to_string()),
                ..Default::default()
            }),
            Err(e) => fail(&SimpleResult::failure(e)),
        }
    }

    #[tool(
        description = "Answer a recovery question: READY:<prompt> (it is at that prompt), SEND:<text> (type it, wait for the prompt), WAIT:<seconds> or FAILED:<reason>.",
        input_schema = schema::input::<AnswerParams>(),
        output_schema = schema::output::<SendInputResult>(),
        annotations(title = "Answer session question", read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = true)
    )]
    async fn answer_session_question(
        &self,
        Parameters(p): Parameters<AnswerParams>,
        Extension(gate): Extension<Arc<CallGate>>,
    ) -> Result<CallToolResult, McpError> {
        let session = match self.session_or::<SendInputResult>(&p.session_id) {
            Ok(s) => s,
            Err(r) => return *r,
        };
        let timeout = Duration::from_millis(session.info.timeout_ms);
        match carry_out_answer(&session, &gate, AnswerVia::Tool, &p.answer, timeout).await {
            Ok(outcome) => {
                let (r, is_error) = outcome_result(self.limits.max_chars, &session, outcome);
                ok_or_fail(&r, is_error)
            }
            Err(e) => fail(&SendInputResult {
                state: session.state().as_str().to_string(),
                policy: PolicyNote {
                    rule: gate.refused_rule(),
                    retry_after_seconds: None,
                },
                ..SendInputResult::failure(e)
            }),
        }
    }
}
