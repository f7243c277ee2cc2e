//! The gate of a person typing in the web view: each line they end with
//! Enter meets the policy's input rules, like the agent's input, and leaves
//! one audit line with origin `web` (a secret only as its length).
//!
//! The keys of a line reach the terminal as they are typed (the web view
//! forwards them, so echo, completion and arrows work); only the Enter
//! waits for the verdict. A refused line's Enter is never written: the web
//! view kills the line instead. The line's keys are checked as the agent's
//! input is (the editing keys replayed, joined with what is pending on the
//! session's line); a line edited with keys whose effect only the program
//! knows (completion, history recall) is also checked as the terminal
//! shows it (the last line with text, prompt included). While the program
//! reads a secret (echo off) the screen shows nothing of it and only the
//! keys are checked.

use std::sync::Arc;

use super::super::guard::{Guard, SESSION_CONNECTION};
use crate::policy::Decision;
use crate::session::gate::{Action, ActionFacts, Origin};
use crate::session::{Actor, Session};

/// The audit log's `tool` for lines typed in the web view.
const WEB_TOOL: &str = "web";

/// The line being edited as the screen shows it: the last line with text
/// (a wrapped line is one line of the screen's text; what the cursor has
/// moved back over is included, unlike the session's cursor line).
fn line_on_screen(screen: &str) -> &str {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

/// Whether the line met keys whose effect only the program knows (Tab
/// completion, history, ^R, ^Y…): then the screen is checked too. Plain
/// keys and Backspace say all about the line, and the screen — where
/// output may land after the prompt — would only add false alarms.
fn edited(typed: &str) -> bool {
    typed
        .chars()
        .any(|c| c.is_control() && c != '\x7f' && c != '\x08')
}

/// What became of a line a person ended with Enter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebLine {
    /// The Enter reached the terminal.
    Sent,
    /// The policy refused the line; the Enter was not written.
    Refused(String),
    /// The Enter could not be written (the session ended…).
    Failed(String),
}

/// Injected into the web view's backend by the composition root.
pub struct WebGate {
    guard: Arc<Guard>,
}

impl WebGate {
    pub fn new(guard: Arc<Guard>) -> Self {
        Self { guard }
    }

    /// Why nobody may type in the web view, if the policy says so.
    pub fn typing_refused(&self) -> Option<String> {
        self.guard.typing_denied()
    }

    /// `typed` (the line's keys as typed, already on the terminal) ended
    /// with `key`: admit it, write the Enter if allowed, and write one
    /// audit line.
    pub fn submit(&self, session: &Session, typed: &str, key: u8) -> WebLine {
        let secret = session.awaits_secret();
        let action = Action::Send {
            text: format!("{typed}\n"),
        };
        let facts = ActionFacts {
            session_id: session.id(),
            origin: &Origin::Web,
            action: &action,
            state: session.state(),
            secret,
        };
        let mut verdict = self.guard.admit_action(SESSION_CONNECTION, &facts);
        if verdict.is_allow() && !secret && edited(typed) {
            let screen = session.screen_text(true);
            let shown = line_on_screen(&screen);
            verdict = self.guard.policy().check_input("", &format!("{shown}\n"));
        }
        if !verdict.is_allow() {
            let message = verdict.message();
            self.guard.record_action(
                SESSION_CONNECTION,
                WEB_TOOL,
                &facts,
                Decision::from_verdict(&verdict),
                verdict.rule(),
                Err(&message),
            );
            return WebLine::Refused(message);
        }
        let written = session
            .write_keys(&[key], Actor::Person)
            .map_err(|e| e.to_string());
        let result = written.as_ref().map(|_| ()).map_err(String::as_str);
        self.guard.action_done(&facts, result);
        self.guard.record_action(
            SESSION_CONNECTION,
            WEB_TOOL,
            &facts,
            Decision::Allow,
            None,
            result,
        );
        match written {
            Ok(()) => WebLine::Sent,
            Err(e) => WebLine::Failed(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_the_program_interprets_send_the_check_to_the_screen() {
        assert!(!edited("ls -l"));
        assert!(!edited("lx\x7fs"));
        assert!(edited("forbidden_m\t"));
        assert!(edited("\x1b[A"));
        assert!(edited("\x12rm"));
    }

    #[test]
    fn the_line_on_screen_is_the_last_with_text() {
        assert_eq!(line_on_screen(">>> 1\n1\n>>> x = 2\n\n  \n"), ">>> x = 2");
        assert_eq!(line_on_screen("\n\n"), "");
    }
}
