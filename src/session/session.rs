//! One live REPL on a pseudo-terminal.
//!
//! A reader thread owns the PTY's read side. Every chunk it reads goes, under
//! one lock, into the output ring, the terminal model and the prompt
//! detector; then it bumps a `watch` channel, which wakes whoever waits on the
//! session at once. Waits are `select!`s on that channel and a deadline: no
//! polling and no sleeps decide when a command is done.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use portable_pty::{Child, MasterPty, PtySize};
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use super::detect::{Detected, PromptMatcher, cursor_line};
use super::markers::{Marker, MarkerKind, MarkerScanner};
use super::output::extract_output;
use super::ring::OutputRing;
use super::{Actor, SessionError, SessionState};
use crate::plugin::{PluginSession, PromptKind};

/// How many recent markers, history entries and log lines a session keeps.
const MAX_MARKERS: usize = 4096;
const MAX_HISTORY: usize = 200;
const MAX_LOG: usize = 200;
/// Between the lines of a multi-line input: how long the REPL may stay
/// silent before the next line is sent anyway (it may be reading the line
/// itself, as `input()` does, and will never print a prompt for it).
const LINE_SETTLE: Duration = Duration::from_millis(100);
/// During a burst of output, how long the reader waits for the next bytes
/// before it looks at a chunk that cannot end at a prompt anyway.
const BURST_GAP: Duration = Duration::from_millis(1);
/// Reads at least this large are taken as part of a burst (interactive
/// answers are small and never wait).
const BURST_CHUNK: usize = 2048;
/// With `wait_for_prompt = false`: how long output may pause before the call
/// returns what has arrived.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(300);

/// Static facts about a session, fixed at creation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub id: String,
    pub preset: String,
    pub display_name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub argv: Vec<String>,
    pub cwd: String,
    pub env: Vec<(String, String)>,
    pub marker_mode: bool,
    pub timeout_ms: u64,
    #[serde(skip)]
    pub created_at: SystemTime,
    /// The configuration as given (preset or customConfig), for details.
    pub config: serde_json::Value,
    /// The target it runs through (`ssh`, `docker`…); `None`: this machine.
    pub target: Option<String>,
    /// Every parameter's value (given or default), by name.
    pub parameters: Vec<(String, String)>,
    /// How typed text is submitted (the preset's `[input]`).
    #[serde(skip)]
    pub input: crate::preset::InputConfig,
}

/// What the web view (and any other watcher) is told, in order.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    /// Bytes as they left the PTY.
    Output(bytes::Bytes),
    /// The state changed, or someone else typed.
    State {
        state: String,
        last_actor: Option<Actor>,
    },
    Resized {
        cols: u16,
        rows: u16,
    },
    /// The session is gone.
    Closed,
}

/// Events a slow watcher may fall behind by before it must resync from the
/// screen (bounded: at most this many PTY chunks are retained).
const EVENT_CAPACITY: usize = 256;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub input: String,
    pub actor: Actor,
    pub started_at_ms: u128,
    pub duration_ms: Option<u128>,
    pub state: Option<SessionState>,
    pub exit_code: Option<i32>,
}

/// The record of the last command, kept for paging (`get_full_output`).
#[derive(Debug, Clone, Default)]
pub struct CommandRecord {
    pub input: String,
    pub start: u64,
    pub end: u64,
    pub output: String,
    pub exit_code: Option<i32>,
    pub truncated_start: bool,
    /// The lines as typed (blank lines arranged, pieces joined), which is
    /// what the REPL echoes; empty when the same as `input`.
    pub typed: String,
}

#[derive(Debug, Clone)]
pub struct SendOptions {
    pub wait_for_prompt: bool,
    pub timeout: Duration,
    pub add_newline: bool,
    pub settle: Duration,
    pub actor: Actor,
}

