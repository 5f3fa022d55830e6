// cadre dashboard: plain JS modules, no build step. Reads /api/*, follows /api/events (server-sent events).
// The token comes in the address's #token= and goes with every request as a header (dom.js).
import { $, el, api, act, fmtUsd, NoToken, NotTheServer, onTokenGiven } from './dom.js';
import { followEvents } from './events.js';
import { renderMarkdown, collapsible, foldedPre } from './text.js';
import { createTree } from './tree.js';
import { renderGraph } from './graph.js';
import { renderMoney } from './money.js';
import { createWaterfall } from './waterfall.js';

const state = { rootIds: new Set(), root: null, followNewest: true, selected: null, sliderTouched: false, maxRevision: 0, view: 'waterfall', workflowId: null };

const tree = createTree({ onSelect: (id) => selectAgent(id), isSelected: (id) => state.selected === id });
const waterfall = createWaterfall($('#view-waterfall'), { onOpen: (id) => selectAgent(id) });

async function loadRoots() {
  const roots = await api('/api/roots?limit=30');
  const select = $('#roots');
  state.rootIds = new Set(roots.map((r) => r.id));
  const clip = (t, n) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);
  select.replaceChildren(...roots.map((r) => el('option', { value: r.id, title: r.task, 'data-role': r.role, text: `${r.role} · ${clip(r.task.replace(/\s+/g, ' '), 48)} · ${r.status}${r.live ? ' (live)' : ''} · ${r.id.slice(0, 8)}` })));
  const previous = state.root;
  if (roots.length && (state.followNewest || !state.root)) state.root = roots[0].id;
  if (state.root !== previous) { state.selected = null; await openRoot(); }
  if (state.root) select.value = state.root;
}

/** A new root: its tree, and the views of it (the workflow graph when the root is, or holds, a workflow). */
async function openRoot() {
  const t = await tree.load(state.root);
  if (!t) return;
  const wf = t.kind === 'workflow' ? t : t.children.find((c) => c.kind === 'workflow');
  state.workflowId = wf ? wf.id : null;
  $('#tab-graph').disabled = !state.workflowId;
  if (!state.selected) selectAgent(t.id);
  await showView(state.view === 'graph' && !state.workflowId ? 'waterfall' : state.view);
}

async function showView(view) {
  state.view = view;
  for (const b of document.querySelectorAll('.tabs button')) b.setAttribute('aria-selected', String(b.dataset.view === view));
  for (const v of ['waterfall', 'graph', 'money']) $(`#view-${v}`).hidden = v !== view;
  await refreshView();
}

async function refreshView() {
  if (!state.root) return;
  if (state.view === 'waterfall') return waterfall.open(state.root);
  if (state.view === 'graph' && state.workflowId) return renderGraph($('#view-graph'), state.workflowId, { onOpen: (id) => selectAgent(id) });
  if (state.view === 'money') return renderMoney($('#view-money'), state.root);
}

