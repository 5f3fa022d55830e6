// cadre dashboard: plain JS, no build step. Reads /api/*, follows /api/events (server-sent events).
'use strict';
// The token (when the server wants one) travels in an HttpOnly cookie the server set when the page
// was opened with ?token=; same-origin fetches and EventSource send it on their own.
const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k === 'style') e.style.cssText = v; else if (k === 'text') e.textContent = v; else if (k.startsWith('data-')) e.setAttribute(k, v); else e[k] = v;
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
};
const api = async (path) => {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.json().catch(() => ({}))).error ?? ''}`);
  return r.json();
};
// Actions are POSTs carrying the CSRF token only a same-origin page can read (SECURITY.md).
let csrf = null;
const act = async (path) => {
  csrf ??= (await api('/api/session')).csrf;
  const r = await fetch(path, { method: 'POST', headers: { 'x-cadre-csrf': csrf } });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.json().catch(() => ({}))).error ?? ''}`);
  return r.json();
};
// Model and agent text is hostile (SECURITY.md): it becomes DOM nodes through textContent only.
// A minimal markdown subset — headings, lists, fenced code, `code`, paragraphs with their line
// breaks — and nothing else: no links, no images, no HTML.
const inlineCode = (text) => text.split('`').map((part, i) => (i % 2 ? el('code', { text: part }) : part));
function renderMarkdown(text) {
  const out = el('div', { class: 'md' });
  const lines = String(text).split(/\r?\n/);
  let para = null;
  let list = null;
  const close = () => { para = null; list = null; };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*```/.test(line)) {
      close();
      const body = [];
      while (++i < lines.length && !/^\s*```/.test(lines[i])) body.push(lines[i]);
      out.append(el('pre', {}, el('code', { text: body.join('\n') })));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      close();
      out.append(el(`h${Math.min(6, heading[1].length + 3)}`, {}, ...inlineCode(heading[2])));
      continue;
    }
    const item = /^\s*(?:([-*+])|(\d{1,9})[.)])\s+(.*)$/.exec(line);
    if (item) {
      para = null;
      const tag = item[1] ? 'ul' : 'ol';
      if (!list || list.tagName.toLowerCase() !== tag) { list = el(tag); out.append(list); }
      list.append(el('li', {}, ...inlineCode(item[3])));
      continue;
    }
    if (line.trim() === '') { close(); continue; }
    list = null;
    if (para) para.append('\n', ...inlineCode(line));
    else { para = el('p', {}, ...inlineCode(line)); out.append(para); }
  }
  return out;
}

const fmtTokens = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));
const fmtUsd = (n) => (n === 0 ? '$0' : n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);

const state = { rootIds: new Set(), root: null, followNewest: true, selected: null, sliderTouched: false, maxRevision: 0, timeline: [] };

async function loadRoots() {
  const roots = await api('/api/roots?limit=30');
  const select = $('#roots');
  state.rootIds = new Set(roots.map((r) => r.id));
  const clip = (t, n) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);
  select.replaceChildren(...roots.map((r) => el('option', { value: r.id, title: r.task, 'data-role': r.role, text: `${r.role} · ${clip(r.task.replace(/\s+/g, ' '), 48)} · ${r.status}${r.live ? ' (live)' : ''} · ${r.id.slice(0, 8)}` })));
  const previous = state.root;
  if (roots.length && (state.followNewest || !state.root)) state.root = roots[0].id;
  if (state.root !== previous) state.selected = null;
  if (state.root) select.value = state.root;
}

function renderRow(n, depth) {
  const used = n.subtreeConsumed; // it only grows: delegated and reserved tokens are not spent yet
  const pct = n.budget.allocated > 0 ? Math.min(100, (100 * used) / n.budget.allocated) : 0;
  const name = n.nodeId && n.nodeId !== n.role ? `${n.nodeId} (${n.role})` : n.role;
  const row = el('div', { class: `node${state.selected === n.id ? ' selected' : ''}`, 'data-agent-id': n.id, 'data-status': n.status, title: n.task },
    el('span', { class: 'name', style: `padding-left:${Math.min(depth, 40) * 1.1}rem` }, `${depth ? '└ ' : ''}${depth > 40 ? `[${depth}] ` : ''}${name}`, el('small', { text: n.id.slice(0, 8) })),
    // What a live agent is doing (`calling model`, `waiting for 2 children`), as `cadre run`'s live tree says it.
    el('span', { class: 'state' }, el('span', { class: 'badge', 'data-status': n.status, text: n.status }), n.activity ? el('small', { class: 'activity', text: n.activity }) : null),
    el('span', { class: 'bar', title: `${used} of ${n.budget.allocated} tokens consumed by it and its subtree` }, el('div', { style: `width:${pct.toFixed(1)}%` })),
    el('span', { class: 'tokens', text: `${fmtTokens(used)}/${fmtTokens(n.budget.allocated)} · ${fmtUsd(n.subtreeCostUsd)}` }));
  row.addEventListener('click', () => selectAgent(n.id));
  return row;
}

