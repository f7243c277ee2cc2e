//! Recovery that ends in a decision. When a wait cannot finish — the
//! command outlives its timeout, the REPL exits, it never shows its first
//! prompt — the session's strategy plugin is asked what to do; its decision
//! is carried out and the wait goes on or ends, for a bounded number of
//! rounds. Whatever the plugin cannot settle goes to the agent as a question.

use std::time::{Duration, Instant};

use super::session::{Outcome, Session};
use super::{Actor, SessionState};
use crate::plugin::{Decision, HookFacts, PluginSession};

/// Rounds of hook → decision → wait before the agent is asked.
const MAX_ROUNDS: usize = 8;
/// How long to watch for an answer after sending keys or a signal.
const AFTER_ACTION: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Timeout,
    Exit,
    StartupFailure,
}

impl Hook {
    fn name(self) -> &'static str {
        match self {
            Hook::Timeout => "on-timeout",
            Hook::Exit => "on-exit",
            Hook::StartupFailure => "on-startup-failure",
        }
    }

    /// Which hook, if any, a wait that ended like `outcome` calls for.
    pub fn for_outcome(outcome: &Outcome, starting: bool) -> Option<Hook> {
        match outcome.state {
            SessionState::Exited if starting => Some(Hook::StartupFailure),
            SessionState::Exited => Some(Hook::Exit),
            SessionState::Busy | SessionState::Starting if outcome.timed_out() => {
                Some(if starting {
                    Hook::StartupFailure
                } else {
                    Hook::Timeout
                })
            }
            _ => None,
        }
    }
}

/// A question the strategy wants the agent to answer.
#[derive(Debug, Clone)]
pub struct Question {
    pub text: String,
    pub kind: String,
}

fn describe(d: &Decision) -> String {
    match d {
        Decision::Wait { ms } => format!("wait {ms} ms"),
        Decision::SendInput { text } => format!("send {text:?}"),
        Decision::SendSignal { name } => format!("signal {name}"),
        Decision::SetReady { pattern } => format!("set ready on {pattern:?}"),
        Decision::Restart => "restart".to_string(),
        Decision::MarkFailed { reason } => format!("mark failed: {reason}"),
        Decision::AskLlm { question, .. } => format!("ask the agent: {question}"),
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
    ) -> Option<Decision> {
        let mut plugin: PluginSession = self.take_plugin()?;
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
                ..Default::default()
            }
        };
        let joined = tokio::task::spawn_blocking(move || {
            let answer = match hook {
                Hook::Timeout => plugin.on_timeout(&facts),
                Hook::Exit => plugin.on_exit(&facts),
                Hook::StartupFailure => plugin.on_startup_failure(&facts),
            };
            (plugin, answer)
        })
        .await;
        let Ok((plugin, answer)) = joined else {
            self.note("recovery: the plugin call panicked; plugin dropped".into());
            return None;
        };
        let id = plugin.plugin_id().to_string();
        self.put_plugin(plugin);
        match answer {
            Ok(decision) => decision,
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
            let Some(hook) = Hook::for_outcome(&outcome, starting) else {
                break;
            };
            let Some(decision) = self.ask_plugin(hook, outcome.elapsed, &last_input).await else {
                break;
            };
            let step = format!("{}: {}", hook.name(), describe(&decision));
            self.note(format!("recovery: {step}"));
            outcome.recovery.push(step);
            let steps = std::mem::take(&mut outcome.recovery);
            let question = outcome.question.take();
            let restarted = outcome.restarted;
            outcome = match decision {
                Decision::Wait { ms } => {
                    let ms = Duration::from_millis(ms).min(timeout.max(AFTER_ACTION));
                    if hook == Hook::Timeout {
                        self.wait_settled(ms).await
                    } else {
                        // Back-off before a restart: nothing to watch meanwhile.
                        tokio::time::sleep(ms).await;
                        outcome
                    }
                }
                Decision::SendInput { text } => {
                    if let Err(e) = self.write_raw(text.as_bytes(), Actor::Agent).await {
                        self.note(format!("recovery: input not sent: {e}"));
                    }
                    self.wait_settled(AFTER_ACTION).await
                }
                Decision::SendSignal { name } => {
                    if let Err(e) = self.send_signal(&name) {
                        self.note(format!("recovery: signal not sent: {e}"));
                    }
                    self.wait_settled(AFTER_ACTION).await
                }
                Decision::SetReady { pattern } => {
                    self.set_ready_pattern(&pattern);
                    self.wait_settled(Duration::ZERO).await
                }
                Decision::Restart => match self.restart().await {
                    Ok(mut fresh) => {
                        // The new REPL's banner is not the command's output.
                        fresh.output.clear();
                        fresh.restarted = Some(self.status().restarts);
                        fresh
                    }
                    Err(e) => {
                        self.note(format!("recovery: restart failed: {e}"));
                        outcome
                    }
                },
                Decision::MarkFailed { reason } => {
                    self.mark_failed(&reason);
                    let mut o = outcome;
                    o.state = SessionState::Failed;
                    o.failure = Some(reason);
                    o
                }
                Decision::AskLlm {
                    question,
                    question_type,
                } => {
                    let mut o = outcome;
                    o.question = Some(Question {
                        text: question,
                        kind: question_type,
                    });
                    o.recovery = steps;
                    o.elapsed += began.elapsed();
                    return o;
                }
            };
            outcome.recovery = steps;
            outcome.question = outcome.question.take().or(question);
            outcome.restarted = outcome.restarted.or(restarted);
        }
        outcome.elapsed += began.elapsed();
        outcome
    }
}
