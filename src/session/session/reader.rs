//! The PTY's read side: a thread per session feeds every chunk into the
//! state under one lock and wakes the waiters; the end of the program is
//! reported once its last output is in.

use super::*;

impl Session {
    pub(super) fn spawn_reader(
        &self,
        reader: Box<dyn Read + Send>,
        master_fd: Option<i32>,
        generation: u64,
    ) -> Result<(), SessionError> {
        let weak = self.me.get().cloned().unwrap_or_default();
        std::thread::Builder::new()
            .name(format!("pty-{}", self.info.id))
            .stack_size(128 * 1024)
            .spawn(move || reader_loop(reader, master_fd, weak, generation))
            .map_err(SessionError::Io)?;
        Ok(())
    }

    /// Could this chunk leave the cursor at a prompt? Cheap: only the text
    /// after its last newline is looked at, as the cursor line it makes
    /// (blanks before the cursor kept: `>>> ` is a prompt, `>>>` is not).
    /// A chunk without a newline may continue an earlier line, so it always
    /// could.
    pub(super) fn might_end_at_prompt(&self, chunk: &[u8]) -> bool {
        let Some(nl) = chunk.iter().rposition(|&b| b == b'\n') else {
            return true;
        };
        let line = crate::session::clean::cursor_line_text(&chunk[nl + 1..]);
        if line.is_empty() {
            return false;
        }
        let inner = lock(&self.inner);
        inner.info.marker_mode
            || inner.matcher.classify(&line).0 != Detected::Busy
            || inner.matcher.matches_learned(&line)
    }

