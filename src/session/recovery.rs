//! Recovery that ends in a decision. When a wait cannot finish — the
//! command outlives its timeout, the REPL exits, it never shows its first
//! prompt — the session's strategy plugin is asked what to do; its decision
//! is carried out and the wait goes on or ends, for a bounded number of
//! rounds. Whatever the plugin cannot settle goes to the agent as a question.

use std::time::{Duration, Instant};

use super::gate::{Action, ActionFacts, Origin};
use super::session::{Outcome, Session};
use super::{Actor, SessionError, SessionState};
use crate::plugin::{Decision, Hook, HookFacts, PluginSession};

/// Rounds of hook → decision → wait before the agent is asked.
const MAX_ROUNDS: usize = 8;
/// How long to watch for an answer after sending keys or a signal.
const AFTER_ACTION: Duration = Duration::from_secs(2);

/// Which hook, if any, a wait that ended like `outcome` calls for.
pub fn hook_for(outcome: &Outcome, starting: bool) -> Option<Hook> {
    match outcome.state {
        SessionState::Exited if starting => Some(Hook::StartupFailure),
        SessionState::Exited => Some(Hook::Exit),
        SessionState::Busy | SessionState::Starting if outcome.timed_out() => Some(if starting {
            Hook::StartupFailure
        } else {
            Hook::Timeout
        }),
        _ => None,
    }
}

/// A question the strategy wants the agent to answer.
#[derive(Debug, Clone)]
pub struct Question {
    pub text: String,
    pub kind: String,
}

/// A plugin's decision as an action on the session; `None` for a question
/// (nothing is done to the session: it goes to the agent).
fn action_of(d: &Decision) -> Option<Action> {
    Some(match d {
        Decision::Wait { ms } => Action::Wait {
            duration: Duration::from_millis(*ms),
        },
        Decision::SendInput { text } => Action::Send { text: text.clone() },
        Decision::SendSignal { name } => Action::Signal {
            signal: name.clone(),
        },
        Decision::SetReady { pattern } => Action::SetReady {
            pattern: pattern.clone(),
        },
        Decision::Restart => Action::Restart,
        Decision::MarkFailed { reason } => Action::MarkFailed {
            reason: reason.clone(),
        },
        Decision::AskLlm { .. } => return None,
    })
}

/// "input", "signal"…: what the recovery step says the policy refused.
fn refused_what(action: &Action) -> &'static str {
    match action {
        Action::Send { .. } => "input",
        Action::Signal { .. } => "signal",
        Action::Restart => "restart",
        Action::SetReady { .. } => "ready pattern",
        Action::MarkFailed { .. } => "mark failed",
        Action::Wait { .. } => "wait",
    }
}

fn state_name(state: SessionState) -> &'static str {
    match state {
        SessionState::AwaitingInput => "awaiting-input",
        s => s.as_str(),
    }
}

impl Session {
    /// Call one hook of the session's plugin, off the async workers (a
    /// call may run up to the plugin's deadline). `None`: no plugin, no
    /// opinion, or the plugin failed and is now disabled for this session.
    async fn ask_plugin(
        &self,
        hook: Hook,
        elapsed: Duration,
        last_input: &str,
    ) -> Option<(String, Decision)> {
        let mut plugin: PluginSession = self.borrow_plugin().await?;
        let facts = {
            let snap = self.status();
            HookFacts {
                preset: self.info.preset.clone(),
                state: state_name(snap.state).to_string(),
                elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                screen: self.screen_text(true),
                recent_output: self.recent_output(4000),
                exit_code: snap.exit_code,
                restarts: snap.restarts,
                last_input: last_input.to_string(),
                session: self.plugin_facts(),
            }
        };
        let joined = tokio::task::spawn_blocking(move || {
            let answer = plugin.on_hook(hook, &facts);
            (plugin, answer)
        })
        .await;
        let Ok((plugin, answer)) = joined else {
            self.plugin_lost();
            self.note("recovery: the plugin call panicked; plugin dropped".into());
            return None;
        };
        let id = plugin.plugin_id().to_string();
        self.put_plugin(plugin);
        match answer {
            Ok(decision) => decision.map(|d| (id, d)),
            Err(e) => {
                self.note(format!(
                    "recovery: plugin {id} failed in {}: {e}; it is disabled for this session",
                    hook.name()
                ));
                tracing::warn!(plugin = %id, "plugin hook failed: {e}");
                None
            }
        }
    }

