//! Waiting for the program: until a prompt, a question, an exit, a pause
//! in output or a deadline (the kernel is asked when output pauses), and
//! the outcome of a command.

use super::*;

impl Session {
    /// Recovery of a REPL found ended outside a command (`wait_for_session`):
    /// under the command lock like every command, so a restart never runs
    /// beside one.
    pub async fn recover_locked(&self, outcome: Outcome, timeout: Duration) -> Outcome {
        let _op = self.op_lock.lock().await;
        self.recover(outcome, timeout, false).await
    }

    /// Wait (up to `timeout`) for the running command to reach a prompt or
    /// any other settled state, and return its output so far.
    pub async fn wait_settled(&self, timeout: Duration) -> Outcome {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        let end = self
            .wait_until(deadline, None, |inner| inner.state.is_settled())
            .await;
        let completed = end == WaitEnd::Condition;
        let start = lock(&self.inner)
            .last_command
            .as_ref()
            .map(|c| c.start)
            .unwrap_or(0);
        self.finish_command(start, started, completed)
    }

    /// Wait for the first prompt after start-up.
    pub(super) async fn wait_startup(&self, from: u64, timeout: Duration) -> Outcome {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        let end = self
            .wait_until(deadline, None, |inner| {
                inner.state.is_settled() && inner.state != SessionState::Busy
            })
            .await;
        let completed = end == WaitEnd::Condition;
        let inner = lock(&self.inner);
        let (raw, lost) = inner.ring.slice(from, inner.ring.end());
        let output = crate::session::clean::render(&raw);
        let exit_code = inner.exit_code;
        inner.outcome(started, completed, (raw, Arc::new(output), lost), exit_code)
    }

    /// The start-up sequence: first prompt, then the commands typed into a
    /// shell, then the preset's setup lines. Returns the outcome and what
    /// went wrong, if anything.
    pub async fn run_startup(
        &self,
        from: u64,
        commands: &[String],
        setup: &[String],
        timeout: Duration,
    ) -> Result<(Outcome, Option<String>), SessionError> {
        let began = Instant::now();
        let mut startup = self.wait_startup(from, timeout).await;
        let mut problem = startup_problem(&startup, timeout);
        if problem.is_none() {
            for line in commands.iter().chain(setup) {
                let left = timeout
                    .saturating_sub(began.elapsed())
                    .max(Duration::from_millis(500));
                let opts = SendOptions {
                    wait_for_prompt: true,
                    timeout: left,
                    add_newline: true,
                    settle: DEFAULT_SETTLE,
                    actor: Actor::Agent,
                };
                let step = self.send_input_locked(line, &opts).await?;
                Arc::make_mut(&mut startup.output).push_str(&step.output);
                startup.state = step.state;
                startup.completed = step.completed;
                startup.exit_code = step.exit_code;
                if !step.completed || !step.state.is_prompt() {
                    problem = Some(match step.state {
                        SessionState::Exited => format!(
                            "the program exited while running setup command `{line}` (exit code {})",
                            step.exit_code.map_or("unknown".into(), |c| c.to_string())
                        ),
                        s => format!(
                            "setup command `{line}` did not bring back a prompt within {} ms (state: {})",
                            timeout.as_millis(),
                            s.as_str()
                        ),
                    });
                    break;
                }
            }
        }
        startup.elapsed = began.elapsed();
        Ok((startup, problem))
    }

    pub(super) fn finish_command(&self, start: u64, started: Instant, completed: bool) -> Outcome {
        let mut inner = lock(&self.inner);
        let end = inner.ring.end();
        let (input, typed) = inner
            .last_command
            .as_ref()
            .map(|c| (c.input.clone(), c.typed.clone()))
            .unwrap_or_default();
        let echo = if typed.is_empty() { &input } else { &typed };
        let (raw, output, lost) = inner.command_output(start, end, echo);
        let output = Arc::new(output);
        let exit_code = if inner.state == SessionState::Exited {
            inner.exit_code
        } else if inner.info.marker_mode && inner.state.is_prompt() {
            inner.last_status
        } else {
            None
        };
        let state = inner.state;
        let elapsed = started.elapsed();
        if let Some(h) = inner.history.back_mut() {
            h.duration_ms = Some(elapsed.as_millis());
            h.state = Some(state);
            h.exit_code = exit_code;
        }
        inner.last_command = Some(CommandRecord {
            input,
            start,
            end,
            output: Arc::clone(&output),
            exit_code,
            truncated_start: lost,
            typed,
        });
        if !completed {
            inner.log(format!(
                "wait timed out after {elapsed:?} in state {}",
                state.as_str()
            ));
        }
        inner.outcome(started, completed, (raw, output, lost), exit_code)
    }