// Depth-first with an explicit stack: a tree can be thousands of levels deep.
function renderTree(root) {
  const rows = [];
  const stack = [[root, 0]];
  while (stack.length) {
    const [n, depth] = stack.pop();
    rows.push(renderRow(n, depth));
    for (let i = n.children.length - 1; i >= 0; i--) stack.push([n.children[i], depth + 1]);
  }
  return rows;
}

async function loadTree() {
  if (!state.root) return;
  const tree = await api(`/api/tree/${encodeURIComponent(state.root)}`);
  $('#tree').replaceChildren(...renderTree(tree));
  if (!state.selected) selectAgent(tree.id);
}

function renderPast(s) {
  $('#past-status').textContent = s.status;
  $('#past-status').dataset.status = s.status;
  $('#past-revision').textContent = s.revision;
  // The whole subtree as it was then, in `cadre budget --subtree`'s words: the terms add up.
  const t = s.subtree;
  $('#past-budget').textContent = `${t.line} · ${t.agents} agent${t.agents === 1 ? '' : 's'}, ${fmtUsd(t.costUsd)} · turn ${s.turn}`;
  $('#past-children').textContent = s.children.length ? `children: ${s.children.map((c) => `${c.role} ${c.status}`).join(', ')}` : 'no children yet';
  for (const li of document.querySelectorAll('#timeline li')) li.classList.toggle('future', Number(li.dataset.revision) > Number(s.revision));
}

let replaySeq = 0;
async function showRevision(rev) {
  const seq = ++replaySeq;
  $('#slider-label').textContent = `revision ${rev} of ${state.maxRevision}${rev === state.maxRevision ? ' (now)' : ''}`;
  const s = await api(`/api/agents/${encodeURIComponent(state.selected)}/replay?to=${rev}`);
  if (seq === replaySeq) renderPast(s);
}

async function loadDetail() {
  const id = state.selected;
  if (!id) return;
  const [s, events, ledger] = await Promise.all([api(`/api/agents/${id}`), api(`/api/agents/${id}/events`), api(`/api/agents/${id}/ledger`)]);
  if (id !== state.selected) return;
  $('#detail').hidden = false;
  $('#agent-title').textContent = `${s.role} ${s.id}`;
  const b = s.budget;
  // replaceChildren turns a null into the text "null": keep only real nodes.
  $('#agent-summary').replaceChildren(...[
    el('div', {}, el('span', { class: 'badge', 'data-status': s.status, text: s.status }), ` ${s.kind} · revision ${s.revision} · ${fmtUsd(s.costUsd)}`),
    s.activity ? el('div', { class: 'activity', text: `now: ${s.activity}` }) : null,
    el('div', { text: `task: ${s.task}` }),
    el('div', { text: `budget: ${b.allocated} allocated${b.overspent > 0 ? ` + ${b.overspent} OVERSPENT` : ''} = ${b.consumed} consumed + ${b.reserved} reserved + ${b.delegated} delegated + ${b.spentBySubtree} spent by subtree + ${b.available} available` }),
    s.result ? el('div', { class: 'result' }, el('div', { text: `result: ${s.result.status}` }), renderMarkdown(s.result.output ?? s.result.reason ?? '')) : null,
    s.result ? null : el('button', { type: 'button', text: 'terminate', onclick: () => { if (confirm(`Terminate ${s.role} and its subtree?`)) act(`/api/agents/${s.id}/terminate`).then(loadDetail, (e) => alert(e.message)); } }),
    ...(s.pendingApprovals ?? []).map((a) => approvalCard(s.id, a)),
  ].filter((c) => c != null));
  state.timeline = events;
  $('#timeline').replaceChildren(...events.map((e) => el('li', { class: `cat-${e.category}`, 'data-revision': e.revision },
    el('span', { class: 't', text: `#${e.revision}` }), el('span', { class: 'type', text: e.type }), el('span', { text: e.summary }))));
  $('#ledger tbody').replaceChildren(...ledger.rows.map((r) => el('tr', {},
    el('td', { text: r.revision }), el('td', { text: r.kind }), el('td', { text: r.amount }), el('td', { text: (r.counterparty ?? '').slice(0, 8) }), el('td', { text: fmtUsd(Number(r.costUsd ?? 0)) }))));
  const slider = $('#slider');
  state.maxRevision = Number(s.revision);
  slider.max = String(state.maxRevision);
  if (!state.sliderTouched) {
    slider.value = String(state.maxRevision);
    await showRevision(state.maxRevision);
  }
}

