//! The policy through a real MCP client: every rule kind, approval through
//! elicitation, the audit log, and a broken policy file at start-up.

mod common;

use std::process::{Command, Stdio};

use common::*;
use rmcp::model::{
    ClientCapabilities, ElicitRequestParams, ElicitResult, ElicitationAction, ProtocolVersion,
};
use rmcp::service::RequestContext;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::json;

fn policy_file(body: &str) -> std::path::PathBuf {
    let dir = scratch("policy");
    let path = dir.join("policy.toml");
    std::fs::write(&path, body).unwrap();
    path
}

async fn start_with_policy(body: &str) -> Server {
    let path = policy_file(body);
    start_with(
        ProtocolVersion::V_2025_11_25,
        &["--policy", path.to_str().unwrap()],
    )
    .await
}

#[tokio::test]
async fn a_burst_of_1000_calls_lets_exactly_10_through() {
    let s = start_with_policy(
        "[tools.list_repl_sessions]\naction = \"allow\"\nrate_limit = { max = 10, window = 60 }\n",
    )
    .await;
    let mut passed = 0;
    let mut last_refusal = None;
    for _ in 0..1000 {
        let (r, err) = call(&s.client, "list_repl_sessions", json!({})).await;
        if err {
            last_refusal = Some(r);
        } else {
            passed += 1;
        }
    }
    assert_eq!(passed, 10);
    let r = last_refusal.unwrap();
    assert_eq!(r["rule"], "tools.list_repl_sessions.rate_limit");
    let retry = r["retryAfterSeconds"].as_f64().unwrap();
    assert!(retry > 0.0 && retry <= 60.0, "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("retry after"),
        "{r}"
    );
    // Other tools are not limited by it.
    assert!(
        !call(&s.client, "list_repl_configurations", json!({}))
            .await
            .1
    );
}

#[tokio::test]
async fn denied_tools_say_which_rule_and_why() {
    let s = start_with_policy("[tools.mark_session_failed]\naction = \"deny\"\nreason = \"failing sessions is for people\"\n").await;
    let id = create(&s.client, "python").await;
    let (r, err) = call(
        &s.client,
        "mark_session_failed",
        json!({"sessionId": id, "reason": "x"}),
    )
    .await;
    assert!(err);
    let msg = r["error"].as_str().unwrap();
    assert!(
        msg.contains("tools.mark_session_failed") && msg.contains("failing sessions is for people"),
        "{msg}"
    );
    assert_eq!(eval(&s.client, &id, "print(1)").await["output"], "1");
}

#[tokio::test]
async fn dangerous_input_is_refused_even_in_pieces() {
    let s = start().await; // the built-in defaults
    let id = create(&s.client, "bash").await;
    let (r, err) = call(
        &s.client,
        "send_input_to_session",
        json!({"sessionId": id, "input": "rm -rf /"}),
    )
    .await;
    assert!(
        err && r["rule"].as_str().unwrap().starts_with("input.deny"),
        "{r}"
    );
    let (_, err) = call(
        &s.client,
        "send_input_to_session",
        json!({"sessionId": id, "input": "rm -rf ", "options": {"add_newline": false}}),
    )
    .await;
    assert!(!err, "a harmless prefix goes through");
    let (r, err) = call(
        &s.client,
        "send_input_to_session",
        json!({"sessionId": id, "input": "/"}),
    )
    .await;
    assert!(err, "the completing piece must be refused: {r}");
    // Ctrl-C clears the line; ordinary work carries on.
    call(
        &s.client,
        "send_signal_to_session",
        json!({"sessionId": id, "signal": "SIGINT"}),
    )
    .await;
    assert_eq!(eval(&s.client, &id, "echo fine").await["output"], "fine");
}

