import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgClient } from '../../src/infra/sql/pgClient.js';
import type { SqlClient, SqlQueryable } from '../../src/infra/sql/sqlClient.js';
import { splitStatements } from '../../src/infra/sql/migrate.js';
import { applyStatements, encodeBatch } from '../../src/projections/applyStatements.js';
import { batchStatements, tableNames } from '../../src/projections/projection.js';
import { defaultProjections } from '../../src/projections/readModels/index.js';
import { runnerMigrations } from '../../src/projections/runnerSchema.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { batches, history, type HistoryMode } from '../support/agentHistory.js';

/**
 * A read model's batch names its rows by key, so applying it must read those rows and not its
 * tables: on a store with a long history a batch costs what it touches. Every statement the
 * built-in read models write is run as `projection_apply` runs it (prepared, generic plan, the
 * function's own settings) under EXPLAIN ANALYZE, on tables of a thousand rows with fresh
 * statistics; no scan may read more than a batch's worth. With hash and merge joins allowed, the
 * tree totals read every agents row and the workflow updates every run and node row.
 */
describe('read models: a batch reads its rows by key (projection_apply plans)', () => {
  let sql: SqlClient;
  const schema = freshSchema('plans');
  const SUFFIX = 'p';
  const projections = defaultProjections();
  const modes: HistoryMode[] = ['all', 'dense', 'workflow', 'approvals'];
  // Where the old plans read whole tables: checked failing at 300, 600, 1,000 and 2,000 rows a
  // table with hash and merge joins allowed (at 3,000 the planner chose the keyed plans itself).
  const FILL = 1_000;

  beforeAll(async () => {
    sql = createPgClient({ connectionString: testPgUrl(), max: 2 });
    await sql.query(`CREATE SCHEMA ${schema}`);
    for (const step of runnerMigrations(schema)) for (const s of splitStatements(step)) await sql.query(s);
    for (const p of projections) for (const s of p.migrations(schema, SUFFIX)) await sql.query(s);
  });
  afterAll(async () => {
    await sql?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await sql?.close();
  });

  /** Copies a table's rows until it holds about `target`, every `*_id` text column made unique per copy. */
  async function fill(table: string, target: number): Promise<number> {
    const [, name] = table.split('.');
    const count = Number((await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
    if (count === 0) return 0;
    const columns = (await sql.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND is_generated = 'NEVER' ORDER BY ordinal_position`, [schema, name],
    )).rows;
    const values = columns.map((c) => (c.data_type === 'text' && c.column_name.endsWith('_id') ? `${c.column_name} || '-' || g` : c.column_name));
    const copies = Math.ceil(target / count);
    await sql.query(`INSERT INTO ${table} (${columns.map((c) => c.column_name).join(', ')}) SELECT ${values.join(', ')} FROM ${table}, generate_series(1, ${copies}) AS g`);
    await sql.query(`ANALYZE ${table}`);
    return count * (copies + 1);
  }

  /** Rows each scan of a read-model table read (returned or filtered out), summed per table. */
  function rowsRead(plan: Record<string, unknown>, into: Map<string, number>): void {
    const relation = plan['Relation Name'];
    if (typeof relation === 'string') {
      const loops = Number(plan['Actual Loops'] ?? 1);
      const read = (Number(plan['Actual Rows'] ?? 0) + Number(plan['Rows Removed by Filter'] ?? 0)) * loops + Number(plan['Rows Removed by Index Recheck'] ?? 0);
      into.set(relation, (into.get(relation) ?? 0) + read);
    }
    for (const child of (plan['Plans'] as Record<string, unknown>[] | undefined) ?? []) rowsRead(child, into);
  }

  /** Runs a batch's statements as projection_apply does, each under EXPLAIN ANALYZE; the most rows one read of one table. */
  async function explainBatch(tx: SqlQueryable, settings: readonly string[], encoded: string, worst: Map<string, { rows: number; text: string }>): Promise<void> {
    for (const setting of settings) {
      const [name, value] = setting.split('=');
      await tx.query(`SELECT set_config($1, $2, true)`, [name, value]);
    }
    const batch = JSON.parse(encoded) as { t: string[]; s: [number, (string | null)[]][] };
    for (const [i, params] of batch.s) {
      const text = batch.t[i]!;
      await tx.query(`PREPARE plan_probe(text[]) AS ${text}`);
      const literal = (await tx.query<{ l: string }>(`SELECT quote_literal($1::text[]) AS l`, [params])).rows[0]!.l;
      const explained = await tx.query<{ 'QUERY PLAN': [{ Plan: Record<string, unknown> }] }>(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) EXECUTE plan_probe(${literal})`);
      await tx.query(`DEALLOCATE plan_probe`);
      const read = new Map<string, number>();
      rowsRead(explained.rows[0]!['QUERY PLAN'][0].Plan, read);
      for (const [table, rows] of read) if (rows > (worst.get(table)?.rows ?? -1)) worst.set(table, { rows, text: text.slice(0, 120) });
    }
  }

  it('no statement reads more than a batch of rows from tables of a thousand', async () => {
    // Rows to start from: each history applied as the runner applies it.
    for (const p of projections) {
      const tables = tableNames(p, schema, SUFFIX);
      for (const [seed, mode] of modes.entries()) {
        for (const batch of batches(seed + 1, history(seed + 1, 200, mode), 20)) await applyStatements(sql, schema, batchStatements(p, batch, tables));
      }
    }
    const sizes: Record<string, number> = {};
    for (const p of projections) for (const table of Object.values(tableNames(p, schema, SUFFIX))) sizes[table] = await fill(table, FILL);
    // The tables the statements below update or total are large (approvals' rows end with their agents).
    for (const table of ['agents', 'agent_tree_totals', 'workflow_runs', 'workflow_nodes']) expect(sizes[`${schema}.${table}_${SUFFIX}`], table).toBeGreaterThanOrEqual(FILL);

    const settings = (await sql.query<{ c: string }>(
      `SELECT unnest(p.proconfig) AS c FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname = 'projection_apply'`, [schema],
    )).rows.map((r) => r.c);
    expect(settings).toContain('plan_cache_mode=force_generic_plan');

    const worst = new Map<string, { rows: number; text: string }>();
    let statements = 0;
    for (const p of projections) {
      const tables = tableNames(p, schema, SUFFIX);
      for (const [seed, mode] of modes.entries()) {
        for (const batch of batches(seed + 11, history(seed + 11, 200, mode), 20)) {
          const encoded = encodeBatch(batchStatements(p, batch, tables));
          statements += (JSON.parse(encoded) as { s: unknown[] }).s.length;
          await sql.transaction((tx) => explainBatch(tx, settings, encoded, worst));
        }
      }
    }
    expect(statements).toBeGreaterThan(100);
    // A history has 3 agents, 3 nodes a workflow and 3 calls an agent: a batch names a few rows of each table.
    for (const [table, { rows, text }] of worst) expect(rows, `${table}: ${text}`).toBeLessThanOrEqual(40);
    expect([...worst.keys()].map((t) => `${schema}.${t}`).sort()).toEqual(Object.keys(sizes).sort());
  }, 120_000);
});
