//! Typing into the session: raw keys, and commands submitted the way the
//! REPL needs, with the wait for its answer.

use super::*;

impl Session {
    /// Refuse input to a session that has ended.
    pub(super) fn ensure_running(&self) -> Result<(), SessionError> {
        let inner = lock(&self.inner);
        if inner.state.is_terminal() {
            return Err(SessionError::NotRunning {
                id: self.info.id.clone(),
                state: inner.state,
                reason: inner.failure.clone(),
            });
        }
        Ok(())
    }

    pub(super) async fn write_bytes(&self, bytes: Vec<u8>) -> Result<(), SessionError> {
        let answering = self.awaiting_answer();
        self.write_answer(bytes, answering).await
    }

    /// Write bytes typed as the answer to `answering` (what the program
    /// awaited when the input was sent: `password` keeps them out of the
    /// transcript even though the state has moved on to busy).
    async fn write_answer(
        &self,
        bytes: Vec<u8>,
        answering: Option<String>,
    ) -> Result<(), SessionError> {
        self.tap.input(&bytes, || answering);
        // The writer thread takes it (a full PTY blocks that thread only).
        let writer = lock(&self.writer).clone();
        writer.write(bytes).await?;
        lock(&self.inner).last_input_at = Instant::now();
        Ok(())
    }

    /// What the session awaits an answer to (`password`…), if it does.
    pub(super) fn awaiting_answer(&self) -> Option<String> {
        lock(&self.inner).awaiting_answer().map(str::to_string)
    }

    /// Whether input typed now would be a secret (see [`Inner::awaits_secret`]).
    pub fn awaits_secret(&self) -> bool {
        lock(&self.inner).awaits_secret()
    }

    pub(super) fn note_actor(&self, actor: Actor) {
        let mut inner = lock(&self.inner);
        if inner.last_actor != actor {
            inner.last_actor = actor;
            self.publish_state(&inner);
        }
        inner.last_activity = SystemTime::now();
    }

    /// Raw keystrokes from a recovery step or another async caller.
    pub async fn write_raw(&self, bytes: &[u8], actor: Actor) -> Result<(), SessionError> {
        self.ensure_running()?;
        self.note_actor(actor);
        self.write_bytes(bytes.to_vec()).await
    }

    /// Keystrokes typed by a person in the web view: queued in order and
    /// written by the session's writer thread, so the page's task never
    /// waits on the terminal.
    pub fn write_keys(&self, bytes: &[u8], actor: Actor) -> Result<(), SessionError> {
        self.ensure_running()?;
        self.note_actor(actor);
        self.tap.input(bytes, || self.awaiting_answer());
        lock(&self.writer).push(bytes.to_vec())?;
        lock(&self.inner).last_input_at = Instant::now();
        Ok(())
    }

    /// Send input and, depending on `opts`, wait for the REPL to answer. A
    /// wait that cannot finish (timeout, exit) goes through the strategy's
    /// recovery; a REPL that died since the last call may be restarted first.
    pub async fn send_input(
        &self,
        input: &str,
        opts: &SendOptions,
    ) -> Result<Outcome, SessionError> {
        let _op = self.op_lock.lock().await;
        let mut before = Vec::new();
        let mut restarted = None;
        if self.state() == SessionState::Exited && self.has_plugin() {
            let exited = self.wait_settled(Duration::ZERO).await;
            let o = self.recover(exited, opts.timeout, false).await;
            before = o.recovery;
            restarted = o.restarted;
        }
        let mut outcome = self.send_input_locked(input, opts).await?;
        if outcome.timed_out() && opts.wait_for_prompt || outcome.state == SessionState::Exited {
            outcome = self.recover(outcome, opts.timeout, false).await;
        }
        before.append(&mut outcome.recovery);
        outcome.recovery = before;
        outcome.restarted = outcome.restarted.or(restarted);
        Ok(outcome)
    }

