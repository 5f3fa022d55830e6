import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { createPgClient } from '../src/infra/sql/pgClient.js';
import { openPostgresEventStore, type PostgresEventStore } from '../src/events/stores/postgres/postgresEventStore.js';
import type { EventToAppend } from '../src/events/envelope.js';
import { ProjectionRunner } from '../src/projections/runner.js';
import { createReports, type Reports } from '../src/projections/reports.js';
import { defaultProjections } from '../src/projections/readModels/index.js';
import { benchDatabase, fmt, percentile, printTable, rate, ratio, sortNumbers, type BenchRow } from './support.js';

const ev = (type: string, data: unknown): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
  metadata: { correlationId: 'bench', causationId: 'bench', schemaVersion: 1, at: new Date().toISOString() },
});

const spawned = (agentId: string, parentId: string | null, rootId: string, depth: number, budget: number): EventToAppend =>
  ev('AgentSpawned', { agentId, parentId, rootId, depth, kind: 'agent', role: ['lead', 'coder', 'tester', 'reviewer'][depth % 4], task: 'bench task',
    budget, workspace: null, timeoutMs: null, maxTurns: 8, model: null });

/** A busy agent's life: spawn, start, two model calls with reserve/settle, completion (10 events). */
function agentLife(id: string): EventToAppend[] {
  const events = [spawned(id, null, id, 0, 100_000), ev('AgentRunRequested', {}), ev('AgentStarted', { deadline: null })];
  for (const c of ['r1', 'r2']) {
    events.push(ev('BudgetReserved', { reservationId: c, amount: 5000 }), ev('BudgetSettled', { reservationId: c, consumed: 1234, model: 'm', costUsd: 0.0123 }));
  }
  events.push(ev('ToolCalled', { toolUseId: 't', name: 'read_file', input: {} }), ev('AgentCompleted', { output: 'done', returned: 100_000 - 2468 }));
  return events;
}

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function latencies(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await timed(() => fn(i) as Promise<void>));
  return sortNumbers(out);
}

/** A tree of `count` agents, depth ≤ `maxDepth`, appended level by level (parents first). */
async function writeTree(store: PostgresEventStore, count: number, maxDepth: number): Promise<{ root: string; mid: string; leaf: string; last: bigint }> {
  const root = `root-${randomUUID().slice(0, 8)}`;
  interface Node { id: string; depth: number; parent: string | null; children: string[] }
  const nodes: Node[] = [{ id: root, depth: 0, parent: null, children: [] }];
  // Every node gets children until the tree is full; the deepest level stays at maxDepth.
  let seed = 42;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  while (nodes.length < count) {
    const candidates = nodes.filter((x) => x.depth < maxDepth);
    const parent = candidates[Math.floor(Math.pow(rand(), 0.5) * candidates.length)]!;
    const child: Node = { id: `${root}-${nodes.length}`, depth: parent.depth + 1, parent: parent.id, children: [] };
    parent.children.push(child.id);
    nodes.push(child);
  }
  const budgetOf = (depth: number): number => 10_000_000 >> depth;
  const byDepth = new Map<number, Node[]>();
  for (const x of nodes) byDepth.set(x.depth, [...(byDepth.get(x.depth) ?? []), x]);
  let last = 0n;
  for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
    const level = byDepth.get(depth)!;
    await rate(level.length, 8, async (i) => {
      const x = level[i]!;
      const events = [spawned(x.id, x.parent, root, x.depth, budgetOf(x.depth)), ev('AgentStarted', { deadline: null }),
        ev('BudgetReserved', { reservationId: 'r', amount: 100 }), ev('BudgetSettled', { reservationId: 'r', consumed: 60, model: 'm', costUsd: 0.0006 })];
      for (const c of x.children) {
        events.push(ev('ChildSpawned', { childId: c, role: 'coder', task: 't', budget: budgetOf(x.depth + 1), kind: 'agent' }),
          ev('BudgetDelegated', { childId: c, amount: budgetOf(x.depth + 1) }));
      }
      if (x.children.length === 0 && i % 3 === 0) events.push(ev('AgentCompleted', { output: 'ok', returned: budgetOf(x.depth) - 60 }));
      const r = await store.append(`agent-${x.id}`, events, { expectedRevision: 'no_stream' });
      if (r.position > last) last = r.position;
    });
  }
  const mid = nodes.find((x) => x.depth === 3 && x.children.length > 0)?.id ?? root;
  const leaf = nodes.find((x) => x.depth === maxDepth)?.id ?? nodes[nodes.length - 1]!.id;
  return { root, mid, leaf, last };
}