    /// Run the recovery loop on an outcome that could not finish. Returns the
    /// final outcome, with the steps taken and any question for the agent.
    pub async fn recover(
        &self,
        mut outcome: Outcome,
        timeout: Duration,
        starting: bool,
    ) -> Outcome {
        // A session through a target that ended is not restarted: its
        // connection is gone, and reconnecting is the agent's decision.
        let ended_remote = self.info.target.is_some() && outcome.state == SessionState::Exited;
        if !self.has_plugin() || ended_remote {
            return outcome;
        }
        let began = Instant::now();
        let last_input = self.last_input();
        for _ in 0..MAX_ROUNDS {
            let Some(hook) = hook_for(&outcome, starting) else {
                break;
            };
            let Some((plugin, decision)) =
                self.ask_plugin(hook, outcome.elapsed, &last_input).await
            else {
                break;
            };
            let steps = std::mem::take(&mut outcome.recovery);
            let question = outcome.question.take();
            let restarted = outcome.restarted;
            if let Decision::AskLlm {
                question,
                question_type,
            } = decision
            {
                let step = format!("{}: ask the agent: {question}", hook.name());
                self.note(format!("recovery: {step}"));
                let mut o = outcome;
                o.recovery = steps;
                o.recovery.push(step);
                o.question = Some(Question {
                    text: question,
                    kind: question_type,
                });
                o.elapsed += began.elapsed();
                return o;
            }
            let Some(action) = action_of(&decision) else {
                break;
            };
            let origin = Origin::Plugin { id: plugin };
            let secret = self.awaits_secret();
            let facts = ActionFacts {
                session_id: self.id(),
                origin: &origin,
                action: &action,
                state: outcome.state,
                secret,
            };
            let mut step = format!("{}: {}", hook.name(), action.describe(secret));
            if let Err(refusal) = self.gate.admit(&facts) {
                // The policy has the last word over a plugin as over the
                // agent: the round ends here and the agent sees why.
                let rule = refusal.rule.as_deref().unwrap_or("policy");
                step = format!(
                    "{step}: plugin {} denied by policy: rule {rule}",
                    refused_what(&action)
                );
                self.note(format!("recovery: {step}; {}", refusal.message));
                outcome.recovery = steps;
                outcome.recovery.push(step);
                outcome.question = question;
                break;
            }
            self.note(format!("recovery: {step}"));
            let (next, result) = self
                .carry_out_decision(hook, &action, outcome, timeout)
                .await;
            self.gate
                .record(&facts, result.as_ref().map_err(String::as_str).copied());
            if let Err(e) = &result {
                self.note(format!("recovery: {} not carried out: {e}", action.kind()));
            }
            outcome = next;
            let mut all = steps;
            all.push(step);
            all.append(&mut outcome.recovery);
            outcome.recovery = all;
            outcome.question = outcome.question.take().or(question);
            outcome.restarted = outcome.restarted.or(restarted);
        }
        outcome.elapsed += began.elapsed();
        outcome
    }

    /// Carry out an admitted plugin decision with the command lock held
    /// (recovery runs inside a command), through [`Session::execute`]; a
    /// wait outside a timeout is a back-off. On failure the outcome so far
    /// stands.
    async fn carry_out_decision(
        &self,
        hook: Hook,
        action: &Action,
        outcome: Outcome,
        timeout: Duration,
    ) -> (Outcome, Result<(), String>) {
        let done = match action {
            Action::Wait { duration } => {
                let d = (*duration).min(timeout.max(AFTER_ACTION));
                if hook == Hook::Timeout {
                    Ok(self.wait_settled(d).await)
                } else {
                    // Back-off before a restart: nothing to watch meanwhile.
                    tokio::time::sleep(d).await;
                    return (outcome, Ok(()));
                }
            }
            other => self.execute(other, AFTER_ACTION).await,
        };
        match done {
            Ok(o) => (o, Ok(())),
            Err(e) => (outcome, Err(e.to_string())),
        }
    }

    /// Carry out an admitted action the same way for every caller (a
    /// plugin's decision, an answer, the agent's tool call) and return how
    /// the session stands. Text is written as raw keys and watched for at
    /// most `settle` (recovery holds the command lock; a call types through
    /// [`Session::send_input`], which plans the keys and waits for the
    /// prompt); so is a signal's effect.
    pub async fn execute(
        &self,
        action: &Action,
        settle: Duration,
    ) -> Result<Outcome, SessionError> {
        match action {
            Action::Send { text } => {
                self.write_raw(text.as_bytes(), Actor::Agent).await?;
                Ok(self.wait_settled(settle).await)
            }
            Action::SetReady { pattern } => {
                self.set_ready_pattern(pattern);
                Ok(self.wait_settled(Duration::ZERO).await)
            }
            Action::Wait { duration } => Ok(self.wait_settled(*duration).await),
            Action::MarkFailed { reason } => {
                self.mark_failed(reason);
                let mut o = self.wait_settled(Duration::ZERO).await;
                o.state = SessionState::Failed;
                o.failure = Some(reason.clone());
                Ok(o)
            }
            Action::Signal { signal } => {
                self.signal_and_settle(signal, settle).await?;
                Ok(self.wait_settled(Duration::ZERO).await)
            }
            Action::Restart => {
                let mut fresh = self.restart().await?;
                // The new REPL's banner is not the command's output.
                fresh.output = Default::default();
                fresh.restarted = Some(self.status().restarts);
                Ok(fresh)
            }
        }
    }
}
