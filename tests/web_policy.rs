//! A person typing in the web view meets the policy's input rules (DESIGN
//! decision 12), through the real binary and its WebSocket: keys reach the
//! terminal as typed, a refused line's Enter never does (the line is
//! killed and the page told why), every line leaves one audit line with
//! origin `web`, a secret only as its length. A read-only page types
//! nothing, and where the policy denies `send_input_to_session` every page
//! is read-only.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use rmcp::ServiceExt;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(20);

/// The word the policy refuses: a line that contains it must not run.
const DENIED: &str = "forbidden_marker";

/// The web view's socket for a page URL.
async fn open_page(page: &str) -> Ws {
    let url = page
        .replacen("http://", "ws://", 1)
        .replacen('?', "/ws?", 1);
    let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("web view socket");
    ws
}

/// Type `keys` one frame per key, as a person's page sends them.
async fn type_keys(ws: &mut Ws, keys: &[u8]) {
    for key in keys {
        ws.send(Message::binary(vec![*key])).await.expect("a key");
    }
}

/// Text messages until one of type `kind` (collected, in order).
async fn until_message(ws: &mut Ws, kind: &str) -> Value {
    let wanted = format!("\"type\":\"{kind}\"");
    let found = tokio::time::timeout(WAIT, async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m
                && t.as_str().contains(&wanted)
            {
                return serde_json::from_str(t.as_str()).ok();
            }
        }
        None
    })
    .await;
    found
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no {kind} message"))
}

/// A Python line that creates `dir/name` (containing `text`) when it runs.
fn touch(dir: &Path, name: &str, text: &str) -> String {
    format!("open(r'{}', 'w').write('{text}')", dir.join(name).display())
}