function selectAgent(id) {
  if (state.selected !== id) state.sliderTouched = false;
  state.selected = id;
  for (const n of document.querySelectorAll('.node')) n.classList.toggle('selected', n.dataset.agentId === id);
  loadDetail().catch(showError);
}

// A tool call parked for a person: what it would do (as text, never HTML), approve or deny it.
function approvalCard(agentId, a) {
  const base = `/api/agents/${encodeURIComponent(agentId)}/approvals/${encodeURIComponent(a.callId)}`;
  const done = () => Promise.all([loadDetail(), loadApprovals()]).catch(showError);
  return el('div', { class: 'approval', 'data-call-id': a.callId },
    el('div', { text: `waits for approval: ${a.tool} (${a.callId}) since ${a.requestedAt}${a.expiresAt ? `, denied on its own at ${a.expiresAt}` : ''}` }),
    el('pre', { text: JSON.stringify(a.input, null, 2) }),
    el('button', { type: 'button', class: 'approve', text: 'approve', onclick: () => act(`${base}/approve`).then(done, (e) => alert(e.message)) }),
    el('button', { type: 'button', class: 'deny', text: 'deny', onclick: () => {
      const reason = prompt(`Why deny ${a.tool}? The agent's model reads this.`, 'denied from the dashboard');
      if (reason !== null) act(`${base}/deny?reason=${encodeURIComponent(reason)}`).then(done, (e) => alert(e.message));
    } }));
}

// Shows an agent of any tree: its tree, no longer following the newest root (which would take the
// view away from what was just opened), and the agent selected.
function openAgent(agentId, rootId) {
  state.followNewest = false;
  if (rootId && rootId !== state.root) {
    state.root = rootId;
    if ([...$('#roots').options].some((o) => o.value === rootId)) $('#roots').value = rootId;
  }
  selectAgent(agentId);
  loadTree().catch(showError);
}

async function loadApprovals() {
  const d = await api('/api/approvals');
  $('#approvals').replaceChildren(d.items.length === 0 ? el('p', { class: 'empty', text: 'none' })
    : el('ul', {}, ...d.items.map((a) => el('li', {},
      el('a', { href: '#', text: `${a.role ?? 'agent'} ${a.agentId.slice(0, 8)}`, onclick: (ev) => { ev.preventDefault(); openAgent(a.agentId, a.rootId); } }),
      ` waits to run ${a.tool} (${a.callId}) since ${a.requestedAt}`))));
}

async function loadDeadLetters() {
  const d = await api('/api/dead-letters');
  $('#dead-letters').replaceChildren(d.items.length === 0 ? el('p', { class: 'empty', text: 'none' })
    : el('ol', {}, ...d.items.map((m) => el('li', { text: JSON.stringify(m) }))));
}

function showError(err) {
  console.error(err);
  $('#conn').textContent = String(err.message ?? err).slice(0, 80);
  $('#conn').dataset.state = 'down';
}

let refreshTimer = null;
let rootsDirty = false;
let approvalsDirty = false;
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    try {
      if (rootsDirty) { rootsDirty = false; await loadRoots(); }
      await loadTree();
      await loadDetail();
      if (approvalsDirty) { approvalsDirty = false; await loadApprovals(); }
    } catch (err) { showError(err); }
  }, 150);
}

function connect() {
  const es = new EventSource('/api/events');
  es.addEventListener('hello', () => { $('#conn').textContent = 'live'; $('#conn').dataset.state = 'live'; });
  es.addEventListener('agent', (m) => {
    const e = JSON.parse(m.data);
    // The picker shows each root's status too: a new agent may be a new root, a root's own event may change it.
    if (e.type === 'AgentSpawned' || state.rootIds.has(e.agentId)) rootsDirty = true;
    // The waiting list changes with a parked call, its answer, or its agent's end.
    if (/^Approval|^Agent(Completed|Failed|Terminated)$/.test(e.type)) approvalsDirty = true;
    scheduleRefresh();
  });
  es.onerror = () => { $('#conn').textContent = 'reconnecting…'; $('#conn').dataset.state = 'down'; };
}

$('#roots').addEventListener('change', (ev) => {
  state.root = ev.target.value;
  state.followNewest = false;
  state.selected = null;
  loadTree().catch(showError);
});
$('#slider').addEventListener('input', (ev) => {
  state.sliderTouched = Number(ev.target.value) !== state.maxRevision;
  showRevision(Number(ev.target.value)).catch(showError);
});

(async () => {
  try {
    await loadRoots();
    await loadTree();
    await loadDeadLetters();
    await loadApprovals();
  } catch (err) { showError(err); }
  connect();
})();
