//! Two versions of the plugin interface in one host: a component built
//! against 0.1 (kept as a fixture) keeps working next to the 0.2 built-ins,
//! each version is checked against its own world, and 0.2 plugins receive
//! the session facts (kernel, time since input).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use repl_mcp::plugin::{
    ApiVersion, Decision, DetectInput, HookFacts, HostLimits, PluginError, PluginHost, PromptKind,
    SessionFacts,
};

fn legacy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/fixtures/legacy-prompt-regex")
}

fn python() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("ready".to_string(), "^>>> $".to_string()),
        ("continuation".to_string(), "^\\.\\.\\. $".to_string()),
    ])
}

fn at_prompt(line: &str) -> DetectInput<'_> {
    DetectInput {
        screen: line,
        cursor_col: u16::try_from(line.len()).unwrap_or(0),
        cursor_line: line,
        preset: "python",
        ..DetectInput::default()
    }
}

#[test]
fn a_0_1_plugin_works_next_to_0_2_ones() {
    let host = PluginHost::new(HostLimits::default()).expect("host");
    host.add_builtins().expect("builtins");
    let legacy = host.load_dir(&legacy_dir()).expect("the 0.1 fixture loads");
    assert_eq!(host.manifest(&legacy).expect("manifest").api, "0.1");
    assert_eq!(host.manifest("prompt-regex").expect("manifest").api, "0.2");

    let mut old = host.instantiate(&legacy, &python()).expect("0.1 instance");
    let mut new = host
        .instantiate("prompt-regex", &python())
        .expect("0.2 instance");
    for (line, kind) in [
        (">>> ", Some(PromptKind::Ready)),
        ("... ", Some(PromptKind::Continuation)),
        ("x", None),
    ] {
        let a = old.detect_prompt(&at_prompt(line)).expect("0.1 answers");
        let b = new.detect_prompt(&at_prompt(line)).expect("0.2 answers");
        assert_eq!(a.map(|d| d.kind), kind, "{line:?}");
        assert_eq!(b.map(|d| d.kind), kind, "{line:?}");
    }
    // Facts a 0.1 plugin cannot see do not disturb it.
    let facts = SessionFacts {
        since_input_ms: Some(5),
        target: Some("docker".into()),
        parameters: vec![("container".into(), "db".into())],
        ..SessionFacts::default()
    };
    let input = DetectInput {
        session: &facts,
        ..at_prompt(">>> ")
    };
    assert!(old.detect_prompt(&input).expect("0.1").is_some());
    assert!(new.detect_prompt(&input).expect("0.2").is_some());
}

#[test]
fn each_version_is_checked_against_its_own_world() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The 0.1 component under a manifest that says 0.2.
    let wasm = std::fs::read(legacy_dir().join("legacy-prompt-regex.wasm")).expect("fixture");
    let text = std::fs::read_to_string(legacy_dir().join("plugin.toml")).expect("fixture");
    let host = PluginHost::new(HostLimits::default()).expect("host");
    let err = host
        .load_bytes(&text.replace("api = \"0.1\"", "api = \"0.2\""), &wasm)
        .expect_err("a 0.1 component is not a 0.2 plugin");
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            PluginError::ForeignImport { .. } | PluginError::Link { .. }
        ),
        "{msg}"
    );
    assert!(msg.contains("0.2"), "{msg}");

    // A 0.2 built-in under a manifest that says 0.1.
    let builtin = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/dist/prompt-regex");
    let wasm = std::fs::read(builtin.join("prompt-regex.wasm")).expect("dist");
    let text = std::fs::read_to_string(builtin.join("plugin.toml")).expect("dist");
    let err = host
        .load_bytes(&text.replace("api = \"0.2\"", "api = \"0.1\""), &wasm)
        .expect_err("a 0.2 component is not a 0.1 plugin");
    assert!(err.to_string().contains("0.1"), "{err}");

    // An API nobody serves is a manifest error with its line.
    std::fs::write(
        dir.path().join("plugin.toml"),
        text.replace("api = \"0.2\"", "api = \"0.9\""),
    )
    .expect("write");
    std::fs::write(dir.path().join("prompt-regex.wasm"), &wasm).expect("write");
    let err = PluginHost::validate_dir(dir.path()).expect_err("0.9");
    let msg = err.to_string();
    assert!(msg.contains("`api`") && msg.contains("0.1, 0.2"), "{msg}");
    assert_eq!(ApiVersion::parse("0.2"), Some(ApiVersion::LATEST));
}

#[test]
fn session_facts_reach_0_2_plugins() {
    let host = PluginHost::with_builtins().expect("host");

    // default-recovery: echo off while the program reads → a secret question.
    let mut recovery = host
        .instantiate("default-recovery", &BTreeMap::new())
        .expect("instance");
    let mut facts = HookFacts {
        preset: "custom".into(),
        state: "awaiting-input".into(),
        screen: "Enter passphrase: ".into(),
        ..HookFacts::default()
    };
    let plain = recovery.on_timeout(&facts).expect("answer");
    assert!(
        matches!(&plain, Some(Decision::AskLlm { question_type, .. }) if question_type != "secret"),
        "{plain:?}"
    );
    facts.session.kernel.echo = Some(false);
    facts.session.kernel.canonical = Some(true);
    facts.session.kernel.reading_terminal = Some(true);
    let secret = recovery.on_timeout(&facts).expect("answer");
    assert!(
        matches!(&secret, Some(Decision::AskLlm { question_type, .. }) if question_type == "secret"),
        "{secret:?}"
    );

    // psql-recovery: a long query is cancelled by the true time since input,
    // not by how long the last wait ran.
    let mut psql = host
        .instantiate(
            "psql-recovery",
            &BTreeMap::from([("cancel_after_ms".to_string(), "1000".to_string())]),
        )
        .expect("instance");
    let mut facts = HookFacts {
        preset: "psql".into(),
        state: "busy".into(),
        elapsed_ms: 10,
        screen: "app=# select pg_sleep(60);\n".into(),
        ..HookFacts::default()
    };
    facts.session.since_input_ms = Some(200);
    assert_eq!(psql.on_timeout(&facts).expect("answer"), None);
    facts.session.since_input_ms = Some(5_000);
    assert_eq!(
        psql.on_timeout(&facts).expect("answer"),
        Some(Decision::SendSignal {
            name: "SIGINT".into()
        })
    );
}
