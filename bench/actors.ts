import { randomUUID } from 'node:crypto';
import { createAgentSystem, type AgentSystem } from '../src/system.js';
import type { DomainEvent } from '../src/events/catalogue.js';
import type { EventToAppend } from '../src/events/envelope.js';
import type { ModelProvider } from '../src/actors/ports/modelProvider.js';
import { AGENT_MACHINE_VERSION } from '../src/actors/agentMachine.js';
import { fold, persistable } from '../src/actors/replay.js';
import { createBlobStore } from '../src/infra/postgres/runtimeTables.js';
import { estimateInputTokens } from '../src/infra/model/estimateInputTokens.js';
import { Aborted } from '../src/errors.js';
import { benchDatabase, fmt, percentile, printTable, rate, sortNumbers, type BenchRow } from './support.js';

const progress = (m: string): void => {
  if (process.env.CADRE_BENCH_VERBOSE) process.stderr.write(`${m}\n`);
};

/** A model that never answers until aborted: recovery's effects can start but never finish. */
function stalledModel(): ModelProvider & { calls: number } {
  const m = {
    name: 'stalled',
    isLLM: false,
    defaultModel: 'stalled',
    calls: 0,
    complete(_req: unknown, opts: { signal?: AbortSignal } = {}) {
      m.calls++;
      return new Promise<never>((_, reject) => opts.signal?.addEventListener('abort', () => reject(new Aborted('closed'))));
    },
    estimateInputTokens,
  };
  return m as ModelProvider & { calls: number };
}

/** Projections are off: they have their own benchmark, and catching up 200k events would compete for the CPU. */
const open = (url: string, schema: string, extra: Record<string, unknown> = {}): Promise<AgentSystem> =>
  createAgentSystem({ store: { kind: 'postgres', connectionString: url }, schema, model: { provider: 'offline', latencyMs: 0 }, env: {}, recover: false, runProjections: false, ...extra });

const envelope = (e: DomainEvent, root: string): EventToAppend => ({
  id: randomUUID(),
  type: e.type,
  data: e.data,
  metadata: { correlationId: root, causationId: `agent:${root}`, schemaVersion: 1, at: new Date().toISOString() },
});

/**
 * A realistic 20-event stream left mid-run: spawned, started, two tool-using turns, a message,
 * and a third model call requested but not answered (so recovery must re-issue exactly it).
 */
function history(id: string, requestRef: string): DomainEvent[] {
  const usage = { inputTokens: 900, outputTokens: 120, cacheReadTokens: 0, cacheCreationTokens: 0 };
  const events: DomainEvent[] = [
    { type: 'AgentSpawned', data: { agentId: id, parentId: null, rootId: id, depth: 0, kind: 'agent', role: 'worker', task: 'recover me', budget: 100_000, workspace: null, timeoutMs: null, maxTurns: 20, model: null } },
    { type: 'AgentRunRequested', data: {} },
    { type: 'AgentStarted', data: { deadline: null } },
  ];
  for (let turn = 0; turn < 3; turn++) {
    const callId = `${id}-call-${turn}`;
    events.push({ type: 'ModelRequested', data: { callId, turn, provider: 'stalled', model: 'stalled', requestRef, reserved: 5_000, reserves: true } });
    if (turn === 2) break;
    const toolIds = Array.from({ length: turn + 1 }, (_, j) => `${id}-tool-${turn}-${j}`);
    const uses = toolIds.map((t) => ({ type: 'tool_use' as const, id: t, name: 'send_message', input: { to: id, payload: { turn } } }));
    events.push({ type: 'ModelReplied', data: { callId, model: 'stalled', content: [{ type: 'text', text: 'working' }, ...uses], stopReason: 'tool_use', usage, costUsd: 0.01, settles: true } });
    for (const t of toolIds) events.push({ type: 'ToolCalled', data: { toolUseId: t, name: 'send_message', input: { to: id, payload: { turn } } } });
    if (turn === 0) events.push({ type: 'MessageSent', data: { messageId: `${id}-m`, to: id, payload: { turn }, priority: 0, dedupeKey: null } });
    for (const t of toolIds) events.push({ type: 'ToolReturned', data: { toolUseId: t, name: 'send_message', output: 'sent', isError: false } });
  }
  return events;
}

