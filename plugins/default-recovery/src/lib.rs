//! The default recovery strategy.
//!
//! - a pager on screen: type its quit key;
//! - a stuck continuation prompt: Ctrl-C (typed, or SIGINT);
//! - a crash: restart, waiting longer before each new attempt, at most
//!   `max_restarts` times, then mark the session failed;
//! - a program reading a secret (the kernel says echo is off): ask the
//!   agent, saying it is a secret;
//! - anything it does not recognise: ask the agent.
//!
//! "Wait" answers follow the host's protocol: wait that long, then ask the
//! same hook again. The plugin remembers which restart it already waited
//! for, so the second ask gets the restart itself.

use repl_mcp_plugin_sdk::{
    Decision, DetectInput, Detection, HookFacts, Plugin, PromptKind, Settings, ask_llm,
    export_plugin, last_line, screen_tail,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interrupt {
    CtrlC,
    Sigint,
}

pub struct DefaultRecovery {
    quit_key: String,
    pager_patterns: Vec<String>,
    interrupt: Interrupt,
    max_restarts: u32,
    backoff_ms: u64,
    max_backoff_ms: u64,
    /// The restart count we already asked the host to wait for.
    waited_for: Option<u32>,
}

/// Inputs that end a REPL on purpose; an exit after one of them is no crash.
const QUIT_COMMANDS: &[&str] = &[
    "exit", "exit()", "quit", "quit()", ".exit", ".quit", "\\q", "\u{4}",
];

impl DefaultRecovery {
    fn pager_line<'a>(&self, screen: &'a str) -> Option<&'a str> {
        let last = last_line(screen);
        let trimmed = last.trim();
        let hit = trimmed == ":"
            || self
                .pager_patterns
                .iter()
                .any(|p| !p.is_empty() && last.contains(p.as_str()));
        hit.then_some(last)
    }

    fn interrupt(&self) -> Decision {
        match self.interrupt {
            Interrupt::CtrlC => Decision::SendInput("\u{3}".into()),
            Interrupt::Sigint => Decision::SendSignal("SIGINT".into()),
        }
    }

    /// Restart now, after a back-off, or give up.
    fn restart_or_fail(&mut self, facts: &HookFacts, what: &str) -> Decision {
        if facts.restarts >= self.max_restarts {
            let tail = screen_tail(&facts.recent_output, 5);
            return Decision::MarkFailed(format!(
                "{what} after {} restart(s); giving up. Last output:\n{tail}",
                facts.restarts
            ));
        }
        if facts.restarts > 0 && self.waited_for != Some(facts.restarts) {
            self.waited_for = Some(facts.restarts);
            let shift = (facts.restarts - 1).min(20);
            let ms = self
                .backoff_ms
                .saturating_mul(1 << shift)
                .min(self.max_backoff_ms);
            if ms > 0 {
                return Decision::Wait(ms);
            }
        }
        Decision::Restart
    }
}

impl Plugin for DefaultRecovery {
    fn init(settings: &Settings) -> Result<Self, String> {
        let interrupt = match settings.get("interrupt").unwrap_or("ctrl-c") {
            "ctrl-c" => Interrupt::CtrlC,
            "sigint" => Interrupt::Sigint,
            other => {
                return Err(format!(
                    "setting `interrupt`: expected ctrl-c or sigint, got {other:?}"
                ));
            }
        };
        Ok(DefaultRecovery {
            quit_key: settings.get("quit_key").unwrap_or("q").to_string(),
            pager_patterns: settings
                .lines("pager_patterns")
                .into_iter()
                .map(String::from)
                .collect(),
            interrupt,
            max_restarts: settings.parse_or("max_restarts", 3)?,
            backoff_ms: settings.parse_or("backoff_ms", 500)?,
            max_backoff_ms: settings.parse_or("max_backoff_ms", 30_000)?,
            waited_for: None,
        })
    }

    /// Reports a pager as "awaiting input", so a wait returns at once
    /// instead of sitting out its timeout.
    fn detect_prompt(&mut self, input: &DetectInput) -> Option<Detection> {
        let line = self.pager_line(&input.screen)?;
        Some(Detection {
            kind: PromptKind::AwaitingInput,
            prompt: line.to_string(),
        })
    }

