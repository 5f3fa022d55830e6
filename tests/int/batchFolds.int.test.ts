import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgClient } from '../../src/infra/sql/pgClient.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';
import { applyStatements } from '../../src/projections/applyStatements.js';
import { batchStatements, tableNames, type Projection } from '../../src/projections/projection.js';
import { foldAgentBatch } from '../../src/projections/readModels/agentBatchFold.js';
import { defaultProjections } from '../../src/projections/readModels/index.js';
import { runnerMigrations } from '../../src/projections/runnerSchema.js';
import { splitStatements } from '../../src/infra/sql/migrate.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { AGENTS, batches, history, type HistoryMode } from '../support/agentHistory.js';

/**
 * Every read model written per batch (its `handleBatch`, then `afterBatch`) leaves exactly the
 * rows its statements for one event at a time leave: random event sequences over a few agents
 * whose reservation, child and node ids repeat, cut into random batches, applied both ways to
 * two generations of tables on Postgres. The agents rows are one INSERT and one UPDATE per batch
 * (agentBatchFold.ts); the budget ledger one INSERT, what the batch opened or closed resolved in
 * memory, the rest looked up in the table (every lookup in the table, one event at a time); the
 * workflow runs and nodes four statements (workflowBatchFold.ts).
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

  /** Every table of `p`, whole, in a fixed order. */
  const contents = async (p: Projection, suffix: string): Promise<Record<string, unknown[]>> => {
    const out: Record<string, unknown[]> = {};
    for (const [name, table] of Object.entries(tableNames(p, schema, suffix))) out[name] = (await sql.query(`SELECT * FROM ${table} ORDER BY 1, 2`)).rows;
    return out;
  };

  const modes: Record<string, HistoryMode[]> = { agents: ['all', 'dense'], budget_ledger: ['all', 'dense'], workflows: ['all', 'workflow'], approvals: ['approvals', 'dense'] };
  it.each(defaultProjections().map((p) => [p.name, p] as const))('%s: one batch at a time leaves the rows one event at a time leaves', async (name, p) => {
    let rows = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const [each, batched] = [`e${name}${seed}`, `b${name}${seed}`];
      for (const suffix of [each, batched]) for (const s of p.migrations(schema, suffix)) await sql.query(s);
      const eachTables = tableNames(p, schema, each);
      const batchTables = tableNames(p, schema, batched);
      const events = history(seed, 120, modes[name]![seed % 2]);
      // One transaction per seed: the statements run in the same order, without a commit (and its
      // fsync) per event, which made this file 114 s of the suite with other work beside it.
      await sql.transaction(async (tx) => {
        for (const batch of batches(seed, events, seed % 2 === 0 ? 40 : 12)) {
          for (const e of batch) await applyStatements(tx, schema, [...p.handle(e, eachTables), ...(p.afterBatch?.([e], eachTables) ?? [])]);
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
  });

  it('writes a fixed number of statements per batch', () => {
    const events = history(7, 60);
    expect(foldAgentBatch(events, 'x.agents').map((s) => s.text.split(' ')[0])).toEqual(['INSERT', 'UPDATE']);
    expect(foldAgentBatch(events.slice(AGENTS.length), 'x.agents').map((s) => s.text.split(' ')[0])).toEqual(['UPDATE']);
    for (const p of defaultProjections()) {
      const n = batchStatements(p, history(3, 200, 'all'), tableNames(p, 'x', 'v1_r0')).length;
      expect(n, p.name).toBeLessThanOrEqual({ agents: 4, budget_ledger: 1, workflows: 5, approvals: 2 }[p.name]!);
    }
  });
});
