//! The state machine: what a chunk of output, a marker or the kernel's
//! word does to a session's state, prompt and awaiting kind, and the clean
//! output of a command. No PTY and no threads: it is fed bytes.

use super::*;

/// What a session's state machine starts from besides its static facts.
pub(super) struct InnerParts {
    pub matcher: PromptMatcher,
    pub plugin: Option<PluginSession>,
    pub history_bytes: usize,
    pub rows: u16,
    pub cols: u16,
    /// The REPL's pid, to tell it from programs it starts.
    pub pid: i32,
}

impl Inner {
    pub(super) fn new(info: &SessionInfo, parts: InnerParts) -> Inner {
        let now = Instant::now();
        Inner {
            term: crate::session::terminal::Terminal::new(parts.rows, parts.cols),
            ring: OutputRing::new(parts.history_bytes),
            scanner: MarkerScanner::default(),
            markers: VecDeque::new(),
            matcher: parts.matcher,
            marker_mode: info.marker_mode,
            state: SessionState::Starting,
            awaiting: None,
            secondary_prompt: false,
            prompt_seq: 0,
            awaiting_seq: 0,
            last_status: None,
            exit_code: None,
            failure: None,
            last_actor: Actor::Agent,
            last_output_at: now,
            last_activity: SystemTime::now(),
            history: VecDeque::new(),
            last_command: None,
            log: VecDeque::new(),
            preset: info.preset.clone(),
            plugin: parts.plugin,
            restarts: 0,
            pid: parts.pid,
            kernel: KernelView::default(),
            zero_config: info.prompt_from_kernel,
            last_input_at: now,
        }
    }

    /// Take in a chunk of output: the ring, the screen, the markers, and
    /// (unless more of a burst follows) the state. `more`: more output is
    /// already waiting. Returns whether the state changed; the markers
    /// found are appended to `markers`.
    pub(super) fn feed(&mut self, chunk: &[u8], more: bool, markers: &mut Vec<Marker>) -> bool {
        // A chunk ending in a plain line cannot end at a prompt: the state
        // waits for the rest (the screen is brought up to date lazily).
        let more = more || (chunk.ends_with(b"\n") && !chunk.contains(&0x1b));
        let before = markers.len();
        let base = self.ring.end();
        self.ring.push(chunk);
        self.term.feed(chunk, more);
        self.scanner.scan(chunk, base, markers);
        self.last_output_at = Instant::now();
        self.last_activity = SystemTime::now();
        let found = &markers[before..];
        (!more || !found.is_empty()) && self.update_state(found, chunk, more)
    }

    /// What the session awaits an answer to (`password`…), if it does.
    pub(super) fn awaiting_answer(&self) -> Option<&str> {
        let awaits = self.state == SessionState::AwaitingInput;
        awaits.then_some(self.awaiting.as_deref()).flatten()
    }

    /// Whether input typed now would be a secret: the program waits at a
    /// password prompt. The one test every record uses (audit, history,
    /// event log, recovery steps); the kernel's echo-off probe belongs here.
    pub(super) fn awaits_secret(&self) -> bool {
        self.awaiting_answer() == Some("password")
    }

    pub(super) fn log(&mut self, msg: String) {
        if self.log.len() >= MAX_LOG {
            self.log.pop_front();
        }
        tracing::debug!("{msg}");
        self.log.push_back(msg);
    }

    pub(super) fn set_state(&mut self, state: SessionState) -> bool {
        if self.state == state {
            return false;
        }
        self.log(format!(
            "state {} -> {}",
            self.state.as_str(),
            state.as_str()
        ));
        self.state = state;
        if state == SessionState::AwaitingInput {
            self.awaiting_seq += 1;
        }
        true
    }

    /// The REPL shows a prompt (`Ready` or `Continuation`): a wait that
    /// began before it may end. Returns whether the state changed.
    pub(super) fn prompt_seen(&mut self, state: SessionState) -> bool {
        self.prompt_seq += 1;
        self.awaiting = None;
        self.set_state(state)
    }

