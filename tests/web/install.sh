#!/usr/bin/env bash
# Installs what the browser tests need: Debian's Chromium (Playwright's own
# browser download cannot work here) and playwright-core from the npm registry.
set -euo pipefail
cd "$(dirname "$0")"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq chromium >/dev/null
fi
npm ci --no-audit --no-fund
