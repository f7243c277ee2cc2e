//! Replaying a recorded session (an asciicast v2 file) through a plugin:
//! each output chunk goes through a real vt100 screen and `detect-prompt`
//! sees what the session would give it; the hooks are called where the
//! cast says — `on-timeout` (or `on-startup-failure`) when the program
//! stayed busy past the timeout, `on-exit` at the end.
//!
//! The replay tracks the state the session would be in: `starting`, then
//! what the plugin detects; an input makes it `busy`. Decisions are
//! recorded, not carried out: the cast already shows what happened next.

mod expect;
mod screen;

use crate::cast::{Cast, EventCode};
use crate::plugin::{Decision, Detection, HookFacts, PluginSession, PromptKind, SessionFacts};

pub use expect::{ExpectError, Expectation, Expectations, Mismatch};
use screen::Screen;

/// Rounds of `wait` answers followed for one timeout, as the session does.
const MAX_ROUNDS: usize = 8;

/// How the session ran: what the cast header may not say.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// The preset name the plugin is told.
    pub preset: String,
    /// A command running longer than this gets `on-timeout`.
    pub timeout_ms: u64,
    /// No first prompt by then gets `on-startup-failure`.
    pub startup_timeout_ms: u64,
    /// Call `on-exit` at the end of the cast.
    pub exit_at_end: bool,
    /// The exit status `on-exit` is told.
    pub exit_code: Option<i32>,
    /// Target and parameters the plugin is told.
    pub session: SessionFacts,
    /// The preset's prompt regexes: where the plugin has no opinion (or no
    /// `detect-prompt`), they decide the state, as in a live session.
    pub prompts: Option<crate::session::PromptMatcher>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            preset: String::new(),
            timeout_ms: 30_000,
            startup_timeout_ms: 15_000,
            exit_at_end: true,
            exit_code: None,
            session: SessionFacts::default(),
            prompts: None,
        }
    }
}

/// One thing that happened in the replay.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// `detect-prompt` after output event number `chunk` (1-based).
    Detect {
        chunk: usize,
        detection: Option<Detection>,
    },
    /// Input event number `index` (1-based).
    Input {
        index: usize,
        text: String,
    },
    Resize {
        cols: u16,
        rows: u16,
    },
    /// A hook and its decision (`None`: no opinion).
    Hook {
        hook: &'static str,
        decision: Option<Decision>,
    },
    /// The plugin failed and would be disabled for the session.
    Disabled {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Seconds since the start of the cast.
    pub time: f64,
    pub kind: StepKind,
    /// The session's state after this step.
    pub state: &'static str,
}

/// Everything the replay saw.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    pub steps: Vec<Step>,
    pub outputs: usize,
    pub inputs: usize,
}

/// What the preset's regexes make of a cursor line.
fn regex_kind(prompts: &crate::session::PromptMatcher, line: &str) -> PromptKind {
    match prompts.classify(line).0 {
        crate::session::Detected::Ready => PromptKind::Ready,
        crate::session::Detected::Continuation => PromptKind::Continuation,
        crate::session::Detected::AwaitingInput => PromptKind::AwaitingInput,
        crate::session::Detected::Busy => PromptKind::Busy,
    }
}

/// The state a detection puts the session in, as hooks name it.
fn state_of(kind: PromptKind, current: &'static str) -> &'static str {
    match kind {
        PromptKind::Ready => "ready",
        PromptKind::Continuation => "continuation",
        PromptKind::AwaitingInput => "awaiting-input",
        // Busy output before the first prompt is still start-up.
        PromptKind::Busy if current == "starting" => "starting",
        PromptKind::Busy => "busy",
    }
}

struct Run<'a> {
    plugin: &'a mut PluginSession,
    opts: &'a ReplayOptions,
    screen: Screen,
    state: &'static str,
    /// When the current wait times out (seconds), if one runs.
    deadline: Option<f64>,
    rounds: usize,
    wait_started: f64,
    last_input: String,
    last_input_at: f64,
    out: Replay,
}

fn ms(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1000.0).round() as u64
}

