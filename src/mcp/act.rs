//! Carrying out actions on a session from an MCP call, every one through
//! the call's gate: the agent's input and every answer to a recovery
//! question, whoever gave it. One path, so no answer can type what the
//! agent may not.
//!
//! What is carried out is the session's own executor
//! ([`Session::execute`]), the one recovery uses for a plugin's decisions;
//! only the agent's typed text goes through `send_input` (planned keys,
//! the command lock, recovery on a timeout).

use std::time::Duration;

use super::answer::parse_answer;
use super::ask::elicit_answer;
use super::gate::{Action, ActionFacts, AnswerVia, CallGate, Origin, awaits_secret, shown_answer};
use super::results::open_question;
use super::sampling::{SamplingError, answer_line, ask_model};
use crate::policy::SamplingMode;
use crate::session::{Actor, DEFAULT_SETTLE, Outcome, SendOptions, Session};

/// How long a signal's visible effect (a new prompt, the end) is awaited.
const AFTER_SIGNAL: Duration = Duration::from_secs(1);

/// How an answer's SEND is typed: as the agent would, waiting for the prompt.
pub fn answer_send_options(timeout: Duration) -> SendOptions {
    SendOptions {
        wait_for_prompt: true,
        timeout,
        add_newline: false,
        settle: DEFAULT_SETTLE,
        actor: Actor::Agent,
    }
}

/// Admit `action` through the gate, carry it out, record it. For `Send`,
/// `opts` says how it is typed; `text` is exactly what reaches the terminal
/// (with the Enter that `add_newline` adds).
pub async fn carry_out(
    session: &Session,
    gate: &CallGate,
    origin: &Origin,
    action: &Action,
    opts: &SendOptions,
) -> Result<Outcome, String> {
    let facts = ActionFacts {
        session_id: session.id(),
        origin,
        action,
        state: session.state(),
        secret: awaits_secret(session),
    };
    gate.admit(&facts).await.map_err(|r| r.message)?;
    let result = match action {
        Action::Send { text } => {
            let typed = if opts.add_newline {
                text.strip_suffix('\n').unwrap_or(text)
            } else {
                text
            };
            session
                .send_input(typed, opts)
                .await
                .map_err(|e| e.to_string())
        }
        other => session
            .execute(other, AFTER_SIGNAL)
            .await
            .map_err(|e| e.to_string()),
    };
    gate.record(&facts, result.as_ref().map(|_| ()).map_err(String::as_str));
    result
}

/// Parse an answer (any source) and carry it out.
pub async fn carry_out_answer(
    session: &Session,
    gate: &CallGate,
    via: AnswerVia,
    answer: &str,
    timeout: Duration,
) -> Result<Outcome, String> {
    let origin = Origin::Answer { via };
    let action = match parse_answer(answer) {
        Ok(a) => a,
        Err(e) => {
            gate.record_unusable(session.id(), &origin, &e.to_string());
            return Err(e.to_string());
        }
    };
    carry_out(
        session,
        gate,
        &origin,
        &action,
        &answer_send_options(timeout),
    )
    .await
}

/// Rounds of question → answer within one call.
const ROUNDS: usize = 3;

/// Put the question an outcome leaves open to whoever can answer within
/// this call — the client's model (sampling) if the policy lets it, else a
/// person (elicitation) — and carry out the answer; a few rounds at most.
/// What cannot be settled stays in the outcome for the result.
pub async fn resolve_with_client(
    session: &Session,
    mut outcome: Outcome,
    timeout: Duration,
    gate: &CallGate,
) -> Outcome {
    let Some(context) = gate.context().cloned() else {
        return outcome;
    };
    let wait = gate.guard().sampling_timeout();
    for _ in 0..ROUNDS {
        let Some(question) = open_question(&outcome) else {
            break;
        };
        let mut steps = Vec::new();
        let from_model = if gate.guard().sampling_mode() == SamplingMode::Off {
            Err(SamplingError::NotOffered)
        } else {
            ask_model(&context, session, &question, wait).await
        };
        let (answer, via) = match from_model {
            Ok(reply) => (answer_line(&reply).to_string(), AnswerVia::Sampling),
            Err(e) => {
                if e != SamplingError::NotOffered {
                    let origin = Origin::Answer {
                        via: AnswerVia::Sampling,
                    };
                    gate.record_unusable(session.id(), &origin, &e.to_string());
                    session.note(format!("recovery: {e}"));
                    steps.push(format!("client's model: {e}"));
                }
                match elicit_answer(&context, &question, wait).await {
                    Some(a) => (a, AnswerVia::Elicitation),
                    None => {
                        outcome.recovery.append(&mut steps);
                        break;
                    }
                }
            }
        };
        let who = match via {
            AnswerVia::Sampling => "client's model",
            _ => "client",
        };
        // Decided before the answer is typed: afterwards the prompt is gone.
        let shown = shown_answer(&answer, session.awaits_secret());
        session.note(format!("recovery: the {who} answered {shown:?}"));
        match carry_out_answer(session, gate, via, &answer, timeout).await {
            Ok(mut next) => {
                let mut all = std::mem::take(&mut outcome.recovery);
                all.append(&mut steps);
                all.push(format!("{who} answered: {shown}"));
                all.append(&mut next.recovery);
                next.recovery = all;
                next.restarted = next.restarted.or(outcome.restarted);
                outcome = next;
            }
            Err(e) => {
                session.note(format!("recovery: answer not usable: {e}"));
                outcome.recovery.append(&mut steps);
                outcome
                    .recovery
                    .push(format!("{who} answered {shown:?}, not carried out: {e}"));
                break;
            }
        }
    }
    outcome
}
