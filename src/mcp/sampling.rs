//! LLM-assisted recovery: a strategy's question put to the client's model
//! through MCP sampling (`sampling/createMessage`), with a short prompt —
//! the screen, the last input, the state and the allowed answers. The reply
//! is only text to parse; what it asks for is carried out by the caller
//! through the call's gate, under the same rules as the agent's input.

// Sampling is deprecated by SEP-2577 in favour of input-required rounds, but
// it is what the 2025 protocol versions offer and what clients implement.
#![allow(deprecated)]

use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{CreateMessageRequestParams, SamplingMessage};
use rmcp::service::RequestContext;

use super::answer::MAX_ANSWER_CHARS;
use crate::session::Session;

/// Tokens the model may spend on its one-line answer.
const MAX_TOKENS: u32 = 200;
/// Characters of screen shown to the model.
const SCREEN_CHARS: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplingError {
    #[error("the client does not offer sampling")]
    NotOffered,
    #[error("the client's model did not answer within {0} s")]
    TimedOut(u64),
    #[error("the sampling request failed: {0}")]
    Failed(String),
    #[error("the client's model answered with {0} content, not text")]
    NotText(String),
    #[error("the client's model gave an empty answer")]
    Empty,
    #[error("the client's model answered {0} characters; at most {MAX_ANSWER_CHARS} are accepted")]
    TooLong(usize),
}

/// Whether this call's client can be asked: it declared `sampling`, and the
/// protocol still allows a request from server to client (before 2026-07-28).
pub fn offered(context: &RequestContext<RoleServer>) -> bool {
    let declared = context
        .peer
        .peer_info()
        .is_some_and(|info| info.capabilities.sampling.is_some());
    declared && super::ask::requests_allowed(context)
}

/// The prompt: what the model needs to answer, and nothing else.
pub fn prompt(session: &Session, question: &str) -> String {
    let screen = session.screen_text(true);
    let screen = tail(screen.trim_end(), SCREEN_CHARS);
    format!(
        "A program runs in a terminal session driven by an AI agent, and its recovery strategy asks:\n\
         {question}\n\n\
         Session state: {state}\n\
         Last input: {last:?}\n\
         Screen:\n{screen}\n\n\
         Reply with exactly one line, one of:\n\
         READY:<prompt> — the program is at this prompt\n\
         SEND:<text> — type this (\\n is Enter, \\x03 is Ctrl-C)\n\
         WAIT:<seconds> — wait longer (0 to 3600)\n\
         FAILED:<reason> — give the session up",
        state = session.state().as_str(),
        last = tail(&session.last_input(), 200),
    )
}

fn tail(s: &str, chars: usize) -> String {
    let n = s.chars().count();
    s.chars().skip(n.saturating_sub(chars)).collect()
}

/// Ask the client's model; its text reply, checked for shape (the grammar
/// is the caller's). Waits at most `timeout`.
pub async fn ask_model(
    context: &RequestContext<RoleServer>,
    session: &Session,
    question: &str,
    timeout: Duration,
) -> Result<String, SamplingError> {
    if !offered(context) {
        return Err(SamplingError::NotOffered);
    }
    let params = CreateMessageRequestParams::new(
        vec![SamplingMessage::user_text(prompt(session, question))],
        MAX_TOKENS,
    )
    .with_system_prompt(
        "You answer recovery questions about terminal sessions with one line in the form asked for.",
    );
    let reply = tokio::time::timeout(timeout, context.peer.create_message(params))
        .await
        .map_err(|_| SamplingError::TimedOut(timeout.as_secs()))?
        .map_err(|e| SamplingError::Failed(e.to_string()))?;
    let mut text = String::new();
    for block in reply.message.content.into_vec() {
        match block.as_text() {
            Some(t) => text.push_str(&t.text),
            None => {
                let kind = serde_json::to_value(&block)
                    .ok()
                    .and_then(|v| v.get("type")?.as_str().map(str::to_string))
                    .unwrap_or_else(|| "non-text".into());
                return Err(SamplingError::NotText(kind));
            }
        }
    }
    let len = text.chars().count();
    if len > MAX_ANSWER_CHARS {
        return Err(SamplingError::TooLong(len));
    }
    if text.trim().is_empty() {
        return Err(SamplingError::Empty);
    }
    Ok(text)
}

/// The answer in a model's reply: the first line in the grammar, else the
/// whole reply (so the grammar's error names it).
pub fn answer_line(reply: &str) -> &str {
    reply
        .lines()
        .map(str::trim_start)
        .find(|line| super::answer::parse_answer(line).is_ok())
        .unwrap_or(reply)
}

#[cfg(test)]
mod tests {
    use super::answer_line;

    #[test]
    fn the_answer_is_found_in_a_chatty_reply() {
        assert_eq!(
            answer_line("Sure.\nSEND:\\x03\nThat interrupts it."),
            "SEND:\\x03"
        );
        assert_eq!(answer_line("  WAIT:5"), "WAIT:5");
        assert_eq!(answer_line("no idea"), "no idea");
    }
}
