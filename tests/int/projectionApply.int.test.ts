import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitStatements } from '../../src/infra/sql/migrate.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';
import { applyStatements } from '../../src/projections/applyStatements.js';
import { runnerMigrations } from '../../src/projections/runnerSchema.js';
import { freshSchema, sqlTargets } from '../support/testDb.js';

/**
 * `projection_apply` prepares each statement text once per session (runnerSchema.ts). What a
 * session's prepared statement outlives must not break it: a rolled-back batch (PREPARE is not
 * transactional), its table dropped and made again with another shape, another session.
 */
describe.each(sqlTargets)('projection_apply with prepared statements ($name)', (target) => {
  let sql: SqlClient;
  const schema = freshSchema('apply');
  const t = `${schema}.counter`;
  const bump = (key: string, n: number) => ({ text: `INSERT INTO ${t} (k, n) VALUES ($1::text, $2::int) ON CONFLICT (k) DO UPDATE SET n = ${t}.n + excluded.n`, params: [key, n] });
  const rows = () => sql.query<{ k: string; n: number }>(`SELECT k, n FROM ${t} ORDER BY k`).then((r) => r.rows);
  beforeAll(async () => {
    sql = await target.open();
    await sql.query(`CREATE SCHEMA ${schema}`);
    for (const step of runnerMigrations(schema)) for (const s of splitStatements(step)) await sql.query(s);
    await sql.query(`CREATE TABLE ${t} (k text PRIMARY KEY, n int NOT NULL)`);
  });
  afterAll(async () => {
    await sql?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await sql?.close();
  });

  it('runs a batch, a rolled-back batch, and the same text again on every connection', async () => {
    await applyStatements(sql, schema, [bump('a', 1), bump('b', 2), bump('a', 3)]);
    await expect(sql.transaction(async (tx) => {
      await applyStatements(tx, schema, [bump('a', 100)]);
      throw new Error('roll back');
    })).rejects.toThrow('roll back');
    // Many at once: pooled connections that prepared it and some that never did.
    await Promise.all(Array.from({ length: 8 }, () => applyStatements(sql, schema, [bump('c', 1)])));
    expect(await rows()).toEqual([{ k: 'a', n: 4 }, { k: 'b', n: 2 }, { k: 'c', n: 8 }]);
  });

  it('follows its table dropped and made again with another shape', async () => {
    await sql.query(`DROP TABLE ${t}`);
    await sql.query(`CREATE TABLE ${t} (note text, k text PRIMARY KEY, n int NOT NULL)`);
    await Promise.all(Array.from({ length: 4 }, () => applyStatements(sql, schema, [bump('z', 5)])));
    expect(await rows()).toEqual([{ k: 'z', n: 20 }]);
  });
});
