// The session page in a real browser (Debian's Chromium via Playwright).
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { after, before, test } from 'node:test';
import { launchBrowser, startServer, terminalText, waitForText } from './harness.mjs';

const NAME = 'Bash demo <test>';
let server;
let chrome;

before(async () => {
  server = await startServer({ name: NAME, agentCommands: ['echo "agent says $((20+1))"'] });
  chrome = await launchBrowser();
});

after(async () => {
  await chrome?.close();
  await server?.stop();
});

async function openPage(url, viewport = { width: 1000, height: 600 }) {
  const context = await chrome.browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(new Error(msg.text()));
  });
  const response = await page.goto(url);
  return { page, response, errors, context };
}

test('the page shows what the agent ran, with the display name as title', async () => {
  const { page, response, errors, context } = await openPage(server.interactive);
  assert.equal(response.status(), 200);
  await waitForText(page, /agent says 21/);
  assert.equal(await page.title(), NAME);
  await page.locator('#state[data-state="ready"]').waitFor();
  assert.equal(await page.locator('#actor').textContent(), 'last input: agent');
  assert.equal(await page.locator('#mode').textContent(), 'interactive');
  assert.deepEqual(errors, []);
  await context.close();
});

test('typing in the page runs the command in the PTY', async () => {
  const { page, errors, context } = await openPage(server.interactive);
  await waitForText(page, /agent says 21/);
  await page.locator('.xterm').click();
  await page.keyboard.type('echo typed-$((6*7))');
  await page.keyboard.press('Enter');
  await waitForText(page, /^typed-42$/m);
  await page.locator('#actor', { hasText: 'last input: person' }).waitFor();
  assert.deepEqual(errors, []);
  await context.close();
});

