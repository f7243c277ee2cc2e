// The official TypeScript MCP SDK (what Claude Code, Cursor and VS Code
// build on) against the real repl-mcp binary, over stdio and streamable
// HTTP, on every protocol version the SDK offers. tools/list must parse, and
// every tool is called — successes, errors and policy refusals — with its
// structured result validated against its output schema (the SDK's Client
// does that on every callTool when the tool has one, and throws on a
// mismatch).
//
// Run by `cargo test --test ts_sdk` (REPL_MCP_BIN names the binary).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

const BIN = process.env.REPL_MCP_BIN;
if (!BIN) throw new Error('REPL_MCP_BIN must name the repl-mcp binary');

const TOOLS = [
  'create_session', 'send_input_to_session', 'send_signal_to_session', 'list_repl_sessions',
  'get_session_details', 'destroy_repl_session', 'list_repl_configurations', 'set_session_ready',
  'wait_for_session', 'mark_session_failed', 'get_full_output', 'get_clean_text',
  'answer_session_question', 'reload_presets',
];

/// A scratch XDG home, so the user's presets and policy never leak in.
function scratch(policy) {
  const home = mkdtempSync(join(tmpdir(), 'repl-mcp-ts-sdk-'));
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: home,
    XDG_STATE_HOME: join(home, 'state'),
    XDG_CACHE_HOME: join(home, 'cache'),
    REPL_MCP_LOG: 'info',
  };
  const args = ['serve', '--no-web-ui'];
  if (policy) {
    const file = join(home, 'policy.toml');
    writeFileSync(file, policy);
    args.push('--policy', file);
  }
  return { env, args };
}

/// Wraps a transport so that `initialize` asks for `version` (the SDK's
/// Client always asks for its latest).
function askingFor(transport, version) {
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    if (message.method === 'initialize') {
      message = { ...message, params: { ...message.params, protocolVersion: version } };
    }
    return send(message, options);
  };
  return transport;
}

async function stdioClient(version, policy) {
  const { env, args } = scratch(policy);
  const transport = askingFor(
    new StdioClientTransport({ command: BIN, args, env, stderr: 'ignore' }),
    version,
  );
  const client = new Client({ name: 'ts-sdk-interop', version: '0' });
  await client.connect(transport);
  return { client, close: () => client.close() };
}

