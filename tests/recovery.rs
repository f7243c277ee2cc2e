//! Recovery that ends in a decision, through the real binary: the strategy
//! plugin restarts a crashed REPL, gives up after its cap, asks the agent on
//! a timeout; a client answers through elicitation; progress is reported.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ElicitRequestParams, ElicitResult,
    ElicitationAction, NumberOrString, ProgressNotificationParam, ProgressToken, ProtocolVersion,
    RequestMetaObject,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::json;

#[tokio::test]
async fn a_crashed_repl_is_restarted_and_the_agent_told_its_state_is_gone() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    eval(c, &id, "x = 41").await;
    let r = eval(c, &id, "import os; os._exit(3)").await;
    assert_eq!(r["restarted"], 1, "{r:#}");
    assert_eq!(r["state"], "ready");
    assert_eq!(r["success"], false);
    assert!(r["error"].as_str().unwrap().contains("lost"), "{r}");
    assert_eq!(r["recoverySteps"], json!(["on-exit: restart"]));
    let r = eval(c, &id, "print('x' in dir())").await;
    assert_eq!(r["output"], "False");
    let (d, _) = call(c, "get_session_details", json!({"sessionId": id})).await;
    let events = d["session"]["events"].to_string();
    assert!(
        events.contains("recovery: on-exit: restart") && events.contains("restarted (restart 1)"),
        "{events}"
    );
}

#[tokio::test]
async fn repeated_crashes_end_in_failure_after_the_cap() {
    let s = start_with_presets(&[(
        "fragile.toml",
        "name = \"fragile\"\ncommand = [\"python3\", \"-q\"]\nenv = { PYTHON_BASIC_REPL = \"1\" }\n\
         [prompt]\nready = ['^>>> $']\n[strategy]\nplugin = \"builtin:default-recovery\"\n\
         settings = { max_restarts = \"1\", backoff_ms = \"10\" }\n",
    )])
    .await;
    let c = &s.client;
    let id = create(c, "fragile").await;
    let r = eval(c, &id, "import os; os._exit(1)").await;
    assert_eq!(r["restarted"], 1, "{r:#}");
    let r = eval(c, &id, "import os; os._exit(1)").await;
    assert_eq!(r["state"], "failed", "{r:#}");
    assert!(
        r["recoverySteps"].to_string().contains("mark failed"),
        "{r}"
    );
    assert_input_refused(c, &id, "giving up").await;
}

#[tokio::test]
async fn a_repl_that_never_prompts_ends_in_a_question_or_a_failure() {
    let s = start_with_presets(&[
        ("mute.toml", "name = \"mute\"\ncommand = [\"sleep\", \"60\"]\nstartup_timeout_ms = 300\n[prompt]\nready = ['^never> $']\n"),
        ("mute2.toml", "name = \"mute2\"\ncommand = [\"sleep\", \"60\"]\nstartup_timeout_ms = 300\n[prompt]\nready = ['^never> $']\n\
         [strategy]\nplugin = \"builtin:default-recovery\"\nsettings = { max_restarts = \"1\", backoff_ms = \"10\" }\n"),
    ])
    .await;
    // Without a strategy: the agent is asked, and may still rescue it.
    let (r, err) = call(&s.client, "create_session", json!({"presetConfig": "mute"})).await;
    assert!(err, "{r}");
    assert_eq!(
        (r["questionType"].as_str(), r["canContinue"].as_bool()),
        (Some("session_timeout"), Some(true)),
        "{r:#}"
    );
    // With one: restarted once, then given up.
    let (r, err) = call(
        &s.client,
        "create_session",
        json!({"presetConfig": "mute2"}),
    )
    .await;
    assert!(err, "{r}");
    assert_eq!(r["state"], "failed", "{r:#}");
    assert!(
        r["error"].as_str().unwrap().contains("did not start"),
        "{r:#}"
    );
}

#[tokio::test]
async fn a_long_command_is_pending_then_picked_up() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    let r = eval_opts(
        c,
        &id,
        "import time; time.sleep(1.5); print('done')",
        json!({"wait_for_prompt": true, "timeout": 300}),
    )
    .await;
    assert_eq!(
        (r["pending"].as_bool(), r["state"].as_str()),
        (Some(true), Some("busy")),
        "{r:#}"
    );
    assert_eq!(
        r["questionType"], "choice",
        "the strategy asks the agent: {r:#}"
    );
    // Follow it by cursor, then pick up the end.
    let cursor = r["outputCursor"].as_u64().expect("a cursor");
    let (later, _) = call(
        c,
        "get_full_output",
        json!({"sessionId": id, "since": cursor}),
    )
    .await;
    assert!(later["cursor"].as_u64().unwrap() >= cursor, "{later}");
    let (r, _) = call(
        c,
        "wait_for_session",
        json!({"sessionId": id, "seconds": 20}),
    )
    .await;
    assert_eq!(
        (r["state"].as_str(), r["output"].as_str()),
        (Some("ready"), Some("done")),
        "{r:#}"
    );
}

