//! The settings a session gives its strategy plugin: the preset's prompt
//! regexes (so `prompt-regex` and friends see them) and pager quit key,
//! then the preset's `[strategy.settings]` on top. `plugin test` replays
//! with the same settings the session would pass.

use std::collections::BTreeMap;

use crate::preset::PromptConfig;

/// Settings for `init`, as a session of a preset with `prompt` and
/// `[strategy.settings]` = `strategy` passes them (the manifest's defaults
/// go under these).
pub fn settings_for(
    prompt: &PromptConfig,
    strategy: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::new();
    for (key, list) in [
        ("ready", &prompt.ready),
        ("continuation", &prompt.continuation),
        ("awaiting_input", &prompt.awaiting_input),
    ] {
        if !list.is_empty() {
            settings.insert(key.to_string(), list.join("\n"));
        }
    }
    if let Some(q) = &prompt.pager_quit {
        settings.insert("quit_key".to_string(), q.clone());
    }
    settings.extend(strategy.iter().map(|(k, v)| (k.clone(), v.clone())));
    settings
}
