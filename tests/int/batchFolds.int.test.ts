import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgClient } from '../../src/infra/sql/pgClient.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';
import { applyStatements } from '../../src/projections/applyStatements.js';
import { batchStatements, tableNames, type Projection } from '../../src/projections/projection.js';
import { foldAgentBatch } from '../../src/projections/readModels/agentBatchFold.js';
import { defaultProjections } from '../../src/projections/readModels/index.js';
import { runnerMigrations } from '../../src/projections/runnerSchema.js';
import { splitStatements } from '../../src/infra/sql/migrate.js';
import { parseRecorded, type ParsedEvent } from '../../src/events/upcast.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { AGENTS, batches, history, type HistoryMode } from '../support/agentHistory.js';

/**
 * Every read model written per batch (its `handleBatch`, then `afterBatch`) leaves exactly the
 * rows its statements for one event at a time leave: random event sequences over a few agents
 * whose reservation, child and node ids repeat, cut into random batches, applied both ways to
 * two generations of tables on Postgres. The agents rows are one INSERT and one UPDATE per batch
 * (agentBatchFold.ts); the workflow runs and nodes four statements (workflowBatchFold.ts).
 */
describe('read models written per batch', () => {
  let sql: SqlClient;
  const schema = freshSchema('fold');
  beforeAll(async () => {
    sql = createPgClient({ connectionString: testPgUrl(), max: 2 });
    await sql.query(`CREATE SCHEMA ${schema}`);
    for (const step of runnerMigrations(schema)) for (const s of splitStatements(step)) await sql.query(s);
  });
  afterAll(async () => {
    await sql?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await sql?.close();
  });

  /** Every table of `p`, whole, in a fixed order; without the columns `leaveOut` matches. */
  const contents = async (p: Projection, suffix: string, leaveOut?: RegExp): Promise<Record<string, unknown[]>> => {
    const out: Record<string, unknown[]> = {};
    for (const [name, table] of Object.entries(tableNames(p, schema, suffix))) {
      const rows = (await sql.query<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY 1, 2`)).rows;
      out[name] = leaveOut ? rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !leaveOut.test(k)))) : rows;
    }
    return out;
  };

  const modes: Record<string, HistoryMode[]> = { agents: ['all', 'dense'], workflows: ['all', 'workflow'], approvals: ['approvals', 'dense'] };
  it.each(defaultProjections().map((p) => [p.name, p] as const))('%s: one batch at a time leaves the rows one event at a time leaves', async (name, p) => {
    let rows = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const [each, batched] = [`e${name}${seed}`, `b${name}${seed}`];
      const eachTables = tableNames(p, schema, each);
      const batchTables = tableNames(p, schema, batched);
      const events = history(seed, 120, modes[name]![seed % 2]);
      // One transaction per seed, the tables' creation included: the statements run in the same
      // order, without a commit (and its fsync) per event, which made this file 114 s of the suite
      // with other work beside it.
      await sql.transaction(async (tx) => {
        for (const suffix of [each, batched]) for (const s of p.migrations(schema, suffix)) await tx.query(s);
        for (const batch of batches(seed, events, seed % 2 === 0 ? 40 : 12)) {
          // One event at a time: each event's own statements (`handle`, then `afterBatch` of that
          // event alone), in event order. They are sent in one round trip per batch rather than
          // one per event (3,600 round trips per read model were most of this test's time):
          // statements are built from the event alone, never from what the tables hold, and
          // applyStatements runs them in the order given, each seeing the ones before it, so the
          // tables go through the same statements in the same order as with a call per event.
          await applyStatements(tx, schema, batch.flatMap((e) => [...p.handle(e, eachTables), ...(p.afterBatch?.([e], eachTables) ?? [])]));
          await applyStatements(tx, schema, batchStatements(p, batch, batchTables));
        }
      });
      const expected = await contents(p, each);
      rows += Object.values(expected).reduce((n, r) => n + r.length, 0);
      expect(await contents(p, batched), `seed ${seed}`).toEqual(expected);
    }
    // Enough rows left at the ends for the comparison to mean something (approvals: 3 agents × 3 calls
    // at most; agents: since v6 a tree's status counts are columns of its totals row, not six rows).
    expect(rows).toBeGreaterThan(name === 'approvals' ? 60 : name === 'agents' ? 100 : 250);
    // 12–30 s each alone; over 60 s once beside other work on these 2 cores.
  }, 150_000);

  // ---- a workflow's nodes recorded as older code did and as today's does ----
  // Older code wrote AgentSpawned + AgentStarted, ChildSpawned v3 + NodeStarted and ChildFinished
  // v2 + NodeCompleted (each pair in one append); today's writes AgentSpawned with its start,
  // ChildSpawned v4 and ChildFinished v3 alone. Every read model
  // keeps the same rows, one event at a time and a batch at a time: only what counts events differs.
  const COUNTS_EVENTS = /position|revision|event_count|^id$/;

  const graph = { nodes: [{ id: 'design', role: 'architect', task: 'D', budgetPercent: 40, dependencies: [] }, { id: 'build', role: 'implementer', task: 'B', budgetPercent: 40, dependencies: ['design'] }] };

  /** The workflow's stream, each inner list one append (its events share the append's time). */
  function stream(merged: boolean): ParsedEvent[] {
    const appends: Array<Array<{ type: string; data: Record<string, unknown>; version: number }>> = [];
    const e = (type: string, data: Record<string, unknown>, version = 1) => ({ type, data, version });
    // Started in its opening: older code appended an AgentStarted after AgentSpawned, today's
    // AgentSpawned carries the start itself (`started`).
    const spawned = { agentId: 'wf', parentId: null, rootId: 'wf', depth: 0, kind: 'workflow', role: 'workflow', task: 'ship', budget: 10_000, workspace: null, timeoutMs: 3_600_000, maxTurns: 5, model: null, graph };
    const started = { deadline: '2026-02-01T01:00:01.000Z' };
    appends.push(merged
      ? [e('AgentSpawned', { ...spawned, started }), e('WorkflowPlanned', { source: 'graph', templateId: null, graph })]
      : [e('AgentSpawned', spawned), e('AgentStarted', started), e('WorkflowPlanned', { source: 'graph', templateId: null, graph })]);
    for (const [i, nodeId] of ['design', 'build'].entries()) {
      const childId = `k${i}`;
      const spawned = { childId, role: 'coder', task: `do ${nodeId}`, budget: 4000, kind: 'agent', nodeId, spec: null, delegatesBudget: true };
      appends.push(merged
        ? [e('ChildSpawned', { ...spawned, nodeAttempt: 1 }, 4)]
        : [e('ChildSpawned', spawned, 3), e('NodeStarted', { nodeId, childId, attempt: 1, budget: 4000 })]);
      const output = i === 0 ? `${nodeId} out` : null;
      const finished = { childId, status: 'completed', output, reclaim: { allocated: 4000, returned: 3000, spent: 1000, overspent: 0 } };
      appends.push(merged
        ? [e('ChildFinished', { ...finished, completesNode: nodeId }, 3)]
        : [e('ChildFinished', finished, 2), e('NodeCompleted', { nodeId, childId, output: output ?? '' })]);
    }
    appends.push([e('AgentCompleted', { output: 'all done', returned: 2000 })]);
    const out: ParsedEvent[] = [];
    let clock = Date.parse('2026-02-01T00:00:00.000Z');
    for (const append of appends) {
      const at = new Date((clock += 1000)).toISOString();
      for (const x of append) {
        const n = out.length;
        // Read as every stored event is: old versions upcast (an older ChildSpawned starts no node, an older ChildFinished completes none).
        out.push(parseRecorded({
          id: `00000000-0000-4000-8000-${String(n + 1).padStart(12, '0')}`, type: x.type, data: x.data, streamId: 'agent-wf', revision: BigInt(n), position: BigInt(n + 1),
          metadata: { correlationId: 'c', causationId: 'c', schemaVersion: x.version, at },
        }));
      }
    }
    return out;
  }

  it.each(defaultProjections().map((p) => [p.name, p] as const))('%s: an old workflow stream (AgentSpawned + AgentStarted, ChildSpawned v3 + NodeStarted, ChildFinished v2 + NodeCompleted) and a new one (AgentSpawned with its start, ChildSpawned v4, ChildFinished v3 alone) leave the same rows', async (name, p) => {
    const results: Record<string, Record<string, unknown[]>> = {};
    for (const merged of [false, true]) {
      for (const batched of [false, true]) {
        const suffix = `${name.replace(/\W/g, '')}_${merged ? 'new' : 'old'}_${batched ? 'b' : 'e'}`;
        for (const s of p.migrations(schema, suffix)) await sql.query(s);
        const tables = tableNames(p, schema, suffix);
        const events = stream(merged);
        if (batched) await applyStatements(sql, schema, batchStatements(p, events, tables));
        else for (const ev of events) await applyStatements(sql, schema, [...p.handle(ev, tables), ...(p.afterBatch?.([ev], tables) ?? [])]);
        results[suffix] = await contents(p, suffix, COUNTS_EVENTS);
      }
    }
    const [first, ...rest] = Object.values(results);
    for (const r of rest) expect(r).toEqual(first);
    if (name === 'agents') {
      const agents = Object.values(first!).find((rows) => rows.some((r) => (r as { agent_id?: string }).agent_id === 'wf'))!;
      expect(agents).toEqual([expect.objectContaining({ agent_id: 'wf', started_at: new Date('2026-02-01T00:00:01.000Z'), deadline: new Date('2026-02-01T01:00:01.000Z'), status: 'completed' })]);
    }
    if (name === 'workflows') {
      const runs = Object.values(first!).find((rows) => rows.some((r) => (r as { run_id?: string }).run_id === 'wf' && !('node_id' in (r as object))))!;
      expect(runs).toEqual([expect.objectContaining({ run_id: 'wf', started_at: new Date('2026-02-01T00:00:01.000Z'), status: 'completed' })]);
      const nodes = Object.values(first!).find((rows) => rows.some((r) => (r as { node_id?: string }).node_id === 'design'))!;
      expect(nodes).toEqual([
        expect.objectContaining({ node_id: 'build', status: 'completed', child_agent_id: 'k1', attempt: 1, budget: 4000n, output_excerpt: '' }),
        expect.objectContaining({ node_id: 'design', status: 'completed', child_agent_id: 'k0', attempt: 1, budget: 4000n, output_excerpt: 'design out' }),
      ]);
    }
  });

  it('writes a fixed number of statements per batch', () => {
    const events = history(7, 60);
    expect(foldAgentBatch(events, 'x.agents').map((s) => s.text.split(' ')[0])).toEqual(['INSERT', 'UPDATE']);
    expect(foldAgentBatch(events.slice(AGENTS.length), 'x.agents').map((s) => s.text.split(' ')[0])).toEqual(['UPDATE']);
    // Agents the batch opens are inserted as the batch leaves them: one version of each row, no
    // UPDATE of a row the same transaction inserted.
    // (A random history's agents close reservations they never opened, so those stay updates.)
    expect(foldAgentBatch(stream(true), 'x.agents').map((s) => s.text.split(' ')[0])).toEqual(['INSERT']);
    expect(foldAgentBatch(stream(true).slice(1), 'x.agents').map((s) => s.text.split(' ')[0])).toEqual(['UPDATE']);
    for (const p of defaultProjections()) {
      const n = batchStatements(p, history(3, 200, 'all'), tableNames(p, 'x', 'v1_r0')).length;
      expect(n, p.name).toBeLessThanOrEqual({ agents: 4, workflows: 5, approvals: 2 }[p.name]!);
    }
  });
});
