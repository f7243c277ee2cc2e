//! One gate for every action (issue 11, item 2), through the real binary:
//! a strategy plugin's decisions meet the same policy as the agent's input
//! and leave an audit line, and a secret typed at a password prompt is
//! only its length in the session's own history and event log.

mod common;
mod support;

use std::path::Path;
use std::time::Duration;

use common::*;
use rmcp::ServiceExt;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, ProtocolVersion};
use serde_json::{Value, json};
use support::wat::{Bodies, install_python_plugin};

/// What `pusher` types on a timeout. `boom()` prints a word the test looks
/// for, so a refused input is told from one that was typed.
const PLUGIN_INPUT: &str = "boom()\n";

/// A core-function body returning `some(decision)` with a string payload
/// (`tag` 1: send-input, 2: send-signal): the decision in the return area
/// at 256, the string's bytes at 1024.
fn decision_body(tag: u8, text: &str) -> &'static str {
    let mut body = format!(
        "(i32.store8 (i32.const 256) (i32.const 1)) (i32.store8 (i32.const 264) (i32.const {tag}))"
    );
    for (i, b) in text.bytes().enumerate() {
        body.push_str(&format!(
            " (i32.store8 (i32.const {}) (i32.const {b}))",
            1024 + i
        ));
    }
    body.push_str(&format!(
        " (i32.store (i32.const 272) (i32.const 1024)) (i32.store (i32.const 276) (i32.const {})) (i32.const 256)",
        text.len()
    ));
    // The fixture's bodies are `&'static str`; a test process leaks one.
    Box::leak(body.into_boxed_str())
}

/// The test plugins: what each decides on a timeout, and the capability
/// that lets it.
fn plugin(id: &str) -> (&'static str, &'static str) {
    match id {
        "pusher" => (decision_body(1, PLUGIN_INPUT), "inputs = [\"boom()\\n\"]"),
        "interrupter" => (decision_body(2, "SIGINT"), "signals = [\"SIGINT\"]"),
        _ => unreachable!("no such test plugin"),
    }
}

/// Plugin `id` and a python preset of the same name that uses it, in the
/// user's config dir.
fn install(config: &Path, id: &str) {
    let (on_timeout, capability) = plugin(id);
    let bodies = Bodies {
        on_timeout,
        ..Bodies::default()
    };
    let extra = format!("[limits]\ndeadline_ms = 500\n[capabilities]\n{capability}");
    install_python_plugin(config, id, &bodies, &extra);
}