    /// Called by the reader thread for every chunk.
    ///
    /// A chunk is *quiet* when more bytes are already waiting, or when it is
    /// plain text ending in a newline (the cursor then sits at the start of
    /// an empty line, which is no prompt). Quiet chunks only update the
    /// output ring and (lazily) the screen; classification and waking the
    /// waiters wait for the chunk that can change the answer. Markers are
    /// always handled: they are exact and cheap.
    pub(super) fn on_chunk(&self, generation: u64, chunk: &[u8], more: bool) {
        let drained = !more;
        let more = more || (chunk.ends_with(b"\n") && !chunk.contains(&0x1b));
        let mut markers = Vec::new();
        let call = {
            let mut inner = lock(&self.inner);
            if generation != self.current_generation() {
                return;
            }
            self.tap.output(chunk);
            let fed = inner.feed(chunk, more, &mut markers);
            // Published under the lock that guards the screen, so a viewer
            // attaching in between gets the screen or the bytes, never both.
            self.emit(|| SessionEvent::Output(bytes::Bytes::copy_from_slice(chunk)));
            let (changed, call) = match fed {
                Fed::Settled(changed) => (changed, None),
                Fed::AskPlugin(call, changed) => (changed, Some(call)),
            };
            if changed {
                self.publish_state(&inner);
            }
            call
        };
        if let Some(call) = call {
            self.detect_with_plugin(generation, &call);
        }
        if !more {
            self.notify();
        }
        if drained
            && self
                .exit_pending
                .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            self.check_exit();
        }
    }

    /// Ask the strategy plugin about a screen with the session's lock
    /// released (a call may take up to its deadline): only this reader
    /// feeds chunks, so the plugin sees each in turn; its answer is applied
    /// if nothing else moved the state meanwhile (typed input, a restart).
    fn detect_with_plugin(&self, generation: u64, call: &DetectCall) {
        let Some(mut plugin) = self.take_plugin() else {
            // A recovery hook holds it: the preset's regexes decide.
            let mut inner = lock(&self.inner);
            if inner.mark() == call.mark && inner.classify_screen(&call.line, None) {
                self.publish_state(&inner);
            }
            return;
        };
        let answer = plugin.detect_prompt(&call.input());
        // A failing plugin has disabled itself; it goes back all the same
        // (details show why it stopped).
        let id = plugin.plugin_id().to_string();
        self.put_plugin(plugin);
        let mut inner = lock(&self.inner);
        let detected = inner.plugin_answer(&id, answer);
        if generation == self.current_generation()
            && inner.mark() == call.mark
            && inner.classify_screen(&call.line, detected)
        {
            self.publish_state(&inner);
        }
    }

    /// The current screen (with input modes, so keys behave) and a live
    /// stream of what follows, taken atomically.
    pub fn attach(&self) -> (Vec<u8>, u16, u16, broadcast::Receiver<SessionEvent>) {
        let mut inner = lock(&self.inner);
        let screen = inner.term.screen();
        let (rows, cols) = screen.size();
        let rx = self.subscribe();
        (
            screen.state_formatted().into_bytes(),
            cols.get(),
            rows.get(),
            rx,
        )
    }

    pub(super) fn on_eof(&self, generation: u64) {
        if generation != self.current_generation() {
            return;
        }
        lock(&self.inner).log("pty closed".into());
        self.check_exit();
        self.notify();
    }

    /// Reap the child if it has exited (called on SIGCHLD and at EOF).
    pub fn check_exit(&self) -> bool {
        // An exit must not overtake the program's last words (ssh's reason
        // for failing): while output waits in the PTY, the reader goes first.
        use std::sync::atomic::Ordering;
        // A zero-timeout poll first: it makes the kernel finish moving what
        // the program wrote through its buffers, which the byte count alone
        // does not see (under load, ssh's reason for failing was lost so).
        let unread = || {
            lock(&self.master).as_raw_fd().is_some_and(|fd| {
                crate::session::pty::readable_within(fd, Duration::ZERO)
                    || crate::session::pty::bytes_waiting(fd) > 0
            })
        };
        if unread() {
            self.exit_pending.store(true, Ordering::Release);
            // Taken meanwhile, and the reader did not see the flag: go on.
            if unread() || !self.exit_pending.swap(false, Ordering::AcqRel) {
                return false;
            }
        }
        let status = match lock(&self.child).try_wait() {
            Ok(Some(status)) => status,
            _ => return false,
        };
        let mut inner = lock(&self.inner);
        if inner.state.is_terminal() {
            return true;
        }
        let code = i32::try_from(status.exit_code()).ok();
        inner.exit_code = code;
        let mut msg = match status.signal() {
            Some(sig) => format!("process ended by signal {sig}"),
            None => format!("process exited with code {}", status.exit_code()),
        };
        if let Some(target) = &self.info.target {
            let tail = crate::session::clean::render(&inner.ring.tail(1024));
            msg.push_str(&crate::preset::target::ended_through(target, &tail));
        }
        inner.log(msg.clone());
        if inner.failure.is_none() {
            inner.failure = Some(msg);
        }
        inner.set_state(SessionState::Exited);
        self.publish_state(&inner);
        drop(inner);
        self.notify();
        true
    }
}

pub(super) fn reader_loop(
    mut reader: Box<dyn Read + Send>,
    master_fd: Option<i32>,
    session: std::sync::Weak<Session>,
    generation: u64,
) {
    // Start small (an idle session should cost little) and grow while reads
    // fill the buffer (bulk output wants big reads).
    const MIN: usize = 4 * 1024;
    const MAX: usize = 64 * 1024;
    let mut buf = vec![0u8; MIN];
    if let Some(s) = session.upgrade() {
        s.reader_mark.started();
    }
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                match session.upgrade() {
                    Some(s) => {
                        let _holding = s.reader_mark.hold();
                        let chunk = &buf[..n];
                        let more = master_fd.is_some_and(|fd| {
                            crate::session::pty::bytes_waiting(fd) > 0
                                || (chunk.len() >= BURST_CHUNK
                                    && !s.might_end_at_prompt(chunk)
                                    && crate::session::pty::readable_within(fd, BURST_GAP))
                        });
                        s.on_chunk(generation, chunk, more)
                    }
                    None => return,
                }
                if n == buf.len() && buf.len() < MAX {
                    buf.resize(MAX, 0);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // EIO is how Linux reports that the slave side is gone.
            Err(_) => break,
        }
    }
    if let Some(s) = session.upgrade() {
        s.on_eof(generation);
    }
}
