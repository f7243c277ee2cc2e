// Takes the README's screenshots of the web view:
//   node tests/web/screenshot.mjs   (after `cargo build`)
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchBrowser, startServer, waitForText } from './harness.mjs';

const out = resolve(import.meta.dirname, '..', '..', 'docs', 'screenshots');
mkdirSync(out, { recursive: true });

const server = await startServer({
  name: 'Python REPL',
  preset: 'python',
  agentCommands: [
    'import sys, platform',
    'print(f"Python {platform.python_version()} on {sys.platform}")',
    'squares = {n: n * n for n in range(1, 6)}',
    'for n, sq in squares.items():\n    print(f"{n:>2} -> {sq:>3}")\n',
    'sum(squares.values())',
  ],
});
const chrome = await launchBrowser();
try {
  const context = await chrome.browser.newContext({ viewport: { width: 960, height: 460 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(server.interactive);
  await waitForText(page, /^55$/m, 30000);
  await page.locator('#state[data-state="ready"]').waitFor();
  await page.screenshot({ path: join(out, 'session.png') });

  await page.goto(server.index);
  await page.locator('#sessions a').first().waitFor();
  await page.setViewportSize({ width: 960, height: 220 });
  await page.screenshot({ path: join(out, 'index.png') });
  console.log(`screenshots written to ${out}`);
} finally {
  await chrome.close();
  await server.stop();
}
