//! Bad input never takes the server down: random tool arguments (wrong
//! types, odd numbers, unknown sessions) and random answers to recovery
//! questions each get a response — a result or a protocol error — and the
//! server, and the session under it, live on. Plus the options-before-serve
//! fix, end to end.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

/// Values of every JSON type, odd numbers first.
fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(-5)),
        Just(json!(-0.5)),
        Just(json!(0)),
        Just(json!(1.5)),
        Just(json!(1e300)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!("nan")),
        Just(json!("inf")),
        Just(json!(null)),
        Just(json!(true)),
        Just(json!([])),
        Just(json!({})),
        "[a-z ]{0,12}".prop_map(Value::from),
    ]
}

/// Answers in and out of the grammar (never a long wait, never a command
/// that does anything: SEND text is a comment).
fn answer() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just("WAIT:nan".to_string()),
        Just("WAIT:inf".to_string()),
        Just("WAIT:-inf".to_string()),
        Just("WAIT:-5".to_string()),
        Just("WAIT:1e400".to_string()),
        Just("WAIT:0".to_string()),
        Just("WAIT:".to_string()),
        Just("READY:".to_string()),
        Just("READY:>>> ".to_string()),
        Just("".to_string()),
        "[a-z]{0,8}:[a-z0-9.]{0,8}".prop_map(|s| s),
        "[a-z0-9 ]{0,12}".prop_map(|s| format!("SEND:# {s}\\n")),
        "\\PC{0,20}".prop_map(|s| format!("WAIT:{s}")),
    ]
    .prop_map(Value::from)
}

/// Arguments for any tool: the right keys with odd values, for the live
/// session or an unknown one.
fn arguments(id: String) -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just(json!(id)), Just(json!("no-such-session")), odd_value()],
        odd_value(),
        odd_value(),
        odd_value(),
        answer(),
        prop::option::of("[a-z0-9 ]{0,10}".prop_map(|s| json!(format!("# {s}")))),
    )
        .prop_map(|(session, a, b, c, answer, input)| {
            json!({
                "sessionId": session,
                "input": input.unwrap_or(a.clone()),
                "options": {"timeout": b, "settle_ms": c, "wait_for_prompt": a, "add_newline": b},
                "seconds": c,
                "answer": answer,
                "signal": b,
                "pattern": a,
                "offset": b,
                "limit": c,
                "since": a,
                "fullText": b,
                "presetConfig": a,
            })
        })
}

