import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresEventStore, type PostgresEventStore } from '../../src/events/stores/postgres/postgresEventStore.js';
import type { EventToAppend } from '../../src/events/envelope.js';
import { createPgClient } from '../../src/infra/sql/pgClient.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';
import { ProjectionRunner, type ProjectionLogger } from '../../src/projections/runner.js';
import { agentsProjection } from '../../src/projections/readModels/index.js';
import { CLAIM_STALE_MS } from '../../src/projections/runner/claimFreshness.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';

const ev = (type: string, data: unknown): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
  metadata: { correlationId: 'run', causationId: 'cause', schemaVersion: 1, at: '2026-02-01T00:00:00.000Z' },
});

/** `n` agents of seven events each: spawn, start, two reserve/settle pairs, completion. */
async function writeAgents(store: PostgresEventStore, n: number, prefix: string): Promise<bigint> {
  let last = 0n;
  for (let i = 0; i < n; i++) {
    const id = `${prefix}${i}`;
    const batch = [
      ev('AgentSpawned', { agentId: id, parentId: null, rootId: id, depth: 0, kind: 'agent', role: 'r', task: 't', budget: 10_000, workspace: null, timeoutMs: null, maxTurns: 5, model: null }),
      ev('AgentStarted', { deadline: null }),
      ...[0, 1].flatMap((c) => [ev('BudgetReserved', { reservationId: `r${c}`, amount: 100 }), ev('BudgetSettled', { reservationId: `r${c}`, consumed: 40, model: 'm', costUsd: 0.001 })]),
      ev('AgentCompleted', { output: 'ok', returned: 9_920 }),
    ];
    last = (await store.append(`agent-${id}`, batch, { expectedRevision: 'no_stream' })).position;
  }
  return last;
}

/** Drops the session's prepared read-model statements (not the client's own): as on a new connection. */
const FORGET_APPLY_STATEMENTS = `DO $$ DECLARE n text; BEGIN
  FOR n IN SELECT name FROM pg_prepared_statements WHERE name LIKE 'cadre\\_apply\\_%' LOOP EXECUTE format('DEALLOCATE %I', n); END LOOP;
END $$`;

/**
 * Several processes on one store, after an upgrade that changed a projection's version: each
 * starts its runner, each finds the projection stale. One rebuild may run at a time; the others
 * wait for it and serve what it swapped in, and none drops the tables another is building.
 */