    /// Re-derive the state after a chunk. Returns whether it changed.
    pub(super) fn update_state(
        &mut self,
        new_markers: &[Marker],
        chunk: &[u8],
        more: bool,
    ) -> bool {
        if self.state.is_terminal() {
            return false;
        }
        let mut changed = false;
        for m in new_markers {
            match m.kind {
                MarkerKind::PromptStart { secondary } => self.secondary_prompt = secondary,
                MarkerKind::PromptEnd => {
                    changed |= self.prompt_seen(if self.secondary_prompt {
                        SessionState::Continuation
                    } else {
                        SessionState::Ready
                    });
                }
                MarkerKind::CommandStart => changed |= self.set_state(SessionState::Busy),
                MarkerKind::CommandDone { status } => self.last_status = status,
            }
            if self.markers.len() >= MAX_MARKERS {
                self.markers.pop_front();
            }
            self.markers.push_back(m.clone());
        }
        // Shells at a prompt: only their markers change that.
        if !new_markers.is_empty() || more || (self.marker_mode && self.state.is_prompt()) {
            return changed;
        }
        let screen = self.term.screen();
        let line = cursor_line(screen);
        if screen.alternate_screen() {
            self.awaiting = Some("pager".into());
            return self.set_state(SessionState::AwaitingInput);
        }
        let (detected, kind) = match self.plugin_detect(&line, chunk) {
            Some(found) => found,
            None => {
                let (d, k) = self.matcher.classify(&line);
                (d, k.map(str::to_string))
            }
        };
        if self.marker_mode {
            // Shells: markers decide ready/busy. The regexes only spot a
            // question (password, [y/N]) while a command runs, and prompts
            // taught with `set_session_ready` (a REPL started from the shell).
            return match (detected, kind) {
                (Detected::AwaitingInput, kind) => {
                    self.awaiting = kind;
                    self.set_state(SessionState::AwaitingInput)
                }
                (Detected::Ready, _) if self.matcher.matches_learned(&line) => {
                    self.prompt_seen(SessionState::Ready)
                }
                _ if self.state == SessionState::AwaitingInput => {
                    self.awaiting = None;
                    self.set_state(SessionState::Busy)
                }
                _ => false,
            };
        }
        match detected {
            Detected::Ready => self.prompt_seen(SessionState::Ready),
            Detected::Continuation => self.prompt_seen(SessionState::Continuation),
            Detected::AwaitingInput => {
                self.awaiting = kind;
                self.set_state(SessionState::AwaitingInput)
            }
            Detected::Busy => {
                self.awaiting = None;
                if self.state == SessionState::Starting {
                    false
                } else {
                    self.set_state(SessionState::Busy)
                }
            }
        }
    }

    /// Ask the session's strategy plugin to classify the screen. `None`
    /// means: use the preset's regexes (no plugin, no opinion, or a plugin
    /// that failed and is now disabled for this session).
    pub(super) fn plugin_detect(
        &mut self,
        line: &str,
        chunk: &[u8],
    ) -> Option<(Detected, Option<String>)> {
        if self.matcher.matches_learned(line) {
            return None;
        }
        let plugin = self.plugin.as_mut().filter(|p| !p.is_disabled())?;
        let screen = self.term.screen();
        let (cursor_row, cursor_col) = screen.cursor_position();
        let text = screen.contents();
        let tail = &chunk[chunk.len().saturating_sub(4096)..];
        let recent = String::from_utf8_lossy(tail);
        let input = crate::plugin::DetectInput {
            screen: &text,
            cursor_row,
            cursor_col,
            cursor_line: line,
            recent_output: &recent,
            alternate_screen: screen.alternate_screen(),
            preset: &self.preset,
            ..Default::default()
        };
        match plugin.detect_prompt(&input) {
            Ok(Some(d)) => Some(match d.kind {
                PromptKind::Ready => (Detected::Ready, None),
                PromptKind::Continuation => (Detected::Continuation, None),
                PromptKind::Busy => (Detected::Busy, None),
                PromptKind::AwaitingInput => (Detected::AwaitingInput, Some("input".to_string())),
            }),
            Ok(None) => None,
            Err(e) => {
                let id = plugin.plugin_id().to_string();
                self.log(format!(
                    "plugin {id} disabled for this session: {e}; using the preset's regexes"
                ));
                tracing::warn!(plugin = %id, "plugin disabled for a session: {e}");
                None
            }
        }
    }

    /// Output of the command that started at `start`, as clean text.
    /// The text of the line the program waits at, while it waits for a
    /// line the kernel saw it read.
    pub(super) fn awaiting_prompt(&self) -> Option<String> {
        (self.state == SessionState::AwaitingInput)
            .then(|| self.kernel.prompt_text.clone())
            .flatten()
    }

    /// The terminal's program, when a probe since `since` found one other
    /// than the REPL.
    pub(super) fn foreground_since(
        &self,
        since: Instant,
    ) -> Option<crate::session::kernel::Foreground> {
        let fg = self.kernel.facts.foreground.as_ref()?;
        let fresh = self.kernel.at.is_some_and(|at| at >= since);
        // At the REPL's own prompt the REPL is the terminal's program.
        let at_prompt = self.state.is_prompt();
        (fresh && !at_prompt && fg.pid != self.pid).then(|| fg.clone())
    }

    pub(super) fn command_output(
        &self,
        start: u64,
        end: u64,
        input: &str,
    ) -> (Vec<u8>, String, bool) {
        let (raw, lost) = self.ring.slice(start, end);
        let markers: Vec<&Marker> = self
            .markers
            .iter()
            .filter(|m| m.start >= start && m.end <= end)
            .collect();
        let output = extract_output(&raw, start, &markers, input, &self.matcher);
        (raw, output, lost)
    }
}

/// Where the session stood when input was written: an answer is a prompt
/// or a question that came *after* it (or the end of the program).
#[derive(Debug, Clone, Copy)]
pub(super) struct WaitMark {
    prompt_seq: u64,
    awaiting_seq: u64,
}

impl WaitMark {
    pub(super) fn take(inner: &Inner) -> Self {
        Self {
            prompt_seq: inner.prompt_seq,
            awaiting_seq: inner.awaiting_seq,
        }
    }

    pub(super) fn answered(&self, inner: &Inner) -> bool {
        (inner.prompt_seq > self.prompt_seq && inner.state.is_prompt())
            || (inner.awaiting_seq > self.awaiting_seq
                && inner.state == SessionState::AwaitingInput)
            || inner.state.is_terminal()
    }
}

#[cfg(test)]
mod tests;