    /// Block until `cond` holds, the deadline passes, or (with `settle`)
    /// output has paused for that long.
    pub(super) async fn wait_until<F>(
        &self,
        deadline: tokio::time::Instant,
        settle: Option<Duration>,
        mut cond: F,
    ) -> WaitEnd
    where
        F: FnMut(&Inner) -> bool,
    {
        let mut rx = self.changed.subscribe();
        let began = Instant::now();
        let probing = self.info.target.is_none();
        let mut probes = ProbeClock::new();
        loop {
            let times = {
                let inner = lock(&self.inner);
                (!cond(&inner)).then(|| {
                    // While a command runs and output pauses, ask the kernel.
                    let running =
                        matches!(inner.state, SessionState::Busy | SessionState::Starting);
                    let probe_at =
                        (probing && running).then(|| probes.due(inner.last_output_at, began));
                    (
                        settle.map(|s| inner.last_output_at.max(began) + s),
                        probe_at,
                    )
                })
            };
            let Some((quiet_at, probe_at)) = times else {
                if probing && self.kernel_vetoes_prompt() {
                    continue;
                }
                return WaitEnd::Condition;
            };
            let quiet = async {
                match quiet_at {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let probe = async {
                match probe_at {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = rx.changed() => {
                    if r.is_err() {
                        return WaitEnd::Deadline;
                    }
                }
                _ = probe => match self.probe_and_apply() {
                    Probed::Changed => {}
                    Probed::Confirm => probes.soon(Instant::now()),
                    Probed::Nothing => probes.backoff(Instant::now()),
                },
                _ = tokio::time::sleep_until(deadline) => {
                    // One last look before giving up: the program may have
                    // been reading all along without a prompt we know.
                    if probing && self.probe_now().await && cond(&lock(&self.inner)) {
                        return WaitEnd::Condition;
                    }
                    return WaitEnd::Deadline;
                }
                _ = quiet => {
                    // Re-check: output may have arrived just now.
                    let inner = lock(&self.inner);
                    if cond(&inner) {
                        return WaitEnd::Condition;
                    }
                    if let Some(s) = settle && inner.last_output_at.max(began) + s <= Instant::now() {
                        return WaitEnd::Settled;
                    }
                }
            }
        }
    }

    /// Send a signal and wait (at most `settle`) for its visible effect: a
    /// new prompt, a question, or the end of the program. Returns the state.
    pub async fn signal_and_settle(
        &self,
        name: &str,
        settle: Duration,
    ) -> Result<SessionState, SessionError> {
        let mark = WaitMark::take(&lock(&self.inner));
        self.send_signal(name)?;
        let deadline = tokio::time::Instant::now() + settle;
        self.wait_until(deadline, None, |inner| mark.answered(inner))
            .await;
        Ok(self.state())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WaitEnd {
    Condition,
    Settled,
    Deadline,
}

/// What is wrong with a start-up outcome, if anything.
pub(super) fn startup_problem(startup: &Outcome, timeout: Duration) -> Option<String> {
    match startup.state {
        SessionState::Exited => Some(format!(
            "the program exited during start-up (exit code {}); its output: {}",
            startup
                .exit_code
                .map_or("unknown".into(), |c| c.to_string()),
            tail_chars(&startup.output, 400)
        )),
        SessionState::Failed => startup.failure.clone(),
        _ if !startup.completed => Some(format!(
            "no prompt within {} ms of start-up (state: {})",
            timeout.as_millis(),
            startup.state.as_str()
        )),
        SessionState::AwaitingInput => Some(format!(
            "the program asks for input before its first prompt ({})",
            startup.awaiting.as_deref().unwrap_or("input")
        )),
        _ => None,
    }
}

pub(super) fn tail_chars(s: &str, n: usize) -> String {
    let count = s.chars().count();
    s.chars().skip(count.saturating_sub(n)).collect()
}