test('a line the policy refuses is cleared, not run, and the page says why', async () => {
  const { page, errors, context } = await openPage(server.interactive);
  await waitForText(page, /agent says 21/);
  await page.locator('.xterm').click();
  // The built-in policy refuses an rm of the root; echo keeps it harmless
  // should the gate ever let it through.
  await page.keyboard.type('echo rm -rf / ; echo ran-$((2+3))');
  await page.keyboard.press('Enter');
  await page.locator('#conn[data-conn="refused"]', { hasText: 'input.deny' }).waitFor();
  // The refused line was cleared: the next one runs alone.
  await page.keyboard.type('echo fine-$((3*3))');
  await page.keyboard.press('Enter');
  await waitForText(page, /^fine-9$/m);
  assert.doesNotMatch(await terminalText(page), /^ran-5$/m);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the PTY follows the window size', async () => {
  const { page, context } = await openPage(server.interactive, { width: 1200, height: 700 });
  await waitForText(page, /agent says 21/);
  const fits = async () => page.evaluate(() => [window.replMcp.term.rows, window.replMcp.term.cols]);
  await page.locator('.xterm').click();
  // The page may refit more than once (fonts load late): ask the PTY its size
  // until it answers with the size the page shows.
  let size;
  let answer = '';
  for (let attempt = 0; attempt < 20; attempt += 1) {
    await page.keyboard.type('stty size');
    await page.keyboard.press('Enter');
    await new Promise((r) => setTimeout(r, 250));
    const answers = [...(await terminalText(page)).matchAll(/^(\d+) (\d+)$/gm)];
    answer = answers.length ? `${answers.at(-1)[1]} ${answers.at(-1)[2]}` : '';
    size = await fits();
    if (answer === `${size[0]} ${size[1]}`) break;
  }
  assert.equal(answer, `${size[0]} ${size[1]}`, 'the PTY has the size the page shows');

  await page.setViewportSize({ width: 700, height: 500 });
  let smaller;
  for (let i = 0; i < 100; i += 1) {
    smaller = await fits();
    if (smaller[1] < size[1]) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(smaller[1] < size[1], `narrower window, narrower PTY (${smaller} vs ${size})`);
  await context.close();
});

test('the read-only link watches but cannot type', async () => {
  const { page: watcher, context: watchContext } = await openPage(server.readonly);
  await waitForText(watcher, /agent says 21/);
  assert.equal(await watcher.locator('#mode').textContent(), 'read-only');
  await watcher.locator('.xterm').click();
  await watcher.keyboard.type('echo READONLY-TYPED');
  await watcher.keyboard.press('Enter');

  // Whatever the watcher typed would reach the shell before this does.
  const { page: typist, context: typeContext } = await openPage(server.interactive);
  await waitForText(typist, /agent says 21/);
  await typist.locator('.xterm').click();
  await typist.keyboard.type('echo after-$((1+1))');
  await typist.keyboard.press('Enter');
  await waitForText(typist, /^after-2$/m);
  // The watcher sees the typist's command live.
  await waitForText(watcher, /^after-2$/m);
  assert.doesNotMatch(await terminalText(typist), /READONLY-TYPED/);
  await watchContext.close();
  await typeContext.close();
});

test('a wrong or missing token is a 404', async () => {
  const { page, context } = await openPage(server.interactive.replace(/token=(.)/, 'token=0$1'));
  const wrong = await page.goto(server.interactive.replace(/token=.*/, 'token=nope'));
  assert.equal(wrong.status(), 404);
  const missing = await page.goto(server.interactive.replace(/\?.*/, ''));
  assert.equal(missing.status(), 404);
  const index = await page.goto(`${server.base}/`);
  assert.equal(index.status(), 404);
  await context.close();
});

test('the index lists the session for the index token holder', async () => {
  const { page, response, context } = await openPage(server.index);
  assert.equal(response.status(), 200);
  const link = page.locator('#sessions a', { hasText: NAME });
  await link.waitFor();
  await link.click();
  await page.waitForURL(new RegExp(`/s/${server.sessionId}\\?token=`));
  await waitForText(page, /agent says 21/);
  assert.equal(await page.title(), NAME);
  await context.close();
});

test('a page from another origin cannot open the socket', async () => {
  // A page the user happens to visit, served from another origin on the same
  // machine, tries to open the session's socket with a stolen URL.
  const socketUrl = server.interactive.replace('http://', 'ws://').replace('?', '/ws?');
  const evil = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>evil</title><p>nothing to see</p>');
  });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  const { page, context } = await openPage(`http://127.0.0.1:${evil.address().port}/`);
  const outcome = await page.evaluate(
    (url) =>
      new Promise((resolve) => {
        const ws = new WebSocket(url);
        ws.onmessage = () => resolve('message');
        ws.onopen = () => resolve('open');
        ws.onerror = () => resolve('error');
        setTimeout(() => resolve('timeout'), 5000);
      }),
    socketUrl,
  );
  assert.equal(outcome, 'error');
  await context.close();
  await new Promise((r) => evil.close(r));

  // And the refusal is a 403 on the handshake.
  const status = await new Promise((resolve, reject) => {
    const req = request(socketUrl.replace('ws://', 'http://'), {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        Origin: 'http://evil.example',
      },
    });
    req.on('response', (res) => resolve(res.statusCode));
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 403);
  await context.close();
});

test('200,000 lines do not bring the page down', async () => {
  const { page, errors, context } = await openPage(server.interactive);
  await waitForText(page, /agent says 21/);
  await page.locator('.xterm').click();
  const started = Date.now();
  await page.keyboard.type('seq 1 200000; echo flood-$((7*6))');
  await page.keyboard.press('Enter');
  await waitForText(page, /^flood-42$/m, 120000);
  const text = await terminalText(page);
  assert.match(text, /^200000$/m);
  // Still responsive afterwards.
  await page.keyboard.type('echo still-alive');
  await page.keyboard.press('Enter');
  await waitForText(page, /^still-alive$/m);
  console.log(`flood of 200,000 lines shown in ${Date.now() - started} ms`);
  assert.deepEqual(errors, []);
  await context.close();
});