// A live refresh of the graph or money view waits at least three times as long as the last one
// took: on a big tree they read many streams, and a stream of events must not queue them up.
let viewBusyUntil = 0;
async function refreshViewLive() {
  const began = performance.now();
  if (began < viewBusyUntil) { dirty.view = true; setTimeout(scheduleRefresh, viewBusyUntil - began); return; }
  await refreshView();
  viewBusyUntil = performance.now() + 3 * (performance.now() - began);
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

/** What a timeline line holds beyond its summary: tool inputs and results, model replies. */
const detailOf = (e) => {
  const d = e.data ?? {};
  if (e.type === 'ToolCalled') return d.input;
  if (e.type === 'ToolReturned') return d.output ?? d.content ?? d;
  if (e.type === 'ModelReplied') return d.content;
  return d;
};

function timelineItem(e) {
  const li = el('li', { class: `cat-${e.category}`, 'data-revision': e.revision },
    el('span', { class: 't', text: `#${e.revision}` }), el('span', { class: 'type', text: e.type }), el('span', { class: 'summary', text: e.summary }));
  // The whole event on demand, folded to a few lines with "show all".
  li.addEventListener('click', (ev) => {
    if (ev.target.closest('.long, .payload')) return;
    const open = li.querySelector('.event-data');
    if (open) { open.remove(); return; }
    const box = el('div', { class: 'event-data' }, foldedPre(detailOf(e), { lines: 6, chars: 600 }));
    li.append(box);
    // The prompt itself lives in the blob table: fetched only now.
    if (e.type === 'ModelRequested') {
      api(`/api/agents/${encodeURIComponent(state.selected)}/prompt/${encodeURIComponent(e.data.callId)}`)
        .then((p) => box.append(el('div', { class: 'prompt-head', text: 'the request sent to the model:' }), foldedPre(p.request, { lines: 8, chars: 800 })), showError);
    }
  });
  return li;
}

async function loadDetail() {
  const id = state.selected;
  if (!id) return;
  const [s, events, ledger] = await Promise.all([api(`/api/agents/${id}`), api(`/api/agents/${id}/events`), api(`/api/agents/${id}/ledger`)]);
  if (id !== state.selected) return;
  $('#detail').hidden = false;
  $('#agent-title').textContent = `${s.role} ${s.id}`;
  const b = s.budget;
  const resultText = s.result ? (s.result.output ?? s.result.reason ?? '') : '';
  // replaceChildren turns a null into the text "null": keep only real nodes.
  $('#agent-summary').replaceChildren(...[
    el('div', {}, el('span', { class: 'badge', 'data-status': s.status, text: s.status }), ` ${s.kind} · revision ${s.revision} · ${fmtUsd(s.costUsd)}`),
    s.activity ? el('div', { class: 'activity', text: `now: ${s.activity}` }) : null,
    el('div', { class: 'task' }, el('span', { text: 'task: ' }), collapsible(el('span', { class: 'task-text', text: s.task }), s.task, { lines: 3, chars: 300 })),
    el('div', { text: `budget: ${b.allocated} allocated${b.overspent > 0 ? ` + ${b.overspent} OVERSPENT` : ''} = ${b.consumed} consumed + ${b.reserved} reserved + ${b.delegated} delegated + ${b.spentBySubtree} spent by subtree + ${b.available} ${s.result && s.parentId ? 'returned to its parent' : 'available'}` }),
    s.result ? el('div', { class: 'result' }, el('div', { text: `result: ${s.result.status}` }), collapsible(renderMarkdown(resultText), resultText, { lines: 8, chars: 800 })) : null,
    s.result ? null : el('button', { type: 'button', text: 'terminate', onclick: () => { if (confirm(`Terminate ${s.role} and its subtree?`)) act(`/api/agents/${s.id}/terminate`).then(loadDetail, (e) => alert(e.message)); } }),
    ...(s.pendingApprovals ?? []).map((a) => approvalCard(s.id, a)),
  ].filter((c) => c != null));
  $('#timeline').replaceChildren(...events.map(timelineItem));
  $('#ledger tbody').replaceChildren(...ledger.rows.map((r) => el('tr', {},
    el('td', { text: r.revision }), el('td', { text: r.kind }), el('td', { text: r.amount }), el('td', { text: (r.counterparty ?? '').slice(0, 8) }), el('td', { text: fmtUsd(Number(r.costUsd ?? 0)) }))),
    ...(ledger.truncated ? [el('tr', {}, el('td', { colspan: '5', class: 'truncated', text: `the first ${ledger.rows.length} movements; cadre budget ${s.id} has the balance` }))] : []));
  const slider = $('#slider');
  state.maxRevision = Number(s.revision);
  slider.max = String(state.maxRevision);
  if (!state.sliderTouched) {
    slider.value = String(state.maxRevision);
    await showRevision(state.maxRevision);
  }
}

// Fork from here: a new root agent from the selected one as it was at the slider's revision (the
// source is only read), with the model and budget typed (empty: the source's), then shown.
async function forkHere() {
  const source = state.selected;
  const rev = Number($('#slider').value);
  if (!source) return;
  const q = new URLSearchParams({ atRevision: String(rev) });
  const model = $('#fork-model').value.trim();
  const budget = $('#fork-budget').value.trim();
  if (model) q.set('model', model);
  if (budget) q.set('budget', budget);
  const result = $('#fork-result');
  $('#fork-button').disabled = true;
  try {
    const { id, atRevision } = await act(`/api/agents/${encodeURIComponent(source)}/fork?${q}`);
    openAgent(id, id);
    result.dataset.state = 'ok';
    result.replaceChildren(`forked ${source.slice(0, 8)} at revision ${atRevision} as `,
      el('a', { href: '#', class: 'fork-link', 'data-agent-id': id, text: id.slice(0, 8), onclick: (ev) => { ev.preventDefault(); openAgent(id, id); } }));
  } catch (err) {
    result.dataset.state = 'error';
    result.textContent = `fork refused: ${err.message}`;
  } finally {
    $('#fork-button').disabled = false;
  }
}

function selectAgent(id) {
  if (state.selected !== id) {
    state.sliderTouched = false;
    $('#fork-result').replaceChildren(); // what the last fork said was about the agent shown before
  }
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
    foldedPre(a.input, { lines: 10, chars: 1200 }),
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
    openRoot().catch(showError);
  }
  selectAgent(agentId);
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
    : el('ol', {}, ...d.items.map((m) => el('li', {}, foldedPre(m, { lines: 3, chars: 300 })))));
}

