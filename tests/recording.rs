//! Session transcripts (README, Transcripts): `--record-dir` and
//! `record: true` write asciicast v2 files of real sessions; secrets typed
//! with echo off never reach them; sessions not asked for leave no file.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use repl_mcp::cast::{Cast, EventCode, REDACTED};
use rmcp::ServiceExt;
use rmcp::model::{ClientCapabilities, ClientConfig as ClientInfo, Implementation};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// A server started with `--record-dir <dir>` (after `serve`).
async fn recording_server(dir: &Path) -> Server {
    let dir = dir.to_str().expect("utf-8 path");
    start_with(
        rmcp::model::ProtocolVersion::V_2025_06_18,
        &["--record-dir", dir],
    )
    .await
}

/// A server as `command` configures it (environment, options), on stdio.
async fn serve(command: tokio::process::Command) -> Client {
    let transport = TokioChildProcess::new(command).expect("spawn repl-mcp");
    ClientInfo::new(
        ClientCapabilities::default(),
        Implementation::new("repl-mcp-tests", "0"),
    )
    .serve(transport)
    .await
    .expect("MCP initialize")
}

/// Create a session; returns its id and the result.
async fn create_with(client: &Client, args: Value) -> (String, Value) {
    let (r, err) = call(client, "create_session", args).await;
    assert!(!err && r["success"] == true, "create_session: {r:#}");
    let id = r["sessionId"].as_str().expect("sessionId").to_string();
    (id, r)
}

/// The cast at `path`, parsed and checked (header, event codes, times).
fn read_cast(path: &Path) -> (String, Cast) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no cast at {}: {e}", path.display()));
    let cast = Cast::parse(&text, path).unwrap_or_else(|e| panic!("invalid cast: {e}\n{text}"));
    assert_eq!(cast.header.version, 2);
    let times: Vec<f64> = cast.events.iter().map(|e| e.time).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "times go back: {times:?}"
    );
    (text, cast)
}

/// Everything of one kind of event, joined.
fn joined(cast: &Cast, code: EventCode) -> String {
    cast.events
        .iter()
        .filter(|e| e.code == code)
        .map(|e| e.data.as_str())
        .collect()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test]
