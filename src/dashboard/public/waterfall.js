import { el, api, fmtTokens, fmtUsd, fmtMs } from './dom.js';
// The waterfall: one row per agent over wall-clock time, nested by hierarchy, its model and tool
// calls as sub-bars coloured by outcome. Spans come from GET /api/trace/:root (?upTo=<position>
// for the run as it was at a global position); hovering a bar names its tokens, cost and duration.
const attr = (s, k) => s.attributes?.[k];

function rowsOf(spans) {
  const agents = spans.filter((s) => s.kind === 'agent');
  const ids = new Set(agents.map((s) => s.spanId));
  const kids = new Map();
  const calls = new Map();
  for (const s of spans) {
    if (s.kind === 'agent') { if (s.parentSpanId && ids.has(s.parentSpanId)) (kids.get(s.parentSpanId) ?? kids.set(s.parentSpanId, []).get(s.parentSpanId)).push(s); }
    else (calls.get(s.parentSpanId) ?? calls.set(s.parentSpanId, []).get(s.parentSpanId)).push(s);
  }
  const rows = [];
  const stack = agents.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId)).map((s) => [s, 0]).reverse();
  while (stack.length) {
    const [s, depth] = stack.pop();
    rows.push({ span: s, depth, calls: calls.get(s.spanId) ?? [] });
    const ch = (kids.get(s.spanId) ?? []).sort((a, b) => a.startMs - b.startMs);
    for (let i = ch.length - 1; i >= 0; i--) stack.push([ch[i], depth + 1]);
  }
  return rows;
}

function describe(s, now) {
  const dur = (s.endMs ?? now) - s.startMs;
  const inTok = attr(s, 'gen_ai.usage.input_tokens');
  const outTok = attr(s, 'gen_ai.usage.output_tokens');
  const total = attr(s, 'cadre.usage.total_tokens');
  const cost = attr(s, 'cadre.cost_usd');
  // The model that answered (the API reports it), else the one asked for.
  const model = attr(s, 'gen_ai.response.model') ?? attr(s, 'gen_ai.request.model');
  return [
    `${s.kind} ${s.name} · ${s.status}`,
    `${fmtMs(dur)}${s.endMs === undefined ? ' so far' : ''}`,
    inTok !== undefined || outTok !== undefined ? `${fmtTokens(Number(inTok ?? 0))} in + ${fmtTokens(Number(outTok ?? 0))} out tokens` : null,
    // A planning call records only its total; an agent's total counts cache and planning tokens too.
    total !== undefined && (s.kind === 'agent' || inTok === undefined) ? `${fmtTokens(Number(total))} tokens charged` : null,
    typeof cost === 'number' ? fmtUsd(cost) : null,
    model ? String(model) : null,
  ].filter(Boolean).join(' · ');
}

