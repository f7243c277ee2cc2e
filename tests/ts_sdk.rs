//! The official TypeScript MCP SDK against this build of `repl-mcp`: runs
//! `tests/ts-sdk/*.test.mjs` with node's test runner (stdio and streamable
//! HTTP, every protocol version the SDK offers, every tool's result checked
//! against its output schema by the SDK). `.ci/run` installs the SDK from
//! the lock file (`npm ci` in tests/ts-sdk); where it is missing this test
//! says so and passes, except under CI.

use std::path::Path;
use std::process::Command;

#[test]
fn typescript_sdk_accepts_every_tool_and_result() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ts-sdk");
    if !dir.join("node_modules/@modelcontextprotocol/sdk").exists() {
        if std::env::var_os("CI").is_some() {
            panic!("CI must run the TypeScript SDK tests: run `npm ci` in tests/ts-sdk first");
        }
        eprintln!("TypeScript SDK tests skipped: run `npm ci` in tests/ts-sdk");
        return;
    }
    let status = Command::new("node")
        .args(["--test", "--test-concurrency=1", "."])
        .current_dir(&dir)
        .env("REPL_MCP_BIN", env!("CARGO_BIN_EXE_repl-mcp"))
        .status()
        .expect("run node");
    assert!(status.success(), "TypeScript SDK tests failed");
}