async fn record_dir_records_a_python_session() {
    if !have("python3") {
        eprintln!("python3 not installed; skipped");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let s = recording_server(dir.path()).await;
    let (id, created) = create_with(&s.client, json!({ "presetConfig": "python" })).await;
    let path = dir.path().join(format!("{id}.cast"));
    assert_eq!(created["castPath"], path.display().to_string());
    let r = eval(
        &s.client,
        &id,
        "import os; print('size', *os.get_terminal_size(), 'done ' + 'here')",
    )
    .await;
    let shown = r["output"].as_str().unwrap_or_default().to_string();
    let (d, _) = call(&s.client, "get_session_details", json!({ "sessionId": id })).await;
    assert_eq!(d["session"]["castPath"], path.display().to_string());

    // Server shutdown (stdin closed) completes the file.
    s.client.cancel().await.expect("close");
    let (_, cast) = read_cast(&path);
    let size = format!(
        "size {} {} done here",
        cast.header.width, cast.header.height
    );
    assert!(shown.contains(&size), "header {size:?}, terminal {shown:?}");
    let meta = cast.header.repl_mcp.as_ref().expect("repl_mcp header");
    assert_eq!(
        (meta.session.as_str(), meta.preset.as_str()),
        (id.as_str(), "python")
    );
    assert!(joined(&cast, EventCode::Output).contains("done here"));
    let typed = joined(&cast, EventCode::Input);
    assert!(
        typed.contains("print('size', *os.get_terminal_size(), 'done ' + 'here')"),
        "{typed:?}"
    );
    assert!(
        !typed.contains(REDACTED),
        "nothing secret was typed: {typed:?}"
    );
    assert_eq!(files_in(dir.path()), [path], "one session, one file");
}

#[tokio::test]
async fn a_password_typed_with_echo_off_is_not_recorded() {
    if !have("python3") {
        eprintln!("python3 not installed; skipped");
        return;
    }
    const SECRET: &str = "hunter2-correct-horse";
    let dir = tempfile::tempdir().expect("tempdir");
    let s = recording_server(dir.path()).await;
    let (id, _) = create_with(&s.client, json!({ "presetConfig": "python" })).await;
    let r = eval(
        &s.client,
        &id,
        "import getpass; pw = getpass.getpass('Password: ')",
    )
    .await;
    assert_eq!(r["state"], "awaiting_input", "{r:#}");
    let r = eval(&s.client, &id, SECRET).await;
    assert_eq!(r["state"], "ready", "{r:#}");
    let r = eval(&s.client, &id, "print(len(pw), pw[::-1] == pw[::-1])").await;
    let out = r["output"].as_str().unwrap_or_default();
    assert!(out.contains(&format!("{} True", SECRET.len())), "{r:#}");
    let (r, err) = call(
        &s.client,
        "destroy_repl_session",
        json!({ "sessionId": id }),
    )
    .await;
    assert!(!err, "{r}");

    let path = dir.path().join(format!("{id}.cast"));
    let (text, cast) = read_cast(&path);
    assert!(
        !text.contains(SECRET),
        "the password is in the cast:\n{text}"
    );
    assert!(!text.contains("hunter2"), "part of the password:\n{text}");
    let typed = joined(&cast, EventCode::Input);
    assert!(typed.contains(REDACTED), "{typed:?}");
    assert!(typed.contains("print(len(pw)"), "{typed:?}");
    assert!(joined(&cast, EventCode::Output).contains("Password: "));
    s.client.cancel().await.expect("close");
}

#[tokio::test]
async fn record_true_writes_into_the_state_directory_and_others_write_nothing() {
    if !have("python3") {
        eprintln!("python3 not installed; skipped");
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let cfg = home.path().join("cfg");
    let cmd = tokio::process::Command::new(bin()).configure(|cmd| {
        cmd.arg("serve").arg("--no-web-ui");
        cmd.env("HOME", home.path());
        cmd.env("XDG_CONFIG_HOME", &cfg);
        cmd.env_remove("XDG_STATE_HOME");
        cmd.env_remove("REPL_MCP_RECORD_DIR");
        cmd.env("REPL_MCP_LOG", "warn");
    });
    let client = serve(cmd).await;
    let casts = home.path().join(".local/state/repl-mcp/casts");

    let (plain, r) = create_with(&client, json!({ "presetConfig": "python" })).await;
    assert!(r.get("castPath").is_none(), "not recorded: {r:#}");
    eval(&client, &plain, "print('not ' + 'recorded')").await;
    let (rec, r) = create_with(&client, json!({ "presetConfig": "python", "record": true })).await;
    let path = casts.join(format!("{rec}.cast"));
    assert_eq!(r["castPath"], path.display().to_string());
    eval(&client, &rec, "print('rec' + 'orded')").await;
    let (d, _) = call(
        &client,
        "get_session_details",
        json!({ "sessionId": plain }),
    )
    .await;
    assert!(d["session"]["castPath"].is_null(), "{d:#}");
    for id in [&plain, &rec] {
        let (r, err) = call(&client, "destroy_repl_session", json!({ "sessionId": id })).await;
        assert!(!err, "{r}");
    }
    client.cancel().await.expect("close");

    let (_, cast) = read_cast(&path);
    assert!(joined(&cast, EventCode::Output).contains("recorded"));
    assert_eq!(files_in(&casts), [path], "only the session asked for");
    let stray: Vec<PathBuf> = walk(home.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cast"))
        .collect();
    assert_eq!(stray.len(), 1, "{stray:?}");
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in files_in(dir) {
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn the_web_views_resize_and_password_keys_are_recorded_and_its_page_offers_the_cast() {
    if !have("python3") {
        eprintln!("python3 not installed; skipped");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = scratch("rec-web");
    // The record directory through the environment; the web view on a free port.
    let cmd = tokio::process::Command::new(bin()).configure(|cmd| {
        cmd.args(["serve", "--web-port", "0"]);
        cmd.env("REPL_MCP_RECORD_DIR", dir.path());
        cmd.env("XDG_CONFIG_HOME", &cfg);
        cmd.env("XDG_STATE_HOME", cfg.join("state"));
        cmd.env("REPL_MCP_LOG", "warn");
    });
    let client = serve(cmd).await;
    let (id, r) = create_with(&client, json!({ "presetConfig": "python" })).await;
    let page = r["webUrl"].as_str().expect("webUrl").to_string();
    let ws_url = page
        .replacen("http://", "ws://", 1)
        .replacen('?', "/ws?", 1);
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url.as_str())
        .await
        .expect("web view socket");
    ws.send(Message::text(r#"{"type":"resize","cols":101,"rows":31}"#))
        .await
        .expect("send resize");
    let resized = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m
                && t.as_str().contains("\"resized\"")
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(resized, Ok(true), "no resized message");
    // readline redraws its prompt on SIGWINCH; a command typed before that
    // would take the redrawn prompt for its answer. (No redraw: go on.)
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Binary(b) = m
                && b.windows(4).any(|w| w == b">>> ")
            {
                return;
            }
        }
    })
    .await;
    let r = eval(&client, &id, "import os; print(*os.get_terminal_size())").await;
    assert!(
        r["output"].as_str().unwrap_or_default().contains("101 31"),
        "{r:#}"
    );

    // A person types a password in the page, a key at a time.
    const SECRET: &str = "web-pass-7781";
    let r = eval(
        &client,
        &id,
        "import getpass; pw = getpass.getpass('Password: ')",
    )
    .await;
    assert_eq!(r["state"], "awaiting_input", "{r:#}");
    for key in SECRET.bytes().chain([b'\r']) {
        ws.send(Message::binary(vec![key]))
            .await
            .expect("send a key");
    }
    // The page hears of the question, then (after the Enter) of the prompt;
    // a "ready" before the question is the previous command's.
    let answered = tokio::time::timeout(Duration::from_secs(20), async {
        let mut asked = false;
        while let Some(Ok(m)) = ws.next().await {
            let Message::Text(t) = m else { continue };
            asked |= t.as_str().contains("\"state\":\"awaiting_input\"");
            if asked && t.as_str().contains("\"state\":\"ready\"") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(answered, Ok(true), "no prompt after the password");
    let r = eval(&client, &id, "print(len(pw) * 1000)").await;
    let out = r["output"].as_str().unwrap_or_default();
    assert!(out.contains(&(SECRET.len() * 1000).to_string()), "{r:#}");

    // The page links the cast, and the link serves it while the session lives.
    let token = page.split("token=").nth(1).expect("token");
    let (status, body) = http_get(&page, &format!("/s/{id}/cast?token={token}")).await;
    assert_eq!(status, 200, "{body}");
    let live = Cast::parse(&body, Path::new("download")).expect("a valid cast");
    assert!(joined(&live, EventCode::Output).contains(">>> "));
    drop(ws);
    client.cancel().await.expect("close");

    let (text, cast) = read_cast(&dir.path().join(format!("{id}.cast")));
    let sizes: Vec<(u16, u16)> = cast.events.iter().filter_map(|e| e.size()).collect();
    assert!(sizes.contains(&(101, 31)), "{text}");
    assert!(joined(&cast, EventCode::Output).contains("101 31"));
    assert!(
        !text.contains("web-pass"),
        "the password is in the cast:\n{text}"
    );
    let keys = joined(&cast, EventCode::Input);
    assert!(
        !keys.contains("web-pass") && !keys.contains("7781"),
        "{keys:?}"
    );
    let typed: Vec<&str> = cast
        .events
        .iter()
        .filter(|e| e.code == EventCode::Input)
        .map(|e| e.data.as_str())
        .collect();
    let at = typed.iter().position(|i| *i == REDACTED);
    assert!(at.is_some(), "{typed:?}");
    assert_eq!(
        typed.iter().filter(|i| i.contains(REDACTED)).count(),
        1,
        "one `********` for the keys of one password: {typed:?}"
    );
    assert_eq!(at.and_then(|i| typed.get(i + 1)), Some(&"\r"), "{typed:?}");
}

#[test]
fn a_record_dir_that_cannot_be_created_stops_the_server_naming_it() {
    let cfg = scratch("rec-bad");
    let file = cfg.join("a-file");
    std::fs::write(&file, "").expect("write");
    let bad = file.join("casts");
    let out = std::process::Command::new(bin())
        .args(["--record-dir"])
        .arg(&bad)
        .args(["serve", "--no-web-ui"])
        .env("XDG_CONFIG_HOME", &cfg)
        .env("XDG_STATE_HOME", cfg.join("state"))
        .env("RUST_BACKTRACE", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run repl-mcp");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started anyway: {stderr}");
    assert!(stderr.contains(&bad.display().to_string()), "{stderr}");
    assert!(out.stdout.is_empty(), "stdout is the protocol's");
}
