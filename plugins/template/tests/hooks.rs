//! The hooks are plain Rust methods: test them natively with `cargo test`.

use my_plugin::MyPlugin;
use repl_mcp_plugin_sdk::{Decision, DetectInput, HookFacts, Plugin, PromptKind, Settings};

fn plugin() -> MyPlugin {
    let settings = Settings::new(vec![("prompt".into(), "my-repl> ".into())]);
    MyPlugin::init(&settings).expect("init")
}

#[test]
fn detects_its_prompt() {
    let input = DetectInput::at_prompt("welcome\nmy-repl> ", "my-repl> ");
    let detection = plugin().detect_prompt(&input).expect("a prompt");
    assert_eq!(detection.kind, PromptKind::Ready);
    assert!(
        plugin()
            .detect_prompt(&DetectInput::at_prompt("...", "..."))
            .is_none()
    );
}

#[test]
fn quits_a_pager_on_timeout() {
    let facts = HookFacts {
        state: "awaiting-input".into(),
        screen: "line 1\nline 2\n(END)".into(),
        ..HookFacts::default()
    };
    assert!(matches!(plugin().on_timeout(&facts), Some(Decision::SendInput(k)) if k == "q"));
}