/**
 * Projection throughput against raw batched INSERTs on the same database in the same run, lag
 * under a steady append load, and report latencies on a 10,000-agent tree of depth 8.
 */
export async function benchProjections(scale = 1): Promise<BenchRow[]> {
  const db = await benchDatabase();
  const rows: BenchRow[] = [];
  try {
    // The physical limit: 100-row INSERT batches of small jsonb rows.
    const raw = new pg.Pool({ connectionString: db.url, max: 2 });
    await raw.query('CREATE TABLE raw_rows (id bigserial PRIMARY KEY, k text, data jsonb)');
    const payload = JSON.stringify({ a: 1, note: 'a small read-model row' });
    const rawBatch = 100 * (await rate(Math.round(100 * scale), 1, () =>
      raw.query('INSERT INTO raw_rows (k, data) SELECT $1, d FROM unnest($2::jsonb[]) AS d', ['k', Array(100).fill(payload)]),
    ));
    await raw.end();

    const store = await openPostgresEventStore({ sql: createPgClient({ connectionString: db.url, max: 8 }), ownsClient: true, schema: 'cadre', pollIntervalMs: 100 });
    const sql = createPgClient({ connectionString: db.url, max: 4, applicationName: 'cadre-projections' });

    // 1. Catch-up throughput on a backlog of busy agents (10 events each).
    const agents = Math.round(2000 * scale);
    let last = 0n;
    await rate(agents, 8, async (i) => {
      const r = await store.append(`agent-busy-${i}`, agentLife(`busy-${i}`), { expectedRevision: 'no_stream' });
      if (r.position > last) last = r.position;
    });
    const events = agents * 10;
    const runner = new ProjectionRunner({ store, sql, schema: 'cadre', projections: defaultProjections(), batchSize: 500 });
    const catchUpMs = await timed(async () => {
      await runner.start();
      await runner.waitFor(last, 600_000);
    });
    const projRate = events / (catchUpMs / 1000);
    const rowsPerEvent = 2.3; // agents update + activity row + ledger row on budget events (3 of 10 do none)

    // 2. Lag under a steady load: 4 writers, one 2-event append each every 10 ms (~800 events/s).
    const lags: number[] = [];
    const pending: Promise<void>[] = [];
    const endAt = performance.now() + 4000 * Math.min(1, scale);
    await Promise.all(Array.from({ length: 4 }, async (_, w) => {
      let rev: bigint | 'no_stream' = 'no_stream';
      let n = 0;
      while (performance.now() < endAt) {
        const id = `steady-${w}`;
        const batch = rev === 'no_stream' ? [spawned(id, null, id, 0, 1_000_000_000), ev('AgentStarted', { deadline: null })]
          : [ev('BudgetReserved', { reservationId: `r${n}`, amount: 10 }), ev('BudgetSettled', { reservationId: `r${n}`, consumed: 5, model: 'm', costUsd: 0 })];
        n++;
        const r = await store.append(`agent-${id}`, batch, { expectedRevision: rev });
        rev = r.nextExpectedRevision;
        const t0 = performance.now();
        pending.push(runner.waitFor(r.position, 30_000).then(() => void lags.push(performance.now() - t0)));
        await new Promise((res) => setTimeout(res, 10));
      }
    }));
    await Promise.all(pending);
    const lag = sortNumbers(lags);

    // 3. Reports on a 10,000-agent tree of depth 8.
    const treeSize = Math.max(200, Math.round(10_000 * Math.min(1, scale)));
    const tree = await writeTree(store, treeSize, 8);
    await runner.waitFor(tree.last, 600_000);
    const reports: Reports = createReports({ sql, schema: 'cadre', runner });
    const iterations = Math.max(20, Math.round(200 * Math.min(1, scale)));
    for (let i = 0; i < 5; i++) await reports.tree(tree.root); // warm up
    const treeFull = await latencies(Math.max(10, Math.round(iterations / 4)), () => reports.tree(tree.root));
    const treeMid = await latencies(iterations, () => reports.tree(tree.mid));
    const budgetRoot = await latencies(iterations, () => reports.budget(tree.root, { subtree: true }));
    const budgetLeaf = await latencies(iterations, () => reports.budget(tree.leaf));
    const counts = await latencies(iterations, () => reports.statusCounts(tree.root));
    const agent = await latencies(iterations, () => reports.agent(tree.leaf));
    const midIds = (await reports.tree(tree.mid)).map((r) => r.agentId);
    const midSize = midIds.length;
    // The limit for a listing: the same rows fetched by primary key, the same columns, no subtree logic.
    const cols = `agent_id, parent_id, root_id, depth, path, kind, role, status, allocated, consumed, reserved, delegated,
      spent_by_subtree, reclaimed, available, cost_usd, children, created_at, ended_at`;
    const rawMid = await latencies(iterations, () => sql.query(`SELECT ${cols} FROM cadre.agents WHERE agent_id = ANY($1::text[])`, [midIds]));
    const status = await runner.status();
    await runner.stop();
    await store.close();
    await sql.close();

    const ms = (xs: number[], p: number): string => fmt(percentile(xs, p), 2);
    rows.push(
      { name: 'raw batched INSERT rows/s (100/tx)', value: fmt(rawBatch) },
      { name: `projection catch-up events/s (${fmt(events)} events, 4 read models)`, value: fmt(projRate), limit: fmt(rawBatch / rowsPerEvent), ratio: ratio(projRate, rawBatch / rowsPerEvent), goal: 'rows written ≈ 2.3 / event' },
      { name: 'projection lag p50 (ms), steady ~800 events/s', value: ms(lag, 50) },
      { name: 'projection lag p99 (ms)', value: ms(lag, 99), goal: '< 50 ms' },
      { name: `reports.tree(root) p50 / p99 (ms), ${fmt(treeSize)} rows`, value: `${ms(treeFull, 50)} / ${ms(treeFull, 99)}` },
      { name: `reports.tree(depth-3 subtree) p50 / p99 (ms), ${midSize} rows`, value: `${ms(treeMid, 50)} / ${ms(treeMid, 99)}`, limit: `${ms(rawMid, 50)} / ${ms(rawMid, 99)}`, ratio: ratio(percentile(treeMid, 99), percentile(rawMid, 99)), goal: 'a listing: at the fetch limit' },
      { name: 'reports.budget(root, { subtree }) p50 / p99 (ms)', value: `${ms(budgetRoot, 50)} / ${ms(budgetRoot, 99)}`, goal: 'p99 < 10 ms' },
      { name: 'reports.budget(leaf) p50 / p99 (ms)', value: `${ms(budgetLeaf, 50)} / ${ms(budgetLeaf, 99)}`, goal: 'p99 < 10 ms' },
      { name: 'reports.statusCounts(root) p50 / p99 (ms)', value: `${ms(counts, 50)} / ${ms(counts, 99)}`, goal: 'p99 < 10 ms' },
      { name: 'reports.agent(id) p50 / p99 (ms)', value: `${ms(agent, 50)} / ${ms(agent, 99)}`, goal: 'p99 < 10 ms' },
      { name: 'events applied / lag after the run', value: `${status[0]!.position === status[0]!.headPosition ? 'all' : 'behind'} / ${status[0]!.lagEvents}` },
    );
    printTable(`projections (${db.source})`, rows);
    return rows;
  } finally {
    await db.cleanup();
  }
}
