//! Claude Code (from npm, `tests/claude-code`) adds this build of
//! `repl-mcp` and `claude mcp list` shows it "✔ Connected" — Claude Code
//! lists the tools to say so, and says "tools fetch failed" when one schema
//! does not parse. A server with a schema Claude Code rejects is checked
//! alongside, so the check can be seen to fail. Offline: `mcp list` talks
//! only to the servers. `.ci/run` installs it (`npm ci` in
//! tests/claude-code); where it is missing this test says so and passes,
//! except under CI.

use std::path::{Path, PathBuf};
use std::process::Command;

fn claude() -> Option<PathBuf> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/claude-code/node_modules/@anthropic-ai");
    // The platform package holds the native binary (the wrapper's postinstall
    // only copies it).
    let native = dir.join("claude-code-linux-x64/claude");
    native.is_file().then_some(native)
}

/// One tool whose output schema has a boolean property schema, as ours had.
const REJECTED_SERVER: &str = r#"
import sys, json
for line in sys.stdin:
    m = json.loads(line)
    if "id" not in m:
        continue
    if m["method"] == "initialize":
        r = {"protocolVersion": m["params"]["protocolVersion"], "capabilities": {"tools": {}},
             "serverInfo": {"name": "rejected", "version": "0"}}
    elif m["method"] == "tools/list":
        r = {"tools": [{"name": "t", "inputSchema": {"type": "object"},
             "outputSchema": {"type": "object", "properties": {"context": True}}}]}
    else:
        r = {}
    print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": r}), flush=True)
"#;

#[test]
fn claude_code_lists_the_server_connected_with_tools() {
    let Some(claude) = claude() else {
        if std::env::var_os("CI").is_some() {
            panic!("CI must run the Claude Code check: run `npm ci` in tests/claude-code first");
        }
        eprintln!("Claude Code check skipped: run `npm ci` in tests/claude-code");
        return;
    };
    let home = std::env::temp_dir().join(format!(
        "repl-mcp-claude-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let project = home.join("project");
    std::fs::create_dir_all(&project).expect("scratch home");
    let rejected = home.join("rejected.py");
    std::fs::write(&rejected, REJECTED_SERVER).expect("write server");
    let run = |args: &[&str]| {
        let out = Command::new(&claude)
            .args(args)
            .current_dir(&project)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_STATE_HOME", home.join("state"))
            .env("REPL_MCP_LOG", "warn")
            .env_remove("ANTHROPIC_API_KEY")
            .output()
            .expect("run claude");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "claude {args:?} failed: {text}");
        text
    };
    let bin = env!("CARGO_BIN_EXE_repl-mcp");
    run(&["mcp", "add", "repl-mcp", "--", bin, "--no-web-ui"]);
    let python = rejected.to_str().expect("utf-8 path");
    run(&["mcp", "add", "rejected", "--", "python3", python]);
    let listed = run(&["mcp", "list"]);
    let line = |name: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("{name} not listed: {listed}"))
            .to_string()
    };
    let ours = line("repl-mcp");
    assert!(
        ours.contains("✔ Connected") && !ours.contains("failed"),
        "{listed}"
    );
    assert!(line("rejected").contains("tools fetch failed"), "{listed}");
    let _ = std::fs::remove_dir_all(&home);
}