/// What an error result says: its structured `error`, else its text.
fn error_text(result: &rmcp::model::CallToolResult) -> String {
    if let Some(e) = result
        .structured_content
        .as_ref()
        .and_then(|v| v["error"].as_str())
    {
        return e.to_string();
    }
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread")]
async fn random_arguments_and_answers_never_take_the_server_down() {
    let s = start().await;
    let id = create(&s.client, "python").await;
    let client = &s.client;
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let mut names = TOOLS.to_vec();
    names.push("no_such_tool");
    let strategy = (prop::sample::select(names), arguments(id.clone()));
    let mut calls = Vec::new();
    for _ in 0..96 {
        let tree = strategy.new_tree(&mut runner).expect("generate arguments");
        calls.push(tree.current());
    }
    for (i, (tool, args)) in calls.into_iter().enumerate() {
        // Keep the live session alive for the next cases.
        if matches!(tool, "destroy_repl_session" | "mark_session_failed")
            || (tool == "send_signal_to_session" && args["signal"] == "SIGKILL")
        {
            continue;
        }
        let mut args = args;
        // Every other create_session is a customConfig with an odd
        // timeout (a null one starts a harmless bash).
        if tool == "create_session" {
            args["customConfig"] = if i % 2 == 0 {
                json!(null)
            } else {
                if let Some(map) = args.as_object_mut() {
                    map.remove("presetConfig");
                }
                json!({"shell": "bash", "timeout": args["options"]["timeout"].clone()})
            };
        }
        let request = common::tool(tool, args.clone());
        let answered = tokio::time::timeout(Duration::from_secs(60), client.call_tool(request))
            .await
            .unwrap_or_else(|_| panic!("no response to {tool} {args}"));
        if let Ok(result) = answered
            && result.is_error == Some(true)
        {
            let error = error_text(&result);
            assert!(
                !error.is_empty(),
                "{tool} {args}: an error says why: {result:?}"
            );
        }
    }
    // Still alive, and so is the session.
    let (r, _) = call(
        client,
        "send_input_to_session",
        json!({"sessionId": id, "input": "\u{3}", "options": {"add_newline": false}}),
    )
    .await;
    assert!(r["state"].is_string(), "{r}");
    let r = eval(client, &id, "print(6*7)").await;
    assert_eq!(r["output"], "42", "{r}");
}

#[tokio::test]
async fn odd_numbers_are_clear_errors() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    for answer in ["WAIT:nan", "WAIT:inf", "WAIT:-5", "WAIT:3601", "WAIT:1e400"] {
        let (r, err) = call(
            c,
            "answer_session_question",
            json!({"sessionId": id, "answer": answer}),
        )
        .await;
        let error = r["error"].as_str().unwrap_or_default();
        assert!(
            err && error.contains("WAIT needs a number"),
            "{answer}: {r}"
        );
    }
    for seconds in [json!(-1), json!(86_401), json!(1e300)] {
        let (r, err) = call(
            c,
            "wait_for_session",
            json!({"sessionId": id, "seconds": seconds}),
        )
        .await;
        assert!(
            err && r["error"].as_str().unwrap_or_default().contains("seconds"),
            "{seconds}: {r}"
        );
    }
    for options in [
        json!({"timeout": 0}),
        json!({"timeout": 86_400_001u64}),
        json!({"settle_ms": 60_001}),
    ] {
        let (r, err) = call(
            c,
            "send_input_to_session",
            json!({"sessionId": id, "input": "1", "options": options}),
        )
        .await;
        assert!(
            err && r["error"].as_str().unwrap_or_default().contains("options."),
            "{options}: {r}"
        );
    }
    // A negative or fractional timeout is not a u64: refused by the
    // parameters' own check, saying what it expected.
    for timeout in [json!(-5), json!(1.5), json!("soon")] {
        let request = common::tool(
            "send_input_to_session",
            json!({"sessionId": id, "input": "1", "options": {"timeout": timeout}}),
        );
        let text = match c.call_tool(request).await {
            Ok(r) => {
                assert_eq!(r.is_error, Some(true), "{timeout}: {r:?}");
                error_text(&r)
            }
            Err(e) => e.to_string(),
        };
        assert!(text.contains("expected u64"), "{timeout}: {text}");
    }
    // A session's own timeout: out of range is an error, never a clamp.
    for timeout in [json!(0), json!(u64::MAX), json!(86_400_001u64)] {
        let (r, err) = call(
            c,
            "create_session",
            json!({"customConfig": {"shell": "bash", "timeout": timeout}}),
        )
        .await;
        let error = r["error"].as_str().unwrap_or_default();
        assert!(
            err && error.contains("customConfig.timeout") && error.contains("86400000"),
            "{timeout}: {r}"
        );
    }
    assert_eq!(eval(c, &id, "print(1)").await["output"], "1");
}

#[tokio::test]
async fn answers_cannot_type_what_the_agent_may_not() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "bash").await;
    let (r, err) = call(
        c,
        "answer_session_question",
        json!({"sessionId": id, "answer": "SEND:rm -rf /\\n"}),
    )
    .await;
    assert!(err && r["rule"] == "input.deny[0]", "{r}");
    // In pieces, too: the first half typed by the agent, the rest answered.
    let r = eval_opts(c, &id, "echo rm -rf ", json!({"add_newline": false})).await;
    assert!(r["success"] == true, "{r}");
    let (r, err) = call(
        c,
        "answer_session_question",
        json!({"sessionId": id, "answer": "SEND:\\x15rm -rf /\\n"}),
    )
    .await;
    assert!(err && r["rule"] == "input.deny[0]", "{r}");
}

