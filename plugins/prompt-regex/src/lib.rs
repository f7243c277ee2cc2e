//! Prompt detection from regexes given as settings.
//!
//! The preset's `[prompt]` lists arrive as newline-separated settings; each
//! regex is matched against the cursor line (the text left of the cursor),
//! which is where every REPL draws its prompt.

use regex_lite::Regex;
use repl_mcp_plugin_sdk::{DetectInput, Detection, Plugin, PromptKind, Settings, export_plugin};

/// The settings, in the order they are tried: a `[y/N]` or password prompt
/// can look like a ready prompt, so the more specific kinds go first.
const KINDS: [(&str, PromptKind); 4] = [
    ("awaiting_input", PromptKind::AwaitingInput),
    ("continuation", PromptKind::Continuation),
    ("ready", PromptKind::Ready),
    ("busy", PromptKind::Busy),
];

pub struct PromptRegex {
    rules: Vec<(PromptKind, Regex)>,
    alternate_screen_is_awaiting_input: bool,
}

impl Plugin for PromptRegex {
    fn init(settings: &Settings) -> Result<Self, String> {
        let mut rules = Vec::new();
        for (key, kind) in KINDS {
            for pattern in settings.lines(key) {
                let re = Regex::new(pattern)
                    .map_err(|e| format!("setting `{key}`: bad regex {pattern:?}: {e}"))?;
                rules.push((kind, re));
            }
        }
        let alternate_screen_is_awaiting_input =
            settings.parse_or("alternate_screen_is_awaiting_input", true)?;
        if rules.is_empty() && !alternate_screen_is_awaiting_input {
            return Err("no regex in ready, continuation, awaiting_input or busy".into());
        }
        Ok(PromptRegex {
            rules,
            alternate_screen_is_awaiting_input,
        })
    }

    fn detect_prompt(&mut self, input: &DetectInput) -> Option<Detection> {
        if input.alternate_screen && self.alternate_screen_is_awaiting_input {
            let last = repl_mcp_plugin_sdk::last_line(&input.screen);
            return Some(Detection {
                kind: PromptKind::AwaitingInput,
                prompt: last.to_string(),
            });
        }
        let line = input.cursor_line.as_str();
        self.rules
            .iter()
            .find(|(_, re)| re.is_match(line))
            .map(|(kind, _)| Detection {
                kind: *kind,
                prompt: line.to_string(),
            })
    }
}

export_plugin!(PromptRegex);