fn audit_lines(config: &Path) -> Vec<Value> {
    std::fs::read_to_string(config.join("state/repl-mcp/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

async fn exists_soon(path: &Path) -> bool {
    eventually(|| path.exists(), WAIT).await
}

/// `repl-mcp serve` with the web view and `policy_text` as its policy, in
/// a scratch config `cfg`, logging at `log`.
fn server_command(cfg: &Path, policy_text: &str, log: &str) -> tokio::process::Command {
    let policy = cfg.join("policy.toml");
    std::fs::write(&policy, policy_text).expect("policy");
    let (cfg, log) = (cfg.to_path_buf(), log.to_string());
    tokio::process::Command::new(bin()).configure(move |cmd| {
        cmd.args(["serve", "--web-port", "0", "--policy"]);
        cmd.arg(&policy);
        cmd.env("XDG_CONFIG_HOME", &cfg);
        cmd.env("XDG_STATE_HOME", cfg.join("state"));
        cmd.env("XDG_CACHE_HOME", cfg.join("cache"));
        cmd.env("REPL_MCP_LOG", &log);
    })
}

#[tokio::test]
async fn a_line_typed_in_the_page_meets_the_input_rules_and_is_audited() {
    if !have("python3") {
        eprintln!("python3 not installed; skipped");
        return;
    }
    let cfg = scratch("web-policy");
    let out = cfg.join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    let cmd = server_command(&cfg, &format!("[input]\ndeny = ['{DENIED}']\n"), "warn");
    let client = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("web-policy", "0"),
    )
    .serve(TokioChildProcess::new(cmd).expect("spawn repl-mcp"))
    .await
    .expect("MCP initialize");
    let (r, err) = call(&client, "create_session", json!({"presetConfig": "python"})).await;
    assert!(!err, "{r:#}");
    let id = r["sessionId"].as_str().expect("sessionId").to_string();
    let page = r["webUrl"].as_str().expect("webUrl").to_string();
    let read_only = r["webUrlReadOnly"]
        .as_str()
        .expect("read-only url")
        .to_string();
    let mut ws = open_page(&page).await;
    until_message(&mut ws, "hello").await;

    // A refused line typed key by key: its Enter never reaches Python.
    let denied = touch(&out, "denied", DENIED);
    type_keys(&mut ws, format!("{denied}\r").as_bytes()).await;
    let refused = until_message(&mut ws, "refused").await;
    let why = refused["message"].as_str().unwrap_or_default();
    assert!(why.contains("input.deny[0]"), "{refused}");
    // The next line runs, and runs alone: had the refused line stayed on
    // Python's line, the two would be one line and a syntax error.
    type_keys(
        &mut ws,
        format!("{}\r", touch(&out, "allowed", "ok")).as_bytes(),
    )
    .await;
    assert!(
        exists_soon(&out.join("allowed")).await,
        "the allowed line did not run"
    );
    assert!(!out.join("denied").exists(), "a refused line ran");

    // The word put together with an arrow key, not in the keys' order: the
    // keys are replayed as a line editor would, as the agent's input is.
    let edited = touch(&out, "edited", "_marker");
    let mut keys = edited.into_bytes();
    for _ in 0.."_marker')".len() {
        keys.extend_from_slice(b"\x1b[D");
    }
    keys.extend_from_slice(b"forbidden\r");
    type_keys(&mut ws, &keys).await;
    let refused = until_message(&mut ws, "refused").await;
    let why = refused["message"].as_str().unwrap_or_default();
    assert!(why.contains(DENIED), "{refused}");

    // The word completed by the program (Tab): only the screen shows it.
    let r = eval(&client, &id, "globals()['forbidden' + '_marker_x'] = 'x'").await;
    assert_eq!(r["state"], "ready", "{r:#}");
    let completed = format!(
        "open(r'{}', 'w').write(forbidden_m\t",
        out.join("completed").display()
    );
    type_keys(&mut ws, completed.as_bytes()).await;
    type_keys(&mut ws, b")\r").await;
    let refused = until_message(&mut ws, "refused").await;
    let why = refused["message"].as_str().unwrap_or_default();
    assert!(why.contains(DENIED), "{refused}");

    type_keys(
        &mut ws,
        format!("{}\r", touch(&out, "after", "ok")).as_bytes(),
    )
    .await;
    assert!(
        exists_soon(&out.join("after")).await,
        "the line after did not run"
    );
    assert!(
        !out.join("edited").exists(),
        "a line edited with arrows ran"
    );
    assert!(!out.join("completed").exists(), "a completed line ran");

    // A read-only page types nothing.
    let mut watcher = open_page(&read_only).await;
    until_message(&mut watcher, "hello").await;
    type_keys(
        &mut watcher,
        format!("{}\r", touch(&out, "watcher", "x")).as_bytes(),
    )
    .await;
    type_keys(
        &mut ws,
        format!("{}\r", touch(&out, "last", "ok")).as_bytes(),
    )
    .await;
    assert!(
        exists_soon(&out.join("last")).await,
        "the last line did not run"
    );
    assert!(!out.join("watcher").exists(), "a read-only page typed");

    // A secret typed in the page is audited as its length. (The last
    // line's prompt first: the file exists a moment before it.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    call(
        &client,
        "wait_for_session",
        json!({"sessionId": id, "seconds": 5}),
    )
    .await;
    const SECRET: &str = "web-secret-42";
    let r = eval(
        &client,
        &id,
        "import getpass; pw = getpass.getpass('Password: ')",
    )
    .await;
    assert_eq!(r["state"], "awaiting_input", "{r:#}");
    type_keys(&mut ws, format!("{SECRET}\r").as_bytes()).await;
    // The page hears of the question, then (after the Enter) of the prompt.
    let answered = tokio::time::timeout(WAIT, async {
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
    let shown = r["output"].as_str().unwrap_or_default();
    assert!(shown.contains(&(SECRET.len() * 1000).to_string()), "{r:#}");
    drop((ws, watcher));
    client.cancel().await.expect("close");

    // One audit line per line ended in the page, in order.
    let mut web = Vec::new();
    eventually(
        || {
            web = audit_lines(&cfg)
                .into_iter()
                .filter(|l| l["origin"] == "web")
                .collect();
            web.len() >= 7
        },
        WAIT,
    )
    .await;
    let summary: Vec<(String, Option<bool>)> = web
        .iter()
        .map(|l| {
            (
                l["decision"].as_str().unwrap_or_default().to_string(),
                l["ok"].as_bool(),
            )
        })
        .collect();
    let deny = ("deny".to_string(), Some(false));
    let allow = ("allow".to_string(), Some(true));
    assert_eq!(
        summary,
        vec![
            deny.clone(),
            allow.clone(),
            deny.clone(),
            deny,
            allow.clone(),
            allow.clone(),
            allow
        ],
        "{web:#?}"
    );
    assert!(
        web.iter()
            .all(|l| l["tool"] == "web" && l["session_id"] == id.as_str())
    );
    assert_eq!(web[0]["rule"], "input.deny[0]", "{:#}", web[0]);
    assert!(
        web[1]["args"].to_string().contains("allowed"),
        "{:#}",
        web[1]
    );
    assert_eq!(
        web[6]["args"]["send"], "secret of 13 characters",
        "{:#}",
        web[6]
    );
    let log = std::fs::read_to_string(cfg.join("state/repl-mcp/audit.jsonl")).unwrap_or_default();
    assert!(!log.contains(SECRET), "the secret is in the audit log");
}

#[tokio::test]
async fn where_the_policy_denies_typing_every_page_only_watches() {
    if !have("python3") {
        eprintln!("python3 not installed; skipped");
        return;
    }
    let cfg = scratch("web-watch-only");
    let out = cfg.join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    // The index link is logged at info: the way a person finds it.
    let cmd = server_command(
        &cfg,
        "[tools.send_input_to_session]\naction = \"deny\"\n",
        "info",
    );
    let (transport, stderr) = TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn repl-mcp");
    let mut stderr = tokio::io::BufReader::new(stderr.expect("stderr"));
    let client = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("web-watch-only", "0"),
    )
    .serve(transport)
    .await
    .expect("MCP initialize");
    let index = tokio::time::timeout(WAIT, async {
        use tokio::io::AsyncBufReadExt;
        let mut line = String::new();
        while stderr.read_line(&mut line).await.unwrap_or(0) > 0 {
            if let Some(at) = line.find("web view: http") {
                return Some(line[at + "web view: ".len()..].trim().to_string());
            }
            line.clear();
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("the index link in the log");
    // Keep reading the log, so the server never blocks on it.
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await;
    });

    let (r, err) = call(&client, "create_session", json!({"presetConfig": "python"})).await;
    assert!(!err, "{r:#}");
    // The agent is handed the watching link only.
    assert_eq!(r["webUrl"], r["webUrlReadOnly"], "{r:#}");
    let id = r["sessionId"].as_str().expect("sessionId").to_string();
    let (d, _) = call(&client, "get_session_details", json!({"sessionId": id})).await;
    assert_eq!(d["webUrl"], d["webUrlReadOnly"], "{d:#}");

    // The index still lists the interactive link; it watches all the same.
    let token = index.split("token=").nth(1).expect("index token");
    let (status, body) = http_get(&index, &format!("/api/sessions?token={token}")).await;
    assert_eq!(status, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).expect("session list");
    let interactive = listed
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == id.as_str()))
        .and_then(|s| s["interactiveUrl"].as_str())
        .unwrap_or_else(|| panic!("no interactive link in {listed:#}"))
        .to_string();
    let base = index.split("/?").next().expect("base url");
    // The page itself says it only watches (no cursor, no keys sent)...
    let (status, html) = http_get(&index, &interactive).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("data-mode=\"read-only\""), "{html}");
    // ...and its socket says so too.
    let mut page = open_page(&format!("{base}{interactive}")).await;
    let hello = until_message(&mut page, "hello").await;
    assert_eq!(hello["readOnly"], true, "{hello}");
    type_keys(
        &mut page,
        format!("{}\r", touch(&out, "typed", "x")).as_bytes(),
    )
    .await;
    // The agent may still read: the screen never showed the keys.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (screen, _) = call(
        &client,
        "get_clean_text",
        json!({"sessionId": id, "fullText": true}),
    )
    .await;
    assert!(
        !screen.to_string().contains("typed"),
        "keys reached the terminal: {screen:#}"
    );
    assert!(!out.join("typed").exists(), "a watching page typed");
    drop(page);
    client.cancel().await.expect("close");
}