describe('projection rebuilds from several runners on one schema', () => {
  let storeSql: SqlClient;
  let store: PostgresEventStore;
  const clients: SqlClient[] = [];
  const sqlClient = (): SqlClient => {
    const c = createPgClient({ connectionString: testPgUrl(), max: 3 });
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    storeSql = createPgClient({ connectionString: testPgUrl(), max: 4 });
    store = await openPostgresEventStore({ sql: storeSql, schema: freshSchema('es'), pollIntervalMs: 10 });
  });
  afterAll(async () => {
    await store?.close();
    await storeSql?.close();
    for (const c of clients) await c.close();
  });

  /** A schema whose agents projection an older version built from `n` agents; the version that follows it. */
  async function builtByOlderVersion(n: number, prefix: string): Promise<{ schema: string; last: bigint; v2: typeof agentsProjection }> {
    const schema = freshSchema('rb');
    const old = new ProjectionRunner({ store, sql: sqlClient(), schema, projections: [agentsProjection] });
    await old.start();
    const last = await writeAgents(store, n, prefix);
    await old.waitFor(last, 30_000);
    await old.stop();
    return { schema, last, v2: { ...agentsProjection, version: agentsProjection.version + 1 } };
  }

  it('three runners started at once on a stale projection: one rebuild, every event counted once, no failure', async () => {
    const prefix = `rt${randomUUID().slice(0, 6)}_`;
    const { schema, v2 } = await builtByOlderVersion(150, prefix);
    const errors: unknown[] = [];
    const said: string[] = [];
    const logger: ProjectionLogger = { debug: () => {}, info: (_o, msg) => said.push(msg ?? ''), warn: () => {}, error: (o) => errors.push(o) };
    const runners = [0, 1, 2].map(() => new ProjectionRunner({ store, sql: sqlClient(), schema, projections: [v2], batchSize: 25, logger }));
    await Promise.all(runners.map((r) => r.start()));
    const more = await writeAgents(store, 20, `${prefix}x`);
    await Promise.all(runners.map((r) => r.waitFor(more, 60_000)));
    expect(errors).toEqual([]);
    expect(said.filter((m) => m === 'projection rebuild started')).toHaveLength(1);
    expect(said.filter((m) => m === 'projection rebuilt by another runner')).toHaveLength(2);
    for (const r of runners) expect((await r.status())[0]).toMatchObject({ state: 'live', version: v2.version });
    const sql = clients[0]!;
    const counts = await sql.query<{ n: bigint; bad: bigint }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE event_count <> 7 OR consumed <> 80) AS bad FROM ${schema}.agents WHERE starts_with(agent_id, $1)`,
      [prefix],
    );
    expect(counts.rows[0]).toEqual({ n: 170n, bad: 0n });
    for (const r of runners) await r.stop();
  });

  it('rebuilds asked of three runners at once, round after round while events arrive: each returns, none fails, every event counted once', async () => {
    // A trial's: `cadre projections rebuild agents` from three shells at once, beside `cadre
    // serve` and `cadre worker`, failed 'cannot drop table agents_v6_r1 because other objects
    // depend on it' (a rebuild asked for as another swapped in chose the generation now serving)
    // and the others' live loops warned 'relation agents_v6_r0 does not exist'.
    const schema = freshSchema('rb');
    const prefix = `rr${randomUUID().slice(0, 6)}_`;
    const problems: unknown[] = [];
    const logger: ProjectionLogger = { debug: () => {}, info: () => {}, warn: (o, m) => problems.push([m, o]), error: (o, m) => problems.push([m, o]) };
    const runners = [0, 1, 2].map(() => new ProjectionRunner({ store, sql: sqlClient(), schema, projections: [agentsProjection], batchSize: 30, logger }));
    for (const r of runners) await r.start();
    let last = await writeAgents(store, 40, prefix);
    const writing = (async () => {
      for (let i = 0; i < 6; i++) last = await writeAgents(store, 10, `${prefix}w${i}_`);
    })();
    for (let round = 0; round < 4; round++) await Promise.all(runners.map((r) => r.rebuild('agents')));
    await writing;
    await Promise.all(runners.map((r) => r.waitFor(last, 30_000)));
    expect(problems).toEqual([]);
    const counts = await clients[0]!.query<{ n: bigint; bad: bigint }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE event_count <> 7 OR consumed <> 80) AS bad FROM ${schema}.agents WHERE starts_with(agent_id, $1)`,
      [prefix],
    );
    expect(counts.rows[0]).toEqual({ n: 100n, bad: 0n });
    const tables = await clients[0]!.query<{ n: bigint }>(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'agents_v%'`, [schema]);
    expect(tables.rows[0]!.n).toBe(1n);
    for (const r of runners) await r.stop();
  });

  it('a rebuild asked of a runner that has not yet seen another runner\'s swap builds the next generation', async () => {
    const prefix = `rn${randomUUID().slice(0, 6)}_`;
    const schema = freshSchema('rb');
    const errors: unknown[] = [];
    const logger: ProjectionLogger = { debug: () => {}, info: () => {}, warn: (o, m) => errors.push([m, o]), error: (o, m) => errors.push([m, o]) };
    // a's batches prepare their statements afresh, as on a connection new to the pool: a statement
    // naming dropped tables then fails as it is prepared, before the checkpoint is compared.
    const single = createPgClient({ connectionString: testPgUrl(), max: 1 });
    clients.push(single);
    const fresh: SqlClient = {
      ...single,
      query: async (text, params, options) => {
        if (text.includes('projection_apply')) await single.query(FORGET_APPLY_STATEMENTS);
        return single.query(text, params, options);
      },
    };
    const a = new ProjectionRunner({ store, sql: fresh, schema, projections: [agentsProjection], logger });
    const c = new ProjectionRunner({ store, sql: sqlClient(), schema, projections: [agentsProjection], logger });
    await a.start();
    await c.start();
    const last = await writeAgents(store, 20, prefix);
    await Promise.all([a.waitFor(last, 30_000), c.waitFor(last, 30_000)]);
    await a.rebuild('agents'); // r1 serves now; c, with nothing new to apply, still follows r0
    await c.rebuild('agents'); // took r1 for its own and failed dropping it: "other objects depend on it"
    expect((await c.status())[0]).toMatchObject({ state: 'live', suffix: `v${agentsProjection.version}_r2` });
    // a still follows r1, which c dropped: its next batch finds it gone and follows r2, quietly
    // (it warned 'relation agents_v6_r1 does not exist' and backed off).
    const more = await writeAgents(store, 5, `${prefix}m`);
    await Promise.all([a.waitFor(more, 30_000), c.waitFor(more, 30_000)]);
    expect(errors).toEqual([]);
    const counts = await clients[0]!.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${schema}.agents WHERE starts_with(agent_id, $1) AND event_count = 7`, [prefix]);
    expect(counts.rows[0]!.n).toBe(25n);
    // r0 and r1 both dropped: r1 was left behind for good, the swap dropping the r0 its runner knew.
    const tables = await clients[0]!.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'agents_v%'`, [schema]);
    expect(tables.rows.map((r) => r.t)).toEqual([`agents_v${agentsProjection.version}_r2`]);
    await a.stop();
    await c.stop();
  });

  it('a runner started while another rebuilds leaves the rebuild alone', async () => {
    const schema = freshSchema('rb');
    const prefix = `rs${randomUUID().slice(0, 6)}_`;
    const first = new ProjectionRunner({ store, sql: sqlClient(), schema, projections: [agentsProjection], batchSize: 10 });
    await first.start();
    const last = await writeAgents(store, 150, prefix);
    await first.waitFor(last, 30_000);
    const errors: unknown[] = [];
    const logger: ProjectionLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: (o) => errors.push(o) };
    // The operator's `cadre projections rebuild agents`, in small batches: it takes a while.
    const rebuilding = first.rebuild('agents');
    await new Promise((r) => setTimeout(r, 30));
    // Meanwhile another process starts (`cadre worker`, say).
    const second = new ProjectionRunner({ store, sql: sqlClient(), schema, projections: [agentsProjection], logger });
    await second.start();
    await rebuilding;
    await second.waitFor(last, 30_000);
    expect(errors).toEqual([]);
    const counts = await clients[0]!.query<{ n: bigint; bad: bigint }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE event_count <> 7 OR consumed <> 80) AS bad FROM ${schema}.agents WHERE starts_with(agent_id, $1)`,
      [prefix],
    );
    expect(counts.rows[0]).toEqual({ n: 150n, bad: 0n });
    await first.stop();
    await second.stop();
  });

  it('a rebuild whose process on this machine has exited is taken over at once, fresh as its claim is', async () => {
    const { schema, last, v2 } = await builtByOlderVersion(10, `rx${randomUUID().slice(0, 6)}_`);
    const sql = clients.at(-1)!;
    // `cadre projections rebuild` stopped with Ctrl-C a moment ago: pid 2^22 + 1 runs nowhere (above Linux's pid_max).
    await sql.query(
      `UPDATE ${schema}.projection_checkpoints SET building_suffix = $1, building_owner = $2, building_seen_at = now() WHERE name = 'agents'`,
      [`v${v2.version}_r1`, `${hostname()}:4194305:0badc0de`],
    );
    const next = new ProjectionRunner({ store, sql: sqlClient(), schema, projections: [v2] });
    await next.start();
    await next.waitFor(last, CLAIM_STALE_MS / 3);
    expect((await next.status())[0]).toMatchObject({ state: 'live', version: v2.version });
    await next.stop();
  });

  it('a rebuild whose runner went silent is taken over: its tables dropped, the projection rebuilt', async () => {
    const prefix = `rd${randomUUID().slice(0, 6)}_`;
    const { schema, last, v2 } = await builtByOlderVersion(30, prefix);
    const sql = clients.at(-1)!;
    // A runner died 31 s into its rebuild into generation r1 of v2, past CLAIM_STALE_MS.
    const dead = `v${v2.version}_r1`;
    await sql.query(`CREATE TABLE ${schema}.agents_${dead} (leftover int)`);
    await sql.query(
      `UPDATE ${schema}.projection_checkpoints SET building_suffix = $1, building_owner = 'dead', building_seen_at = now() - interval '31 seconds' WHERE name = 'agents'`,
      [dead],
    );
    const next = new ProjectionRunner({ store, sql: sqlClient(), schema, projections: [v2] });
    await next.start();
    await next.waitFor(last, 30_000);
    expect((await next.status())[0]).toMatchObject({ state: 'live', version: v2.version });
    const cp = await sql.query<{ building_suffix: string | null; building_owner: string | null }>(`SELECT building_suffix, building_owner FROM ${schema}.projection_checkpoints WHERE name = 'agents'`);
    expect(cp.rows[0]).toEqual({ building_suffix: null, building_owner: null });
    const counts = await sql.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${schema}.agents WHERE starts_with(agent_id, $1) AND event_count = 7`, [prefix]);
    expect(counts.rows[0]!.n).toBe(30n);
    await next.stop();
  });
});
