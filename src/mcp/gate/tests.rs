//! The gate against a real policy and a real audit file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::policy::{AuditConfig, AuditLog, Policy};
use crate::session::SessionState;

fn audit_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "repl-mcp-gate-{name}-{}-{}.jsonl",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}

fn gate_with(policy: &str, path: &Path) -> (Arc<Guard>, CallGate) {
    let policy = Policy::from_toml_str(policy, "test").unwrap_or_else(|e| panic!("{e}"));
    let audit = AuditLog::open(&AuditConfig {
        enabled: true,
        path: Some(path.to_path_buf()),
        max_bytes: 0,
        keep: 0,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let guard = Arc::new(Guard::new(policy, audit));
    let gate = CallGate::detached(Arc::clone(&guard), 7, "send_input_to_session");
    (guard, gate)
}

fn lines(guard: &Guard, path: &Path) -> Vec<Value> {
    guard.flush();
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn facts<'a>(origin: &'a Origin, action: &'a Action, secret: bool) -> ActionFacts<'a> {
    ActionFacts {
        session_id: "s1",
        origin,
        action,
        state: SessionState::Ready,
        secret,
    }
}

fn send(text: &str) -> Action {
    Action::Send { text: text.into() }
}

#[tokio::test]
async fn every_text_passes_the_input_rules_with_the_pending_line() {
    let path = audit_path("input");
    let (guard, gate) = gate_with("", &path);
    let agent = Origin::Agent;
    let sampled = Origin::Answer {
        via: AnswerVia::Sampling,
    };
    for origin in [&agent, &sampled] {
        let bad = send("rm -rf /\n");
        let r = gate.admit(&facts(origin, &bad, false)).await;
        let refusal = r
            .err()
            .unwrap_or_else(|| panic!("{origin:?} typed rm -rf /"));
        assert_eq!(refusal.decision, Decision::Deny);
        assert!(
            refusal.message.contains("input.deny[0]"),
            "{}",
            refusal.message
        );
    }
    // In pieces: the first is fine alone, the second completes the line.
    let first = send("rm -rf ");
    let f = facts(&sampled, &first, false);
    assert!(gate.admit(&f).await.is_ok());
    gate.record(&f, Ok(()));
    let second = send("/\r");
    assert!(gate.admit(&facts(&sampled, &second, false)).await.is_err());
    // A signal abandons the line.
    let sigint = Action::Signal {
        signal: "SIGINT".into(),
    };
    gate.record(&facts(&agent, &sigint, false), Ok(()));
    assert!(gate.admit(&facts(&sampled, &second, false)).await.is_ok());
    assert_eq!(gate.refused_rule().as_deref(), Some("input.deny[0]"));

    // Answers leave a line each (refused or carried out); the agent's own
    // input is the call's line, written by the server.
    let log = lines(&guard, &path);
    let origins: Vec<&str> = log.iter().filter_map(|l| l["origin"].as_str()).collect();
    assert_eq!(origins, ["answer:sampling"; 3], "{log:?}");
    assert_eq!(log[0]["decision"], "deny");
    assert_eq!(log[0]["rule"], "input.deny[0]");
    assert_eq!(log[1]["decision"], "allow");
    assert_eq!(log[1]["action"], "send");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn secrets_are_never_written_in_clear() {
    let path = audit_path("secret");
    let (guard, gate) = gate_with("", &path);
    let origin = Origin::Answer {
        via: AnswerVia::Elicitation,
    };
    let password = send("hunter2!\r");
    let f = facts(&origin, &password, true);
    assert!(gate.admit(&f).await.is_ok());
    gate.record(&f, Ok(()));
    guard.flush();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("secret of 8 characters"), "{text}");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn sampling_ask_needs_a_person_and_off_is_read() {
    let path = audit_path("ask");
    let (guard, gate) = gate_with("[sampling]\nmode = \"ask\"\n", &path);
    assert_eq!(guard.sampling_mode(), SamplingMode::Ask);
    let origin = Origin::Answer {
        via: AnswerVia::Sampling,
    };
    let wait = Action::Wait {
        duration: Duration::from_secs(1),
    };
    let r = gate.admit(&facts(&origin, &wait, false)).await;
    let refusal = r
        .err()
        .unwrap_or_else(|| panic!("approved with nobody to ask"));
    assert_eq!(refusal.decision, Decision::ApprovalUnavailable);
    assert!(
        refusal.message.contains("sampling.mode"),
        "{}",
        refusal.message
    );
    // The same answer from a person through elicitation needs no approval.
    let person = Origin::Answer {
        via: AnswerVia::Elicitation,
    };
    assert!(gate.admit(&facts(&person, &wait, false)).await.is_ok());
    let log = lines(&guard, &path);
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["decision"], "approval_unavailable");

    let off = Policy::from_toml_str("[sampling]\nmode = \"off\"\n", "t")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(off.sampling().mode, SamplingMode::Off);
    let bad = Policy::from_toml_str("[sampling]\ntimeout_seconds = 0\n", "t");
    let message = bad.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("sampling.timeout_seconds") && message.starts_with("t:2:"),
        "{message}"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn unusable_answers_leave_a_line() {
    let path = audit_path("unusable");
    let (guard, gate) = gate_with("", &path);
    let origin = Origin::Answer {
        via: AnswerVia::Sampling,
    };
    gate.record_unusable("s1", &origin, "the client's model gave an empty answer");
    let log = lines(&guard, &path);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["ok"], false);
    assert_eq!(log[0]["error"], "the client's model gave an empty answer");
    let _ = std::fs::remove_file(&path);
}

/// What a session does on its own meets the same rules as a call: the
/// input rules, and the rule of the tool that does the same (its action,
/// rate limit and approval — which nobody can give inside recovery).
#[test]
fn a_plugins_decisions_meet_the_policy_and_leave_a_line_each() {
    use crate::session::gate::ActionGate;
    let path = audit_path("plugin");
    let policy = "[tools.send_signal_to_session]\naction = \"deny\"\n\
                  [tools.mark_session_failed]\naction = \"require_approval\"\n\
                  [tools.create_session]\nrate_limit = { max = 1, window = 60 }\n";
    let (guard, _) = gate_with(policy, &path);
    let gate = PolicyGate::new(Arc::clone(&guard));
    let plugin = Origin::Plugin { id: "p".into() };
    let refused = |action: &Action| {
        gate.admit(&facts(&plugin, action, false))
            .err()
            .and_then(|r| r.rule)
    };
    assert_eq!(
        refused(&send("rm -rf /\n")).as_deref(),
        Some("input.deny[0]")
    );
    let sigint = Action::Signal {
        signal: "SIGINT".into(),
    };
    assert_eq!(
        refused(&sigint).as_deref(),
        Some("tools.send_signal_to_session")
    );
    let give_up = Action::MarkFailed {
        reason: "stuck".into(),
    };
    assert_eq!(
        refused(&give_up).as_deref(),
        Some("tools.mark_session_failed")
    );
    // One restart a minute: the second is over the limit.
    assert_eq!(refused(&Action::Restart), None);
    assert_eq!(
        refused(&Action::Restart).as_deref(),
        Some("tools.create_session.rate_limit")
    );
    // The agent's own signal is the call's business, not this gate's.
    assert!(
        guard
            .admit_action(7, &facts(&Origin::Agent, &sigint, false))
            .is_allow()
    );
    let fine = send("print(1)\n");
    let f = facts(&plugin, &fine, false);
    assert!(gate.admit(&f).is_ok());
    gate.record(&f, Ok(()));

    let log = lines(&guard, &path);
    let decisions: Vec<&str> = log.iter().filter_map(|l| l["decision"].as_str()).collect();
    assert_eq!(
        decisions,
        [
            "deny",
            "deny",
            "approval_unavailable",
            "rate_limited",
            "allow"
        ],
        "{log:?}"
    );
    assert!(
        log.iter().all(|l| l["origin"] == "plugin:p"
            && l["tool"] == "recovery"
            && l["connection_id"] == 0)
    );
    let _ = std::fs::remove_file(&path);
}
