//! A starting point for a repl-mcp plugin. Rename it, then replace the
//! bodies: every hook you do not write answers "no opinion".

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
        Some(ask_llm(
            format!(
                "{} has not answered for {} ms. What now?",
                facts.preset, facts.elapsed_ms
            ),
            "free-text",
        ))
    }
}

export_plugin!(MyPlugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_its_prompt() {
        let settings = Settings::new(vec![("prompt".into(), "my-repl> ".into())]);
        let mut p = MyPlugin::init(&settings).expect("init");
        let input = DetectInput {
            screen: "my-repl> ".into(),
            cursor_row: 0,
            cursor_col: 9,
            cursor_line: "my-repl> ".into(),
            recent_output: String::new(),
            alternate_screen: false,
            preset: "my-repl".into(),
        };
        assert!(matches!(
            p.detect_prompt(&input),
            Some(Detection {
                kind: PromptKind::Ready,
                ..
            })
        ));
    }
}
