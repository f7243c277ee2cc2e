//! One live REPL on a pseudo-terminal.
//!
//! A reader thread owns the PTY's read side. Every chunk it reads goes, under
//! one lock, into the output ring, the terminal model and the prompt
//! detector; then it bumps a `watch` channel, which wakes whoever waits on the
//! session at once. Waits are `select!`s on that channel and a deadline: no
//! polling and no sleeps decide when a command is done.

use std::collections::VecDeque;
use std::io::Read;
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

mod control;
mod input;
mod kernel_state;
mod machine;
mod reader;
mod view;
mod wait;
use kernel_state::{KernelView, ProbeClock, Probed, ReaderMark};
use machine::{DetectCall, Fed, InnerParts, WaitMark};
use wait::WaitEnd;

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
    /// No prompt patterns were configured: the session is ready whenever
    /// the program waits reading the terminal (the kernel says so).
    pub prompt_from_kernel: bool,
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
    /// Shared with the command's `Outcome`: megabytes of output are not
    /// copied to be kept, nor again for each snapshot.
    pub output: Arc<String>,
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
    pub output: Arc<String>,
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
    /// The line the program waits at, when the kernel says it reads one.
    pub prompt_text: Option<String>,
    /// The program that owns the terminal, when it is not the REPL itself
    /// (a program started from a shell), as last probed during the command.
    pub foreground: Option<super::kernel::Foreground>,
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
    /// The session's static facts (marker mode, preset, target…).
    info: Arc<SessionInfo>,
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
    /// Times the REPL was restarted by recovery.
    restarts: u32,
    /// The REPL's pid (the session's, kept here for the kernel's facts).
    pid: i32,
    /// What the kernel said last.
    kernel: KernelView,
    /// When typed bytes last reached the terminal.
    last_input_at: Instant,
    /// The plugin is out for a call made outside the lock.
    plugin_lent: bool,
}

/// A live session. Cheap to share (`Arc<Session>`).
pub struct Session {
    pub info: Arc<SessionInfo>,
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
    /// Created on first subscription: most sessions are never watched, and
    /// the channel's slots cost memory up front.
    events: std::sync::OnceLock<broadcast::Sender<SessionEvent>>,
    writer: Mutex<super::writer::PtyWriter>,
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
    /// Whether the reader thread holds output not yet in the state.
    reader_mark: ReaderMark,
    /// Admits the session's own actions (recovery) under the policy.
    pub(crate) gate: Arc<dyn super::gate::ActionGate>,
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
    pub gate: Arc<dyn super::gate::ActionGate>,
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
            gate,
        } = parts;
        let info = Arc::new(info);
        let inner = Inner::new(
            Arc::clone(&info),
            InnerParts {
                matcher,
                plugin,
                history_bytes,
                rows,
                cols,
                pid: pty.pid,
            },
        );
        let (changed, _) = watch::channel(0);
        let super::pty::SpawnedPty {
            master,
            child,
            reader,
            writer,
            pid,
            master_fd,
        } = pty;
        let writer = super::writer::PtyWriter::start(writer, &info.id)?;
        let session = Arc::new(Session {
            info,
            inner: Mutex::new(inner),
            changed,
            events: std::sync::OnceLock::new(),
            writer: Mutex::new(writer),
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
            reader_mark: ReaderMark::default(),
            gate,
        });
        let _ = session.me.set(Arc::downgrade(&session));
        if let Some(r) = &session.reaper {
            r.watch(pid);
        }
        session.spawn_reader(reader, master_fd, 0)?;
        Ok(session)
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
        let inner = lock(&self.inner);
        inner.plugin_lent || inner.plugin.as_ref().is_some_and(|p| !p.is_disabled())
    }

    /// Borrow the plugin for a call made outside the lock; give it back
    /// with [`Session::put_plugin`]. `None`: there is none that works, or
    /// another call has it.
    pub(crate) fn take_plugin(&self) -> Option<PluginSession> {
        let mut inner = lock(&self.inner);
        if inner.plugin.as_ref().is_some_and(|p| p.is_disabled()) {
            return None;
        }
        let plugin = inner.plugin.take();
        inner.plugin_lent = plugin.is_some();
        plugin
    }

    /// Borrow the plugin for a hook: if the reader has it for a moment (a
    /// `detect-prompt` call, bounded by the plugin's deadline), wait for it.
    pub(crate) async fn borrow_plugin(&self) -> Option<PluginSession> {
        loop {
            if let Some(p) = self.take_plugin() {
                return Some(p);
            }
            if !lock(&self.inner).plugin_lent {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// A borrowed plugin is gone (its call panicked): nothing to wait for.
    pub(crate) fn plugin_lost(&self) {
        lock(&self.inner).plugin_lent = false;
    }

    /// What the plugin is told about the session with every call.
    pub(crate) fn plugin_facts(&self) -> crate::plugin::SessionFacts {
        lock(&self.inner).plugin_facts()
    }

    pub(crate) fn put_plugin(&self, plugin: PluginSession) {
        let mut inner = lock(&self.inner);
        inner.plugin = Some(plugin);
        inner.plugin_lent = false;
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
