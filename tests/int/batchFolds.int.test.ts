import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgClient } from '../../src/infra/sql/pgClient.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';
import { applyStatements } from '../../src/projections/applyStatements.js';
import { batchStatements, tableNames } from '../../src/projections/projection.js';
import { agentsProjection, handleAgentEvent } from '../../src/projections/readModels/agents.js';
import { foldAgentBatch } from '../../src/projections/readModels/agentBatchFold.js';
import { budgetLedgerProjection } from '../../src/projections/readModels/budgetLedger.js';
import { runnerMigrations } from '../../src/projections/runnerSchema.js';
import { splitStatements } from '../../src/infra/sql/migrate.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { AGENTS, batches, history } from '../support/agentHistory.js';

/**
 * Read models written per batch leave exactly the rows their statements for one event at a
 * time leave: random event sequences over a few agents whose reservation and child ids repeat,
 * cut into random batches, applied both ways to two generations of tables on Postgres. The
 * agents row is folded to one UPDATE per agent (agentBatchFold.ts); the budget ledger is one
 * INSERT per batch, what the batch opened or closed resolved in memory, the rest looked up in
 * the table (every lookup in the table, one event at a time).
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

  it('leaves the rows applying each event leaves, for random sequences and batch cuts', async () => {
    const rows = (suffix: string) => sql.query(`SELECT * FROM ${schema}.agents_${suffix} ORDER BY agent_id`).then((r) => r.rows);
    for (let seed = 1; seed <= 80; seed++) {
      const [each, folded] = [`e${seed}`, `f${seed}`];
      for (const suffix of [each, folded]) for (const s of agentsProjection.migrations(schema, suffix)) await sql.query(s);
      const eachTables = tableNames(agentsProjection, schema, each);
      const foldTables = tableNames(agentsProjection, schema, folded);
      const events = history(seed, 120, seed % 2 === 0);
      for (const batch of batches(seed, events, seed % 2 === 0 ? 40 : 12)) {
        await applyStatements(sql, schema, batch.flatMap((e) => handleAgentEvent(e, eachTables)));
        await applyStatements(sql, schema, foldAgentBatch(batch, foldTables.agents!));
      }
      expect(await rows(folded), `seed ${seed}`).toEqual(await rows(each));
    }
  });

  it('writes one INSERT and one UPDATE per batch', () => {
    const events = history(7, 60);
    expect(foldAgentBatch(events, 'x.agents').map((s) => s.text.split(' ')[0])).toEqual(['INSERT', 'UPDATE']);
    expect(foldAgentBatch(events.slice(AGENTS.length), 'x.agents').map((s) => s.text.split(' ')[0])).toEqual(['UPDATE']);
  });

  it('the budget ledger: one INSERT per batch leaves the rows one event at a time leaves', async () => {
    const rows = (suffix: string) => sql.query(`SELECT * FROM ${schema}.budget_ledger_${suffix} ORDER BY position`).then((r) => r.rows);
    let movements = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const [each, batched] = [`e${seed}`, `b${seed}`];
      for (const suffix of [each, batched]) for (const s of budgetLedgerProjection.migrations(schema, suffix)) await sql.query(s);
      const eachTables = tableNames(budgetLedgerProjection, schema, each);
      const batchTables = tableNames(budgetLedgerProjection, schema, batched);
      const events = history(seed, 120, seed % 2 === 0);
      for (const batch of batches(seed, events, seed % 2 === 0 ? 40 : 12)) {
        for (const e of batch) await applyStatements(sql, schema, budgetLedgerProjection.handle(e, eachTables));
        await applyStatements(sql, schema, batchStatements(budgetLedgerProjection, batch, batchTables));
      }
      const expected = await rows(each);
      movements += expected.length;
      expect(await rows(batched), `seed ${seed}`).toEqual(expected);
    }
    expect(movements).toBeGreaterThan(3000);
  });

  it('the budget ledger: writes one statement per batch', () => {
    const events = history(3, 80);
    expect(batchStatements(budgetLedgerProjection, events, tableNames(budgetLedgerProjection, 'x', 'v2_r0'))).toHaveLength(1);
  });
});
