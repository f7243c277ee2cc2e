//! `--persist`: a strategy's question goes through sampling to the model of
//! the client that made the call, never to another front on the same
//! daemon (README, "Sessions that survive restarts").
#![allow(deprecated)] // sampling is deprecated by SEP-2577, and still what clients speak

mod common;
#[path = "persist/world.rs"]
mod world;

use std::sync::{Arc, Mutex};

use common::tool;
use rmcp::model::{
    ClientCapabilities, CreateMessageRequestParams, CreateMessageResult, ProtocolVersion,
    SamplingMessage,
};
use rmcp::service::RequestContext;
use rmcp::service::RunningService;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use world::World;

/// A client whose model answers every sampling request with `answer` and
/// counts the requests it got.
#[derive(Clone)]
struct Model {
    answer: &'static str,
    asked: Arc<Mutex<usize>>,
}

impl ClientHandler for Model {
    async fn create_message(
        &self,
        _params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, rmcp::ErrorData> {
        *self
            .asked
            .lock()
            .map_err(|_| rmcp::ErrorData::internal_error("poisoned", None))? += 1;
        Ok(CreateMessageResult::new(
            SamplingMessage::assistant_text(self.answer),
            "pretend-model".into(),
        ))
    }

    fn get_info(&self) -> rmcp::model::ClientConfig {
        let mut caps = ClientCapabilities::default();
        caps.sampling = Some(Default::default());
        // Sampling within a call is a 2025 protocol feature.
        rmcp::model::ClientConfig::new(
            caps,
            rmcp::model::Implementation::new("persist-sampling", "0"),
        )
        .with_protocol_version(ProtocolVersion::V_2025_11_25)
    }
}

/// A tool call's structured result.
async fn call(client: &RunningService<RoleClient, Model>, name: &str, args: Value) -> Value {
    let r = client
        .call_tool(tool(name, args))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    r.structured_content
        .unwrap_or_else(|| panic!("{name}: no structured content"))
}

#[tokio::test]
async fn sampling_reaches_the_front_that_made_the_call() {
    let world = World::new("persist-sampling");
    let asker = Model {
        answer: "It hangs.\nSEND:\\x03\n",
        asked: Arc::default(),
    };
    let bystander = Model {
        answer: "FAILED:wrong front",
        asked: Arc::default(),
    };
    let a = asker
        .clone()
        .serve(world.transport(&[]))
        .await
        .expect("front A");
    let b = bystander
        .clone()
        .serve(world.transport(&[]))
        .await
        .expect("front B");
    let r = call(&a, "create_session", json!({"presetConfig": "python"})).await;
    let id = r["sessionId"].as_str().expect("sessionId").to_string();
    let r = call(
        &a,
        "send_input_to_session",
        json!({"sessionId": id, "input": "import time; time.sleep(100)",
               "options": {"wait_for_prompt": true, "timeout": 1000}}),
    )
    .await;
    assert_eq!(r["state"], "ready", "{r:#}");
    assert!(
        r["output"].to_string().contains("KeyboardInterrupt"),
        "{r:#}"
    );
    assert!(
        *asker.asked.lock().expect("count") >= 1,
        "front A's model was not asked"
    );
    assert_eq!(
        *bystander.asked.lock().expect("count"),
        0,
        "front B's model was asked"
    );
    // Front B sees the session, still alive and usable.
    let r = call(
        &b,
        "send_input_to_session",
        json!({"sessionId": id, "input": "print('both')", "options": {"wait_for_prompt": true}}),
    )
    .await;
    assert_eq!(r["output"], "both", "{r:#}");
    let _ = a.cancel().await;
    let _ = b.cancel().await;
}
