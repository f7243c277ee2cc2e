//! Process hygiene and transports: no orphans, nothing but protocol on
//! stdout, streamable HTTP.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

async fn bash_with_children(c: &Client) -> (String, i32) {
    let id = create(c, "bash").await;
    // A background job (its own process group) and a foreground one.
    eval(c, &id, "sleep 1000 & sleep 1001 &").await;
    let (d, _) = call(c, "get_session_details", json!({"sessionId": id})).await;
    let pid = d["session"]["pid"].as_i64().unwrap() as i32;
    assert!(
        session_members(pid).len() >= 3,
        "bash and two sleeps expected"
    );
    (id, pid)
}

#[tokio::test]
async fn destroy_ends_the_whole_session() {
    let s = start().await;
    let (id, sid) = bash_with_children(&s.client).await;
    let (r, err) = call(&s.client, "destroy_repl_session", json!({"sessionId": id})).await;
    assert!(!err, "{r}");
    assert!(
        session_members(sid).is_empty(),
        "left behind: {:?}",
        session_members(sid)
    );
    let (r, err) = call(&s.client, "destroy_repl_session", json!({"sessionId": id})).await;
    assert!(err && r["success"] == false);
}

#[tokio::test]
async fn closing_stdin_ends_every_session() {
    let s = start().await;
    let (_, sid) = bash_with_children(&s.client).await;
    s.client.cancel().await.expect("close");
    assert!(eventually(|| session_members(sid).is_empty(), Duration::from_secs(10)).await);
}

#[tokio::test]
async fn kill_9_of_the_server_leaves_no_orphans() {
    let s = start().await;
    let (_, sid) = bash_with_children(&s.client).await;
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(s.pid as i32, libc::SIGKILL) };
    assert!(
        eventually(|| session_members(sid).is_empty(), Duration::from_secs(10)).await,
        "orphans: {:?}",
        session_members(sid)
    );
}

/// Speak raw JSON-RPC over stdio: every line on stdout must be protocol,
/// and malformed input must get an error, not a crash.
#[test]
fn stdout_carries_only_protocol() {
    let cfg = scratch("stdout");
    let mut child = Command::new(bin())
        .args(["--no-web-ui"])
        .env("XDG_CONFIG_HOME", &cfg)
        .env("REPL_MCP_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut send = |v: &str| {
        stdin.write_all(v.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    };
    let mut read = || {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        serde_json::from_str::<Value>(&line)
            .unwrap_or_else(|e| panic!("non-protocol line on stdout {line:?}: {e}"))
    };
    send(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#,
    );
    assert_eq!(read()["id"], 1);
    send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    send(
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_session","arguments":{"presetConfig":"python"}}}"#,
    );
    let created = read();
    let id = created["result"]["structuredContent"]["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    send(&format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"send_input_to_session","arguments":{{"sessionId":"{id}","input":"print('x'*10)","options":{{"wait_for_prompt":true}}}}}}}}"#
    ));
    assert_eq!(
        read()["result"]["structuredContent"]["output"],
        "xxxxxxxxxx"
    );
    send(
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"send_input_to_session","arguments":{"sessionId":7}}}"#,
    );
    let mistyped = read();
    assert!(
        mistyped["error"].is_object() || mistyped["result"]["isError"] == true,
        "mistyped arguments must be refused: {mistyped}"
    );
    // Garbage on the wire does not kill the server.
    send("{this is not json");
    send(r#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#);
    let mut reply = read();
    while reply["id"] != 5 {
        reply = read();
    }
    assert!(reply["result"]["tools"].is_array());
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    for line in rest.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("non-protocol line {line:?}: {e}"));
    }
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn streamable_http_serves_the_same_tools() {
    use rmcp::ServiceExt;
    use rmcp::transport::StreamableHttpClientTransport;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = scratch("http");
    let mut server = Command::new(bin())
        .args([
            "serve",
            "--no-web-ui",
            "--http",
            &format!("127.0.0.1:{port}"),
            "--token",
            "t0ken",
        ])
        .env("XDG_CONFIG_HOME", &cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/mcp");
    assert!(
        eventually(
            || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            Duration::from_secs(10)
        )
        .await
    );
    // Without the token: refused.
    let anon = ().serve(StreamableHttpClientTransport::from_uri(url.clone())).await;
    assert!(
        anon.is_err(),
        "a request without the bearer token must be refused"
    );
    let transport = StreamableHttpClientTransport::from_config(
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(url)
            .auth_header("t0ken"),
    );
    let client = ().serve(transport).await.expect("initialize over HTTP");
    let mut args = serde_json::Map::new();
    args.insert("presetConfig".into(), json!("python"));
    let r = client
        .call_tool(rmcp::model::CallToolRequestParams::new("create_session").with_arguments(args))
        .await
        .unwrap();
    let id = r.structured_content.unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut args = serde_json::Map::new();
    args.insert("sessionId".into(), json!(id));
    args.insert("input".into(), json!("print(40+2)"));
    args.insert("options".into(), json!({"wait_for_prompt": true}));
    let r = client
        .call_tool(
            rmcp::model::CallToolRequestParams::new("send_input_to_session").with_arguments(args),
        )
        .await
        .unwrap();
    assert_eq!(r.structured_content.unwrap()["output"], "42");
    // SAFETY: signal our own child.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    assert!(server.wait().unwrap().success());
}

#[test]
fn http_off_loopback_needs_a_token() {
    let out = Command::new(bin())
        .args(["serve", "--no-web-ui", "--http", "0.0.0.0:0"])
        .env_remove("REPL_MCP_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bearer token"));
    assert!(out.stdout.is_empty());
}
