//! A psql strategy.
//!
//! psql's prompts say what it waits for: `db=# ` (ready), `db-# ` (more of
//! the statement), `db'# ` / `db"# ` / `db(# ` / `db$# ` (inside a quote, a
//! parenthesis, a dollar quote), and `Password for user x: `. Its pager is
//! `less` (last line `(END)` or `:`).

use repl_mcp_plugin_sdk::{
    Decision, DetectInput, Detection, HookFacts, Plugin, PromptKind, Settings, ask_llm,
    export_plugin, last_line, log,
};

pub struct Psql {
    cancel_after_ms: u64,
}

/// Classifies a psql prompt: `<name><marker><# or >> `.
fn classify(line: &str) -> Option<PromptKind> {
    if line.starts_with("Password") && line.ends_with(": ") {
        return Some(PromptKind::AwaitingInput);
    }
    let body = line
        .strip_suffix("# ")
        .or_else(|| line.strip_suffix("> "))?;
    let marker = body.chars().last()?;
    let name = &body[..body.len() - marker.len_utf8()];
    if name.is_empty() || name.contains(' ') {
        return None;
    }
    match marker {
        '=' => Some(PromptKind::Ready),
        '-' | '\'' | '"' | '(' | '$' | '*' => Some(PromptKind::Continuation),
        _ => None,
    }
}

fn is_pager(screen: &str) -> bool {
    let last = last_line(screen).trim();
    last == ":" || last.ends_with("(END)")
}

impl Plugin for Psql {
    fn init(settings: &Settings) -> Result<Self, String> {
        Ok(Psql {
            cancel_after_ms: settings.parse_or("cancel_after_ms", 60_000)?,
        })
    }

    fn detect_prompt(&mut self, input: &DetectInput) -> Option<Detection> {
        if input.alternate_screen || is_pager(&input.screen) {
            return Some(Detection {
                kind: PromptKind::AwaitingInput,
                prompt: last_line(&input.screen).to_string(),
            });
        }
        let kind = classify(&input.cursor_line)?;
        Some(Detection {
            kind,
            prompt: input.cursor_line.clone(),
        })
    }

    fn on_timeout(&mut self, facts: &HookFacts) -> Option<Decision> {
        if is_pager(&facts.screen) {
            return Some(Decision::SendInput("q".into()));
        }
        match classify(last_line(&facts.screen)) {
            // `\r` empties the query buffer: the half-typed statement is
            // dropped and the ready prompt comes back.
            Some(PromptKind::Continuation) => {
                log::info("resetting a stuck query buffer");
                Some(Decision::SendInput("\\r\n".into()))
            }
            Some(PromptKind::AwaitingInput) => {
                Some(ask_llm("psql asks for a password. Which one?", "secret"))
            }
            _ if facts.session.kernel.reads_secret() => Some(ask_llm(
                "psql reads a secret with echo off. What should be typed?",
                "secret",
            )),
            _ if facts.state == "busy" && facts.since_input_ms() >= self.cancel_after_ms => {
                // SIGINT makes psql send a cancel request for the query.
                Some(Decision::SendSignal("SIGINT".into()))
            }
            _ => None,
        }
    }

    fn on_exit(&mut self, facts: &HookFacts) -> Option<Decision> {
        // psql exits 2 when the connection is lost: reconnect once, then ask.
        match facts.exit_code {
            Some(2) if facts.restarts == 0 => Some(Decision::Restart),
            Some(0) => None,
            _ => Some(ask_llm(
                format!(
                    "psql exited (code {:?}) after {} restart(s). Restart it, or give up?",
                    facts.exit_code, facts.restarts
                ),
                "choice",
            )),
        }
    }
}

export_plugin!(Psql);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_query_is_cancelled_by_the_time_since_input() {
        let mut p = Psql {
            cancel_after_ms: 1000,
        };
        let mut f = HookFacts {
            state: "busy".into(),
            screen: "db=# select pg_sleep(100);\n".into(),
            elapsed_ms: 10,
            ..HookFacts::default()
        };
        assert!(p.on_timeout(&f).is_none(), "10 ms since input is not long");
        f.session.since_input_ms = Some(5000);
        assert!(matches!(p.on_timeout(&f), Some(Decision::SendSignal(s)) if s == "SIGINT"));
    }

    #[test]
    fn prompts() {
        assert_eq!(classify("postgres=# "), Some(PromptKind::Ready));
        assert_eq!(classify("app=> "), Some(PromptKind::Ready));
        assert_eq!(classify("app-> "), Some(PromptKind::Continuation));
        assert_eq!(classify("app'# "), Some(PromptKind::Continuation));
        assert_eq!(
            classify("Password for user bob: "),
            Some(PromptKind::AwaitingInput)
        );
        assert_eq!(classify(">>> "), None);
        assert_eq!(classify("# "), None);
    }
}