/// What came of sending input or waiting.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub state: SessionState,
    /// The REPL reached a prompt (or settled) before the deadline.
    pub completed: bool,
    pub raw: Vec<u8>,
    pub output: String,
    pub exit_code: Option<i32>,
    pub awaiting: Option<String>,
    pub elapsed: Duration,
    /// Older output was dropped from the ring before it could be returned.
    pub truncated_start: bool,
    pub failure: Option<String>,
    /// Recovery steps taken on the way (hook: decision).
    pub recovery: Vec<String>,
    /// A question the strategy leaves to the agent.
    pub question: Option<super::recovery::Question>,
    /// Set when the REPL was restarted: how many restarts so far.
    pub restarted: Option<u32>,
}

impl Outcome {
    /// The deadline passed first.
    pub fn timed_out(&self) -> bool {
        !self.completed
    }
}

struct Inner {
    term: super::terminal::Terminal,
    ring: OutputRing,
    scanner: MarkerScanner,
    markers: VecDeque<Marker>,
    matcher: PromptMatcher,
    marker_mode: bool,
    state: SessionState,
    awaiting: Option<String>,
    secondary_prompt: bool,
    /// Bumped every time the REPL shows a prompt.
    prompt_seq: u64,
    /// Bumped every time the session starts waiting for a person's answer,
    /// so a wait can tell a new question from one already pending.
    awaiting_seq: u64,
    last_status: Option<i32>,
    exit_code: Option<i32>,
    failure: Option<String>,
    last_actor: Actor,
    last_output_at: Instant,
    last_activity: SystemTime,
    history: VecDeque<HistoryEntry>,
    last_command: Option<CommandRecord>,
    log: VecDeque<String>,
    /// The session's strategy plugin (prompt detection, recovery), if any.
    plugin: Option<PluginSession>,
    preset: String,
    /// Times the REPL was restarted by recovery.
    restarts: u32,
}

impl Inner {
    fn log(&mut self, msg: String) {
        if self.log.len() >= MAX_LOG {
            self.log.pop_front();
        }
        tracing::debug!("{msg}");
        self.log.push_back(msg);
    }

