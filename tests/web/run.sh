#!/usr/bin/env bash
# Runs the browser tests: node's test runner drives Debian's Chromium against
# the web view of the real repl-mcp binary (which the tests start as an MCP
# client would). Set REPL_MCP_BIN to test another build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
if [ -z "${REPL_MCP_BIN:-}" ]; then
  (cd "$repo" && cargo build --quiet --bin repl-mcp)
fi
cd "$here"
exec node --test --test-concurrency=1 .