    /// `send_input` without the command lock or recovery (the caller holds
    /// the lock: start-up and restarts type their setup lines through it).
    pub(super) async fn send_input_locked(
        &self,
        input: &str,
        opts: &SendOptions,
    ) -> Result<Outcome, SessionError> {
        self.ensure_running()?;
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + opts.timeout;
        // The keystrokes, planned before anything is typed (a refusal types
        // nothing). The preset's way of submitting applies when the REPL
        // itself reads (it shows a prompt); otherwise lines are typed.
        let steps = {
            let mut inner = lock(&self.inner);
            let at_prompt = inner.state.is_prompt();
            crate::session::submit::plan(&crate::session::submit::Submission {
                text: input,
                add_newline: opts.add_newline,
                input: &self.info.input.for_reader(at_prompt),
                paste_on: inner.term.screen().bracketed_paste(),
                eof_chunks_allowed: at_prompt,
            })?
        };
        let (start, answering) = {
            let mut inner = lock(&self.inner);
            // What the input answers, taken under the same lock as the
            // secret test below and before the state turns busy.
            let answering = inner.awaiting_answer().map(str::to_string);
            // A secret is kept as its length: history, the event log and
            // the plugin's `last_input` never see it. Nothing is echoed at
            // a password prompt, so there is no echo to strip either.
            let (input, typed) = if inner.awaits_secret() {
                (crate::session::gate::secret_of(input), String::new())
            } else {
                (input.to_string(), crate::session::submit::echoed(&steps))
            };
            let start = inner.ring.end();
            inner.last_actor = opts.actor;
            // An answer to a question is input like a command: the program
            // works on it until it shows a prompt or asks again (a `cat`
            // that echoes the line and reads the next).
            if inner.state.is_prompt() || inner.state == SessionState::AwaitingInput {
                inner.awaiting = None;
                inner.set_state(SessionState::Busy);
            }
            self.publish_state(&inner);
            if inner.history.len() >= MAX_HISTORY {
                inner.history.pop_front();
            }
            inner.history.push_back(HistoryEntry {
                input: input.clone(),
                actor: opts.actor,
                started_at_ms: unix_ms(SystemTime::now()),
                duration_ms: None,
                state: None,
                exit_code: None,
            });
            inner.last_command = Some(CommandRecord {
                input,
                start,
                end: start,
                typed,
                ..Default::default()
            });
            (start, answering)
        };
        // Both waits type the steps alike: each line after the REPL's answer
        // to the one before (its next prompt, or a short pause for a line a
        // running program reads itself), so echo and output stay in order.
        // They differ after the last step: `wait_for_prompt` waits for the
        // prompt; otherwise the call also returns once output pauses.
        let last_settle = (!opts.wait_for_prompt).then_some(opts.settle);
        let mut completed = false;
        let n = steps.len();
        for (i, step) in steps.iter().enumerate() {
            let (mark, paste_on) = {
                let mut inner = lock(&self.inner);
                let paste_on = step.literal && inner.term.screen().bracketed_paste();
                (WaitMark::take(&inner), paste_on)
            };
            self.write_answer(step.keys(paste_on).into_owned(), answering.clone())
                .await?;
            let last = i + 1 == n;
            if !last && !step.await_prompt {
                continue;
            }
            let settle = if last { last_settle } else { Some(LINE_SETTLE) };
            let done = self
                .wait_until(deadline, settle, |inner| mark.answered(inner))
                .await;
            completed = match settle {
                Some(_) if last => done != WaitEnd::Deadline,
                _ => done == WaitEnd::Condition,
            };
            if done == WaitEnd::Deadline {
                break;
            }
            if !last && done == WaitEnd::Condition && !self.state().is_prompt() {
                // Awaiting input or ended: the rest would go astray.
                break;
            }
        }
        if n == 0 && !opts.wait_for_prompt {
            let mark = WaitMark::take(&lock(&self.inner));
            let done = self
                .wait_until(deadline, last_settle, |inner| mark.answered(inner))
                .await;
            completed = done != WaitEnd::Deadline;
        }
        Ok(self.finish_command(start, started, completed))
    }
}
