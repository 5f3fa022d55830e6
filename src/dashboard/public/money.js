import { el, svg, api, fmtTokens, fmtUsd } from './dom.js';
// Tokens and dollars over time for the subtree (running totals, one step per settled model call),
// and the split by role and by model: the numbers `cadre budget --subtree` and `cadre report` print.
const CW = 560, CH = 180, L = 48, R = 56, T = 10, B = 24;

function chart(series) {
  const root = svg('svg', { class: 'money-chart', width: CW, height: CH, viewBox: `0 0 ${CW} ${CH}`, role: 'img', 'aria-label': 'tokens and dollars over time' });
  if (series.length === 0) { root.append(svg('text', { x: L, y: CH / 2, class: 'axis', text: 'no model calls settled yet' })); return root; }
  const t0 = Date.parse(series[0].at);
  const t1 = Math.max(t0 + 1, Date.parse(series[series.length - 1].at));
  const maxTok = Math.max(1, series[series.length - 1].tokens);
  const maxUsd = series[series.length - 1].costUsd || 1;
  const x = (at) => L + ((Date.parse(at) - t0) / (t1 - t0)) * (CW - L - R);
  const step = (val, max) => {
    let d = `M ${L} ${CH - B}`;
    for (const p of series) d += ` H ${x(p.at).toFixed(1)} V ${(CH - B - (val(p) / max) * (CH - T - B)).toFixed(1)}`;
    return `${d} H ${CW - R}`;
  };
  root.append(
    svg('line', { x1: L, y1: CH - B, x2: CW - R, y2: CH - B, class: 'axis-line' }),
    svg('path', { d: step((p) => p.tokens, maxTok), class: 'line-tokens' }),
    svg('path', { d: step((p) => p.costUsd, maxUsd), class: 'line-usd' }),
    svg('text', { x: L - 4, y: T + 10, 'text-anchor': 'end', class: 'axis tokens-axis', text: fmtTokens(maxTok) }),
    svg('text', { x: CW - R + 4, y: T + 10, class: 'axis usd-axis', text: fmtUsd(maxUsd) }),
    svg('text', { x: L, y: CH - 6, class: 'axis', text: new Date(t0).toLocaleTimeString() }),
    svg('text', { x: CW - R, y: CH - 6, 'text-anchor': 'end', class: 'axis', text: `+${((t1 - t0) / 1000).toFixed(1)} s` }));
  return root;
}

const table = (cls, head, rows) => el('table', { class: cls }, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { text: h })))),
  el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', { text: String(c) }))))));

export async function renderMoney(container, rootId) {
  const m = await api(`/api/money/${encodeURIComponent(rootId)}`);
  container.replaceChildren(
    el('div', { class: 'money-total', 'data-consumed': m.total.consumed, 'data-cost-usd': m.total.costUsd, text: `${m.total.consumed.toLocaleString()} tokens · ${fmtUsd(m.total.costUsd)} · ${m.total.agents} agent${m.total.agents === 1 ? '' : 's'} · ${m.series.length} model calls` }),
    el('div', { class: 'legend' }, el('span', { class: 'key-tokens', text: 'tokens' }), el('span', { class: 'key-usd', text: 'dollars' })),
    chart(m.series),
    el('div', { class: 'money-tables' },
      el('div', {}, el('h3', { text: 'By role' }), table('by-role', ['role', 'agents', 'tokens', 'cost'], m.byRole.map((r) => [r.role, r.agents, r.consumed, fmtUsd(r.costUsd)]))),
      el('div', {}, el('h3', { text: 'By model' }), table('by-model', ['model', 'calls', 'tokens', 'cost'], m.byModel.map((r) => [r.model, r.calls, r.consumed, fmtUsd(r.costUsd)])))));
  return m;
}
