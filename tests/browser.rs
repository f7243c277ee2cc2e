//! The web view in a real browser: runs `tests/web/*.test.mjs` (node's test
//! runner, Playwright driving Debian's Chromium) against this build of
//! `repl-mcp`. `.ci/run` installs Chromium and playwright-core
//! (`tests/web/install.sh`); where they are missing this test says so and
//! passes, so `cargo test` still works on a bare machine.

use std::path::Path;
use std::process::Command;

#[test]
fn web_view_in_chromium() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ready = Path::new(&chromium).exists() && web.join("node_modules/playwright-core").exists();
    if !ready {
        if std::env::var_os("CI").is_some() {
            panic!("CI must run the browser tests: run tests/web/install.sh first");
        }
        eprintln!(
            "browser tests skipped: run tests/web/install.sh to install Chromium and playwright-core"
        );
        return;
    }
    let status = Command::new("node")
        .args(["--test", "--test-concurrency=1", "."])
        .current_dir(&web)
        .env("REPL_MCP_BIN", env!("CARGO_BIN_EXE_repl-mcp"))
        .status()
        .expect("run node");
    assert!(status.success(), "browser tests failed");
}
