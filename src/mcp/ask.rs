//! Talking back to the client while a call runs: progress notifications on
//! long waits, and questions answered through MCP elicitation.

use std::time::{Duration, Instant};

use rmcp::RoleServer;
use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitationSchema, InputRequest, InputRequests,
    InputRequiredResult, ProgressNotificationParam, ProtocolVersion,
};
use rmcp::service::{ElicitationSafe, RequestContext};
use serde_json::Value;

/// Sends a progress notification every second while it lives, if the
/// client asked for progress (a `progressToken` in the request's `_meta`).
pub struct Progress {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    pub fn start(context: &RequestContext<RoleServer>, what: String) -> Self {
        let Some(token) = context.meta.get_progress_token() else {
            return Self { task: None };
        };
        let peer = context.peer.clone();
        let began = Instant::now();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::now() + Duration::from_secs(1),
                Duration::from_secs(1),
            );
            loop {
                tick.tick().await;
                let secs = began.elapsed().as_secs_f64().floor();
                let mut note = ProgressNotificationParam::new(token.clone(), secs);
                note.message = Some(format!("{what}: {secs:.0} s"));
                if peer.notify_progress(note).await.is_err() {
                    return;
                }
            }
        });
        Self { task: Some(task) }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// The answer a client gives to a recovery question.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct RecoveryAnswer {
    /// READY:<prompt pattern> | SEND:<text, \n = Enter, \x03 = Ctrl-C> | WAIT:<seconds> | FAILED:<reason>
    pub answer: String,
}
rmcp::elicit_safe!(RecoveryAnswer);

/// Whether the protocol lets the server send the client a request within a
/// call (elicitation, sampling): not from 2026-07-28 on, where such questions
/// go out as input-required results instead.
pub fn requests_allowed(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_none_or(|v| v < ProtocolVersion::V_2026_07_28)
}

/// Ask the client (a person or its model) through elicitation, waiting at
/// most `timeout`; `None` when the client cannot be asked or does not answer.
pub async fn elicit_answer(
    context: &RequestContext<RoleServer>,
    question: &str,
    timeout: Duration,
) -> Option<String> {
    let supports = context
        .peer
        .peer_info()
        .is_some_and(|info| info.capabilities.elicitation.is_some());
    if !supports || !requests_allowed(context) {
        return None;
    }
    let asked = context
        .peer
        .elicit::<RecoveryAnswer>(question_text(question));
    match tokio::time::timeout(timeout, asked).await {
        Ok(Ok(Some(a))) => Some(a.answer),
        Ok(Ok(None)) => None,
        Ok(Err(e)) => {
            tracing::info!("recovery question not answered through elicitation: {e}");
            None
        }
        Err(_) => {
            tracing::info!("recovery question not answered through elicitation within {timeout:?}");
            None
        }
    }
}

const ANSWER_KEY: &str = "answer";
const STATE_PREFIX: &str = "recovery:";

fn question_text(question: &str) -> String {
    format!(
        "{question}\n\nAnswer with READY:<prompt> (the session is at that prompt), SEND:<text> (type it; \\n is Enter, \\x03 is Ctrl-C), WAIT:<seconds>, or FAILED:<reason>."
    )
}

/// On 2026-07-28, with a client that answers elicitations: ask for form `T`
/// under `key` in an input-required round. The client answers and retries
/// the same call, echoing `state`.
pub fn form_round<T: ElicitationSafe>(
    context: &RequestContext<RoleServer>,
    key: &str,
    message: String,
    state: String,
) -> Option<InputRequiredResult> {
    let modern = context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    let can_answer = context
        .client_capabilities()
        .is_some_and(|c| c.elicitation.is_some());
    if !modern || !can_answer {
        return None;
    }
    let schema = ElicitationSchema::from_type::<T>().ok()?;
    let request = ElicitRequest::new(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema: schema,
    });
    let mut requests = InputRequests::new();
    requests.insert(key.to_string(), InputRequest::Elicitation(request));
    Some(InputRequiredResult::new(Some(requests), Some(state)))
}

/// If this call retries the round `state` (asked under `key`): whether the
/// client accepted the form, and the form's content.
pub fn round_answer<'a>(
    echoed: Option<&str>,
    responses: Option<&'a rmcp::model::InputResponses>,
    state: &str,
    key: &str,
) -> Option<(bool, Option<&'a Value>)> {
    if echoed? != state {
        return None;
    }
    let response = responses?.get(key)?;
    let accepted = response.get("action").and_then(Value::as_str) == Some("accept");
    Some((accepted, response.get("content")))
}

/// A recovery question as an input-required round (see [`form_round`]).
pub fn input_required(
    context: &RequestContext<RoleServer>,
    session_id: &str,
    question: &str,
) -> Option<InputRequiredResult> {
    form_round::<RecoveryAnswer>(
        context,
        ANSWER_KEY,
        question_text(question),
        format!("{STATE_PREFIX}{session_id}"),
    )
}

/// The answer carried by a retried call (2026-07-28), if this call is one:
/// `requestState` names our session and the client accepted the question.
pub fn retried_answer(
    state: Option<&str>,
    responses: Option<&rmcp::model::InputResponses>,
    session_id: &str,
) -> Option<String> {
    let round = format!("{STATE_PREFIX}{session_id}");
    let (accepted, content) = round_answer(state, responses, &round, ANSWER_KEY)?;
    if !accepted {
        return Some("WAIT:0".to_string());
    }
    content?.get(ANSWER_KEY)?.as_str().map(str::to_string)
}
