//! A repl-mcp plugin. Replace the bodies: every hook you do not write
//! answers "no opinion", and the server then does what the preset says.
//!
//! Build, check and install it with the server binary:
//! `repl-mcp plugin build .` (then `--install`), and try it on a recorded
//! session with `repl-mcp plugin test . --cast session.cast`.

use repl_mcp_plugin_sdk::{
    Decision, DetectInput, Detection, HookFacts, Plugin, PromptKind, Settings, ask_llm,
    export_plugin, last_line,
};

pub struct MyPlugin {
    prompt: String,
}

impl Plugin for MyPlugin {
    fn init(settings: &Settings) -> Result<Self, String> {
        let prompt = settings
            .get("prompt")
            .ok_or("setting `prompt` is required")?;
        Ok(MyPlugin {
            prompt: prompt.to_string(),
        })
    }

    fn detect_prompt(&mut self, input: &DetectInput) -> Option<Detection> {
        (input.cursor_line == self.prompt).then(|| Detection {
            kind: PromptKind::Ready,
            prompt: self.prompt.clone(),
        })
    }

    fn on_timeout(&mut self, facts: &HookFacts) -> Option<Decision> {
        if last_line(&facts.screen).ends_with("(END)") {
            return Some(Decision::SendInput("q".into()));
        }
        // The kernel knows when a program reads a password (echo off).
        if facts.session.kernel.reads_secret() {
            return Some(ask_llm(
                format!("{} asks for a secret. What should be typed?", facts.preset),
                "secret",
            ));
        }
        Some(ask_llm(
            format!(
                "{} has not answered for {} ms since the last input. What now?",
                facts.preset,
                facts.since_input_ms()
            ),
            "free-text",
        ))
    }
}

export_plugin!(MyPlugin);