function showError(err) {
  console.error(err);
  $('#conn').textContent = String(err.message ?? err).slice(0, 80);
  $('#conn').dataset.state = 'down';
  // Refused: said across the page, where "No agents yet" would otherwise mislead (a trial's).
  if (err instanceof NoToken || err instanceof NotTheServer) {
    $('#conn').textContent = err instanceof NoToken ? 'no access' : 'not the server';
    $('#notice').textContent = err.message;
    $('#notice').hidden = false;
  }
}

// Live: the tree patches the rows an event names; the detail, the open view and the lists
// refresh at most a few times a second.
let refreshTimer = null;
const dirty = { roots: false, approvals: false, detail: false, view: false };
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    try {
      if (dirty.roots) { dirty.roots = false; await loadRoots(); }
      if (dirty.detail) { dirty.detail = false; await loadDetail(); }
      if (dirty.view && state.view !== 'waterfall') { dirty.view = false; await refreshViewLive(); }
      if (dirty.approvals) { dirty.approvals = false; await loadApprovals(); }
    } catch (err) { showError(err); }
  }, 200);
}

function connect() {
  let connectedBefore = false;
  const onHello = () => {
    $('#conn').textContent = 'live';
    $('#conn').dataset.state = 'live';
    // Back after a drop: events were missed, read everything again once.
    if (connectedBefore) { dirty.roots = true; openRoot().catch(showError); scheduleRefresh(); }
    connectedBefore = true;
  };
  const onAgent = (data) => {
    const e = JSON.parse(data);
    // The picker shows each root's status too: a new agent may be a new root, a root's own event may change it.
    if ((e.type === 'AgentSpawned' && !tree.has(e.agentId)) || state.rootIds.has(e.agentId)) dirty.roots = true;
    // The waiting list changes with a parked call, its answer, or its agent's end.
    if (/^Approval|^Agent(Completed|Failed|Terminated)$/.test(e.type)) dirty.approvals = true;
    const mine = tree.onEvent(e);
    if (mine || e.type === 'AgentSpawned') {
      if (e.agentId === state.selected) dirty.detail = true;
      dirty.view = true;
      waterfall.onEvent(e.position);
    }
    if (dirty.roots || dirty.approvals || dirty.detail || dirty.view) scheduleRefresh();
  };
  following = true;
  followEvents('/api/events', {
    onEvent: (type, data) => {
      if (type === 'hello') { $('#notice').hidden = true; onHello(); } else if (type === 'agent') onAgent(data);
    },
    onDown: (err) => {
      if (err instanceof NoToken) following = false;
      if (err instanceof NoToken || err instanceof NotTheServer) return showError(err);
      $('#conn').textContent = 'reconnecting…';
      $('#conn').dataset.state = 'down';
    },
  });
}
let following = false;

$('#roots').addEventListener('change', (ev) => {
  state.root = ev.target.value;
  state.followNewest = false;
  state.selected = null;
  openRoot().catch(showError);
});
$('#slider').addEventListener('input', (ev) => {
  state.sliderTouched = Number(ev.target.value) !== state.maxRevision;
  showRevision(Number(ev.target.value)).catch(showError);
});
$('#fork-button').addEventListener('click', () => forkHere().catch(showError));
for (const b of document.querySelectorAll('.tabs button')) b.addEventListener('click', () => showView(b.dataset.view).catch(showError));

async function start() {
  try {
    await loadRoots();
    await loadDeadLetters();
    await loadApprovals();
  } catch (err) { showError(err); }
  if (!following) connect();
}
// The printed address opened again in this tab changes only the fragment: no reload, so take it here.
onTokenGiven(() => {
  $('#notice').hidden = true;
  start();
});
start();
