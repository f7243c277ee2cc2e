// Copies the pinned xterm.js files from node_modules into the folder the
// binary embeds (src/web/assets/vendor), so the web view needs no CDN.
// Run after `npm ci` whenever the versions in package.json change.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, 'node_modules');
const target = join(here, '..', 'src', 'web', 'assets', 'vendor');
mkdirSync(target, { recursive: true });

// Source maps are not shipped, so drop the comment that points at them
// (otherwise every devtools session logs a 404).
function copyScript(from, to) {
  const text = readFileSync(join(modules, from), 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  writeFileSync(join(target, to), text);
}

copyScript('@xterm/xterm/lib/xterm.mjs', 'xterm.mjs');
copyScript('@xterm/addon-fit/lib/addon-fit.mjs', 'addon-fit.mjs');
copyFileSync(join(modules, '@xterm/xterm/css/xterm.css'), join(target, 'xterm.css'));
copyFileSync(join(modules, '@xterm/xterm/LICENSE'), join(target, 'LICENSE.xterm'));
copyFileSync(join(modules, '@xterm/addon-fit/LICENSE'), join(target, 'LICENSE.addon-fit'));

const versions = ['@xterm/xterm', '@xterm/addon-fit']
  .map((name) => `${name} ${JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8')).version}`)
  .join('\n');
writeFileSync(join(target, 'VERSIONS'), `${versions}\n`);
console.log(`vendored into ${target}:\n${versions}`);