/// `repl-mcp serve --http 127.0.0.1:0`; the port is read from its log.
async function httpClient(version, policy) {
  const { env, args } = scratch(policy);
  const child = spawn(BIN, [...args, '--http', '127.0.0.1:0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no HTTP address in: ${seen}`)), 30000);
    child.stderr.on('data', (chunk) => {
      seen += chunk;
      const m = seen.match(/MCP streamable HTTP on (http:\/\/\S+\/mcp)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${seen}`)));
  });
  child.stderr.resume();
  const transport = askingFor(new StreamableHTTPClientTransport(new URL(url)), version);
  const client = new Client({ name: 'ts-sdk-interop', version: '0' });
  await client.connect(transport);
  return {
    client,
    close: async () => {
      await client.close();
      child.kill('SIGTERM');
    },
  };
}

/// Call a tool; the SDK validates the structured result. Returns it.
async function call(client, called, name, args) {
  const r = await client.callTool({ name, arguments: args });
  assert.ok(r.structuredContent, `${name} returned structured content`);
  called.add(name);
  return r;
}

async function everyTool(client) {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOLS].sort());
  for (const t of tools) {
    assert.equal(t.inputSchema.type, 'object', t.name);
    assert.equal(t.outputSchema?.type, 'object', `${t.name} has an output schema`);
  }
  const called = new Set();
  const c = (name, args) => call(client, called, name, args);

  let r = await c('list_repl_configurations', {});
  assert.ok(r.structuredContent.configurations.some((p) => p.name === 'python'));
  await c('reload_presets', {});
  r = await c('create_session', { presetConfig: 'python', displayName: 'ts-sdk' });
  assert.ok(!r.isError, JSON.stringify(r.structuredContent));
  const id = r.structuredContent.sessionId;

  r = await c('send_input_to_session', {
    sessionId: id, input: 'print(6*7)', options: { wait_for_prompt: true, timeout: 20000 },
  });
  assert.equal(r.structuredContent.output, '42');
  r = await c('send_input_to_session', {
    sessionId: id, input: 'for i in range(2):', options: { wait_for_prompt: true },
  });
  assert.equal(r.structuredContent.state, 'continuation');
  await c('send_signal_to_session', { sessionId: id, signal: 'SIGINT' });
  // A command that outlives its timeout: the result carries the recovery
  // context (an object the schema describes exactly).
  r = await c('send_input_to_session', {
    sessionId: id, input: 'import time; time.sleep(1.5)', options: { wait_for_prompt: true, timeout: 200 },
  });
  assert.equal(r.structuredContent.pending, true, JSON.stringify(r.structuredContent));
  assert.equal(typeof r.structuredContent.context, 'object');
  r = await c('wait_for_session', { sessionId: id, seconds: 20 });
  assert.equal(r.structuredContent.state, 'ready');
  await c('get_clean_text', { sessionId: id, fullText: true });
  await c('get_full_output', { sessionId: id, offset: 0, limit: 10 });
  r = await c('get_session_details', { sessionId: id });
  assert.equal(r.structuredContent.session.id, id);
  r = await c('list_repl_sessions', {});
  assert.equal(r.structuredContent.sessions.length, 1);
  await c('set_session_ready', { sessionId: id, pattern: '>>> ' });
  r = await c('answer_session_question', { sessionId: id, answer: 'SEND:print(1+1)\\n' });
  assert.match(r.structuredContent.output, /2/);

  // Errors have the tool's shape too.
  for (const answer of ['WAIT:nan', 'WAIT:-5', 'SEND:rm -rf /\\n', 'maybe']) {
    r = await c('answer_session_question', { sessionId: id, answer });
    assert.equal(r.isError, true, answer);
  }
  r = await c('send_input_to_session', { sessionId: id, input: 'rm -rf /' });
  assert.equal(r.isError, true);
  assert.equal(r.structuredContent.rule, 'input.deny[0]');
  r = await c('wait_for_session', { sessionId: id, seconds: -1 });
  assert.equal(r.isError, true);
  r = await c('get_session_details', { sessionId: 'no-such-session' });
  assert.equal(r.isError, true);
  r = await c('create_session', { presetConfig: 'no-such-preset' });
  assert.equal(r.isError, true);

  await c('mark_session_failed', { sessionId: id, reason: 'done testing' });
  await c('destroy_repl_session', { sessionId: id });
  assert.deepEqual([...called].sort(), [...TOOLS].sort(), 'every tool was called');
}

/// Under a policy that denies everything, every tool's refusal validates.
async function everyRefusal(client) {
  for (const name of TOOLS) {
    const r = await client.callTool({ name, arguments: { sessionId: 'x', input: 'x', seconds: 1, signal: 'SIGINT', pattern: 'x', reason: 'x', answer: 'WAIT:1' } });
    assert.equal(r.isError, true, name);
    assert.match(r.structuredContent.rule, /^(default|tools\.create_session)$/, name);
  }
}

const transports = { stdio: stdioClient, http: httpClient };

for (const [kind, connect] of Object.entries(transports)) {
  for (const version of SUPPORTED_PROTOCOL_VERSIONS) {
    test(`${kind} ${version}: every tool's result validates`, async () => {
      const { client, close } = await connect(version);
      try {
        await everyTool(client);
      } finally {
        await close();
      }
    });
  }
  test(`${kind}: refusals validate against every tool's output schema`, async () => {
    const { client, close } = await connect(SUPPORTED_PROTOCOL_VERSIONS[0], '[default]\naction = "deny"\n[tools.create_session]\naction = "deny"\n');
    try {
      await everyRefusal(client);
    } finally {
      await close();
    }
  });
}
