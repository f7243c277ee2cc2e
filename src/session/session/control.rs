//! Acting on the session as a whole: restart, signals, resize, a taught
//! prompt, giving up and ending it.

use super::*;

impl Session {
    /// Start the REPL again: same command, directory and environment, a
    /// fresh terminal, the setup replayed. Its transcript goes on.
    pub async fn restart(&self) -> Result<Outcome, SessionError> {
        let respawn = self.respawn.clone().ok_or_else(|| {
            SessionError::InvalidConfig("this session cannot be restarted".into())
        })?;
        let destroyed = || self.destroyed.load(std::sync::atomic::Ordering::SeqCst);
        if destroyed() {
            return Err(SessionError::InvalidConfig(
                "the session was destroyed".into(),
            ));
        }
        let old = self.pid();
        tokio::task::spawn_blocking(move || crate::session::pty::kill_session_tree(old))
            .await
            .map_err(|e| SessionError::Pty(e.to_string()))?;
        if let Some(r) = &self.reaper {
            r.unwatch(old);
        }
        let spec = respawn.spec.clone();
        let pty = tokio::task::spawn_blocking(move || crate::session::pty::spawn(&spec))
            .await
            .map_err(|e| SessionError::Pty(e.to_string()))??;
        let crate::session::pty::SpawnedPty {
            master,
            child,
            reader,
            writer,
            pid,
            master_fd,
        } = pty;
        let writer = crate::session::writer::PtyWriter::start(writer, &self.info.id)?;
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        let from = {
            let mut inner = lock(&self.inner);
            *lock(&self.writer) = writer;
            *lock(&self.master) = master;
            *lock(&self.child) = child;
            self.pid.store(pid, std::sync::atomic::Ordering::SeqCst);
            inner.term.reset();
            inner.scanner = MarkerScanner::default();
            inner.markers.clear();
            inner.state = SessionState::Starting;
            inner.awaiting = None;
            inner.exit_code = None;
            inner.failure = None;
            inner.last_status = None;
            inner.secondary_prompt = false;
            inner.pid = pid;
            inner.kernel = KernelView::default();
            inner.restarts += 1;
            let n = inner.restarts;
            inner.log(format!("restarted (restart {n}), pid {pid}"));
            self.publish_state(&inner);
            inner.ring.end()
        };
        // Destroyed meanwhile: `terminate` saw the old pid or this one; end
        // this one in case it was the old (both sides order pid and flag).
        if destroyed() {
            tokio::task::spawn_blocking(move || crate::session::pty::kill_session_tree(pid))
                .await
                .map_err(|e| SessionError::Pty(e.to_string()))?;
            return Err(SessionError::InvalidConfig(
                "the session was destroyed".into(),
            ));
        }
        if let Some(r) = &self.reaper {
            r.watch(pid);
        }
        self.spawn_reader(reader, master_fd, generation)?;
        self.notify();
        let (mut outcome, problem) = self
            .run_startup(
                from,
                &respawn.startup_commands,
                &respawn.setup,
                respawn.startup_timeout,
            )
            .await?;
        if let Some(p) = problem {
            self.note(format!("restart did not come up cleanly: {p}"));
            outcome.failure = Some(p);
        }
        Ok(outcome)
    }

    pub fn send_signal(&self, name: &str) -> Result<(), SessionError> {
        self.ensure_running()?;
        let sig = crate::session::pty::signal_number(name)
            .ok_or_else(|| SessionError::UnknownSignal(name.to_string()))?;
        // Through a target, ^C is a byte the wrapper (ssh -tt, exec -it)
        // forwards: a signal here would end the connection, not the program.
        match crate::preset::target::signal_key(sig).filter(|_| self.info.target.is_some()) {
            Some(key) => {
                self.tap.input(&[key], || None);
                lock(&self.writer).push(vec![key])?;
            }
            None => crate::session::pty::signal_foreground(
                lock(&self.master).as_ref(),
                self.pid(),
                sig,
            )?,
        }
        lock(&self.inner).log(format!("signal {name} sent"));
        Ok(())
    }

    pub fn resize(&self, cols: u16, rows: u16) -> Result<(), SessionError> {
        let (cols, rows) = (cols.clamp(10, 1000), rows.clamp(2, 500));
        lock(&self.master)
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| SessionError::Pty(format!("{e:#}")))?;
        lock(&self.inner).term.set_size(rows, cols);
        self.tap.resize(cols, rows);
        self.emit(|| SessionEvent::Resized { cols, rows });
        Ok(())
    }

    /// Teach a ready prompt; returns whether the current line matches it.
    pub fn set_ready_pattern(&self, pattern: &str) -> bool {
        let mut inner = lock(&self.inner);
        let re = inner.matcher.learn(pattern);
        inner.log(format!("learned ready pattern {:?}", re.as_str()));
        let line = cursor_line(inner.term.screen());
        let matches = re.is_match(&line);
        if matches && !inner.state.is_terminal() {
            inner.prompt_seen(SessionState::Ready);
            self.publish_state(&inner);
        }
        drop(inner);
        self.notify();
        matches
    }

    /// End the process, keep the transcript, refuse further input.
    pub fn mark_failed(&self, reason: &str) {
        {
            let mut inner = lock(&self.inner);
            inner.failure = Some(reason.to_string());
            inner.log(format!("marked failed: {reason}"));
            inner.state = SessionState::Failed;
            self.publish_state(&inner);
        }
        self.notify();
        let pid = self.pid();
        std::thread::spawn(move || crate::session::pty::kill_session_tree(pid));
    }

    /// Kill everything the session started (blocking; short).
    pub fn terminate(&self) {
        self.destroyed
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let pid = self.pid();
        crate::session::pty::kill_session_tree(pid);
        if let Some(r) = &self.reaper {
            r.unwatch(pid);
        }
        let _ = lock(&self.child).try_wait();
        {
            let mut inner = lock(&self.inner);
            if !inner.state.is_terminal() {
                inner.set_state(SessionState::Exited);
                inner
                    .failure
                    .get_or_insert_with(|| "session destroyed".into());
            }
        }
        self.notify();
        self.emit(|| SessionEvent::Closed);
        self.tap.finish();
    }
}
