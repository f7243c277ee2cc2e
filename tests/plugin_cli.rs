//! `repl-mcp plugin validate|list`: a user checks a plugin before installing it.

use std::process::Command;

fn repl_mcp(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_repl-mcp"))
        .args(args)
        .env("REPL_MCP_LOG", "error")
        // Keep the user's own plugins and compile cache out of it.
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("repl-mcp-plugin-cli-config"),
        )
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("repl-mcp-plugin-cli-cache"),
        )
        .output()
        .expect("run repl-mcp")
}

#[test]
fn validate_accepts_a_good_plugin_and_refuses_a_tampered_one() {
    let good = concat!(env!("CARGO_MANIFEST_DIR"), "/plugins/dist/psql-recovery");
    let out = repl_mcp(&["plugin", "validate", good]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("plugin `psql-recovery`"));

    let dir = std::env::temp_dir().join(format!("repl-mcp-tampered-{}", std::process::id()));
    let copy = dir.join("psql-recovery");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["plugin.toml", "psql-recovery.wasm"] {
        std::fs::copy(format!("{good}/{f}"), copy.join(f)).unwrap();
    }
    let mut wasm = std::fs::read(copy.join("psql-recovery.wasm")).unwrap();
    let last = wasm.len() - 1;
    wasm[last] ^= 0xff;
    std::fs::write(copy.join("psql-recovery.wasm"), wasm).unwrap();
    let out = repl_mcp(&["plugin", "validate", copy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sha256"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn list_shows_the_builtin_plugins() {
    let out = repl_mcp(&["plugin", "list"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for id in ["default-recovery", "prompt-regex", "psql-recovery"] {
        assert!(text.contains(id), "{text}");
    }
}
