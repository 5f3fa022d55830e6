import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentSystem, type AgentSystem, type AgentSystemOptions } from '../../src/system.js';
import { freshDatabase } from '../support/cliProcess.js';
import { committedHead } from '../../src/events/committedHead.js';

/**
 * Old data still opens. tests/fixtures/stores/c53f705.sql is a Postgres store written by cadre
 * at commit c53f705 (scripts/makeOldStoreFixture.sh made it, with that version's own API), and
 * c53f705.expected.json is what that version read back from it. Today's code must open the
 * store, read every old event, give every agent the state the old code gave it, resume the two
 * agents left live (a root never run, whose worker holds an unread message, and a root whose
 * model call was in flight), run new work beside the old, and project all of it, incrementally
 * and rebuilt from 0, to the figures the old code reported.
 *
 * The same dump is loaded into PGlite too: a store restored from a dump into a fresh engine,
 * whose transaction counter is far behind the one the events were written under (see
 * restoredStore.ts), and the old schema on the embedded engine. (A PGlite data folder written by
 * c53f705 is not kept: its dumpDataDir() tarball is 4.5 MB even empty. Most of this file's time
 * is PGlite creating that fresh folder.)
 */
const fixtures = fileURLToPath(new URL('../fixtures/stores/', import.meta.url));
const dump = readFileSync(join(fixtures, 'c53f705.sql'), 'utf8');

interface ExpectedAgent {
  readonly name: string;
  readonly id: string;
  readonly role: string;
  readonly status: string;
  readonly budget: Record<string, number>;
  /** `AgentState` as c53f705 returned it, JSON-safe (its revision was a bigint, here a string). */
  readonly state: Record<string, unknown> & { revision: string };
  readonly history: { readonly count: number; readonly types: readonly string[] };
}
interface Expected {
  readonly scenario: {
    readonly roots: Readonly<Record<'workflow' | 'lead' | 'spender' | 'coordinator' | 'sleeper', string>>;
    readonly ids: Readonly<Record<'a' | 'b' | 'worker', string>>;
  };
  readonly headPosition: string;
  readonly eventCounts: Readonly<Record<string, number>>;
  readonly totalEvents: number;
  readonly agents: readonly ExpectedAgent[];
  readonly replayAt: ReadonlyArray<{ id: string; revision: number; state: Record<string, unknown> & { revision: string } }>;
  readonly reports: {
    readonly tree: Readonly<Record<string, unknown[]>>;
    readonly budget: Readonly<Record<string, unknown>>;
    readonly budgetSubtree: Readonly<Record<string, unknown>>;
    readonly costByRole: Readonly<Record<string, unknown[]>>;
    readonly statusCounts: Readonly<Record<string, number>>;
  };
  readonly pendingMessages: readonly unknown[];
}
const expected = JSON.parse(readFileSync(join(fixtures, 'c53f705.expected.json'), 'utf8')) as Expected;
const { roots, ids } = expected.scenario;
const oldHead = BigInt(expected.headPosition);
const live = new Set([roots.coordinator, ids.worker, roots.sleeper]);
const ended = expected.agents.filter((a) => !live.has(a.id));

/** The old state as today's `AgentState` spells it: the revision is a number now. */
const asToday = (s: ExpectedAgent['state']): Record<string, unknown> => ({ ...s, revision: Number(s.revision) });

interface Target {
  readonly name: string;
  /** Loads the dump into a fresh store; the options that open it. */
  load(): Promise<Pick<AgentSystemOptions, 'store'>>;
  drop(): Promise<void>;
}

const postgres = (): Target => {
  let db: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  return {
    name: 'postgres',
    async load() {
      db = await freshDatabase();
      // pg_dump --inserts: plain statements, run in one go through the simple query protocol.
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        await client.query(dump);
      } finally {
        await client.end();
      }
      return { store: { kind: 'postgres', connectionString: db.url } };
    },
    drop: async () => db?.drop(),
  };
};

