//! The kernel's word in a session's state. When output pauses while a
//! command runs (or a wait is about to give up), the session asks the
//! kernel once what the program does: a secret read with echo off, a line
//! or a key read with no known prompt on screen, or (for a REPL configured
//! with no prompts) its prompt, whatever it looks like. And a prompt the
//! regexes saw while the program sleeps is not a prompt.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use super::{Inner, Session, lock};
use crate::session::SessionState;
use crate::session::detect::{Detected, cursor_line};
use crate::session::kernel::{self, Activity, KernelFacts, Wants};

/// Quiet time after output before the first probe: long enough that a
/// REPL's prompt (which the regexes see at once) comes first.
pub(super) const FIRST_PROBE: Duration = Duration::from_millis(20);
/// The gap before the probe that confirms a first one.
const CONFIRM_GAP: Duration = Duration::from_millis(8);
/// Probes back off to this while nothing changes.
const MAX_PROBE_GAP: Duration = Duration::from_millis(500);
/// Looks at a program still running when its prompt showed, and the gap
/// between them.
const VETO_LOOKS: usize = 6;
const VETO_GAP: Duration = Duration::from_micros(200);
/// Programs that page text: reading the terminal, they want pager keys.
const PAGERS: &[&str] = &["less", "more", "most", "pg"];
/// Prompts learned from the kernel per session.
const MAX_KERNEL_PROMPTS: usize = 8;

/// The last probe's answer and when it was taken.
#[derive(Debug, Clone, Default)]
pub(super) struct KernelView {
    pub facts: KernelFacts,
    pub at: Option<Instant>,
    /// A prompt seen while the program read, waiting to be seen again
    /// before it is learned (zero-config sessions).
    pub candidate_prompt: Option<String>,
    /// Text of the line the program waits at (`awaiting_input: line`).
    pub prompt_text: Option<String>,
    /// What the last probe wanted to conclude, with the output and input
    /// marks it saw: a second probe must agree before the state changes,
    /// because keystrokes just written may not have reached the program's
    /// read queue yet (the kernel moves them a moment later).
    candidate: Option<(Wants, Instant, Instant)>,
}

impl KernelView {
    /// Keep a probe's answer as the last one.
    fn note(&mut self, facts: &KernelFacts) {
        self.facts = facts.clone();
        self.at = Some(Instant::now());
    }
}

/// What a probe did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Probed {
    /// The state changed.
    Changed,
    /// It wants to change the state: probe again shortly to confirm.
    Confirm,
    /// Nothing to change.
    Nothing,
}

/// When the wait's next probe is due: [`FIRST_PROBE`] after output last
/// came, then backing off while nothing changes; a probe that wants
/// confirming gets its second look [`CONFIRM_GAP`] later.
#[derive(Debug)]
pub(super) struct ProbeClock {
    /// The output time the schedule counts from.
    basis: Option<Instant>,
    next: Option<Instant>,
    gap: Duration,
}

impl ProbeClock {
    pub fn new() -> Self {
        Self {
            basis: None,
            next: None,
            gap: FIRST_PROBE,
        }
    }

    /// The next probe's time, given when output last came.
    pub fn due(&mut self, last_output: Instant, began: Instant) -> Instant {
        let basis = last_output.max(began);
        if self.basis != Some(basis) {
            // New output: start over.
            self.basis = Some(basis);
            self.gap = FIRST_PROBE;
            self.next = None;
        }
        self.next.unwrap_or(basis + self.gap)
    }

    /// A probe wants confirming: the next one comes soon.
    pub fn soon(&mut self, now: Instant) {
        self.next = Some(now + CONFIRM_GAP);
    }

    /// A probe ran and changed nothing: wait longer for the next.
    pub fn backoff(&mut self, now: Instant) {
        self.gap = (self.gap * 2).min(MAX_PROBE_GAP);
        self.next = Some(now + self.gap);
    }
}

/// What the reader thread is doing, so a probe can tell whether output the
/// program wrote is still on its way into the state.
#[derive(Debug, Default)]
pub(super) struct ReaderMark {
    tid: AtomicI32,
    holding: AtomicBool,
}

/// Clears the mark when the chunk has been taken in.
pub(super) struct Holding<'a>(&'a AtomicBool);

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl ReaderMark {
    /// Called on the reader thread as it starts.
    pub fn started(&self) {
        self.tid
            .store(kernel::current_thread_id(), Ordering::Release);
    }

    /// The reader took a chunk; it is in the state when the guard drops.
    pub fn hold(&self) -> Holding<'_> {
        self.holding.store(true, Ordering::Release);
        Holding(&self.holding)
    }

    /// Nothing read is on its way: the reader waits in its read.
    fn idle(&self) -> bool {
        let tid = self.tid.load(Ordering::Acquire);
        !self.holding.load(Ordering::Acquire)
            && tid != 0
            && kernel::own_thread_running(tid) == Some(false)
    }
}

impl Session {
    /// Whether the screen we hold is all the program has written and the
    /// program has read all that was typed: only then may a probe's
    /// "reading" change the state.
    fn output_caught_up(&self) -> bool {
        let still = lock(&self.master)
            .as_raw_fd()
            .is_some_and(kernel::terminal_still);
        still && self.reader_mark.idle() && lock(&self.writer).idle()
    }

    /// The kernel's facts about this session's terminal, if they mean
    /// anything: through a target the terminal's program is ssh or docker,
    /// always reading, so they are not asked.
    pub fn probe_kernel(&self) -> Option<KernelFacts> {
        if self.info.target.is_some() {
            return None;
        }
        // Held while probing so a restart cannot close the fd under us.
        let master = lock(&self.master);
        let fd = master.as_raw_fd()?;
        Some(kernel::probe(fd))
    }