    fn on_timeout(&mut self, facts: &HookFacts) -> Option<Decision> {
        if self.pager_line(&facts.screen).is_some() {
            return Some(Decision::SendInput(self.quit_key.clone()));
        }
        let last = last_line(&facts.screen);
        if facts.session.kernel.reads_secret() {
            return Some(ask_llm(
                format!(
                    "The program reads a secret with echo off: {last:?}. What should be typed (or should it be interrupted)?"
                ),
                "secret",
            ));
        }
        Some(match facts.state.as_str() {
            "continuation" => self.interrupt(),
            "awaiting-input" => ask_llm(
                format!(
                    "The program is waiting for input: {last:?}. What should be typed (or should it be interrupted)?"
                ),
                "free-text",
            ),
            "busy" => ask_llm(
                format!(
                    "The command {:?} is still running after {} ms. Keep waiting, interrupt it (Ctrl-C), or restart the session?",
                    facts.last_input.trim_end(),
                    facts.since_input_ms()
                ),
                "choice",
            ),
            state => ask_llm(
                format!(
                    "The session is {state} and did not answer in time. The last line is {last:?}. What should be done?"
                ),
                "free-text",
            ),
        })
    }

    fn on_exit(&mut self, facts: &HookFacts) -> Option<Decision> {
        let quit = QUIT_COMMANDS.contains(&facts.last_input.trim());
        if quit && matches!(facts.exit_code, Some(0) | None) {
            // The agent asked for it: no opinion, let the session end.
            return None;
        }
        let code = facts
            .exit_code
            .map_or("a signal".to_string(), |c| format!("code {c}"));
        Some(self.restart_or_fail(facts, &format!("the REPL exited with {code}")))
    }

    fn on_startup_failure(&mut self, facts: &HookFacts) -> Option<Decision> {
        Some(self.restart_or_fail(facts, "the REPL did not start"))
    }
}

export_plugin!(DefaultRecovery);

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin() -> DefaultRecovery {
        DefaultRecovery::init(&Settings::new(vec![(
            "pager_patterns".into(),
            "(END)\n--More--".into(),
        )]))
        .expect("init")
    }

    fn facts(state: &str, screen: &str) -> HookFacts {
        HookFacts {
            preset: "python".into(),
            state: state.into(),
            elapsed_ms: 1000,
            screen: screen.into(),
            recent_output: String::new(),
            exit_code: Some(1),
            last_input: "x\n".into(),
            ..HookFacts::default()
        }
    }

    #[test]
    fn pager_gets_its_quit_key() {
        let d = plugin().on_timeout(&facts("awaiting-input", "line\n(END)"));
        assert!(matches!(d, Some(Decision::SendInput(s)) if s == "q"));
    }

    #[test]
    fn continuation_gets_ctrl_c() {
        let d = plugin().on_timeout(&facts("continuation", "... "));
        assert!(matches!(d, Some(Decision::SendInput(s)) if s == "\u{3}"));
    }

    #[test]
    fn crash_restarts_with_backoff_then_fails() {
        let mut p = plugin();
        let mut f = facts("exited", "");
        assert!(matches!(p.on_exit(&f), Some(Decision::Restart)));
        f.restarts = 1;
        assert!(matches!(p.on_exit(&f), Some(Decision::Wait(500))));
        assert!(matches!(p.on_exit(&f), Some(Decision::Restart)));
        f.restarts = 2;
        assert!(matches!(p.on_exit(&f), Some(Decision::Wait(1000))));
        f.restarts = 3;
        assert!(matches!(p.on_exit(&f), Some(Decision::MarkFailed(_))));
    }

    #[test]
    fn a_secret_read_is_a_secret_question() {
        let mut f = facts("awaiting-input", "Password: ");
        f.session.kernel.echo = Some(false);
        f.session.kernel.canonical = Some(true);
        let d = plugin().on_timeout(&f);
        assert!(matches!(d, Some(Decision::AskLlm(q)) if q.question_type == "secret"));
    }

    #[test]
    fn deliberate_exit_is_left_alone() {
        let mut f = facts("exited", "");
        f.last_input = "exit()\n".into();
        f.exit_code = Some(0);
        assert!(plugin().on_exit(&f).is_none());
    }
}
