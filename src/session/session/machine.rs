//! The state machine: what a chunk of output, a marker or the kernel's
//! word does to a session's state, prompt and awaiting kind, and the clean
//! output of a command. No PTY and no threads: it is fed bytes.

use super::*;

/// What taking in a chunk came to.
pub(super) enum Fed {
    /// Done; whether the state changed.
    Settled(bool),
    /// The strategy plugin must classify the screen (outside the lock);
    /// whether the markers already changed the state.
    AskPlugin(Box<DetectCall>, bool),
}

/// A `detect-prompt` call, with everything it needs copied out of the
/// session so the session's lock is free while the plugin runs.
pub(super) struct DetectCall {
    screen: String,
    cursor_row: u16,
    cursor_col: u16,
    pub line: String,
    recent: String,
    alternate: bool,
    preset: String,
    facts: crate::plugin::SessionFacts,
    /// The state it was taken in (see [`Inner::mark`]).
    pub mark: (SessionState, u64, u64, u64),
}

impl DetectCall {
    pub fn input(&self) -> crate::plugin::DetectInput<'_> {
        crate::plugin::DetectInput {
            screen: &self.screen,
            cursor_row: self.cursor_row,
            cursor_col: self.cursor_col,
            cursor_line: &self.line,
            recent_output: &self.recent,
            alternate_screen: self.alternate,
            preset: &self.preset,
            session: &self.facts,
        }
    }
}

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
    pub(super) fn new(info: Arc<SessionInfo>, parts: InnerParts) -> Inner {
        let now = Instant::now();
        Inner {
            term: crate::session::terminal::Terminal::new(parts.rows, parts.cols),
            ring: OutputRing::new(parts.history_bytes),
            scanner: MarkerScanner::default(),
            markers: VecDeque::new(),
            matcher: parts.matcher,
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
            plugin: parts.plugin,
            restarts: 0,
            pid: parts.pid,
            kernel: KernelView::default(),
            last_input_at: now,
            plugin_lent: false,
            info,
        }
    }

    /// Take in a chunk of output: the ring, the screen, the markers, and
    /// (unless more of a burst follows) the state. `more`: more output is
    /// already waiting. Returns whether the state changed; the markers
    /// found are appended to `markers`.
    pub(super) fn feed(&mut self, chunk: &[u8], more: bool, markers: &mut Vec<Marker>) -> Fed {
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
        if more && found.is_empty() {
            return Fed::Settled(false);
        }
        self.update_state(found, chunk, more)
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
    pub(super) fn update_state(&mut self, new_markers: &[Marker], chunk: &[u8], more: bool) -> Fed {
        if self.state.is_terminal() {
            return Fed::Settled(false);
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
        if !new_markers.is_empty() || more || (self.info.marker_mode && self.state.is_prompt()) {
            return Fed::Settled(changed);
        }
        let screen = self.term.screen();
        let line = cursor_line(screen);
        if screen.alternate_screen() {
            self.awaiting = Some("pager".into());
            return Fed::Settled(changed | self.set_state(SessionState::AwaitingInput));
        }
        if let Some(call) = self.detect_call(&line, chunk) {
            return Fed::AskPlugin(Box::new(call), changed);
        }
        Fed::Settled(changed | self.classify_screen(&line, None))
    }

    /// Decide the state from the cursor line: the plugin's answer when it
    /// gave one, else the preset's regexes. Returns whether it changed.
    pub(super) fn classify_screen(
        &mut self,
        line: &str,
        plugin: Option<(Detected, Option<String>)>,
    ) -> bool {
        let (detected, kind) = match plugin {
            Some(found) => found,
            None => {
                let (d, k) = self.matcher.classify(line);
                (d, k.map(str::to_string))
            }
        };
        // The echo of what was just typed is no question, even when it reads
        // like one: `getpass('Password: ')` echoed up to its colon. Taken
        // for one, the call returned early and the answer typed next was
        // flushed by the program's own terminal set-up.
        let (detected, kind) = if detected == Detected::AwaitingInput && self.echoing(line) {
            (Detected::Busy, None)
        } else {
            (detected, kind)
        };
        if self.info.marker_mode {
            // Shells: markers decide ready/busy. The regexes only spot a
            // question (password, [y/N]) while a command runs, and prompts
            // taught with `set_session_ready` (a REPL started from the shell).
            return match (detected, kind) {
                (Detected::AwaitingInput, kind) => {
                    self.awaiting = kind;
                    self.set_state(SessionState::AwaitingInput)
                }
                (Detected::Ready, _) if self.matcher.matches_learned(line) => {
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

    /// Whether `line` (the cursor line) is the typed input still being
    /// echoed: it ends in the start of one of the lines just typed.
    fn echoing(&self, line: &str) -> bool {
        let Some(cmd) = self
            .last_command
            .as_ref()
            .filter(|_| self.state == SessionState::Busy)
        else {
            return false;
        };
        let typed = if cmd.typed.is_empty() {
            &cmd.input
        } else {
            &cmd.typed
        };
        typed.lines().any(|l| ends_in_start_of(line, l.trim_end()))
    }

    /// What the session's strategy plugin is to be asked about the screen,
    /// if it is to be asked: there is one, it works, and no taught prompt
    /// already answers. The reader makes the call with the lock released.
    fn detect_call(&mut self, line: &str, chunk: &[u8]) -> Option<DetectCall> {
        if self.matcher.matches_learned(line) {
            return None;
        }
        self.plugin.as_ref().filter(|p| !p.is_disabled())?;
        let screen = self.term.screen();
        let (cursor_row, cursor_col) = screen.cursor_position();
        let tail = &chunk[chunk.len().saturating_sub(4096)..];
        Some(DetectCall {
            screen: screen.contents(),
            cursor_row,
            cursor_col,
            line: line.to_string(),
            recent: String::from_utf8_lossy(tail).into_owned(),
            alternate: screen.alternate_screen(),
            preset: self.info.preset.clone(),
            facts: self.plugin_facts(),
            mark: self.mark(),
        })
    }

    /// What a plugin's detection means here. A failing plugin is disabled
    /// for the session (the preset's regexes take over) and says so.
    pub(super) fn plugin_answer(
        &mut self,
        plugin: &str,
        answer: Result<Option<crate::plugin::Detection>, crate::plugin::PluginError>,
    ) -> Option<(Detected, Option<String>)> {
        match answer {
            Ok(Some(d)) => Some(match d.kind {
                PromptKind::Ready => (Detected::Ready, None),
                PromptKind::Continuation => (Detected::Continuation, None),
                PromptKind::Busy => (Detected::Busy, None),
                PromptKind::AwaitingInput => (Detected::AwaitingInput, Some("input".to_string())),
            }),
            Ok(None) => None,
            Err(e) => {
                self.log(format!(
                    "plugin {plugin} disabled for this session: {e}; using the preset's regexes"
                ));
                tracing::warn!(plugin = %plugin, "plugin disabled for a session: {e}");
                None
            }
        }
    }

    /// The outcome of a wait that began at `started`, with its output
    /// (raw bytes, clean text, whether the ring lost its start).
    pub(super) fn outcome(
        &self,
        started: Instant,
        completed: bool,
        (raw, output, lost): (Vec<u8>, Arc<String>, bool),
        exit_code: Option<i32>,
    ) -> Outcome {
        Outcome {
            state: self.state,
            completed,
            raw,
            output,
            exit_code,
            awaiting: self.awaiting.clone(),
            elapsed: started.elapsed(),
            truncated_start: lost,
            failure: self.failure.clone(),
            recovery: Vec::new(),
            question: None,
            restarted: None,
            prompt_text: self.awaiting_prompt(),
            foreground: self.foreground_since(started),
        }
    }

    /// Where the state stands: a plugin's answer about an older screen is
    /// applied only if nothing moved meanwhile.
    pub(super) fn mark(&self) -> (SessionState, u64, u64, u64) {
        (
            self.state,
            self.prompt_seq,
            self.awaiting_seq,
            self.ring.end(),
        )
    }

    /// The facts a plugin gets with every call (WIT 0.2's session-facts).
    pub(super) fn plugin_facts(&self) -> crate::plugin::SessionFacts {
        let k = &self.kernel.facts;
        crate::plugin::SessionFacts {
            kernel: crate::plugin::PluginKernelFacts {
                echo: k.echo,
                canonical: k.canonical,
                foreground: k
                    .foreground
                    .as_ref()
                    .map(|f| crate::plugin::PluginForeground {
                        pid: f.pid,
                        name: f.name.clone(),
                    }),
                reading_terminal: k.reading_terminal(),
            },
            target: self.info.target.clone(),
            parameters: self.info.parameters.clone(),
            since_input_ms: u64::try_from(self.last_input_at.elapsed().as_millis()).ok(),
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

/// `line` ends with the start of `typed` (four characters of it at least,
/// or all of a shorter one). A real question after the echo starts a line
/// of its own, so it ends in no start of what was typed. A typed line that
/// wrapped shows only its middle on the cursor row, and is not caught.
fn ends_in_start_of(line: &str, typed: &str) -> bool {
    let least = typed.len().min(4);
    line.char_indices().any(|(at, _)| {
        let tail = &line[at..];
        tail.len() >= least && typed.starts_with(tail)
    })
}
