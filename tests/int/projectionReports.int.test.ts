import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresEventStore, type PostgresEventStore } from '../../src/events/stores/postgres/postgresEventStore.js';
import type { EventToAppend } from '../../src/events/envelope.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';
import { ProjectionRunner } from '../../src/projections/runner.js';
import { createReports, type Reports } from '../../src/projections/reports.js';
import { defaultProjections } from '../../src/projections/readModels/index.js';
import { isInvalidInput } from '../../src/errors.js';
import { freshSchema, sqlTargets } from '../support/testDb.js';

let tick = Date.parse('2026-01-01T00:00:00.000Z');
const ev = (type: string, data: unknown): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
  metadata: { correlationId: 'run-1', causationId: 'cmd-1', schemaVersion: 1, at: new Date((tick += 1000)).toISOString() },
});
const spawned = (agentId: string, parentId: string | null, depth: number, budget: number, role: string, kind = 'agent') =>
  ev('AgentSpawned', { agentId, parentId, rootId: 'root', depth, kind, role, task: `task of ${agentId}`, budget, workspace: null, timeoutMs: null, maxTurns: 10, model: null });

describe.each(sqlTargets)('reports on a hand-built tree ($name)', (target) => {
  let sql: SqlClient;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;
  let reports: Reports;
  const revs = new Map<string, bigint>();
  let last = 0n;
  let midPosition = 0n;
  const append = async (agentId: string, ...events: EventToAppend[]) => {
    const r = await store.append(`agent-${agentId}`, events, { expectedRevision: revs.get(agentId) ?? 'no_stream' });
    revs.set(agentId, r.nextExpectedRevision);
    last = r.position;
  };

  beforeAll(async () => {
    sql = await target.open();
    store = await openPostgresEventStore({ sql, schema: freshSchema('es'), pollIntervalMs: 20 });
    runner = new ProjectionRunner({ store, sql, schema: freshSchema('pr'), projections: defaultProjections() });
    reports = createReports({ sql, schema: runner.schema, runner, events: { sql, schema: store.schema } });
    await runner.start();
    await append('root', spawned('root', null, 0, 1000, 'lead'), ev('AgentRunRequested', {}), ev('AgentStarted', { deadline: null }));
    for (const [child, budget, role] of [['a', 300, 'coder'], ['b', 200, 'tester']] as const) {
      await append('root', ev('ChildSpawned', { childId: child, role, task: 't', budget, kind: 'agent' }), ev('BudgetDelegated', { childId: child, amount: budget }));
      await append(child, spawned(child, 'root', 1, budget, role));
    }
    await append('root',
      ev('ModelRequested', { callId: 'c1', turn: 0, provider: 'offline', model: 'm', requestRef: 'x', reserved: 50 }), ev('BudgetReserved', { reservationId: 'r1', amount: 50 }));
    await append('root',
      ev('ModelReplied', { callId: 'c1', model: 'm', content: [], stopReason: 'end_turn', usage: { inputTokens: 20, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 }, costUsd: 0.01 }),
      ev('BudgetSettled', { reservationId: 'r1', consumed: 30, model: 'm', costUsd: 0.01 }));
    await append('a', ev('AgentStarted', { deadline: null }), ev('ChildSpawned', { childId: 'a1', role: 'coder', task: 't', budget: 100, kind: 'agent' }), ev('BudgetDelegated', { childId: 'a1', amount: 100 }));
    await append('a1', spawned('a1', 'a', 2, 100, 'coder'), ev('AgentStarted', { deadline: null }), ev('BudgetReserved', { reservationId: 'r2', amount: 40 }));
    midPosition = last;
    await append('a1', ev('BudgetSettled', { reservationId: 'r2', consumed: 25, model: 'm', costUsd: 0.005 }), ev('AgentCompleted', { output: 'done a1', returned: 75 }));
    await append('a', ev('ChildFinished', { childId: 'a1', status: 'completed', output: 'done a1' }), ev('BudgetReclaimed', { childId: 'a1', allocated: 100, returned: 75, spent: 25 }));
    await append('a', ev('AgentCompleted', { output: 'done a', returned: 275 }));
    await append('root', ev('ChildFinished', { childId: 'a', status: 'completed', output: 'done a' }), ev('BudgetReclaimed', { childId: 'a', allocated: 300, returned: 275, spent: 25 }));
    await append('b', ev('AgentStarted', { deadline: null }),
      ev('ModelRequested', { callId: 'c2', turn: 0, provider: 'offline', model: 'm', requestRef: 'y', reserved: 60 }), ev('BudgetReserved', { reservationId: 'r3', amount: 60 }));
    await reports.waitFor(last);
  });

  afterAll(async () => {
    await runner?.stop();
    await store?.close();
    await sql?.close();
  });

  it('waits by polling the checkpoints when no runner is in this process, and times out by a timer', async () => {
    const polling = createReports({ sql, schema: runner.schema });
    await polling.waitFor(last, 5000);
    const t0 = performance.now();
    const err = await polling.waitFor(last + 1000n, 100).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('TIMEOUT');
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('lists the tree depth-first with statuses and budgets', async () => {
    const tree = await reports.tree('root');
    expect(tree.map((r) => [r.agentId, r.depth, r.path, r.status])).toEqual([
      ['root', 0, '/root/', 'waiting'],
      ['a', 1, '/root/a/', 'completed'],
      ['a1', 2, '/root/a/a1/', 'completed'],
      ['b', 1, '/root/b/', 'waiting'],
    ]);
    expect((await reports.tree('a')).map((r) => r.agentId)).toEqual(['a', 'a1']);
    expect((await reports.tree('root', { maxDepth: 1 })).map((r) => r.agentId)).toEqual(['root', 'a', 'b']);
    expect((await reports.children('root')).map((r) => r.agentId)).toEqual(['a', 'b']);
    expect((await reports.ancestors('a1')).map((r) => r.agentId)).toEqual(['root', 'a']);
    expect(await reports.tree('nobody')).toEqual([]);
    // Listings format timestamps in SQL, agent() through the driver's Date: the same strings.
    for (const row of tree) {
      const one = await reports.agent(row.agentId);
      expect([row.createdAt, row.endedAt]).toEqual([one!.createdAt, one!.endedAt]);
      expect(row.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    expect(tree.find((r) => r.agentId === 'a')!.endedAt).not.toBeNull();
  });

  it('reports budgets with the arithmetic of src/actors/budget.ts', async () => {
    const root = await reports.budget('root', { subtree: true });
    expect(root).toMatchObject({ allocated: 1000, consumed: 30, reserved: 0, delegated: 200, spentBySubtree: 25, reclaimed: 275, available: 745 });
    expect(root?.costUsd).toBeCloseTo(0.01);
    expect(root?.subtree).toMatchObject({ agents: 4, consumed: 55, reserved: 60 });
    expect(root?.subtree?.costUsd).toBeCloseTo(0.015);
    expect(await reports.budget('b')).toMatchObject({ allocated: 200, reserved: 60, available: 140, subtree: null });
    expect(await reports.budget('nobody')).toBeNull();
    const ledger = await reports.ledger('root');
    expect(ledger.map((l) => [l.kind, l.amount])).toEqual([
      ['allocated', 1000], ['delegated', 300], ['delegated', 200], ['reserved', 50], ['settled', 30], ['reclaimed', 275],
    ]);
    expect(ledger.at(-1)).toMatchObject({ counterparty: 'a', held: 300, spent: 25 });
    // Derived from the stream: a limit cuts the list, and an agent with no stream has none.
    expect(await reports.ledger('root', { limit: 2 })).toEqual(ledger.slice(0, 2));
    expect(await reports.ledger('nobody')).toEqual([]);
  });

  it('answers the agent, cost by role, active agents, status counts and activity', async () => {
    const a1 = await reports.agent('a1');
    expect(a1).toMatchObject({ agentId: 'a1', parentId: 'a', rootId: 'root', status: 'completed', output: 'done a1', returned: 75, consumed: 25 });
    expect(a1!.eventCount).toBe(a1!.lastRevision + 1);
    expect(typeof a1!.lastPosition).toBe('number'); // JSON-safe, like every position in API results
    expect(JSON.parse(JSON.stringify(a1))).toEqual(a1);
    expect(await reports.agent('nobody')).toBeNull();
    const roles = await reports.costByRole('root');
    expect(roles.map((r) => [r.role, r.agents, r.consumed])).toEqual([['lead', 1, 30], ['coder', 2, 25], ['tester', 1, 0]]);
    expect((await reports.active()).map((r) => r.agentId)).toEqual(['root', 'b']);
    expect((await reports.active({ rootId: 'root' })).map((r) => r.agentId)).toEqual(['root', 'b']);
    expect(await reports.active({ rootId: 'a1' })).toEqual([]); // a tree of its own has no such root
    // Without a root, cost by role covers every agent of the store (here: the one tree).
    expect((await reports.costByRole()).map((r) => [r.role, r.agents, r.consumed])).toEqual(roles.map((r) => [r.role, r.agents, r.consumed]));
    expect(await reports.statusCounts('root')).toEqual({ spawned: 0, running: 0, waiting: 2, completed: 2, failed: 0, terminated: 0 });
    expect((await reports.statusCounts()).completed).toBe(2);
    const latest = await reports.activity({ limit: 2 });
    expect(latest.map((r) => r.type)).toEqual(['ModelRequested', 'BudgetReserved']);
    expect(latest[1]!.summary).toBe('reserved 60 tokens');
    const after = await reports.activity({ since: midPosition });
    expect(after[0]!.type).toBe('BudgetSettled');
    expect(after.at(-1)!.position).toBe(Number(last));
    expect(await reports.activity({ since: Number(midPosition) })).toEqual(after); // a number or a bigint
    expect((await reports.activity({ agentId: 'a1', since: '2020-01-01T00:00:00Z' })).length).toBe(5);
  });

  it('gives the same activity through the store\'s port (as beside EventStoreDB, whose events are not in Postgres)', async () => {
    // A small page size is not needed: the walk is the same code for one page or many.
    const viaPort = createReports({ sql, schema: runner.schema, runner, events: { store } });
    const queries = [{ limit: 2 }, { since: midPosition }, { since: Number(midPosition), limit: 3 }, { agentId: 'a1' }, { agentId: 'a1', limit: 2 }, { agentId: 'a1', since: '2020-01-01T00:00:00Z' }, { since: '2999-01-01T00:00:00Z' }];
    for (const q of queries) expect(await viaPort.activity(q), JSON.stringify(q, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).toEqual(await reports.activity(q));
    // The ledger is derived from the same stream reads, so it reads the same way too.
    for (const agent of ['root', 'a', 'a1', 'b']) expect(await viaPort.ledger(agent), agent).toEqual(await reports.ledger(agent));
    expect((await viaPort.ledger('root')).length).toBeGreaterThan(3);
  });

  it('rejects bad arguments naming the field', async () => {
    const err = await reports.tree('bad id!').catch((e: unknown) => e);
    expect(isInvalidInput(err) && err.field).toBe('rootId');
    const err2 = await reports.activity({ limit: 0 }).catch((e: unknown) => e);
    expect(isInvalidInput(err2) && err2.field).toBe('options.limit');
    const err3 = await reports.budget('a', { subtree: 'yes' } as never).catch((e: unknown) => e);
    expect(isInvalidInput(err3) && err3.field).toBe('options.subtree');
  });

  it('reports status with lag', async () => {
    const status = await runner.status();
    expect(status.map((s) => s.name)).toEqual(['agents', 'workflows', 'approvals']);
    for (const s of status) expect(s).toMatchObject({ state: 'live', position: Number(last), headPosition: Number(last), lagEvents: 0, lagMs: 0, suffix: `v${s.version}_r0` });
  });
});

describe('the ledger of a long-lived agent (more events than one page of its stream)', () => {
  it('derives every movement across pages, in order, through the events table and through the port alike', async () => {
    const sql = await sqlTargets[0]!.open();
    const store = await openPostgresEventStore({ sql, schema: freshSchema('es'), pollIntervalMs: 20 });
    try {
      const turns = 1_100;
      const events = [spawned('long', null, 0, 5_000, 'lead')];
      for (let i = 0; i < turns; i++) events.push(ev('BudgetReserved', { reservationId: `r${i}`, amount: i + 1 }), ev('BudgetReleased', { reservationId: `r${i}`, reason: 'x' }));
      await store.append('agent-long', events, { expectedRevision: 'no_stream' });
      for (const reports of [createReports({ sql, schema: freshSchema('pr'), events: { sql, schema: store.schema } }), createReports({ sql, schema: freshSchema('pr'), events: { store } })]) {
        const ledger = await reports.ledger('long', { limit: 5_000 });
        expect(ledger).toHaveLength(1 + 2 * turns);
        expect(ledger.every((r, i) => i === 0 || r.position > ledger[i - 1]!.position)).toBe(true);
        // The last release returns what its reservation held; so does every other, r499's
        // across the first page's end (its reservation is the page's last event).
        expect(ledger.at(-1)).toMatchObject({ kind: 'released', ref: `r${turns - 1}`, amount: turns, held: turns });
        expect(ledger.filter((r) => r.kind === 'released').every((r, i) => r.held === i + 1 && r.amount === i + 1)).toBe(true);
        expect(await reports.ledger('long', { limit: 1_500 })).toEqual(ledger.slice(0, 1_500));
        expect(await reports.ledger('long')).toHaveLength(1_000);
      }
    } finally {
      await store.close();
      await sql.close();
    }
  });
});
