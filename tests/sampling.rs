//! LLM-assisted recovery through MCP sampling, with rmcp's client
//! answering `sampling/createMessage` the way a model would: the strategy's
//! question reaches the client's model with the screen, the last input and
//! the allowed answers; its answer is carried out under the policy; bad
//! replies and a client that never answers end in a clear result, an audit
//! line, and a server that lives on.
#![allow(deprecated)] // sampling is deprecated by SEP-2577, and still what clients speak

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use rmcp::model::{
    ClientCapabilities, CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams,
    ElicitResult, ElicitationAction, ProtocolVersion, SamplingMessage,
};
use rmcp::service::RequestContext;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};

/// How the pretend model replies.
#[derive(Clone)]
enum Reply {
    Text(&'static str),
    Huge,
    Image,
    Never,
}

#[derive(Clone)]
struct Model {
    reply: Reply,
    prompts: Arc<Mutex<Vec<String>>>,
    /// A person behind the client who answers approval questions.
    person: Option<bool>,
}

impl Model {
    fn new(reply: Reply) -> Self {
        Self {
            reply,
            prompts: Arc::default(),
            person: None,
        }
    }

    fn with_person(mut self, approves: bool) -> Self {
        self.person = Some(approves);
        self
    }
}

impl ClientHandler for Model {
    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, rmcp::ErrorData> {
        let prompt = params
            .messages
            .iter()
            .flat_map(|m| m.content.clone().into_vec())
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect::<Vec<_>>()
            .join("\n");
        self.prompts.lock().unwrap().push(prompt);
        let text = match &self.reply {
            Reply::Text(t) => t.to_string(),
            Reply::Huge => format!("SEND:{}", "x".repeat(100_000)),
            Reply::Image => {
                return serde_json::from_value(json!({
                    "model": "pretend", "role": "assistant",
                    "content": {"type": "image", "data": "AAAA", "mimeType": "image/png"}
                }))
                .map_err(|e| rmcp::ErrorData::internal_error(e.to_string(), None));
            }
            Reply::Never => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                String::new()
            }
        };
        Ok(CreateMessageResult::new(
            SamplingMessage::assistant_text(text),
            "pretend".into(),
        ))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, rmcp::ErrorData> {
        assert!(
            format!("{request:?}").contains("model proposes"),
            "{request:?}"
        );
        Ok(ElicitResult::new(ElicitationAction::Accept)
            .with_content(json!({"approve": self.person == Some(true)})))
    }

    fn get_info(&self) -> rmcp::model::ClientConfig {
        let mut caps = ClientCapabilities::default();
        caps.sampling = Some(Default::default());
        if self.person.is_some() {
            caps.elicitation = Some(Default::default());
        }
        rmcp::model::ClientConfig::new(caps, rmcp::model::Implementation::new("model", "0"))
            .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }
}

struct Run {
    result: Value,
    prompts: Vec<String>,
    audit: Vec<Value>,
}

/// A python session whose `time.sleep(100)` outlives its timeout: its
/// strategy (default-recovery) asks the LLM what to do, and `model` answers.
async fn stuck_sleep(model: Model, policy: &str) -> Run {
    let cfg = scratch("sampling");
    let file = cfg.join("policy.toml");
    std::fs::write(&file, policy).unwrap();
    let transport = server_transport(&cfg, &["--policy", file.to_str().unwrap()]);
    let client = model.clone().serve(transport).await.unwrap();
    let r = client
        .call_tool(tool("create_session", json!({"presetConfig": "python"})))
        .await
        .unwrap();
    let id = r.structured_content.unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let r = client
        .call_tool(tool(
            "send_input_to_session",
            json!({"sessionId": id, "input": "import time; time.sleep(100)", "options": {"wait_for_prompt": true, "timeout": 1000}}),
        ))
        .await
        .unwrap();
    let result = r.structured_content.unwrap();
    // The server lives on, and the session answers.
    client
        .call_tool(tool(
            "send_signal_to_session",
            json!({"sessionId": id, "signal": "SIGINT"}),
        ))
        .await
        .unwrap();
    let r = client
        .call_tool(tool(
            "send_input_to_session",
            json!({"sessionId": id, "input": "print('alive')", "options": {"wait_for_prompt": true, "timeout": 20000}}),
        ))
        .await
        .unwrap();
    assert_eq!(r.structured_content.unwrap()["output"], "alive");
    let log = cfg.join("state/repl-mcp/audit.jsonl");
    let sampled = |lines: &Vec<Value>| lines.iter().any(|l| l["origin"] == "answer:sampling");
    let mut audit = Vec::new();
    eventually(
        || {
            audit = std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            sampled(&audit)
        },
        Duration::from_secs(10),
    )
    .await;
    let _ = client.cancel().await;
    let prompts = model.prompts.lock().unwrap().clone();
    Run {
        result,
        prompts,
        audit,
    }
}

fn sampling_lines(run: &Run) -> Vec<&Value> {
    run.audit
        .iter()
        .filter(|l| l["origin"] == "answer:sampling")
        .collect()
}

#[tokio::test]
async fn the_clients_model_answers_and_its_answer_is_carried_out() {
    let run = stuck_sleep(
        Model::new(Reply::Text("It hangs; interrupt it.\nSEND:\\x03\n")),
        "",
    )
    .await;
    let r = &run.result;
    assert_eq!(r["state"], "ready", "{r:#}");
    assert!(r["output"].to_string().contains("KeyboardInterrupt"), "{r}");
    assert!(
        r["recoverySteps"]
            .to_string()
            .contains("client's model answered: SEND:\\\\x03"),
        "{r}"
    );
    let prompt = &run.prompts[0];
    for part in [
        "still running",
        "time.sleep(100)",
        "Session state: busy",
        "READY:",
        "SEND:",
        "WAIT:",
        "FAILED:",
    ] {
        assert!(prompt.contains(part), "prompt lacks {part:?}: {prompt}");
    }
    let lines = sampling_lines(&run);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["action"], "send");
    assert_eq!(lines[0]["ok"], true);
}

