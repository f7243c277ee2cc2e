// The session page: a terminal fed by the server's WebSocket.
//
// Wire format (see src/web/protocol.rs): binary frames are terminal bytes,
// text frames are JSON. After a {"type":"screen"} message the next binary
// frame is a snapshot of the screen, written into a freshly reset terminal.
import { Terminal } from './vendor/xterm.mjs';
import { FitAddon } from './vendor/addon-fit.mjs';

const readOnly = document.body.dataset.mode === 'read-only';
const $ = (id) => document.getElementById(id);

const term = new Terminal({
  cursorBlink: !readOnly,
  disableStdin: readOnly,
  scrollback: 5000,
  fontSize: 14,
  // Room below the baseline, or underscores vanish with some fonts.
  lineHeight: 1.2,
  fontFamily: '"DejaVu Sans Mono", "Liberation Mono", ui-monospace, Menlo, Consolas, monospace',
  theme: { background: '#101418', foreground: '#d8dee9', cursor: '#88c0d0' },
});
const fit = new FitAddon();
term.loadAddon(fit);
term.open($('terminal'));
if (!readOnly) term.focus();
// For tests and for people poking around in devtools.
window.replMcp = { term };

const encoder = new TextEncoder();
const socketUrl = new URL(location.href);
socketUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
socketUrl.pathname = `${location.pathname.replace(/\/$/, '')}/ws`;
socketUrl.hash = '';

let socket = null;
let finished = false;
let failures = 0;

function setConn(kind, text) {
  $('conn').dataset.conn = kind;
  $('conn').textContent = text;
}

function setState(state, lastActor) {
  $('state').dataset.state = state;
  $('state').textContent = state;
  $('actor').textContent = lastActor ? `last input: ${lastActor}` : 'no input yet';
}

function send(data) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(data);
}

// The PTY size is the server's: the page asks for the size that fits its
// window and follows the `resized` answer, so every viewer agrees.
function requestFit() {
  if (readOnly) return;
  const dims = fit.proposeDimensions();
  if (!dims || !Number.isFinite(dims.cols) || !Number.isFinite(dims.rows)) return;
  const cols = Math.max(2, dims.cols);
  const rows = Math.max(1, dims.rows);
  if (cols !== term.cols || rows !== term.rows) {
    send(JSON.stringify({ type: 'resize', cols, rows }));
  }
}

function onControl(message) {
  switch (message.type) {
    case 'hello':
      document.title = message.displayName;
      $('name').textContent = message.displayName;
      setState(message.state, message.lastActor);
      break;
    case 'screen':
      // Resize now; the reset (RIS) goes through the write queue so it lands
      // after any output still queued and before the snapshot that follows.
      term.resize(message.cols, message.rows);
      term.write('\x1bc');
      if (message.resync) setConn('resynced', 'live (skipped output to catch up)');
      requestFit();
      break;
    case 'state':
      setState(message.state, message.lastActor);
      break;
    case 'resized':
      if (message.cols !== term.cols || message.rows !== term.rows) term.resize(message.cols, message.rows);
      break;
    case 'closed':
      finished = true;
      setConn('closed', message.reason);
      break;
    case 'refused':
      // A line the policy refused: it was killed, not run.
      setConn('refused', message.message);
      break;
    case 'error':
      setConn('error', message.message);
      break;
    default:
      break;
  }
}

function connect() {
  setConn('connecting', 'connecting…');
  socket = new WebSocket(socketUrl);
  socket.binaryType = 'arraybuffer';
  socket.onopen = () => {
    failures = 0;
    setConn('live', 'live');
  };
  socket.onmessage = (event) => {
    if (typeof event.data === 'string') {
      try {
        onControl(JSON.parse(event.data));
      } catch (err) {
        console.warn('bad message from server', err);
      }
    } else {
      term.write(new Uint8Array(event.data));
    }
  };
  socket.onclose = () => {
    socket = null;
    if (finished) return;
    failures += 1;
    if (failures > 8) {
      setConn('closed', 'disconnected (reload to retry)');
      return;
    }
    setConn('connecting', 'reconnecting…');
    setTimeout(connect, Math.min(5000, 200 * 2 ** failures));
  };
}

if (readOnly) {
  $('mode').title = 'This link can watch the session but not type into it.';
} else {
  term.onData((data) => send(encoder.encode(data)));
  // Bytes outside UTF-8 (some mouse reports) arrive as a binary string.
  term.onBinary((data) => send(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
  let pending = null;
  window.addEventListener('resize', () => {
    clearTimeout(pending);
    pending = setTimeout(requestFit, 100);
  });
}

connect();
