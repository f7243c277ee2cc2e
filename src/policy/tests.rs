//! Unit tests of the policy as a whole (the pieces test themselves).

use super::*;

#[test]
fn policy_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Policy>();
    assert_send_sync::<AuditLog>();
}

#[test]
fn builtin_defaults_parse_and_are_permissive() {
    let p = Policy::builtin();
    assert_eq!(p.source(), &PolicySource::BuiltIn);
    assert_eq!(p.max_concurrent_sessions(), 32);
    assert_eq!(p.action_for("create_session"), Action::Allow);
    assert_eq!(p.action_for("anything_else"), Action::Allow);
    assert!(p.audit_config().enabled);
    assert_eq!(p.audit_config().max_bytes, 10 * 1024 * 1024);
    assert_eq!(p.audit_config().keep, 5);
    assert_eq!(p.rules.input_deny.len(), 5);
    let limit = p.rules.tools.get("create_session").and_then(|r| r.rate);
    assert_eq!(
        limit,
        Some(RateLimit {
            max: 30,
            window: std::time::Duration::from_secs(60)
        })
    );
}

#[test]
fn user_sections_override_builtin_key_by_key() {
    let p = Policy::from_toml_str("[sessions]\n[audit]\nkeep = 2\n", "t")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.max_concurrent_sessions(), 32);
    assert_eq!(p.audit_config().keep, 2);
    assert_eq!(p.audit_config().max_bytes, 10 * 1024 * 1024);
    let p = Policy::from_toml_str("[input]\ndeny = []\n", "t").unwrap_or_else(|e| panic!("{e}"));
    assert!(p.check_input("", "rm -rf /\n").is_allow());
}

#[test]
fn a_denied_tool_has_a_denial_that_names_its_rule_and_the_fix() {
    let p = Policy::from_toml_str(
        "[tools.send_input_to_session]\naction = \"deny\"\nreason = \"read-only day\"\n",
        "t",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let denied = p
        .denial("send_input_to_session")
        .unwrap_or_else(|| panic!("not denied"));
    assert_eq!(denied.rule(), Some("tools.send_input_to_session"));
    assert!(denied.message().contains("read-only day"), "{denied:?}");
    // A rate limit or approval is no denial; the default allows.
    let p = Policy::from_toml_str(
        "[tools.send_input_to_session]\naction = \"require_approval\"\nrate_limit = { max = 1, window = 60 }\n",
        "t",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(p.denial("send_input_to_session").is_none());
    assert!(Policy::builtin().denial("send_input_to_session").is_none());
    // `[default]` deny reaches a tool without a table of its own.
    let p = Policy::from_toml_str("[default]\naction = \"deny\"\n", "t")
        .unwrap_or_else(|e| panic!("{e}"));
    let denied = p
        .denial("send_signal_to_session")
        .unwrap_or_else(|| panic!("not denied"));
    assert!(
        denied.message().contains("[tools.send_signal_to_session]"),
        "{denied:?}"
    );
}