#[tokio::test]
async fn the_models_answer_passes_the_same_input_rules() {
    let run = stuck_sleep(Model::new(Reply::Text("SEND:rm -rf /\\n")), "").await;
    let r = &run.result;
    assert_eq!(r["pending"], true, "not carried out: {r:#}");
    assert!(
        r["recoverySteps"].to_string().contains("input.deny[0]"),
        "{r}"
    );
    assert!(
        r["question"].is_string(),
        "the agent still gets the question: {r}"
    );
    let lines = sampling_lines(&run);
    assert_eq!(lines[0]["decision"], "deny", "{lines:?}");
    assert_eq!(lines[0]["rule"], "input.deny[0]");
}

#[tokio::test]
async fn bad_replies_are_clear_errors_and_audited() {
    for (reply, says) in [
        (Reply::Text(""), "empty answer"),
        (Reply::Text("   \n"), "empty answer"),
        (Reply::Huge, "characters; at most"),
        (Reply::Image, "image content, not text"),
        (Reply::Text("I would wait a bit."), "in no known form"),
        (Reply::Text("WAIT:nan"), "WAIT needs a number"),
    ] {
        let run = stuck_sleep(Model::new(reply), "").await;
        let r = &run.result;
        assert_eq!(r["pending"], true, "{says}: {r:#}");
        assert!(r["question"].is_string(), "{says}: {r}");
        assert!(r["recoverySteps"].to_string().contains(says), "{says}: {r}");
        let lines = sampling_lines(&run);
        assert!(
            lines.iter().any(|l| l["ok"] == false
                && l["error"].as_str().unwrap_or_default().contains(says)),
            "{says}: {lines:?}"
        );
    }
}

#[tokio::test]
async fn a_client_that_never_answers_is_waited_for_a_bounded_time() {
    let run = stuck_sleep(
        Model::new(Reply::Never),
        "[sampling]\ntimeout_seconds = 2\n",
    )
    .await;
    let r = &run.result;
    assert_eq!(r["pending"], true, "{r:#}");
    assert!(
        r["recoverySteps"]
            .to_string()
            .contains("did not answer within 2 s"),
        "{r}"
    );
}

#[tokio::test]
async fn the_policy_can_turn_sampling_off_or_ask_a_person_first() {
    let run = stuck_sleep(
        Model::new(Reply::Text("SEND:\\x03")),
        "[sampling]\nmode = \"off\"\n",
    )
    .await;
    assert!(run.prompts.is_empty(), "{:?}", run.prompts);
    assert_eq!(run.result["pending"], true);

    // "ask": this client cannot answer elicitations, so nobody approves the
    // model's answer and it is not carried out.
    let run = stuck_sleep(
        Model::new(Reply::Text("SEND:\\x03")),
        "[sampling]\nmode = \"ask\"\n",
    )
    .await;
    assert_eq!(run.prompts.len(), 1);
    assert_eq!(run.result["pending"], true, "{:#}", run.result);
    let lines = sampling_lines(&run);
    assert_eq!(lines[0]["decision"], "approval_unavailable", "{lines:?}");

    // "ask" with a person behind the client: carried out once approved.
    for approves in [true, false] {
        let run = stuck_sleep(
            Model::new(Reply::Text("SEND:\\x03")).with_person(approves),
            "[sampling]\nmode = \"ask\"\n",
        )
        .await;
        assert_eq!(run.result["state"] == "ready", approves, "{:#}", run.result);
        let lines = sampling_lines(&run);
        let decision = if approves { "allow" } else { "declined" };
        assert_eq!(lines[0]["decision"], decision, "{lines:?}");
    }
}

/// The Python SDK's client, with a sampling callback that answers like a
/// model (`tests/python/sampling_client.py`).
#[test]
fn the_python_sdk_answers_sampling() {
    let have_sdk = std::process::Command::new("python3")
        .args(["-c", "import mcp.client.stdio"])
        .status()
        .is_ok_and(|s| s.success());
    if !have_sdk {
        if std::env::var_os("CI").is_some() {
            panic!("CI must run the Python SDK test: pip install mcp");
        }
        eprintln!("Python SDK test skipped: pip install mcp");
        return;
    }
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/sampling_client.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(bin())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
