import type { TraceSpan } from '../../telemetry/traceSpan.js';
import { fitWidth } from './fitWidth.js';
import type { Style } from './style.js';
import { tokens, usd } from './style.js';

/** What a status looks like in the bars: a running span fades, a failed one is marked. */
const FILL: Record<TraceSpan['status'], string> = { ok: '█', error: '▓', cancelled: '▒', running: '░' };
const STATUS_WORD: Record<TraceSpan['status'], string> = { ok: 'completed', error: 'failed', cancelled: 'terminated', running: 'running' };

/**
 * A run's spans as a text waterfall: one line per agent, nested as the tree, its model and tool
 * calls on lines under it; a bar per span placed on the run's wall-clock time, scaled to
 * `columns`, then its duration, tokens and cost. `now` ends what still runs.
 *
 * @example
 * renderWaterfall(trace.spans, { columns: 100, now: Date.now(), style })
 */
export function renderWaterfall(spans: readonly TraceSpan[], o: { columns: number; now: number; style: Style }): string {
  if (spans.length === 0) return 'no spans: the agent has no recorded events';
  const start = Math.min(...spans.map((s) => s.startMs));
  const end = Math.max(...spans.map((s) => s.endMs ?? o.now), start + 1);
  const label = 44;
  const barWidth = Math.max(10, Math.min(60, o.columns - label - 32));
  const children = new Map<string | undefined, TraceSpan[]>();
  for (const s of spans) children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s]);
  const ids = new Set(spans.map((s) => s.spanId));
  // Roots: the run's root, or (under time travel) spans whose parent is not there.
  const roots = spans.filter((s) => s.parentSpanId === undefined || !ids.has(s.parentSpanId));
  const lines = [`${'span'.padEnd(label)} ${'0'.padEnd(barWidth - 6)}${seconds(end - start).padStart(6)}  duration  tokens  cost`];
  // A fork's line leaves out the calls it carried from its source (their lines say so), as its budget does.
  // An agent's line counts its whole subtree: its own calls (its span's totals) and its
  // subordinates'. A workflow's line read 0 tokens and $0 beside nodes that spent thousands (a new
  // user's try). The spans themselves keep their own, as OpenTelemetry backends sum them.
  const spent = new Map<string, Spent>();
  const subtree = (s: TraceSpan): Spent => {
    const below = (children.get(s.spanId) ?? []).filter((c) => c.kind === 'agent').map(subtree);
    const sum = below.reduce((a, b) => ({ tokens: add(a.tokens, b.tokens), cost: add(a.cost, b.cost) }), spentBy(s));
    spent.set(s.spanId, sum);
    return sum;
  };
  roots.filter((r) => r.kind === 'agent').forEach(subtree);
  const walk = (s: TraceSpan, depth: number): void => {
    const from = Math.floor(((s.startMs - start) / (end - start)) * barWidth);
    const to = Math.max(from + 1, Math.ceil((((s.endMs ?? o.now) - start) / (end - start)) * barWidth));
    const bar = `${' '.repeat(from)}${FILL[s.status].repeat(Math.min(barWidth, to) - from)}`.padEnd(barWidth);
    const carriedFrom = s.attributes['cadre.carried_from'];
    // A call sent again after a takeover leads its name: the provider may have billed it more than once.
    const resent = s.attributes['cadre.resent'] === true ? 'resent ' : '';
    const name = s.kind === 'agent' ? `${s.name.replace(/^invoke_agent /, '')} ${s.agentId.slice(0, 8)}` : `${resent}${s.name}${typeof carriedFrom === 'string' ? ` (carried from ${carriedFrom.slice(0, 8)})` : ''}`;
    const { tokens: n, cost: usdSpent } = spent.get(s.spanId) ?? spentBy(s);
    const used = n === null ? '' : tokens(n);
    const cost = usdSpent === null ? '' : usd(usdSpent);
    const head = `${'  '.repeat(depth)}${name}`;
    const row = `${fitWidth(head, label).padEnd(label)} ${o.style.status(STATUS_WORD[s.status], bar)}  ${(seconds((s.endMs ?? o.now) - s.startMs) + (s.endMs === undefined ? '…' : '')).padStart(8)}  ${used.padStart(6)}  ${cost}`;
    lines.push(fitWidth(row, o.columns));
    const under = children.get(s.spanId) ?? [];
    // An agent's own calls first (time order), then its children's spans.
    for (const c of under.filter((x) => x.kind !== 'agent')) walk(c, depth + 1);
    for (const c of under.filter((x) => x.kind === 'agent')) walk(c, depth + 1);
  };
  for (const r of roots) walk(r, 0);
  return lines.join('\n');
}

/** Tokens and dollars a span accounts for; null where it says nothing (a tool call). */
interface Spent {
  readonly tokens: number | null;
  readonly cost: number | null;
}

const add = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : a + b);

/** What the budget counted for one span (cache and planning calls included); older spans have only input and output. */
function spentBy(s: TraceSpan): Spent {
  const total = s.attributes['cadre.usage.total_tokens'];
  const input = s.attributes['gen_ai.usage.input_tokens'];
  const output = s.attributes['gen_ai.usage.output_tokens'];
  const cost = s.attributes['cadre.cost_usd'];
  return {
    tokens: typeof total === 'number' ? total : typeof input === 'number' && typeof output === 'number' ? input + output : null,
    cost: typeof cost === 'number' ? cost : null,
  };
}

const seconds = (ms: number): string => (ms < 1000 ? `${Math.max(0, Math.round(ms))}ms` : `${(ms / 1000).toFixed(1)}s`);