const pglite = (): Target => {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-oldstore-'));
  return {
    name: 'pglite',
    async load() {
      const { PGlite } = await import('@electric-sql/pglite');
      const db = await PGlite.create(join(dir, 'db'));
      await db.exec(dump);
      await db.close();
      return { store: { kind: 'pglite', dataDir: join(dir, 'db') } };
    },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
};

describe.each([postgres(), pglite()])('a store written by c53f705 opens with today\'s code ($name)', (target) => {
  let opts: AgentSystemOptions;
  let system: AgentSystem | undefined;
  const open = async (recover: boolean): Promise<AgentSystem> => {
    await system?.close();
    system = await createAgentSystem({ ...opts, model: { provider: 'offline', latencyMs: 0 }, env: {}, recover });
    return system;
  };
  // The newest event this test wrote: the head subscribers see can lag behind it while any other
  // transaction of the cluster (another test file's database) is still open.
  let written = 0n;
  // Every committed event readable, then applied by every projection. Readers see an event once
  // every older transaction of the server has ended (the xmin rule), the restored old events too:
  // another test file's transaction held open meanwhile left readAll and the read models empty
  // for a moment, and a suite run read them then.
  const caughtUp = async (s: AgentSystem): Promise<void> => {
    const committed = await committedHead(s.store);
    const target = committed > written ? committed : written;
    await expect.poll(() => s.store.headPosition(), { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(target);
    await s.reports.waitFor(target, 60_000);
  };

  beforeAll(async () => {
    opts = await target.load();
  });
  afterAll(async () => {
    await system?.close();
    await target.drop();
  });

  it('reads every old event and gives every agent the state c53f705 gave it', async () => {
    const s = await open(false);
    for (const agent of expected.agents) {
      const history = await s.history(agent.id);
      expect(history.map((e) => e.type), agent.name).toEqual(agent.history.types);
      const state = await s.get(agent.id).state();
      expect(state, `${agent.name} ${agent.role}`).toMatchObject(asToday(agent.state));
      expect(state.status).toBe(agent.status);
      expect(state.budget).toMatchObject(agent.budget);
      expect(await s.replay(agent.id)).toEqual(state);
    }
    for (const r of expected.replayAt) expect(await s.replay(r.id, { toRevision: r.revision })).toMatchObject(asToday(r.state));
    expect(expected.agents.map((a) => a.status).filter((st) => st === 'spawned' || st === 'waiting')).toHaveLength(live.size);
    expect((await s.get(ids.worker).peekMessages()).map((m) => m.payload)).toEqual(expected.pendingMessages);
  });

  it('reports the tree and budgets c53f705 reported', async () => {
    const s = system!;
    await caughtUp(s);
    await expectReports(s, Object.values(roots));
    expect(await s.reports.statusCounts()).toEqual(expected.reports.statusCounts);
    // c53f705 kept an activity read model; today's feed reads the old events themselves, and the
    // retired model's checkpoint is gone (it would hold waitFor back forever).
    expect(await s.reports.checkpoint('activity')).toBeNull();
    // Its budget ledger read model went the same way: the ledger is derived from the old events
    // (their v1 pairs), and what it settled is what the agent consumed.
    expect(await s.reports.checkpoint('budget_ledger')).toBeNull();
    const ledgerTables = await s.internal.sql.query(`SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'budget_ledger%'`, [s.schema]);
    expect(ledgerTables.rows).toEqual([]);
    for (const agent of ended) {
      const settled = (await s.reports.ledger(agent.id)).filter((r) => r.kind === 'settled').reduce((n, r) => n + r.amount, 0);
      expect(settled, agent.name).toBe((await s.reports.budget(agent.id))!.consumed);
    }
    // Its agents tables (v3) kept the tree totals with a trigger; the rebuilt generation recounts
    // them per batch, and the old generation's function went with its tables.
    const fns = await s.internal.sql.query(
      `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname LIKE 'agents%tree_totals'`, [s.schema]);
    expect(fns.rows).toEqual([]);
    for (const agent of ended) expect((await s.reports.activity({ agentId: agent.id, since: 0 })).map((r) => r.type), agent.name).toEqual(agent.history.types);
  });

  it('recovers the live agents and runs them to completion', async () => {
    const s = await open(true);
    const worker = s.get(ids.worker);
    const got = await worker.receiveMessages({ max: 10 });
    expect(got.map((m) => m.payload)).toEqual(expected.pendingMessages);
    await worker.ack(got.map((m) => m.messageId));

    // The sleeper's model call was in flight when c53f705 stopped: recovery calls again.
    const slept = await s.run(roots.sleeper);
    expect(slept.status).toBe('completed');
    const coordinated = await s.run(roots.coordinator);
    expect(coordinated.status).toBe('completed');
    for (const id of live) {
      const st = await s.get(id).state();
      expect(st.status, st.role).toBe('completed');
      expect(st.budget.reserved).toBe(0);
      const b = st.budget;
      expect(b.allocated, `${st.role} conserves its budget`).toBe(b.consumed + b.reserved + b.delegated + b.spentBySubtree + b.available);
      expect(await s.replay(id)).toEqual(st);
    }
  });

  it('runs a new workflow beside the old ones, positioned after every old event', async () => {
    const s = system!;
    const wf = await s.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a kebabCase() helper', budget: 60_000 });
    const result = await wf.run();
    expect(result.status).toBe('completed');
    const history = await s.history(wf.id);
    expect(BigInt(history[0]!.position)).toBeGreaterThan(oldHead);
    written = BigInt(history.at(-1)!.position);

    // The ended old agents are untouched by all of this.
    for (const agent of ended) expect(await s.get(agent.id).state()).toMatchObject(asToday(agent.state));

    // Every event, old and new, is readable from the start of the store, in position order.
    await caughtUp(s);
    let count = 0;
    let last = 0n;
    for (;;) {
      const page = await s.store.readAll({ fromPosition: last, limit: 500 });
      if (page.length === 0) break;
      for (const e of page) {
        expect(e.position).toBeGreaterThan(last);
        last = e.position;
      }
      count += page.length;
    }
    expect(count).toBeGreaterThan(expected.totalEvents);
    expect(last).toBe(await s.store.headPosition());

    await caughtUp(s);
    const tree = await s.reports.tree(wf.id);
    expect(tree.map((r) => `${r.role}:${r.status}`).sort()).toEqual(['architect:completed', 'implementer:completed', 'reviewer:completed', 'tdd-workflow:completed', 'tester:completed']);
    await expectReports(s, [roots.workflow, roots.lead, roots.spender]);
    const counts = await s.reports.statusCounts();
    expect(counts.completed).toBe(expected.reports.statusCounts.completed! + live.size + tree.length);
    expect(counts.spawned + counts.running + counts.waiting).toBe(0);
  });

  it('rebuilds every projection from 0 over the old and new events to the same figures', async () => {
    const s = system!;
    const rootsNow = [...Object.values(roots)];
    const before = await Promise.all(rootsNow.map(async (r) => [await s.reports.tree(r), await s.reports.budget(r, { subtree: true }), await s.reports.costByRole(r)]));
    const countsBefore = await s.reports.statusCounts();
    for (const name of s.projections.projectionNames) await s.projections.rebuild(name);
    await caughtUp(s);
    const after = await Promise.all(rootsNow.map(async (r) => [await s.reports.tree(r), await s.reports.budget(r, { subtree: true }), await s.reports.costByRole(r)]));
    expect(after).toEqual(before);
    expect(await s.reports.statusCounts()).toEqual(countsBefore);
    await expectReports(s, [roots.workflow, roots.lead, roots.spender]);
  });
});

/** The reports on these roots' trees agree with what c53f705 reported (today's rows may carry more fields). */
async function expectReports(s: AgentSystem, rootIds: readonly string[]): Promise<void> {
  for (const root of rootIds) {
    expect(await s.reports.tree(root), `tree ${root}`).toMatchObject(expected.reports.tree[root]!);
    expect(await s.reports.budget(root, { subtree: true }), `subtree budget ${root}`).toMatchObject(expected.reports.budgetSubtree[root]!);
    expect(await s.reports.costByRole(root), `cost by role ${root}`).toMatchObject(expected.reports.costByRole[root]!);
  }
  for (const agent of expected.agents.filter((a) => rootIds.includes(a.state.rootId as string))) {
    expect(await s.reports.budget(agent.id), `budget ${agent.name} ${agent.role}`).toMatchObject(expected.reports.budget[agent.id]!);
  }
}