fn audit_lines(config: &Path) -> Vec<Value> {
    std::fs::read_to_string(config.join("state/repl-mcp/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

struct PluginRun {
    /// The result of the command that outlived its timeout.
    timed_out: Value,
    /// Everything the session printed by the time the sleep ended.
    after: String,
    events: String,
    /// The audit lines of the plugin's own actions.
    plugin_lines: Vec<Value>,
}

/// A session of plugin `id` under `policy`: a sleep outlives its timeout,
/// the plugin decides (types `boom()`, or interrupts), and the session is
/// waited on until the sleep is over (or interrupted).
async fn plugin_acts_on_timeout(id: &str, policy: &str) -> PluginRun {
    let config = scratch("one-gate");
    install(&config, id);
    let file = config.join("policy.toml");
    std::fs::write(&file, policy).unwrap();
    let transport = server_transport(&config, &["--policy", file.to_str().unwrap()]);
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("one-gate", "0"),
    )
    .with_protocol_version(ProtocolVersion::V_2025_11_25);
    let client = info.serve(transport).await.expect("MCP initialize");
    let origin = format!("plugin:{id}");
    let id = create(&client, id).await;
    let r = eval(&client, &id, "boom = lambda: print('BOO' + 'MED')").await;
    assert_eq!(r["state"], "ready", "{r:#}");
    let timed_out = eval_opts(
        &client,
        &id,
        "import time; time.sleep(3); print('sl' + 'ept')",
        json!({"wait_for_prompt": true, "timeout": 500}),
    )
    .await;
    // Whatever the plugin typed runs once the sleep is over.
    let mut after = String::new();
    for _ in 0..10 {
        let (w, _) = call(
            &client,
            "wait_for_session",
            json!({"sessionId": id, "seconds": 5}),
        )
        .await;
        after.push_str(&w.to_string());
        let (t, _) = call(&client, "get_clean_text", json!({"sessionId": id})).await;
        let screen = t.to_string();
        let over = ["slept", "KeyboardInterrupt"]
            .iter()
            .any(|w| screen.contains(w));
        if over && (!policy.is_empty() || !screen.contains("boom()") || screen.contains("BOOMED")) {
            after.push_str(&screen);
            break;
        }
    }
    let (d, _) = call(&client, "get_session_details", json!({"sessionId": id})).await;
    let events = d["session"]["events"].to_string();
    let mut plugin_lines = Vec::new();
    eventually(
        || {
            plugin_lines = audit_lines(&config)
                .into_iter()
                .filter(|l| l["origin"] == origin.as_str())
                .collect();
            !plugin_lines.is_empty()
        },
        Duration::from_secs(10),
    )
    .await;
    let _ = client.cancel().await;
    PluginRun {
        timed_out,
        after,
        events,
        plugin_lines,
    }
}

#[tokio::test]
async fn a_plugins_input_meets_the_input_deny_rules() {
    let run = plugin_acts_on_timeout("pusher", "[input]\ndeny = ['^boom\\(\\)']\n").await;
    let steps = run.timed_out["recoverySteps"].to_string();
    assert!(
        steps.contains("plugin input denied by policy: rule input.deny[0]"),
        "{:#}",
        run.timed_out
    );
    assert!(
        run.after.contains("slept"),
        "the sleep ended: {}",
        run.after
    );
    assert!(
        !run.after.contains("BOOMED"),
        "the denied input was typed: {}",
        run.after
    );
    assert!(
        run.events
            .contains("plugin input denied by policy: rule input.deny[0]"),
        "{}",
        run.events
    );
    let line = &run.plugin_lines[0];
    assert_eq!(
        (&line["decision"], &line["rule"], &line["action"]),
        (&json!("deny"), &json!("input.deny[0]"), &json!("send")),
        "{line}"
    );
    assert_eq!(line["ok"], false, "{line}");
}

/// The control: with no rule against it, the same decision is typed, and
/// audited as the plugin's.
#[tokio::test]
async fn an_allowed_plugin_input_is_typed_and_audited() {
    let run = plugin_acts_on_timeout("pusher", "").await;
    assert!(run.after.contains("BOOMED"), "{}", run.after);
    let line = &run.plugin_lines[0];
    assert_eq!(
        (&line["decision"], &line["action"], &line["ok"]),
        (&json!("allow"), &json!("send"), &json!(true)),
        "{line}"
    );
    assert_eq!(line["args"]["send"], PLUGIN_INPUT, "{line}");
}

/// A plugin's signal is ruled by the tool that does the same: denied to
/// the agent, denied to the plugin.
#[tokio::test]
async fn a_plugins_signal_meets_the_rule_of_send_signal_to_session() {
    let run = plugin_acts_on_timeout(
        "interrupter",
        "[tools.send_signal_to_session]\naction = \"deny\"\n",
    )
    .await;
    let steps = run.timed_out["recoverySteps"].to_string();
    assert!(
        steps.contains("plugin signal denied by policy: rule tools.send_signal_to_session"),
        "{:#}",
        run.timed_out
    );
    assert!(run.after.contains("slept"), "{}", run.after);
    assert!(!run.after.contains("KeyboardInterrupt"), "{}", run.after);
    assert_eq!(run.plugin_lines[0]["decision"], "deny");

    // The control: allowed, the same decision interrupts the sleep.
    let run = plugin_acts_on_timeout("interrupter", "").await;
    let all = format!("{:#}{}", run.timed_out, run.after);
    assert!(all.contains("KeyboardInterrupt"), "{all}");
    assert!(!all.contains("slept"), "{all}");
    assert_eq!(
        (&run.plugin_lines[0]["action"], &run.plugin_lines[0]["ok"]),
        (&json!("signal"), &json!(true))
    );
}

#[tokio::test]
async fn a_password_is_only_its_length_in_history_and_events() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    let r = eval(c, &id, "import getpass; pw = getpass.getpass()").await;
    assert_eq!(r["awaitingInput"], "password", "{r:#}");
    let r = eval(c, &id, "hunter2").await;
    assert_eq!(r["state"], "ready", "{r:#}");
    let r = eval(c, &id, "print(len(pw))").await;
    assert_eq!(r["output"], "7", "the secret itself was typed: {r:#}");
    let (d, _) = call(c, "get_session_details", json!({"sessionId": id})).await;
    let details = d.to_string();
    assert!(!details.contains("hunter2"), "{d:#}");
    let history = &d["session"]["history"];
    assert_eq!(history[1]["input"], "secret of 7 characters", "{history:#}");
    assert_eq!(history[2]["input"], "print(len(pw))", "{history:#}");
}

/// A shell's silent read (echo off, no prompt anyone configured) is a
/// secret too: the kernel says so, and the same one test decides.
#[tokio::test]
async fn a_silent_shell_read_is_only_its_length_too() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "bash").await;
    let r = eval(c, &id, "read -s -p 'Mot de passe: ' pw").await;
    assert_eq!(r["awaitingInput"], "password", "{r:#}");
    eval(c, &id, "tr0ub4dor").await;
    assert_eq!(eval(c, &id, "echo ${#pw}").await["output"], "9");
    let (d, _) = call(c, "get_session_details", json!({"sessionId": id})).await;
    assert!(!d.to_string().contains("tr0ub4dor"), "{d:#}");
    let history = d["session"]["history"].to_string();
    assert!(history.contains("secret of 9 characters"), "{history}");
    let log = s.config_home.join("state/repl-mcp/audit.jsonl");
    let mut text = String::new();
    eventually(
        || {
            text = std::fs::read_to_string(&log).unwrap_or_default();
            text.contains("secret of 9 characters")
        },
        Duration::from_secs(10),
    )
    .await;
    assert!(!text.contains("tr0ub4dor"), "{text}");
    assert!(text.contains("secret of 9 characters"), "{text}");
}

#[tokio::test]
async fn set_session_ready_is_one_action_with_one_audit_line() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "bash").await;
    let r = eval_opts(
        c,
        &id,
        "python3 -q -i -c \"import sys; sys.ps1='calc% '\"",
        json!({"wait_for_prompt": true, "timeout": 10000}),
    )
    .await;
    assert_eq!(r["awaitingPrompt"], "calc% ", "{r:#}");
    let (r, err) = call(
        c,
        "set_session_ready",
        json!({"sessionId": id, "pattern": "calc% "}),
    )
    .await;
    assert!(!err && r["state"] == "ready", "{r:#}");
    assert!(
        r["message"].as_str().unwrap_or_default().contains("ready"),
        "{r:#}"
    );
    // The executor's set ready is what the call did: the call's own line,
    // no second one.
    let ready_lines = || {
        audit_lines(&s.config_home)
            .into_iter()
            .filter(|l| l["tool"] == "set_session_ready" || l["action"] == "set_ready")
            .collect::<Vec<Value>>()
    };
    eventually(|| !ready_lines().is_empty(), Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lines = ready_lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0]["tool"], "set_session_ready", "{lines:#?}");
    assert_eq!(lines[0]["ok"], true, "{lines:#?}");
}
