//! Read-only views of a session: screen, status, history, output.

use super::*;

impl Session {
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
        (crate::session::clean::render(&raw), end, lost)
    }

    /// Clean text of the last `bytes` of output.
    pub fn recent_output(&self, bytes: usize) -> String {
        let inner = lock(&self.inner);
        crate::session::clean::render(&inner.ring.tail(bytes))
    }

    pub fn raw_tail(&self, bytes: usize) -> Vec<u8> {
        lock(&self.inner).ring.tail(bytes)
    }
}
