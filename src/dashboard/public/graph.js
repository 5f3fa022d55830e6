import { el, svg, api, fmtTokens } from './dom.js';
// A workflow's DAG, left to right: a node's column is the longest chain of dependencies before
// it. Boxes are coloured by live status; a retried node shows one dot per attempt.
const W = 204, H = 86, GAP_X = 60, GAP_Y = 22, PAD = 12;

export function layers(nodes) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const depth = new Map();
  const visit = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    if (seen.has(id)) return 0; // a cycle cannot be planned; do not loop if one slips through
    seen.add(id);
    const deps = byId.get(id)?.dependencies ?? [];
    const d = deps.length ? 1 + Math.max(...deps.map((x) => visit(x, seen))) : 0;
    depth.set(id, d);
    return d;
  };
  for (const n of nodes) visit(n.id);
  return depth;
}

export async function renderGraph(container, workflowId, { onOpen }) {
  const g = await api(`/api/workflows/${encodeURIComponent(workflowId)}/graph`);
  if (!g.nodes) { container.replaceChildren(el('p', { class: 'empty', text: `${g.status}: planning, no graph yet` })); return g; }
  const depth = layers(g.nodes);
  const columns = [];
  for (const n of g.nodes) (columns[depth.get(n.id)] ??= []).push(n);
  const pos = new Map();
  columns.forEach((col, x) => col.forEach((n, y) => pos.set(n.id, { x: PAD + x * (W + GAP_X), y: PAD + y * (H + GAP_Y) })));
  const width = PAD * 2 + columns.length * (W + GAP_X) - GAP_X;
  const height = PAD * 2 + Math.max(...columns.map((c) => c.length)) * (H + GAP_Y) - GAP_Y;
  const root = svg('svg', { class: 'dag', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `workflow graph of ${g.nodes.length} nodes` });
  root.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }))));
  for (const n of g.nodes) {
    const to = pos.get(n.id);
    for (const d of n.dependencies) {
      const from = pos.get(d);
      if (!from) continue;
      const x1 = from.x + W, y1 = from.y + H / 2, x2 = to.x - 2, y2 = to.y + H / 2, mid = (x1 + x2) / 2;
      root.append(svg('path', { class: 'edge', d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`, 'marker-end': 'url(#arrow)', 'data-from': d, 'data-to': n.id }));
    }
  }
  for (const n of g.nodes) {
    const { x, y } = pos.get(n.id);
    const last = n.attempts[n.attempts.length - 1];
    const spent = n.consumed === null ? '' : `${fmtTokens(n.consumed)} of `;
    const box = svg('g', { class: 'gnode', 'data-node-id': n.id, 'data-status': n.status, transform: `translate(${x} ${y})`, tabindex: 0 },
      svg('title', { text: `${n.id} (${n.role}): ${n.status}; ${n.budgetPercent}% of the budget; ${n.attempts.length} attempt${n.attempts.length === 1 ? '' : 's'} of ${n.retries + 1} allowed${n.onFailure === 'continue' ? '; optional' : ''}` }),
      svg('rect', { width: W, height: H, rx: 8 }),
      svg('text', { x: 10, y: 20, class: 'gid', text: n.id }),
      svg('text', { x: 10, y: 38, class: 'grole', text: `${n.role} · ${n.budgetPercent}%` }),
      svg('text', { x: 10, y: 56, class: 'gstatus', text: `${n.status} · ${spent}${fmtTokens(n.budget)}` }));
    // One dot per attempt, coloured by how it ended; the count when there was more than one.
    n.attempts.forEach((a, i) => box.append(svg('circle', { class: 'attempt', 'data-status': a.status, cx: W - 12 - (n.attempts.length - 1 - i) * 12, cy: 14, r: 4.5 }, svg('title', { text: `attempt ${a.attempt}: ${a.status} (${a.childId.slice(0, 8)})` }))));
    if (n.attempts.length > 1) box.append(svg('text', { x: 10, y: 74, class: 'gattempts', text: `${n.attempts.length} attempts: ${n.attempts.map((a) => a.status).join(', ')}` }));
    if (last) box.addEventListener('click', () => onOpen(last.childId));
    root.append(box);
  }
  container.replaceChildren(el('div', { class: 'graph-head', text: `${g.templateId ?? 'workflow'} · ${g.status} · ${g.nodes.length} nodes` }), el('div', { class: 'graph-scroll' }, root));
  return g;
}