export function createWaterfall(container, { onOpen }) {
  const tip = el('div', { class: 'wf-tip', hidden: true });
  const slider = el('input', { type: 'range', id: 'wf-slider', min: '0', max: '0', value: '0', step: '1', 'aria-label': 'global position' });
  const label = el('span', { class: 'wf-pos' });
  const body = el('div', { class: 'wf-body' });
  container.replaceChildren(el('div', { class: 'wf-travel' }, el('span', { text: 'time travel' }), slider, label), body, tip);
  let rootId = null;
  let head = 0;
  let pinned = false; // the slider was moved into the past: live events do not move it
  let seq = 0;

  const show = (ev, text) => { tip.textContent = text; tip.hidden = false; const r = container.getBoundingClientRect(); tip.style.left = `${ev.clientX - r.left + 12}px`; tip.style.top = `${ev.clientY - r.top + 12}px`; };
  container.addEventListener('mouseleave', () => { tip.hidden = true; });

  function draw(t) {
    const spans = t.spans;
    if (spans.length === 0) { body.replaceChildren(el('p', { class: 'empty', text: 'no spans yet' })); return; }
    const now = Date.now();
    const start = Math.min(...spans.map((s) => s.startMs));
    // A running span reaches now; in the past (a pinned slider) the last thing that happened.
    const latest = Math.max(...spans.map((s) => s.endMs ?? s.startMs));
    const running = spans.some((s) => s.endMs === undefined);
    const end = Math.max(start + 1, latest, running && !pinned ? now : 0);
    const pct = (ms) => `${(((ms - start) / (end - start)) * 100).toFixed(3)}%`;
    const width = (a, b) => `${Math.max(0.15, ((b - a) / (end - start)) * 100).toFixed(3)}%`;
    const rows = rowsOf(spans).map(({ span: s, depth, calls }) => {
      const stop = s.endMs ?? end;
      const bar = el('div', { class: 'wf-agent', 'data-status': s.status, style: `left:${pct(s.startMs)};width:${width(s.startMs, stop)}` });
      bar.addEventListener('mousemove', (ev) => show(ev, `${describe(s, end)}${attr(s, 'cadre.role') ? ` · role ${attr(s, 'cadre.role')}` : ''}`));
      const subs = calls.map((c) => {
        const b = el('div', { class: `wf-call wf-${c.kind}`, 'data-status': c.status, 'data-kind': c.kind, style: `left:${pct(c.startMs)};width:${width(c.startMs, c.endMs ?? end)}` });
        b.addEventListener('mousemove', (ev) => { ev.stopPropagation(); show(ev, describe(c, end)); });
        return b;
      });
      // A workflow node's agent by its node id, any other by its role (the span's name is `invoke_agent <role>`).
      const label = String(attr(s, 'cadre.node.id') ?? attr(s, 'gen_ai.agent.name') ?? s.name);
      const row = el('div', { class: 'wf-row', 'data-agent-id': s.agentId, 'data-status': s.status },
        el('span', { class: 'wf-name', style: `padding-left:${Math.min(depth, 30) * 0.9}rem`, title: s.name, text: label }),
        el('span', { class: 'wf-track' }, bar, ...subs));
      row.addEventListener('click', () => onOpen(s.agentId));
      return row;
    });
    body.replaceChildren(el('div', { class: 'wf-axis' }, el('span', { text: '0' }), el('span', { text: fmtMs(end - start) })), ...rows);
  }

  let lastMs = 0; // how long the last load took: a big tree's trace is not asked for again at once
  async function load(upTo) {
    if (!rootId) return;
    const mine = ++seq;
    const began = performance.now();
    const q = upTo === undefined ? '' : `?upTo=${upTo}`;
    try {
      const t = await api(`/api/trace/${encodeURIComponent(rootId)}${q}`);
      if (mine !== seq) return;
      if (!pinned) { head = Math.max(head, t.position); slider.max = String(head); slider.value = String(t.position); }
      label.textContent = pinned ? `position ${t.position} of ${head}` : `position ${t.position} (now)`;
      draw(t);
    } catch (err) {
      if (mine === seq) body.replaceChildren(el('p', { class: 'empty', text: `no trace: ${err.message}` }));
    } finally {
      lastMs = performance.now() - began;
    }
  }

  slider.addEventListener('input', () => {
    pinned = Number(slider.value) < head;
    load(pinned ? Number(slider.value) : undefined);
  });

  let timer = null;
  return {
    open(id) {
      rootId = id; pinned = false; head = 0;
      // The slider starts where the run does (positions are global: they need not start near 0).
      api(`/api/agents/${encodeURIComponent(id)}/events`).then((evs) => { if (rootId === id && evs.length) slider.min = String(evs[0].position); }, () => {});
      return load();
    },
    /** A live event at `position`: redraw (a few times a second at most) unless looking at the past. */
    onEvent(position) {
      head = Math.max(head, position);
      slider.max = String(head);
      if (pinned || timer) return;
      timer = setTimeout(() => { load().finally(() => { timer = null; }); }, Math.max(250, 3 * lastMs));
    },
  };
}
