//! Loading policy files: valid ones, and mistakes reported with file, line,
//! column and key.

use std::path::PathBuf;

use repl_mcp::policy::{DEFAULT_POLICY_TOML, Policy, PolicyError, PolicySource};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("repl-mcp-policy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("temp dir: {e}"));
    dir
}

fn invalid(src: &str) -> (usize, usize, String, String, String) {
    match Policy::from_toml_str(src, "/home/u/.config/repl-mcp/policy.toml") {
        Err(e) => {
            let text = e.to_string();
            match e {
                PolicyError::Invalid {
                    line, column, key, ..
                } => (line, column, key, text, String::new()),
                other => panic!("expected Invalid, got {other}"),
            }
        }
        Ok(_) => panic!("expected an error for {src:?}"),
    }
}

#[test]
fn bad_action_value_names_file_line_and_key() {
    let (line, column, key, text, _) =
        invalid("[default]\naction = \"allow\"\n\n[tools.create_session]\naction = \"alow\"\n");
    assert_eq!((line, column), (5, 10));
    assert_eq!(key, "tools.create_session.action");
    assert!(
        text.starts_with("/home/u/.config/repl-mcp/policy.toml:5:10:"),
        "{text}"
    );
    assert!(text.contains("require_approval"), "{text}");
}

#[test]
fn unknown_key_is_an_error() {
    let (line, _, key, text, _) = invalid("[tools.create_session]\naction = \"allow\"\nrate = 3\n");
    assert_eq!(line, 3);
    assert_eq!(key, "tools.create_session.rate");
    assert!(text.contains("unknown field `rate`"), "{text}");

    let (line, _, key, _, _) = invalid("[sesions]\nmax_concurrent = 3\n");
    assert_eq!((line, key.as_str()), (1, "sesions"));

    let (line, _, key, text, _) = invalid("[tools.x]\nrate_limit = { max = 1, windw = 60 }\n");
    assert_eq!(line, 2);
    assert!(key.starts_with("tools.x.rate_limit"), "{key}");
    assert!(text.contains("windw"), "{text}");
}

#[test]
fn bad_regex_names_the_key() {
    let (line, column, key, text, _) = invalid("[input]\ndeny = [\n  'ok',\n  'rm (-rf',\n]\n");
    assert_eq!((line, column), (4, 3));
    assert_eq!(key, "input.deny[1]");
    assert!(text.contains("invalid regex"), "{text}");
    let (_, _, key, _, _) = invalid("[custom_commands]\nallow = ['[a-']\n");
    assert_eq!(key, "custom_commands.allow[0]");
}

#[test]
fn bad_values_are_explained() {
    let (line, _, key, text, _) = invalid("[tools.a]\nrate_limit = { max = 0, window = 60 }\n");
    assert_eq!((line, key.as_str()), (2, "tools.a.rate_limit"));
    assert!(
        text.contains("action = \\\"deny\\\"") || text.contains("action = \"deny\""),
        "{text}"
    );
    let (_, _, key, _, _) = invalid("[tools.a]\nrate_limit = { max = 5, window = 0 }\n");
    assert_eq!(key, "tools.a.rate_limit");
    let (_, _, key, _, _) = invalid("[sessions]\nmax_concurrent = -1\n");
    assert_eq!(key, "sessions.max_concurrent");
    let (_, _, key, _, _) = invalid("[audit]\nmax_bytes = 10\n");
    assert_eq!(key, "audit.max_bytes");
    let (line, _, _, text, _) = invalid("[default]\naction = allow\n");
    assert_eq!(line, 2, "{text}");
}

#[test]
fn unknown_tool_names_are_reported_on_request() {
    let p = Policy::from_toml_str("\n[tools.create_sesion]\naction = \"deny\"\n", "p.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    let err = p
        .check_tool_names(&["create_session", "list_sessions"])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with("p.toml:2:8: error in `tools.create_sesion`"),
        "{err}"
    );
    assert!(err.contains("create_session, list_sessions"), "{err}");
    // Built-in tables never trip it, whatever tools exist.
    assert!(Policy::builtin().check_tool_names(&[]).is_ok());
}

#[test]
fn load_reads_a_file_and_resolves_relative_audit_path() {
    let dir = temp_dir("load");
    let path = dir.join("policy.toml");
    std::fs::write(&path, "[audit]\npath = \"logs/audit.jsonl\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let p = Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.source(), &PolicySource::File(path.clone()));
    assert_eq!(p.audit_config().path, Some(dir.join("logs/audit.jsonl")));

    std::fs::write(&path, "[audit]\nkeep = \"five\"\n").unwrap_or_else(|e| panic!("{e}"));
    let err = Policy::load(&path)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.starts_with(&format!("{}:2:8: error in `audit.keep`", path.display())),
        "{err}"
    );

    let missing = dir.join("nope.toml");
    let err = Policy::load(&missing).err();
    assert!(matches!(err, Some(PolicyError::Read { .. })), "{err:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn documented_defaults_match_the_builtin_ones() {
    let doc_path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/policy.md");
    let doc = std::fs::read_to_string(doc_path).unwrap_or_else(|e| panic!("{doc_path}: {e}"));
    assert!(
        doc.contains(DEFAULT_POLICY_TOML),
        "docs/policy.md must contain src/policy/default_policy.toml verbatim"
    );
    // The built-in text, written out as a user file, loads to the same policy.
    let p = Policy::from_toml_str(DEFAULT_POLICY_TOML, "copy").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p.max_concurrent_sessions(),
        Policy::builtin().max_concurrent_sessions()
    );
    assert_eq!(p.audit_config(), Policy::builtin().audit_config());
}

#[test]
fn every_toml_example_in_the_docs_loads() {
    let doc_path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/policy.md");
    let doc = std::fs::read_to_string(doc_path).unwrap_or_else(|e| panic!("{doc_path}: {e}"));
    let mut count = 0;
    for block in doc.split("```toml\n").skip(1) {
        let text = block.split("```").next().unwrap_or_default();
        Policy::from_toml_str(text, "docs/policy.md example")
            .unwrap_or_else(|e| panic!("example does not load: {e}\n{text}"));
        count += 1;
    }
    assert!(count >= 2, "expected several examples, found {count}");
}