    /// Probe and let the facts settle a running command's state. Output
    /// that arrived meanwhile wins (the regexes saw it). Returns whether
    /// the state changed.
    pub(super) fn probe_and_apply(&self) -> Probed {
        let mark = lock(&self.inner).last_output_at;
        let Some(facts) = self.probe_kernel() else {
            return Probed::Nothing;
        };
        let caught_up = self.output_caught_up();
        let mut inner = lock(&self.inner);
        inner.kernel.note(&facts);
        let running = matches!(inner.state, SessionState::Busy | SessionState::Starting);
        let wants = facts.wants().filter(|_| running);
        let Some(wants) = wants.filter(|_| caught_up && inner.last_output_at == mark) else {
            inner.kernel.candidate = None;
            return Probed::Nothing;
        };
        let seen = (wants, inner.last_output_at, inner.last_input_at);
        if inner.kernel.candidate != Some(seen) {
            inner.kernel.candidate = Some(seen);
            return Probed::Confirm;
        }
        inner.kernel.candidate = None;
        if !inner.apply_kernel(&facts) {
            return Probed::Nothing;
        }
        self.publish_state(&inner);
        drop(inner);
        self.notify();
        Probed::Changed
    }

    /// Probe, and confirm at once if the probe wants to change the state
    /// (a wait about to give up has no time for the usual rhythm).
    pub(super) async fn probe_now(&self) -> bool {
        match self.probe_and_apply() {
            Probed::Changed => true,
            Probed::Nothing => false,
            Probed::Confirm => {
                tokio::time::sleep(CONFIRM_GAP).await;
                self.probe_and_apply() == Probed::Changed
            }
        }
    }

    /// Whether the kernel contradicts a prompt the regexes saw: the program
    /// sleeps on a timer, so what looks like a prompt is its output. The
    /// state goes back to busy and the probes take over. A program still
    /// running just after its output is looked at again, briefly: a REPL
    /// goes from its prompt to its read in microseconds.
    pub(super) fn kernel_vetoes_prompt(&self) -> bool {
        {
            let inner = lock(&self.inner);
            if inner.info.marker_mode || !inner.state.is_prompt() {
                return false;
            }
        }
        let mut facts = None;
        for attempt in 0..VETO_LOOKS {
            if attempt > 0 {
                // Far below a timer tick, and rare: a REPL is nearly always
                // in its read by the time its prompt has reached us.
                std::thread::sleep(VETO_GAP);
            }
            facts = self.probe_kernel();
            if facts
                .as_ref()
                .is_none_or(|f| f.activity != Activity::Running)
            {
                break;
            }
        }
        let Some(facts) = facts else {
            return false;
        };
        let mut inner = lock(&self.inner);
        inner.kernel.note(&facts);
        if !facts.certainly_busy() || !inner.state.is_prompt() {
            return false;
        }
        inner.log("kernel: the program sleeps, so the prompt on screen is its output".into());
        inner.set_state(SessionState::Busy);
        self.publish_state(&inner);
        true
    }
}

impl Inner {
    /// Let a probe's facts decide a running command's state. Returns
    /// whether the state changed.
    pub(super) fn apply_kernel(&mut self, facts: &KernelFacts) -> bool {
        if !matches!(self.state, SessionState::Busy | SessionState::Starting) {
            return false;
        }
        let Some(wants) = facts.wants() else {
            return false;
        };
        let line = cursor_line(self.term.screen());
        if wants == Wants::Secret {
            self.log("kernel: echo is off for a line read: a secret".into());
            self.awaiting = Some("password".into());
            self.kernel.prompt_text = Some(line);
            return self.set_state(SessionState::AwaitingInput);
        }
        // A prompt the regexes know is theirs to report (they see it the
        // moment it is printed); the screen may be a moment old here.
        if matches!(
            self.matcher.classify(&line).0,
            Detected::Ready | Detected::Continuation
        ) {
            return false;
        }
        if self.info.prompt_from_kernel {
            self.learn_kernel_prompt(&line);
            return self.prompt_seen(SessionState::Ready);
        }
        // A REPL that reads before its first prompt (a terminal query) is
        // still starting.
        if self.state == SessionState::Starting {
            return false;
        }
        // A REPL that keeps reading while a command runs (node awaiting a
        // promise; its preset says so): only a prompt text on the cursor
        // line says the program asked for a line.
        let event_loop = self.matcher.reads_while_running
            && facts.foreground.as_ref().map(|f| f.pid) == Some(self.pid);
        if event_loop && line.trim().is_empty() {
            return false;
        }
        // A pager is a pager before its first screen has reached us.
        let pager = facts
            .foreground
            .as_ref()
            .is_some_and(|f| PAGERS.contains(&f.name.as_str()));
        let kind = match wants {
            _ if pager => "pager",
            Wants::Key => "key",
            _ => "line",
        };
        self.log(format!("kernel: the program reads a {kind} at {line:?}"));
        self.awaiting = Some(kind.into());
        self.kernel.prompt_text = Some(line);
        self.set_state(SessionState::AwaitingInput)
    }

    /// A zero-config session's prompt is learned once the program has been
    /// seen reading at the same non-empty text twice.
    fn learn_kernel_prompt(&mut self, line: &str) {
        let text = line.trim_start();
        if text.trim().is_empty() {
            return;
        }
        if self.kernel.candidate_prompt.as_deref() != Some(text) {
            self.kernel.candidate_prompt = Some(text.to_string());
            return;
        }
        if self.matcher.learned().len() >= MAX_KERNEL_PROMPTS || self.matcher.matches_learned(line)
        {
            return;
        }
        let re = self.matcher.learn(&regex::escape(text));
        self.log(format!("kernel: learned the prompt {:?}", re.as_str()));
    }
}
