//! Drive the real `repl-mcp` binary through rmcp's MCP client.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig as ClientInfo, Implementation,
    ProtocolVersion,
};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

pub type Client = RunningService<RoleClient, ClientInfo>;

/// Every tool the server has.
pub const TOOLS: &[&str] = &[
    "create_session",
    "send_input_to_session",
    "send_signal_to_session",
    "list_repl_sessions",
    "get_session_details",
    "destroy_repl_session",
    "list_repl_configurations",
    "set_session_ready",
    "wait_for_session",
    "mark_session_failed",
    "get_full_output",
    "get_clean_text",
    "answer_session_question",
    "reload_presets",
];

/// A `tools/call` request; `args` must be a JSON object.
pub fn tool(name: &str, args: Value) -> CallToolRequestParams {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    CallToolRequestParams::new(name.to_string()).with_arguments(args)
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_repl-mcp")
}

/// A scratch directory used as `$XDG_CONFIG_HOME`, so the user's own presets
/// never leak into a test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "repl-mcp-test-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

pub struct Server {
    pub client: Client,
    pub pid: u32,
    pub config_home: PathBuf,
}

pub async fn start() -> Server {
    start_with(ProtocolVersion::V_2025_06_18, &[]).await
}

/// The server as a child process speaking MCP on stdio, with `config_home`
/// as its XDG config (state and cache beneath it) and no web view.
pub fn server_transport(config_home: &std::path::Path, extra_args: &[&str]) -> TokioChildProcess {
    let cfg = config_home.to_path_buf();
    let args: Vec<String> = extra_args.iter().map(|s| s.to_string()).collect();
    TokioChildProcess::new(tokio::process::Command::new(bin()).configure(|cmd| {
        cmd.arg("serve").arg("--no-web-ui").args(&args);
        cmd.env("XDG_CONFIG_HOME", &cfg);
        cmd.env("XDG_STATE_HOME", cfg.join("state"));
        cmd.env("XDG_CACHE_HOME", cfg.join("cache"));
        cmd.env("REPL_MCP_LOG", "warn");
    }))
    .expect("spawn repl-mcp")
}

pub async fn start_with(version: ProtocolVersion, extra_args: &[&str]) -> Server {
    let config_home = scratch("cfg");
    let transport = server_transport(&config_home, extra_args);
    let pid = transport.id().expect("child pid");
    let info = ClientInfo::new(
        ClientCapabilities::default(),
        Implementation::new("repl-mcp-tests", "0"),
    )
    .with_protocol_version(version.clone());
    // 2026-07-28 has no initialize handshake: the client discovers the server.
    let client = if version == ProtocolVersion::V_2026_07_28 {
        use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
        info.serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![version],
            },
        )
        .await
        .expect("MCP discover")
    } else {
        info.serve(transport).await.expect("MCP initialize")
    };
    Server {
        client,
        pid,
        config_home,
    }
}

/// A server that also loads the given presets (`(file name, TOML)`) from a
/// project presets directory.
pub async fn start_with_presets(presets: &[(&str, &str)]) -> Server {
    let dir = scratch("presets");
    for (name, toml) in presets {
        std::fs::write(dir.join(name), toml).expect("write preset");
    }
    let dir = dir.to_str().expect("utf-8 path").to_string();
    start_with(ProtocolVersion::V_2025_11_25, &["--presets-dir", &dir]).await
}

/// Call a tool; returns (structured result, isError).
pub async fn call(client: &Client, tool: &str, args: Value) -> (Value, bool) {
    let args = match args {
        Value::Object(map) => map,
        _ => panic!("arguments must be an object"),
    };
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool} failed at the protocol level: {e}"));
    let is_error = result.is_error.unwrap_or(false);
    let value = result
        .structured_content
        .clone()
        .unwrap_or_else(|| panic!("{tool} returned no structured content: {result:?}"));
    (value, is_error)
}

pub async fn create(client: &Client, preset: &str) -> String {
    let (r, err) = call(client, "create_session", json!({ "presetConfig": preset })).await;
    assert!(
        !err && r["success"] == true,
        "create_session({preset}) failed: {r:#}"
    );
    r["sessionId"].as_str().expect("sessionId").to_string()
}

pub async fn eval(client: &Client, id: &str, input: &str) -> Value {
    eval_opts(
        client,
        id,
        input,
        json!({ "wait_for_prompt": true, "timeout": 20000 }),
    )
    .await
}

pub async fn eval_opts(client: &Client, id: &str, input: &str, options: Value) -> Value {
    call(
        client,
        "send_input_to_session",
        json!({ "sessionId": id, "input": input, "options": options }),
    )
    .await
    .0
}

/// Input to session `id` is refused, with an error that mentions `why`.
pub async fn assert_input_refused(client: &Client, id: &str, why: &str) {
    let (r, err) = call(
        client,
        "send_input_to_session",
        json!({ "sessionId": id, "input": "1" }),
    )
    .await;
    let error = r["error"].as_str().unwrap_or_default();
    assert!(
        err && error.contains(why),
        "expected a refusal mentioning {why:?}: {r}"
    );
}

pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Processes whose session id is `sid`.
pub fn session_members(sid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = &s[s.rfind(')')? + 1..];
                    let fields: Vec<&str> = rest.split_whitespace().collect();
                    // Zombies are already dead: they just wait to be reaped.
                    (fields.first() != Some(&"Z")).then(|| fields.get(3)?.parse::<i32>().ok())?
                })
                == Some(sid)
        })
        .collect()
}

/// Wait (bounded) until `cond` holds; used only for OS-level clean-up that
/// has no event to wait on.
pub async fn eventually(mut cond: impl FnMut() -> bool, within: Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

/// A session of `preset` when `program` is installed; otherwise says so
/// (the test goes on without it).
pub async fn create_if_installed(client: &Client, preset: &str, program: &str) -> Option<String> {
    if !have(program) {
        eprintln!("{program} not installed; {preset} skipped");
        return None;
    }
    Some(create(client, preset).await)
}

/// GET `path` from the server of `page_url`: (status, body).
pub async fn http_get(page_url: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = page_url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host");
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("connect to the web view");
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("response");
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}