    fn set_state(&mut self, state: SessionState) -> bool {
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
    fn prompt_seen(&mut self, state: SessionState) -> bool {
        self.prompt_seq += 1;
        self.awaiting = None;
        self.set_state(state)
    }

    /// Re-derive the state after a chunk. Returns whether it changed.
    fn update_state(&mut self, new_markers: &[Marker], chunk: &[u8], more: bool) -> bool {
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
    fn plugin_detect(&mut self, line: &str, chunk: &[u8]) -> Option<(Detected, Option<String>)> {
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
    fn command_output(&self, start: u64, end: u64, input: &str) -> (Vec<u8>, String, bool) {
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

/// A live session. Cheap to share (`Arc<Session>`).
pub struct Session {
    pub info: SessionInfo,
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
    /// Created on first subscription: most sessions are never watched, and
    /// the channel's slots cost memory up front.
    events: std::sync::OnceLock<broadcast::Sender<SessionEvent>>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    master: Mutex<Box<dyn MasterPty + Send>>,
    child: Mutex<Box<dyn Child + Send + Sync>>,
    /// The REPL's pid (= its session and process group id); changes on restart.
    pid: std::sync::atomic::AtomicI32,
    /// Bumped on restart, so the old PTY's reader cannot touch the new one.
    generation: std::sync::atomic::AtomicU64,
    /// How to start the REPL again.
    respawn: Option<Respawn>,
    reaper: Option<Arc<super::Reaper>>,
    /// This session, weakly: reader threads hold it this way.
    me: std::sync::OnceLock<std::sync::Weak<Session>>,
    /// One command at a time per session.
    op_lock: tokio::sync::Mutex<()>,
    /// The program exited while its last output was still unread: the
    /// reader reports the exit once it has taken that output.
    exit_pending: std::sync::atomic::AtomicBool,
    /// Set by [`Session::terminate`]: a destroyed session is never restarted
    /// (a call still waiting on it, say from another client, must not
    /// bring its REPL back).
    destroyed: std::sync::atomic::AtomicBool,
    /// The transcript recorder (a no-op unless the session is recorded).
    tap: super::tap::Tap,
}

/// Everything needed to start the REPL again, exactly as the first time.
#[derive(Clone)]
pub struct Respawn {
    pub spec: super::pty::SpawnSpec,
    pub startup_commands: Vec<String>,
    pub setup: Vec<String>,
    pub startup_timeout: Duration,
}

pub struct SessionParts {
    pub info: SessionInfo,
    pub plugin: Option<PluginSession>,
    pub respawn: Option<Respawn>,
    pub reaper: Option<Arc<super::Reaper>>,
    pub matcher: PromptMatcher,
    pub history_bytes: usize,
    pub rows: u16,
    pub cols: u16,
    pub pty: super::pty::SpawnedPty,
    pub tap: super::tap::Tap,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock must not wedge the session forever.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Session {
    /// Wrap a freshly spawned PTY and start its reader thread.
    pub fn start(parts: SessionParts) -> Result<Arc<Self>, SessionError> {
        let SessionParts {
            info,
            plugin,
            respawn,
            reaper,
            matcher,
            history_bytes,
            rows,
            cols,
            pty,
            tap,
        } = parts;
        let marker_mode = info.marker_mode;
        let inner = Inner {
            term: super::terminal::Terminal::new(rows, cols),
            ring: OutputRing::new(history_bytes),
            scanner: MarkerScanner::default(),
            markers: VecDeque::new(),
            matcher,
            marker_mode,
            state: SessionState::Starting,
            awaiting: None,
            secondary_prompt: false,
            prompt_seq: 0,
            awaiting_seq: 0,
            last_status: None,
            exit_code: None,
            failure: None,
            last_actor: Actor::Agent,
            last_output_at: Instant::now(),
            last_activity: SystemTime::now(),
            history: VecDeque::new(),
            last_command: None,
            log: VecDeque::new(),
            preset: info.preset.clone(),
            plugin,
            restarts: 0,
        };
        let (changed, _) = watch::channel(0);
        let super::pty::SpawnedPty {
            master,
            child,
            reader,
            writer,
            pid,
            master_fd,
        } = pty;
        let session = Arc::new(Session {
            info,
            inner: Mutex::new(inner),
            changed,
            events: std::sync::OnceLock::new(),
            writer: Arc::new(Mutex::new(writer)),
            master: Mutex::new(master),
            child: Mutex::new(child),
            pid: std::sync::atomic::AtomicI32::new(pid),
            generation: std::sync::atomic::AtomicU64::new(0),
            respawn,
            reaper,
            me: std::sync::OnceLock::new(),
            op_lock: tokio::sync::Mutex::new(()),
            exit_pending: std::sync::atomic::AtomicBool::new(false),
            destroyed: std::sync::atomic::AtomicBool::new(false),
            tap,
        });
        let _ = session.me.set(Arc::downgrade(&session));
        if let Some(r) = &session.reaper {
            r.watch(pid);
        }
        session.spawn_reader(reader, master_fd, 0)?;
        Ok(session)
    }

    fn spawn_reader(
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

    pub fn pid(&self) -> i32 {
        self.pid.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn current_generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A line in the session's event log (shown by get_session_details).
    pub(crate) fn note(&self, msg: String) {
        lock(&self.inner).log(msg);
    }

    pub(crate) fn has_plugin(&self) -> bool {
        lock(&self.inner)
            .plugin
            .as_ref()
            .is_some_and(|p| !p.is_disabled())
    }

    /// Borrow the plugin for a hook call made outside the lock.
    pub(crate) fn take_plugin(&self) -> Option<PluginSession> {
        let mut inner = lock(&self.inner);
        if inner.plugin.as_ref().is_some_and(|p| p.is_disabled()) {
            return None;
        }
        inner.plugin.take()
    }

    pub(crate) fn put_plugin(&self, plugin: PluginSession) {
        lock(&self.inner).plugin = Some(plugin);
    }

    pub fn id(&self) -> &str {
        &self.info.id
    }

    pub fn state(&self) -> SessionState {
        lock(&self.inner).state
    }

    fn events(&self) -> &broadcast::Sender<SessionEvent> {
        self.events
            .get_or_init(|| broadcast::channel(EVENT_CAPACITY).0)
    }

    /// Send to watchers, if there are any.
    fn emit(&self, event: impl FnOnce() -> SessionEvent) {
        if let Some(tx) = self.events.get()
            && tx.receiver_count() > 0
        {
            let _ = tx.send(event());
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events().subscribe()
    }

    fn notify(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    fn publish_state(&self, inner: &Inner) {
        self.emit(|| SessionEvent::State {
            state: inner.state.as_str().to_string(),
            last_actor: Some(inner.last_actor),
        });
    }

    /// Could this chunk leave the cursor at a prompt? Cheap: only the text
    /// after its last newline is looked at. A chunk without a newline may
    /// continue an earlier line, so it always could.
    fn might_end_at_prompt(&self, chunk: &[u8]) -> bool {
        let Some(nl) = chunk.iter().rposition(|&b| b == b'\n') else {
            return true;
        };
        let tail = super::clean::render(&chunk[nl + 1..]);
        if tail.is_empty() {
            return false;
        }
        let inner = lock(&self.inner);
        inner.marker_mode
            || inner.matcher.classify(&tail).0 != Detected::Busy
            || inner.matcher.matches_learned(&tail)
    }

    /// Called by the reader thread for every chunk.
    ///
    /// A chunk is *quiet* when more bytes are already waiting, or when it is
    /// plain text ending in a newline (the cursor then sits at the start of
    /// an empty line, which is no prompt). Quiet chunks only update the
    /// output ring and (lazily) the screen; classification and waking the
    /// waiters wait for the chunk that can change the answer. Markers are
    /// always handled: they are exact and cheap.
    fn on_chunk(&self, generation: u64, chunk: &[u8], more: bool) {
        let drained = !more;
        let more = more || (chunk.ends_with(b"\n") && !chunk.contains(&0x1b));
        let mut markers = Vec::new();
        {
            let mut inner = lock(&self.inner);
            if generation != self.current_generation() {
                return;
            }
            self.tap.output(chunk);
            let base = inner.ring.end();
            inner.ring.push(chunk);
            inner.term.feed(chunk, more);
            inner.scanner.scan(chunk, base, &mut markers);
            inner.last_output_at = Instant::now();
            inner.last_activity = SystemTime::now();
            // Published under the lock that guards the screen, so a viewer
            // attaching in between gets the screen or the bytes, never both.
            self.emit(|| SessionEvent::Output(bytes::Bytes::copy_from_slice(chunk)));
            if (!more || !markers.is_empty()) && inner.update_state(&markers, chunk, more) {
                self.publish_state(&inner);
            }
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

    fn on_eof(&self, generation: u64) {
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
        let unread = || {
            lock(&self.master)
                .as_raw_fd()
                .is_some_and(|fd| super::pty::bytes_waiting(fd) > 0)
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
            let tail = super::clean::render(&inner.ring.tail(1024));
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

    /// Refuse input to a session that has ended.
    fn ensure_running(&self) -> Result<(), SessionError> {
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

    async fn write_bytes(&self, bytes: Vec<u8>) -> Result<(), SessionError> {
        self.tap.input(&bytes, || self.awaiting_answer());
        let writer = Arc::clone(&self.writer);
        // A PTY write blocks when the REPL stops reading; keep that off the
        // async workers.
        tokio::task::spawn_blocking(move || {
            let mut w = lock(&writer);
            w.write_all(&bytes)?;
            w.flush()
        })
        .await
        .map_err(|e| SessionError::Pty(e.to_string()))??;
        Ok(())
    }

    /// What the session awaits an answer to (`password`…), if it does.
    fn awaiting_answer(&self) -> Option<String> {
        let inner = lock(&self.inner);
        let awaits = inner.state == SessionState::AwaitingInput;
        awaits.then(|| inner.awaiting.clone()).flatten()
    }

    fn note_actor(&self, actor: Actor) {
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

    /// Keystrokes typed by a person in the web view: small, and they must
    /// arrive in order, so they are written straight away.
    pub fn write_keys(&self, bytes: &[u8], actor: Actor) -> Result<(), SessionError> {
        self.ensure_running()?;
        self.note_actor(actor);
        self.tap.input(bytes, || self.awaiting_answer());
        let mut w = lock(&self.writer);
        w.write_all(bytes)?;
        w.flush()?;
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
    async fn send_input_locked(
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
            super::submit::plan(&super::submit::Submission {
                text: input,
                add_newline: opts.add_newline,
                input: &self.info.input.for_reader(at_prompt),
                paste_on: inner.term.screen().bracketed_paste(),
                eof_chunks_allowed: at_prompt,
            })?
        };
        let start = {
            let mut inner = lock(&self.inner);
            let start = inner.ring.end();
            inner.last_actor = opts.actor;
            if inner.state.is_prompt() {
                inner.set_state(SessionState::Busy);
            }
            self.publish_state(&inner);
            if inner.history.len() >= MAX_HISTORY {
                inner.history.pop_front();
            }
            inner.history.push_back(HistoryEntry {
                input: input.to_string(),
                actor: opts.actor,
                started_at_ms: unix_ms(SystemTime::now()),
                duration_ms: None,
                state: None,
                exit_code: None,
            });
            inner.last_command = Some(CommandRecord {
                input: input.to_string(),
                start,
                end: start,
                typed: super::submit::echoed(&steps),
                ..Default::default()
            });
            start
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
            self.write_bytes(step.keys(paste_on).into_owned()).await?;
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
    async fn wait_startup(&self, from: u64, timeout: Duration) -> Outcome {
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
        let output = super::clean::render(&raw);
        Outcome {
            state: inner.state,
            completed,
            raw,
            output,
            exit_code: inner.exit_code,
            awaiting: inner.awaiting.clone(),
            elapsed: started.elapsed(),
            truncated_start: lost,
            failure: inner.failure.clone(),
            recovery: Vec::new(),
            question: None,
            restarted: None,
        }
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
                startup.output.push_str(&step.output);
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
        tokio::task::spawn_blocking(move || super::pty::kill_session_tree(old))
            .await
            .map_err(|e| SessionError::Pty(e.to_string()))?;
        if let Some(r) = &self.reaper {
            r.unwatch(old);
        }
        let spec = respawn.spec.clone();
        let pty = tokio::task::spawn_blocking(move || super::pty::spawn(&spec))
            .await
            .map_err(|e| SessionError::Pty(e.to_string()))??;
        let super::pty::SpawnedPty {
            master,
            child,
            reader,
            writer,
            pid,
            master_fd,
        } = pty;
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
            inner.restarts += 1;
            let n = inner.restarts;
            inner.log(format!("restarted (restart {n}), pid {pid}"));
            self.publish_state(&inner);
            inner.ring.end()
        };
        // Destroyed meanwhile: `terminate` saw the old pid or this one; end
        // this one in case it was the old (both sides order pid and flag).
        if destroyed() {
            tokio::task::spawn_blocking(move || super::pty::kill_session_tree(pid))
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

    fn finish_command(&self, start: u64, started: Instant, completed: bool) -> Outcome {
        let mut inner = lock(&self.inner);
        let end = inner.ring.end();
        let (input, typed) = inner
            .last_command
            .as_ref()
            .map(|c| (c.input.clone(), c.typed.clone()))
            .unwrap_or_default();
        let echo = if typed.is_empty() { &input } else { &typed };
        let (raw, output, lost) = inner.command_output(start, end, echo);
        let exit_code = if inner.state == SessionState::Exited {
            inner.exit_code
        } else if inner.marker_mode && inner.state.is_prompt() {
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
            output: output.clone(),
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
        Outcome {
            state,
            completed,
            raw,
            output,
            exit_code,
            awaiting: inner.awaiting.clone(),
            elapsed,
            truncated_start: lost,
            failure: inner.failure.clone(),
            recovery: Vec::new(),
            question: None,
            restarted: None,
        }
    }

    /// Block until `cond` holds, the deadline passes, or (with `settle`)
    /// output has paused for that long.
    async fn wait_until<F>(
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
        loop {
            let quiet_at = {
                let inner = lock(&self.inner);
                if cond(&inner) {
                    return WaitEnd::Condition;
                }
                settle.map(|s| inner.last_output_at.max(began) + s)
            };
            let quiet = async {
                match quiet_at {
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
                _ = tokio::time::sleep_until(deadline) => return WaitEnd::Deadline,
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

    pub fn send_signal(&self, name: &str) -> Result<(), SessionError> {
        self.ensure_running()?;
        let sig = super::pty::signal_number(name)
            .ok_or_else(|| SessionError::UnknownSignal(name.to_string()))?;
        // Through a target, ^C is a byte the wrapper (ssh -tt, exec -it)
        // forwards: a signal here would end the connection, not the program.
        match crate::preset::target::signal_key(sig).filter(|_| self.info.target.is_some()) {
            Some(key) => {
                self.tap.input(&[key], || None);
                lock(&self.writer).write_all(&[key])?;
            }
            None => super::pty::signal_foreground(lock(&self.master).as_ref(), self.pid(), sig)?,
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
        std::thread::spawn(move || super::pty::kill_session_tree(pid));
    }

    /// Kill everything the session started (blocking; short).
    pub fn terminate(&self) {
        self.destroyed
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let pid = self.pid();
        super::pty::kill_session_tree(pid);
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

    /// The screen as text (`full`) or just the cursor line.
    pub fn screen_text(&self, full: bool) -> String {
        let mut inner = lock(&self.inner);
        if full {
            inner.term.screen().contents()
        } else {
            cursor_line(inner.term.screen())
        }
    }

    /// The changing facts that are cheap to copy (no history, no output).
    pub fn status(&self) -> SessionStatus {
        let mut inner = lock(&self.inner);
        let (cursor_row, cursor_col) = inner.term.screen().cursor_position();
        SessionStatus {
            state: inner.state,
            last_actor: inner.last_actor,
            last_activity: inner.last_activity,
            exit_code: inner.exit_code,
            restarts: inner.restarts,
            history_len: inner.history.len(),
            output_bytes: inner.ring.end(),
            cursor_row,
            cursor_col,
        }
    }

    /// What the last command typed (empty before the first).
    pub fn last_input(&self) -> String {
        lock(&self.inner)
            .last_command
            .as_ref()
            .map(|c| c.input.clone())
            .unwrap_or_default()
    }

    /// The session's event log.
    pub fn log_lines(&self) -> Vec<String> {
        lock(&self.inner).log.iter().cloned().collect()
    }

    /// Everything the terminal received after position `since` (as much as
    /// the ring still holds), and whether older bytes were already dropped.
    pub fn raw_since(&self, since: u64) -> (Vec<u8>, bool) {
        let inner = lock(&self.inner);
        inner.ring.slice(since, inner.ring.end())
    }

    /// Everything, for get_session_details: history, log, last output.
    pub fn snapshot(&self) -> SessionSnapshot {
        let inner = lock(&self.inner);
        SessionSnapshot {
            state: inner.state,
            awaiting: inner.awaiting.clone(),
            exit_code: inner.exit_code,
            failure: inner.failure.clone(),
            last_actor: inner.last_actor,
            last_activity: inner.last_activity,
            history: inner.history.iter().cloned().collect(),
            last_command: inner.last_command.clone(),
            log: inner.log.iter().cloned().collect(),
            learned_patterns: inner.matcher.learned(),
            plugin: inner.plugin.as_ref().map(|p| {
                let state = if p.is_disabled() {
                    "disabled"
                } else {
                    "active"
                };
                format!("{} ({state})", p.plugin_id())
            }),
            output_bytes: inner.ring.end(),
        }
    }

    /// Clean text of the output after position `since`, the position after
    /// it, and whether older output was already dropped from the ring.
    pub fn output_since(&self, since: u64) -> (String, u64, bool) {
        let inner = lock(&self.inner);
        let end = inner.ring.end();
        let (raw, lost) = inner.ring.slice(since, end);
        drop(inner);
        (super::clean::render(&raw), end, lost)
    }

    /// Clean text of the last `bytes` of output.
    pub fn recent_output(&self, bytes: usize) -> String {
        let inner = lock(&self.inner);
        super::clean::render(&inner.ring.tail(bytes))
    }

    pub fn raw_tail(&self, bytes: usize) -> Vec<u8> {
        lock(&self.inner).ring.tail(bytes)
    }
}

/// Where the session stood when input was written: an answer is a prompt
/// or a question that came *after* it (or the end of the program).
#[derive(Debug, Clone, Copy)]
struct WaitMark {
    prompt_seq: u64,
    awaiting_seq: u64,
}

impl WaitMark {
    fn take(inner: &Inner) -> Self {
        Self {
            prompt_seq: inner.prompt_seq,
            awaiting_seq: inner.awaiting_seq,
        }
    }

    fn answered(&self, inner: &Inner) -> bool {
        (inner.prompt_seq > self.prompt_seq && inner.state.is_prompt())
            || (inner.awaiting_seq > self.awaiting_seq
                && inner.state == SessionState::AwaitingInput)
            || inner.state.is_terminal()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitEnd {
    Condition,
    Settled,
    Deadline,
}

/// The cheap part of a session's changing facts.
#[derive(Debug, Clone)]
pub struct SessionStatus {
    pub state: SessionState,
    pub last_actor: Actor,
    pub last_activity: SystemTime,
    pub exit_code: Option<i32>,
    pub restarts: u32,
    pub history_len: usize,
    /// Bytes of output so far (a position for `raw_since` / `output_since`).
    pub output_bytes: u64,
    pub cursor_row: u16,
    pub cursor_col: u16,
}

/// A consistent copy of a session's changing facts.
#[derive(Debug, Clone)]
pub struct SessionSnapshot {
    pub state: SessionState,
    pub awaiting: Option<String>,
    pub exit_code: Option<i32>,
    pub failure: Option<String>,
    pub last_actor: Actor,
    pub last_activity: SystemTime,
    pub history: Vec<HistoryEntry>,
    pub last_command: Option<CommandRecord>,
    pub log: Vec<String>,
    pub learned_patterns: Vec<String>,
    /// The strategy plugin and whether it is still active.
    pub plugin: Option<String>,
    pub output_bytes: u64,
}

pub fn unix_ms(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn reader_loop(
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
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                match session.upgrade() {
                    Some(s) => {
                        let chunk = &buf[..n];
                        let more = master_fd.is_some_and(|fd| {
                            super::pty::bytes_waiting(fd) > 0
                                || (chunk.len() >= BURST_CHUNK
                                    && !s.might_end_at_prompt(chunk)
                                    && super::pty::readable_within(fd, BURST_GAP))
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

/// What is wrong with a start-up outcome, if anything.
fn startup_problem(startup: &Outcome, timeout: Duration) -> Option<String> {
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

fn tail_chars(s: &str, n: usize) -> String {
    let count = s.chars().count();
    s.chars().skip(count.saturating_sub(n)).collect()
}
