// Starts the real `repl-mcp` binary, acts as its MCP client over stdio (an
// "agent" that creates a bash session and runs commands in it), and a
// headless Chromium, for the browser tests and the screenshot script.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const repo = resolve(import.meta.dirname, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(repo, 'target');
export const serverBin = process.env.REPL_MCP_BIN ?? join(targetDir, 'debug', 'repl-mcp');

/** A minimal MCP client speaking newline-delimited JSON-RPC over stdio. */
class McpClient {
  constructor(child) {
    this.child = child;
    this.nextId = 1;
    this.pending = new Map();
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line);
      const waiter = this.pending.get(msg.id);
      if (waiter) {
        this.pending.delete(msg.id);
        if (msg.error) waiter.reject(new Error(JSON.stringify(msg.error)));
        else waiter.resolve(msg.result);
      }
    });
  }

  request(method, params) {
    const id = this.nextId++;
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    return new Promise((resolveReply, reject) => this.pending.set(id, { resolve: resolveReply, reject }));
  }

  notify(method) {
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method })}\n`);
  }

  async tool(name, args) {
    const result = await this.request('tools/call', { name, arguments: args });
    if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.structuredContent)}`);
    return result.structuredContent;
  }
}

/**
 * Starts `repl-mcp` with its web view on a free port, creates a session of
 * `preset` named `name` and runs `agentCommands` in it as the agent. Resolves with the
 * session's URLs, the MCP client and a `stop()`.
 */
export async function startServer({ name = 'bash', preset = 'bash', agentCommands = [] } = {}) {
  const child = spawn(serverBin, ['serve', '--web-port', '0'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  const index = new Promise((resolveIndex, reject) => {
    const timer = setTimeout(() => reject(new Error(`no web view URL from ${serverBin}:\n${stderr}`)), 20000);
    child.on('error', reject);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const m = /web view listening.*url=(\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolveIndex(m[1]);
      }
    });
  });
  const mcp = new McpClient(child);
  await mcp.request('initialize', {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'browser-tests', version: '0' },
  });
  mcp.notify('notifications/initialized');
  const created = await mcp.tool('create_session', { presetConfig: preset, displayName: name });
  for (const input of agentCommands) {
    await mcp.tool('send_input_to_session', {
      sessionId: created.sessionId,
      input,
      options: { wait_for_prompt: true, timeout: 20000 },
    });
  }
  const indexUrl = await index;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return {
    index: indexUrl,
    base: new URL(indexUrl).origin,
    interactive: created.webUrl,
    readonly: created.webUrlReadOnly,
    sessionId: created.sessionId,
    mcp,
    stop,
    stderr: () => stderr,
  };
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
