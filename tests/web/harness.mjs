// Starts the web view under test and a headless Chromium, for the browser
// tests and the screenshot script.
//
// The server is `examples/web_demo.rs` (a real bash in a PTY behind the web
// view) unless WEB_DEMO_BIN names another binary that prints the same JSON
// line: {"index": url, "interactive": url, "readonly": url, "base": url}.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const repo = resolve(import.meta.dirname, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
export const demoBin = process.env.WEB_DEMO_BIN ?? join(targetDir, 'debug', 'examples', 'web_demo');

/** Starts the demo server; resolves with its URLs and a `stop()`. */
export async function startServer(args = []) {
  const child = spawn(demoBin, ['--port', '0', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const urls = await new Promise((resolveUrls, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URLs from ${demoBin} in time:\n${stderr}`)), 20000);
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${demoBin} exited with ${code}:\n${stderr}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolveUrls(JSON.parse(line));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return { ...urls, stop, stderr: () => stderr };
}

/**
 * Debian's Chromium, headless, with no phoning home. Playwright gives every
 * launch a fresh, empty profile of its own (it refuses `--user-data-dir`).
 */
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const close = async () => {
    await browser.close();
  };
  return { browser, close };
}

/** The terminal's text as xterm.js holds it (scrollback included). */
export function terminalText(page) {
  return page.evaluate(() => {
    const buffer = window.replMcp?.term.buffer.active;
    if (!buffer) return '';
    const lines = [];
    for (let i = 0; i < buffer.length; i += 1) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n');
  });
}

/** Waits until the terminal's text matches `pattern`. */
export async function waitForText(page, pattern, timeout = 15000) {
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    // A page still navigating has no terminal yet (or no context at all).
    text = await terminalText(page).catch(() => '');
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`terminal never matched ${pattern}; it shows:\n${text}`);
}