impl Run<'_> {
    fn push(&mut self, time: f64, kind: StepKind) {
        self.out.steps.push(Step {
            time,
            kind,
            state: self.state,
        });
    }

    fn failed(&mut self, time: f64, error: String) {
        self.push(time, StepKind::Disabled { error });
    }

    /// Calls every hook whose time came before `now`.
    fn hooks_until(&mut self, now: f64) {
        while let Some(at) = self.deadline.filter(|d| *d <= now) {
            if self.plugin.is_disabled() || self.rounds >= MAX_ROUNDS {
                self.deadline = None;
                return;
            }
            self.rounds += 1;
            let starting = self.state == "starting";
            let facts = self.facts(at, None);
            let (hook, answer) = if starting {
                ("on-startup-failure", self.plugin.on_startup_failure(&facts))
            } else {
                ("on-timeout", self.plugin.on_timeout(&facts))
            };
            match answer {
                Ok(decision) => {
                    // `wait` asks the same hook again later; any other
                    // answer ends the wait (the cast shows what followed).
                    self.deadline = match &decision {
                        Some(Decision::Wait { ms }) => Some(at + *ms as f64 / 1000.0),
                        _ => None,
                    };
                    self.push(at, StepKind::Hook { hook, decision });
                }
                Err(e) => {
                    self.deadline = None;
                    self.failed(at, e.to_string());
                }
            }
        }
    }

    fn facts(&mut self, now: f64, exit_code: Option<i32>) -> HookFacts {
        let mut session = self.opts.session.clone();
        session.since_input_ms = Some(ms(now - self.last_input_at));
        HookFacts {
            preset: self.opts.preset.clone(),
            state: self.state.to_string(),
            elapsed_ms: ms(now - self.wait_started),
            screen: self.screen.text(),
            recent_output: crate::session::clean_text(self.screen.recent()),
            exit_code,
            restarts: 0,
            last_input: self.last_input.clone(),
            session,
        }
    }

    fn output(&mut self, time: f64, data: &str) {
        self.out.outputs += 1;
        self.screen.feed(data.as_bytes());
        if self.plugin.is_disabled() {
            return;
        }
        let mut session = self.opts.session.clone();
        session.since_input_ms = Some(ms(time - self.last_input_at));
        let snapshot = self.screen.snapshot();
        let input = snapshot.input(&self.opts.preset, &session);
        match self.plugin.detect_prompt(&input) {
            Ok(detection) => {
                let kind = detection.as_ref().map(|d| d.kind).or_else(|| {
                    let prompts = self.opts.prompts.as_ref()?;
                    Some(regex_kind(prompts, snapshot.cursor_line()))
                });
                if let Some(kind) = kind {
                    self.state = state_of(kind, self.state);
                    if matches!(self.state, "ready" | "continuation" | "awaiting-input") {
                        // A wait returns at a prompt: no timeout for it.
                        self.deadline = None;
                    }
                }
                let chunk = self.out.outputs;
                self.push(time, StepKind::Detect { chunk, detection });
            }
            Err(e) => self.failed(time, e.to_string()),
        }
    }

    fn input(&mut self, time: f64, data: &str) {
        self.out.inputs += 1;
        self.last_input = data.to_string();
        self.last_input_at = time;
        if self.state != "starting" {
            self.state = "busy";
        }
        self.wait_started = time;
        self.rounds = 0;
        self.deadline = Some(time + self.opts.timeout_ms as f64 / 1000.0);
        let index = self.out.inputs;
        self.push(
            time,
            StepKind::Input {
                index,
                text: data.to_string(),
            },
        );
    }
}

/// Replays `cast` through `plugin`.
pub fn replay(cast: &Cast, plugin: &mut PluginSession, opts: &ReplayOptions) -> Replay {
    let mut run = Run {
        plugin,
        opts,
        screen: Screen::new(cast.header.height, cast.header.width),
        state: "starting",
        deadline: Some(opts.startup_timeout_ms as f64 / 1000.0),
        rounds: 0,
        wait_started: 0.0,
        last_input: String::new(),
        last_input_at: 0.0,
        out: Replay::default(),
    };
    for event in &cast.events {
        run.hooks_until(event.time);
        match event.code {
            EventCode::Output => run.output(event.time, &event.data),
            EventCode::Input => run.input(event.time, &event.data),
            EventCode::Resize => {
                if let Some((cols, rows)) = event.size() {
                    run.screen.resize(rows, cols);
                    run.push(event.time, StepKind::Resize { cols, rows });
                }
            }
            EventCode::Marker => {}
        }
    }
    let end = cast.duration();
    run.hooks_until(end);
    if opts.exit_at_end && !run.plugin.is_disabled() {
        run.state = "exited";
        let facts = run.facts(end, opts.exit_code);
        match run.plugin.on_exit(&facts) {
            Ok(decision) => run.push(
                end,
                StepKind::Hook {
                    hook: "on-exit",
                    decision,
                },
            ),
            Err(e) => run.failed(end, e.to_string()),
        }
    }
    run.out
}
