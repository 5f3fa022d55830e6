import { $, el, api, fmtTokens, fmtUsd } from './dom.js';
// The agent tree as a virtual list: only the rows in view are in the DOM, so a tree of thousands
// opens as fast as one of ten. Live events patch single rows (GET /api/agents/:id/row) and the
// subtree totals of their ancestors; the whole tree is fetched only when the root changes.
const ROW_H = 30;
const OVERSCAN = 8;

export function createTree({ onSelect, isSelected }) {
  const box = $('#tree');
  const spacer = el('div', { class: 'spacer' });
  const layer = el('div', { class: 'rows' });
  let nodes = new Map(); // id -> node (children as ids)
  let rootId = null;
  let rows = []; // [{ id, depth }] in depth-first order
  let pending = new Map(); // id -> first event time, rows to refetch
  let flushing = null;
  // Rows whose parent this page has not seen yet (spawned while the tree was loading): attached when it comes.
  const orphans = new Map();
  let loading = false;
  const touched = new Set();
  const metrics = (globalThis.__cadreMetrics ??= { firstPaintMs: null, treeRows: 0, updates: [] });

  function flattenRows() {
    rows = [];
    if (!rootId || !nodes.has(rootId)) return;
    const stack = [[rootId, 0]];
    while (stack.length) {
      const [id, depth] = stack.pop();
      const n = nodes.get(id);
      if (!n) continue;
      rows.push({ id, depth });
      for (let i = n.children.length - 1; i >= 0; i--) stack.push([n.children[i], depth + 1]);
    }
    spacer.style.height = `${rows.length * ROW_H}px`;
  }

  function rowEl(n, depth) {
    const used = n.subtreeConsumed; // it only grows: delegated and reserved tokens are not spent yet
    const pct = n.budget.allocated > 0 ? Math.min(100, (100 * used) / n.budget.allocated) : 0;
    const name = n.nodeId && n.nodeId !== n.role ? `${n.nodeId} (${n.role})` : n.role;
    const row = el('div', { class: `node${isSelected(n.id) ? ' selected' : ''}`, 'data-agent-id': n.id, 'data-status': n.status, title: n.task },
      el('span', { class: 'name', style: `padding-left:${Math.min(depth, 40) * 1.1}rem` }, `${depth ? '└ ' : ''}${depth > 40 ? `[${depth}] ` : ''}${name}`, el('small', { text: n.id.slice(0, 8) })),
      // What a live agent is doing (`calling model`, `waiting for 2 children`), as `cadre run`'s live tree says it.
      el('span', { class: 'state' }, el('span', { class: 'badge', 'data-status': n.status, text: n.status }), n.activity ? el('small', { class: 'activity', text: n.activity }) : null),
      el('span', { class: 'bar', title: `${used} of ${n.budget.allocated} tokens consumed by it and its subtree` }, el('div', { style: `width:${pct.toFixed(1)}%` })),
      el('span', { class: 'tokens', text: `${fmtTokens(used)}/${fmtTokens(n.budget.allocated)} · ${fmtUsd(n.subtreeCostUsd)}` }));
    row.addEventListener('click', () => onSelect(n.id));
    return row;
  }

  /** Draws the rows in view (and a few around them); nothing else is in the DOM. */
  function paint() {
    const top = box.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((top + (box.clientHeight || 600)) / ROW_H) + OVERSCAN);
    const els = [];
    for (let i = first; i < last; i++) {
      const r = rows[i];
      const e = rowEl(nodes.get(r.id), r.depth);
      e.style.top = `${i * ROW_H}px`;
      els.push(e);
    }
    layer.replaceChildren(...els);
    metrics.treeRows = rows.length;
  }

  function sumUp(id) {
    // The subtree totals of `id` and each ancestor, from their children's (already right) totals.
    for (let n = nodes.get(id); n; n = n.parentId ? nodes.get(n.parentId) : null) {
      n.subtreeConsumed = n.budget.consumed;
      n.subtreeCostUsd = n.costUsd;
      for (const c of n.children) {
        const k = nodes.get(c);
        if (k) { n.subtreeConsumed += k.subtreeConsumed; n.subtreeCostUsd += k.subtreeCostUsd; }
      }
      if (n.id === rootId) break;
    }
  }

  function adoptTree(tree) {
    const next = new Map();
    const stack = [tree];
    while (stack.length) {
      const n = stack.pop();
      next.set(n.id, { ...n, children: n.children.map((c) => c.id) });
      for (const c of n.children) stack.push(c);
    }
    nodes = next;
    adopt();
    flattenRows();
    if (box.firstChild !== spacer) box.replaceChildren(spacer, layer);
    paint();
  }

  /**
   * Opens a tree: first its sketch (the read model's rows, one query) so that a big tree shows at
   * once, then the full tree (live agents folded: their activity), which replaces it.
   */
  async function load(id) {
    rootId = id;
    if (!id) { nodes = new Map(); rows = []; box.replaceChildren(el('p', { class: 'empty', text: 'No agents yet. Run cadre demo.' })); return null; }
    const url = `/api/tree/${encodeURIComponent(id)}`;
    const sketched = api(`${url}?sketch=1`).catch(() => null);
    const full = api(url);
    loading = true;
    const sketch = await sketched;
    if (rootId !== id) return null;
    if (sketch) {
      adoptTree(sketch);
      if (metrics.firstPaintMs === null) metrics.firstPaintMs = performance.now();
    }
    const tree = await full.finally(() => { loading = false; });
    if (rootId !== id) return null;
    adoptTree(tree);
    // Rows patched while the full tree was on its way may be newer than it: fetch them again.
    for (const t of touched) if (!pending.has(t)) pending.set(t, performance.now());
    touched.clear();
    if (pending.size) schedule();
    if (metrics.firstPaintMs === null) metrics.firstPaintMs = performance.now();
    metrics.fullTreeMs = performance.now();
    return tree;
  }

  /** Puts a new row under its parent, or keeps it until the parent is here (maybe another tree's). */
  function attach(row) {
    const parent = row.parentId ? nodes.get(row.parentId) : null;
    if (!parent) {
      if (orphans.size > 5000) orphans.delete(orphans.keys().next().value);
      orphans.set(row.id, row);
      return false;
    }
    if (!parent.children.includes(row.id)) parent.children.push(row.id);
    nodes.set(row.id, { ...row, children: [] });
    orphans.delete(row.id);
    return true;
  }

  /** Attaches the orphans whose parent has arrived; whether any did. */
  function adopt() {
    let any = false;
    for (let again = true; again;) {
      again = false;
      for (const row of orphans.values()) {
        if (nodes.has(row.id)) { orphans.delete(row.id); continue; }
        if (row.parentId && nodes.has(row.parentId)) { attach(row); sumUp(row.id); again = any = true; }
      }
    }
    return any;
  }

  async function flush() {
    const batch = pending;
    pending = new Map();
    const fetched = await Promise.all([...batch.keys()].map((id) => api(`/api/agents/${encodeURIComponent(id)}/row`).catch(() => null)));
    const t0 = performance.now();
    let shape = false;
    for (const row of fetched) {
      if (!row) continue;
      if (loading) touched.add(row.id);
      const old = nodes.get(row.id);
      if (old) nodes.set(row.id, { ...row, children: old.children });
      else if (attach(row)) shape = true;
      else continue;
      sumUp(row.id);
    }
    if (adopt()) shape = true;
    if (shape) flattenRows();
    paint();
    const done = performance.now();
    for (const [id, first] of batch) if (nodes.has(id)) metrics.updates.push({ totalMs: done - first, applyMs: done - t0, rows: rows.length });
  }

  /** An event from /api/events: refetch its agent's row if it is (or may join) this tree. */
  function onEvent(e) {
    if (!nodes.has(e.agentId) && e.type !== 'AgentSpawned') return false;
    if (!pending.has(e.agentId)) pending.set(e.agentId, performance.now());
    schedule();
    return nodes.has(e.agentId);
  }

  // One flush at a time, at the next frame; events that arrive meanwhile wait for the next one.
  function schedule() {
    flushing ??= new Promise((r) => setTimeout(r, 16)).then(flush).finally(() => { flushing = null; if (pending.size) schedule(); });
  }

  box.addEventListener('scroll', () => requestAnimationFrame(paint), { passive: true });
  return { load, onEvent, paint, has: (id) => nodes.has(id), node: (id) => nodes.get(id), get rootId() { return rootId; }, get size() { return nodes.size; } };
}