#[tokio::test]
async fn answer_session_question_takes_takafu_answers() {
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
    // The kernel sees python3 reading at a prompt nobody configured.
    assert_eq!(
        (r["state"].as_str(), r["awaitingPrompt"].as_str()),
        (Some("awaiting_input"), Some("calc% ")),
        "{r:#}"
    );
    assert_eq!(r["foreground"]["name"], "python3", "{r:#}");
    let (r, _) = call(
        c,
        "answer_session_question",
        json!({"sessionId": id, "answer": "READY:calc% "}),
    )
    .await;
    assert_eq!(r["state"], "ready", "{r:#}");
    let (r, _) = call(
        c,
        "answer_session_question",
        json!({"sessionId": id, "answer": "SEND:print(6*7)\\n"}),
    )
    .await;
    assert!(r["rawOutput"].as_str().unwrap().contains("42"), "{r:#}");
    let (r, err) = call(
        c,
        "answer_session_question",
        json!({"sessionId": id, "answer": "MAYBE"}),
    )
    .await;
    assert!(
        err && r["error"].as_str().unwrap().contains("READY:"),
        "{r}"
    );
}

/// A client whose model answers recovery questions, and that records the
/// progress notifications it receives.
#[derive(Clone, Default)]
struct Helpful {
    asked: Arc<Mutex<Vec<String>>>,
    progress: Arc<Mutex<Vec<f64>>>,
}

impl ClientHandler for Helpful {
    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, rmcp::ErrorData> {
        self.asked.lock().unwrap().push(format!("{request:?}"));
        Ok(ElicitResult::new(ElicitationAction::Accept)
            .with_content(json!({"answer": "SEND:\\x03"})))
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params.progress);
    }

    fn get_info(&self) -> rmcp::model::ClientConfig {
        let mut caps = ClientCapabilities::default();
        caps.elicitation = Some(Default::default());
        rmcp::model::ClientConfig::new(caps, rmcp::model::Implementation::new("helpful", "0"))
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }
}

#[tokio::test]
async fn the_client_answers_through_elicitation_and_sees_progress() {
    let cfg = scratch("elicit");
    let transport = server_transport(&cfg, &[]);
    let handler = Helpful::default();
    let client = handler.clone().serve(transport).await.unwrap();
    let tool = |name: &str, args: serde_json::Value| {
        let serde_json::Value::Object(args) = args else {
            unreachable!()
        };
        CallToolRequestParams::new(name.to_string()).with_arguments(args)
    };
    let r = client
        .call_tool(tool("create_session", json!({"presetConfig": "bash"})))
        .await
        .unwrap();
    let id = r.structured_content.unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut call = tool(
        "send_input_to_session",
        json!({"sessionId": id, "input": "sleep 100", "options": {"wait_for_prompt": true, "timeout": 1500}}),
    );
    let mut meta = RequestMetaObject::default();
    meta.set_progress_token(ProgressToken(NumberOrString::Number(7)));
    call.meta = Some(meta);
    let r = client.call_tool(call).await.unwrap();
    let r = r.structured_content.unwrap();
    // The client's answer (Ctrl-C) was carried out: the call ends at the prompt.
    assert_eq!(
        (r["state"].as_str(), r["exitCode"].as_i64()),
        (Some("ready"), Some(130)),
        "{r:#}"
    );
    assert!(
        r["recoverySteps"].to_string().contains("client answered"),
        "{r}"
    );
    assert_eq!(handler.asked.lock().unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !handler.progress.lock().unwrap().is_empty(),
        "a wait over a second sends progress"
    );
}

#[tokio::test]
async fn on_2026_07_28_the_question_comes_back_as_input_required() {
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    let cfg = scratch("mrtr");
    let transport = server_transport(&cfg, &[]);
    let handler = Helpful::default();
    let client = handler
        .clone()
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .unwrap();
    let tool = |name: &str, args: serde_json::Value| {
        let serde_json::Value::Object(args) = args else {
            unreachable!()
        };
        CallToolRequestParams::new(name.to_string()).with_arguments(args)
    };
    let r = client
        .call_tool(tool("create_session", json!({"presetConfig": "bash"})))
        .await
        .unwrap();
    let id = r.structured_content.unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let r = client
        .call_tool(tool(
            "send_input_to_session",
            json!({"sessionId": id, "input": "sleep 100", "options": {"wait_for_prompt": true, "timeout": 1000}}),
        ))
        .await
        .unwrap();
    let r = r.structured_content.unwrap();
    // The question went out as an input-required round; the answer (Ctrl-C)
    // came back on the retry and was carried out: one sleep, interrupted.
    assert_eq!(
        (r["state"].as_str(), r["exitCode"].as_i64()),
        (Some("ready"), Some(130)),
        "{r:#}"
    );
    assert_eq!(handler.asked.lock().unwrap().len(), 1);
    let r = client
        .call_tool(tool(
            "send_input_to_session",
            json!({"sessionId": id, "input": "echo once", "options": {"wait_for_prompt": true}}),
        ))
        .await
        .unwrap();
    assert_eq!(r.structured_content.unwrap()["output"], "once");
}