#[tokio::test]
async fn session_cap_and_preset_rules() {
    let s =
        start_with_policy("[sessions]\nmax_concurrent = 1\n[presets]\ndeny = [\"node\"]\n").await;
    let (r, err) = call(&s.client, "create_session", json!({"presetConfig": "node"})).await;
    assert!(err && r["error"].as_str().unwrap().contains("node"), "{r}");
    create(&s.client, "python").await;
    let (r, err) = call(
        &s.client,
        "create_session",
        json!({"presetConfig": "python"}),
    )
    .await;
    assert!(err && r["rule"] == "sessions.max_concurrent", "{r}");
}

#[tokio::test]
async fn approval_without_elicitation_is_refused_with_how_to_allow() {
    let s = start_with_policy("[tools.create_session]\naction = \"require_approval\"\n").await;
    let (r, err) = call(
        &s.client,
        "create_session",
        json!({"presetConfig": "python"}),
    )
    .await;
    assert!(err, "{r}");
    let msg = r["error"].as_str().unwrap();
    assert!(
        msg.contains("tools.create_session") && msg.contains("policy"),
        "{msg}"
    );
}

/// A client whose person answers every elicitation with `answer`.
#[derive(Clone)]
struct Approver {
    answer: bool,
}

impl ClientHandler for Approver {
    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, rmcp::ErrorData> {
        let _ = request;
        Ok(ElicitResult::new(ElicitationAction::Accept)
            .with_content(json!({"approve": self.answer})))
    }

    fn get_info(&self) -> rmcp::model::ClientConfig {
        let mut caps = ClientCapabilities::default();
        caps.elicitation = Some(Default::default());
        rmcp::model::ClientConfig::new(caps, rmcp::model::Implementation::new("approver", "0"))
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }
}

#[tokio::test]
async fn approval_through_elicitation() {
    let path = policy_file("[tools.create_session]\naction = \"require_approval\"\n");
    for answer in [true, false] {
        let cfg = scratch("approve");
        let transport = server_transport(&cfg, &["--policy", path.to_str().unwrap()]);
        let client = Approver { answer }.serve(transport).await.unwrap();
        let mut args = serde_json::Map::new();
        args.insert("presetConfig".into(), json!("python"));
        let r = client
            .call_tool(
                rmcp::model::CallToolRequestParams::new("create_session").with_arguments(args),
            )
            .await
            .unwrap();
        assert_eq!(r.is_error != Some(true), answer, "{r:?}");
    }
}

#[tokio::test]
async fn every_call_is_audited_off_stdout() {
    let s = start().await;
    let id = create(&s.client, "python").await;
    eval(&s.client, &id, "print('audited')").await;
    call(
        &s.client,
        "send_input_to_session",
        json!({"sessionId": "nope", "input": "1"}),
    )
    .await;
    let log = s.config_home.join("state/repl-mcp/audit.jsonl");
    s.client.cancel().await.unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tools: Vec<&str> = lines.iter().map(|l| l["tool"].as_str().unwrap()).collect();
    assert_eq!(
        tools,
        [
            "create_session",
            "send_input_to_session",
            "send_input_to_session"
        ]
    );
    assert_eq!(lines[1]["session_id"], json!(id));
    assert_eq!(lines[2]["ok"], false);
}

#[test]
fn a_policy_file_with_a_mistake_stops_the_server_naming_the_line() {
    let path = policy_file("[tools.create_session]\naction = \"alow\"\n");
    let out = Command::new(bin())
        .args(["--no-web-ui", "--policy", path.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("policy.toml:2:") && err.contains("tools.create_session.action"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn approval_through_input_required_on_2026_07_28() {
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    let path = policy_file("[tools.create_session]\naction = \"require_approval\"\n");
    for answer in [true, false] {
        let cfg = scratch("approve26");
        let transport = server_transport(&cfg, &["--policy", path.to_str().unwrap()]);
        let client = Approver { answer }
            .serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
            )
            .await
            .unwrap();
        let mut args = serde_json::Map::new();
        args.insert("presetConfig".into(), json!("python"));
        let r = client
            .call_tool(
                rmcp::model::CallToolRequestParams::new("create_session").with_arguments(args),
            )
            .await
            .unwrap();
        assert_eq!(r.is_error != Some(true), answer, "{r:?}");
    }
}
