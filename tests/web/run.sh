#!/usr/bin/env bash
# Runs the browser tests: builds the demo server (a real bash behind the web
# view), then node's test runner drives Chromium against it.
# Set WEB_DEMO_BIN to test another binary that prints the same URL line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
if [ -z "${WEB_DEMO_BIN:-}" ]; then
  (cd "$repo" && cargo build --quiet --example web_demo)
fi
cd "$here"
exec node --test --test-concurrency=1 .
