// The index page: lists the sessions this token may see, refreshed while open.
const token = new URLSearchParams(location.search).get('token') ?? '';
const body = document.querySelector('#sessions tbody');

function cell(row, content) {
  const td = row.insertCell();
  if (content instanceof Node) td.append(content);
  else td.textContent = content;
  return td;
}

function link(href, text) {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = text;
  return a;
}

function render(sessions) {
  document.getElementById('empty').hidden = sessions.length > 0;
  document.getElementById('sessions').hidden = sessions.length === 0;
  body.replaceChildren();
  for (const s of sessions) {
    const row = body.insertRow();
    const name = cell(row, link(s.interactiveUrl, s.displayName));
    const id = document.createElement('span');
    id.className = 'id';
    id.textContent = s.id;
    name.append(' ', id);
    const state = document.createElement('span');
    state.className = 'badge state';
    state.dataset.state = s.state;
    state.textContent = s.state;
    cell(row, state);
    cell(row, s.lastActor ?? '—');
    cell(row, new Date(s.createdAt).toLocaleString());
    cell(row, link(s.readOnlyUrl, 'read-only link'));
  }
}

async function refresh() {
  const conn = document.getElementById('conn');
  try {
    const response = await fetch(`/api/sessions?token=${encodeURIComponent(token)}`, { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    conn.textContent = '';
  } catch (err) {
    conn.textContent = `cannot reach the server (${err.message})`;
  }
}

refresh();
setInterval(refresh, 2000);
