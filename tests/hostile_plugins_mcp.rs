//! Hostile plugins installed the way a user would, driven through the real
//! server: whatever a plugin does, its session keeps answering (the preset's
//! regexes take over) and other sessions are untouched.

mod common;
mod support;

use std::path::Path;

use common::*;
use rmcp::ServiceExt;
use serde_json::json;
use support::wat::{Bodies, install_python_plugin};

const LOOP: &str = "(loop $l (br $l)) (i32.const 0)";
const MEMORY_BOMB: &str = "(loop $l (drop (memory.grow (i32.const 16))) (br $l)) (i32.const 0)";
const TRAP: &str = "unreachable";
/// A prompt kind that does not exist.
const BAD_ENUM: &str = "(i32.store8 (i32.const 256) (i32.const 1)) (i32.store8 (i32.const 260) (i32.const 9)) (i32.const 256)";
/// `option<decision>` = some(send-signal("KILL")): not in its capabilities.
const SIGKILL: &str = "(i32.store8 (i32.const 256) (i32.const 1)) (i32.store8 (i32.const 264) (i32.const 2)) (i32.store (i32.const 1024) (i32.const 0x4c4c494b)) (i32.store (i32.const 272) (i32.const 1024)) (i32.store (i32.const 276) (i32.const 4)) (i32.const 256)";

/// Install plugin `id` in the user's config dir, and a python preset of the
/// same name that uses it.
fn install(config: &Path, id: &str, bodies: &Bodies) {
    let limits = "[limits]\ndeadline_ms = 100\nmemory_mib = 4\n[capabilities]\nmay_ask_llm = true";
    install_python_plugin(config, id, bodies, limits);
}

#[tokio::test]
async fn hostile_plugins_never_take_a_session_or_the_server_down() {
    let config = scratch("hostile");
    let detect = |body: &'static str| Bodies {
        detect: body,
        ..Bodies::default()
    };
    install(&config, "spinner", &detect(LOOP));
    install(&config, "bomb", &detect(MEMORY_BOMB));
    install(&config, "trapper", &detect(TRAP));
    install(&config, "garbage", &detect(BAD_ENUM));
    install(
        &config,
        "overreach",
        &Bodies {
            on_timeout: SIGKILL,
            ..Bodies::default()
        },
    );
    install(
        &config,
        "wasi-user",
        &Bodies {
            imports: r#"(import "wasi:filesystem/types@0.2.0" (instance))"#,
            ..Bodies::default()
        },
    );
    let cfg = config.clone();
    let transport = server_transport(&cfg, &[]);
    let client = ().serve(transport).await.unwrap();
    let call = |tool: &'static str, args: serde_json::Value| {
        let client = &client;
        async move {
            let serde_json::Value::Object(args) = args else {
                unreachable!()
            };
            let r = client
                .call_tool(rmcp::model::CallToolRequestParams::new(tool).with_arguments(args))
                .await
                .expect("the server answers");
            r.structured_content.expect("structured")
        }
    };
    let eval = |id: String, input: &'static str, timeout: u64| {
        call(
            "send_input_to_session",
            json!({"sessionId": id, "input": input, "options": {"wait_for_prompt": true, "timeout": timeout}}),
        )
    };

    let healthy = call("create_session", json!({"presetConfig": "python"})).await["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    eval(healthy.clone(), "x = 1", 20000).await;

    for id in ["spinner", "bomb", "trapper", "garbage"] {
        let created = call("create_session", json!({"presetConfig": id})).await;
        assert_eq!(created["success"], true, "{id}: {created:#}");
        let sid = created["sessionId"].as_str().unwrap().to_string();
        let r = eval(sid.clone(), "print(6*7)", 20000).await;
        assert_eq!(r["output"], "42", "{id}: {r:#}");
        let d = call("get_session_details", json!({"sessionId": sid})).await;
        let plugin = d["session"]["strategyPlugin"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(plugin, format!("{id} (disabled)"), "{id}: {d:#}");
    }

    // A decision outside the plugin's capabilities is refused: nothing is killed.
    let sid = call("create_session", json!({"presetConfig": "overreach"})).await["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let r = eval(sid.clone(), "import time; time.sleep(0.5)", 100).await;
    assert_eq!(r["pending"], true, "{r:#}");
    let r = call("wait_for_session", json!({"sessionId": sid, "seconds": 10})).await;
    assert_eq!(r["state"], "ready", "the REPL was not killed: {r:#}");

    // A plugin importing WASI is refused at load; its preset runs on regexes.
    let created = call("create_session", json!({"presetConfig": "wasi-user"})).await;
    let sid = created["sessionId"].as_str().unwrap().to_string();
    assert_eq!(eval(sid.clone(), "print(1+1)", 20000).await["output"], "2");
    let d = call("get_session_details", json!({"sessionId": sid})).await;
    assert!(d["session"]["strategyPlugin"].is_null(), "{d:#}");

    // And the first session never noticed any of it.
    assert_eq!(eval(healthy, "print(x + 1)", 20000).await["output"], "2");
}
