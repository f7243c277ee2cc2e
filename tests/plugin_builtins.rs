//! The built-in plugins (prompt-regex, default-recovery, psql-recovery)
//! in the plugin host, and the host's on-disk cache of compiled code.

mod support;

use std::collections::BTreeMap;

use repl_mcp::plugin::{Decision, DetectInput, HostLimits, PluginError, PluginHost, PromptKind};
use support::plugins::{facts, host, input, python_settings};

#[test]
fn builtins_are_listed() {
    assert_eq!(
        host().ids(),
        vec!["default-recovery", "prompt-regex", "psql-recovery"]
    );
}

#[test]
fn prompt_regex_classifies_with_the_presets_regexes() {
    let host = host();
    let mut s = host
        .instantiate("prompt-regex", &python_settings())
        .expect("instantiate");
    let ready = s.detect_prompt(&input()).expect("ok").expect("some");
    assert_eq!(
        (ready.kind, ready.prompt.as_str()),
        (PromptKind::Ready, ">>> ")
    );
    let cont = DetectInput {
        cursor_line: "... ",
        ..input()
    };
    assert_eq!(
        s.detect_prompt(&cont).expect("ok").map(|d| d.kind),
        Some(PromptKind::Continuation)
    );
    let busy = DetectInput {
        cursor_line: "",
        ..input()
    };
    assert_eq!(s.detect_prompt(&busy).expect("ok"), None);
    let pager = DetectInput {
        alternate_screen: true,
        ..input()
    };
    assert_eq!(
        s.detect_prompt(&pager).expect("ok").map(|d| d.kind),
        Some(PromptKind::AwaitingInput)
    );

    let bad = BTreeMap::from([("ready".to_string(), "(".to_string())]);
    assert!(matches!(
        host.instantiate("prompt-regex", &bad),
        Err(PluginError::Init { .. })
    ));
}

#[test]
fn default_recovery_follows_its_rules() {
    let host = host();
    let mut s = host
        .instantiate("builtin:default-recovery", &BTreeMap::new())
        .expect("instantiate");
    let mut pager = facts("awaiting-input");
    pager.screen = "some text\n(END)".into();
    assert_eq!(
        s.on_timeout(&pager).expect("ok"),
        Some(Decision::SendInput { text: "q".into() })
    );
    assert_eq!(
        s.on_timeout(&facts("continuation")).expect("ok"),
        Some(Decision::SendInput {
            text: "\u{3}".into()
        })
    );
    assert!(matches!(
        s.on_timeout(&facts("busy")).expect("ok"),
        Some(Decision::AskLlm { .. })
    ));

    let mut crash = facts("exited");
    crash.exit_code = Some(139);
    assert_eq!(s.on_exit(&crash).expect("ok"), Some(Decision::Restart));
    crash.restarts = 1;
    assert_eq!(
        s.on_exit(&crash).expect("ok"),
        Some(Decision::Wait { ms: 500 })
    );
    assert_eq!(s.on_exit(&crash).expect("ok"), Some(Decision::Restart));
    crash.restarts = 3;
    assert!(matches!(
        s.on_exit(&crash).expect("ok"),
        Some(Decision::MarkFailed { .. })
    ));
    assert!(!s.is_disabled());

    // Settings from the preset override the manifest's.
    let sig = BTreeMap::from([("interrupt".to_string(), "sigint".to_string())]);
    let mut s = host
        .instantiate("default-recovery", &sig)
        .expect("instantiate");
    assert_eq!(
        s.on_timeout(&facts("continuation")).expect("ok"),
        Some(Decision::SendSignal {
            name: "SIGINT".into()
        })
    );
}

#[test]
fn psql_recovery_reads_psql_prompts() {
    let host = host();
    let mut s = host
        .instantiate("psql-recovery", &BTreeMap::new())
        .expect("instantiate");
    let line = DetectInput {
        cursor_line: "app-# ",
        ..input()
    };
    assert_eq!(
        s.detect_prompt(&line).expect("ok").map(|d| d.kind),
        Some(PromptKind::Continuation)
    );
    let mut stuck = facts("continuation");
    stuck.screen = "app=# select 1\napp-# ".into();
    assert_eq!(
        s.on_timeout(&stuck).expect("ok"),
        Some(Decision::SendInput {
            text: "\\r\n".into()
        })
    );
}

// ---- compiled-code cache ---------------------------------------------------

#[test]
fn compiled_code_is_cached_on_disk() {
    let dir = std::env::temp_dir().join(format!("repl-mcp-plugin-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cached = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    };

    let first = PluginHost::with_cache(HostLimits::default(), Some(dir.clone())).expect("host");
    first.add_builtins().expect("builtins");
    first
        .instantiate("psql-recovery", &BTreeMap::new())
        .expect("compile and cache");
    let files = cached(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0]
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let sha = first
        .manifest("psql-recovery")
        .expect("manifest")
        .sha256
        .clone();
    assert!(name.starts_with(&sha) && name.ends_with(".cwasm"), "{name}");

    // A second host (a server restart) loads the cached code.
    let second = PluginHost::with_cache(HostLimits::default(), Some(dir.clone())).expect("host");
    second.add_builtins().expect("builtins");
    let mut s = second
        .instantiate("psql-recovery", &BTreeMap::new())
        .expect("from cache");
    assert!(s.detect_prompt(&input()).is_ok());

    // A corrupt entry is recompiled, not trusted.
    std::fs::write(&files[0], b"garbage").expect("corrupt");
    let third = PluginHost::with_cache(HostLimits::default(), Some(dir.clone())).expect("host");
    third.add_builtins().expect("builtins");
    assert!(third.instantiate("psql-recovery", &BTreeMap::new()).is_ok());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