/** Writes `n` actors' streams in bulk, registers them live, and optionally a snapshot each. */
async function seed(sys: AgentSystem, n: number, snapshots: boolean): Promise<void> {
  const ref = await createBlobStore(sys.internal.sql, sys.schema).put({ system: 'bench', messages: [], tools: [], maxTokens: 1000 });
  const ids = Array.from({ length: n }, () => randomUUID());
  await rate(n, 8, async (i) => {
    const id = ids[i]!;
    const events = history(id, ref);
    if (events.length !== 20) throw new Error(`expected 20 events, built ${events.length}`);
    await sys.store.append(`agent-${id}`, events.map((e) => envelope(e, id)), { expectedRevision: 'no_stream' });
  });
  const s = sys.schema;
  for (let i = 0; i < n; i += 5_000) {
    const chunk = ids.slice(i, i + 5_000);
    await sys.internal.sql.query(`INSERT INTO ${s}.actor_index (agent_id, parent_id, root_id, status) SELECT a, NULL, a, 'live' FROM unnest($1::text[]) AS a`, [chunk]);
    if (snapshots) {
      // Snapshot at revision 15 (as snapshotEvery=16 would): recovery folds the last 4 events.
      const states = chunk.map((id) => JSON.stringify(persistable(fold(history(id, ref).slice(0, 16)))));
      await sys.internal.sql.query(
        `INSERT INTO ${s}.snapshots (stream_id, revision, machine_version, state)
         SELECT 'agent-' || a, 15, $3, st::jsonb FROM unnest($1::text[], $2::text[]) AS x(a, st)`,
        [chunk, states, AGENT_MACHINE_VERSION],
      );
    }
  }
}

async function recovery(url: string, n: number, snapshots: boolean): Promise<{ ms: number; live: number; calls: number }> {
  const schema = `rec_${snapshots ? 'snap' : 'nosnap'}`;
  const setup = await open(url, schema);
  await seed(setup, n, snapshots);
  await setup.close();
  progress(`seeded ${n} actors (snapshots: ${snapshots})`);
  const model = stalledModel();
  const t0 = performance.now();
  const sys = await open(url, schema, { recover: true, model });
  const ms = performance.now() - t0;
  const live = sys.internal.runtime.liveIds().length;
  await new Promise((r) => setTimeout(r, 50));
  const calls = model.calls;
  progress(`recovered ${live} in ${Math.round(ms)} ms; closing`);
  await sys.close();
  return { ms, live, calls };
}

/**
 * Actor runtime: spawn latency (root and child, no model call) against one raw append measured
 * in the same run, and recovery of many mid-run actors with and without snapshots.
 */
export async function benchActors(scale = 1): Promise<BenchRow[]> {
  const db = await benchDatabase();
  const rows: BenchRow[] = [];
  try {
    const samples = Math.max(50, Math.round(1000 * scale));
    const sys = await open(db.url, 'spawn');
    const time = async (fn: () => Promise<unknown>): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < samples; i++) {
        const t = performance.now();
        await fn();
        out.push(performance.now() - t);
      }
      return sortNumbers(out);
    };
    const one = (i: number): EventToAppend[] => [envelope({ type: 'AgentRunRequested', data: {} }, `raw-${i}`)];
    let k = 0;
    const raw = await time(() => sys.store.append(`raw-${k++}`, one(k), { expectedRevision: 'no_stream' }));
    const roots = await time(() => sys.spawn({ role: 'root', task: 'bench', budget: 1_000 }));
    const parent = await sys.spawn({ role: 'parent', task: 'bench', budget: 10_000_000 });
    const children = await time(() => parent.spawn({ role: 'child', task: 'bench', budget: 1_000 }));
    progress('spawn latency measured');
    await sys.close();
    const p = (xs: number[], q: number): string => fmt(percentile(xs, q), 2);
    rows.push(
      { name: 'raw append (1 event) p50 / p99 ms', value: `${p(raw, 50)} / ${p(raw, 99)}` },
      { name: 'spawn root p50 / p99 ms', value: `${p(roots, 50)} / ${p(roots, 99)}`, limit: p(raw, 99), ratio: `${fmt(percentile(roots, 99) / percentile(raw, 99), 1)}x raw`, goal: 'p99 < 10 ms' },
      { name: 'spawn child p50 / p99 ms', value: `${p(children, 50)} / ${p(children, 99)}`, limit: p(raw, 99), ratio: `${fmt(percentile(children, 99) / percentile(raw, 99), 1)}x raw`, goal: 'p99 < 10 ms' },
    );

    const n = Math.max(100, Math.round(10_000 * scale));
    for (const snapshots of [false, true]) {
      const r = await recovery(db.url, n, snapshots);
      if (r.live !== n) throw new Error(`recovered ${r.live} of ${n} actors`);
      rows.push({ name: `recover ${fmt(n)} actors x 20 events, ${snapshots ? 'with' : 'no'} snapshots (ms)`, value: fmt(r.ms), limit: '5,000', ratio: `${fmt((r.ms / 5000) * 100)}%`, goal: '< 5 s' });
      rows.push({ name: `  model calls re-issued at once (${snapshots ? 'with' : 'no'} snapshots)`, value: fmt(r.calls), goal: '<= MAX_CONCURRENT_AGENTS' });
    }
    printTable(`actors (${db.source})`, rows);
    return rows;
  } finally {
    await db.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchActors(Number(process.argv[2] ?? 1));