/// `repl-mcp <args>` serving HTTP: the child, its address, and its log so far.
async fn http_server(args: &[&str]) -> (tokio::process::Child, String, Vec<String>) {
    use tokio::io::AsyncBufReadExt;
    let cfg = scratch("http");
    let mut child = tokio::process::Command::new(bin())
        .args(args)
        .env("XDG_CONFIG_HOME", &cfg)
        .env("XDG_STATE_HOME", cfg.join("state"))
        .env("REPL_MCP_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = Vec::new();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push(line.clone());
            if let Some(url) = line.split("MCP streamable HTTP on http://").nth(1) {
                return url.trim_end_matches("/mcp").to_string();
            }
        }
        String::new()
    })
    .await
    .unwrap_or_default();
    assert!(!addr.is_empty(), "no HTTP address: {seen:#?}");
    // Keep draining the log so the server never blocks on it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr, seen)
}

#[tokio::test]
async fn options_before_serve_count() {
    // `--no-web-ui` before `serve`: no web view is started (it would log its
    // address first), and the HTTP endpoint given after `serve` is served.
    let (mut child, _, seen) =
        http_server(&["--no-web-ui", "serve", "--http", "127.0.0.1:0"]).await;
    assert!(
        !seen.iter().any(|l| l.contains("web view:")),
        "the web view started: {seen:#?}"
    );
    let _ = child.kill().await;
}

/// One raw HTTP POST to /mcp; the status line and body.
async fn post(addr: &str, body: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response.lines().next().unwrap_or_default().to_string();
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

#[tokio::test]
async fn malformed_json_rpc_over_http_gets_a_json_rpc_error() {
    let (mut child, addr, _) =
        http_server(&["serve", "--no-web-ui", "--http", "127.0.0.1:0"]).await;
    for (body, code) in [
        ("{not json", -32700),
        ("", -32700),
        ("[1, 2, 3]", -32600),
        ("[]", -32600),
        (
            "{\"jsonrpc\": \"1.0\", \"id\": 1, \"method\": \"tools/list\"}",
            -32600,
        ),
        ("\"hello\"", -32600),
    ] {
        let (status, reply) = post(&addr, body).await;
        assert!(status.contains(" 400 "), "{body:?}: {status}");
        let reply: Value = serde_json::from_str(&reply).unwrap_or_else(|e| panic!("{e}: {reply}"));
        assert_eq!(reply["error"]["code"], code, "{body:?}: {reply}");
    }
    // The server still serves a real client.
    let (status, reply) = post(
        &addr,
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#,
    )
    .await;
    assert!(
        status.contains(" 200 ") && reply.contains("repl-mcp"),
        "{status} {reply}"
    );
    let _ = child.kill().await;
}

#[tokio::test]
async fn a_password_typed_at_a_password_prompt_is_not_audited_in_clear() {
    let s = start().await;
    let c = &s.client;
    let id = create(c, "python").await;
    let r = eval(
        c,
        &id,
        "import getpass; pw = getpass.getpass(); print('got', len(pw))",
    )
    .await;
    assert_eq!(
        (r["state"].as_str(), r["awaitingInput"].as_str()),
        (Some("awaiting_input"), Some("password")),
        "{r:#}"
    );
    let r = eval(c, &id, "hunter2").await;
    assert!(r["output"].to_string().contains("got 7"), "{r}");
    let log = s.config_home.join("state/repl-mcp/audit.jsonl");
    let mut text = String::new();
    eventually(
        || {
            text = std::fs::read_to_string(&log).unwrap_or_default();
            text.contains("secret of 7 characters")
        },
        Duration::from_secs(10),
    )
    .await;
    assert!(text.contains("secret of 7 characters"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}
