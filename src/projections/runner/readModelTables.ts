import type { SqlQueryable } from '../../infra/sql/sqlClient.js';
import { physicalTable, tableNames, type Projection } from '../projection.js';
import { claimIsLive, freshClaimSql } from './claimFreshness.js';
import { checkpointTable, type Entry, type RunnerContext } from './runnerContext.js';

/**
 * The generations of a projection's tables and their checkpoints: each generation's tables carry
 * a suffix (`v1_r0`), readers see them through views named after the projection's tables, and
 * one checkpoint row per projection says which generation is active and where it is.
 */

interface CheckpointRow {
  name: string;
  version: number;
  position: bigint;
  active_suffix: string;
  building_suffix: string | null;
  /** The rebuild's runner and whether it renewed its claim lately (rebuildClaim.ts); read by setUp only. */
  building_owner?: string | null;
  fresh?: boolean;
}

/** `v<version>_r<generation>`: the suffix of one generation of a projection's tables. */
export const suffixFor = (version: number, generation: number): string => `v${version}_r${generation}`;
/** The generation a suffix names; -1 for none. */
export const generationOf = (suffix: string | null): number => Number(/_r(\d+)$/.exec(suffix ?? '')?.[1] ?? -1);

/**
 * Creates the projection's tables, views and checkpoint if missing, or loads its checkpoint;
 * `stale` when its version changed (a rebuild will replace its tables).
 */
export async function setUp(rt: RunnerContext, entry: Entry): Promise<'live' | 'stale'> {
  const p = entry.projection;
  return rt.sql.transaction(async (tx) => {
    // One process at a time, each reading the checkpoint under the lock: four `cadre run` started
    // at once on a new database each found no checkpoint and created the same tables ("relation
    // agents_v6_r0 already exists", "cannot drop table ... other objects depend on it"), a new
    // user's try. The second now finds the first's checkpoint.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`cadre.projections.setup:${rt.schema}`]);
    const found = await tx.query<CheckpointRow>(
      `SELECT name, version, position, active_suffix, building_suffix, building_owner, ${freshClaimSql} AS fresh FROM ${checkpointTable(rt.schema)} WHERE name = $1`,
      [p.name],
    );
    const row = found.rows[0];
    if (!row) {
      const suffix = suffixFor(p.version, 0);
      await createTables(rt, tx, p, suffix);
      await pointViews(rt, tx, p, suffix, true);
      await tx.query(
        `INSERT INTO ${checkpointTable(rt.schema)} (name, version, position, active_suffix) VALUES ($1, $2, 0, $3)`,
        [p.name, p.version, suffix],
      );
      Object.assign(entry, { position: 0n, suffix, tables: tableNames(p, rt.schema, suffix), state: 'live' });
      return 'live';
    }
    if (row.building_suffix && !claimIsLive(rt.sql.kind, row)) {
      // A rebuild died with its runner (its claim went silent): its half-built tables are useless.
      // A fresh claim is another runner's rebuild under way: left alone.
      await dropTables(rt, tx, p, row.building_suffix);
      await tx.query(`UPDATE ${checkpointTable(rt.schema)} SET building_suffix = NULL, building_owner = NULL, building_seen_at = NULL WHERE name = $1`, [p.name]);
    }
    const state = Number(row.version) === p.version ? 'live' : 'stale';
    Object.assign(entry, { position: BigInt(row.position), suffix: row.active_suffix, tables: tableNames(p, rt.schema, row.active_suffix), state });
    return state;
  });
}

export async function createTables(rt: RunnerContext, tx: SqlQueryable, p: Projection, suffix: string): Promise<void> {
  await dropTables(rt, tx, p, suffix);
  for (const statement of p.migrations(rt.schema, suffix)) await tx.query(statement);
}

export async function dropTables(rt: RunnerContext, tx: SqlQueryable, p: Projection, suffix: string): Promise<void> {
  for (const t of p.tables) await tx.query(`DROP TABLE IF EXISTS ${physicalTable(rt.schema, t, suffix)}`);
  for (const statement of p.teardown?.(rt.schema, suffix) ?? []) await tx.query(statement);
}

/** Readers' views `<schema>.<table>` → the generation `suffix`; derived views recreated. */
export async function pointViews(rt: RunnerContext, tx: SqlQueryable, p: Projection, suffix: string, replaceShape: boolean): Promise<void> {
  for (const t of p.tables) {
    // Same shape: CREATE OR REPLACE keeps the view's identity, so readers never miss it.
    // A new version may change columns: drop (with its derived views) and create.
    if (replaceShape) await tx.query(`DROP VIEW IF EXISTS ${rt.schema}.${t} CASCADE`);
    await tx.query(`CREATE OR REPLACE VIEW ${rt.schema}.${t} AS SELECT * FROM ${physicalTable(rt.schema, t, suffix)}`);
  }
  for (const view of p.views?.(rt.schema) ?? []) await tx.query(view.sql);
}

/** Positions and active generations as the checkpoints say (another runner may have moved them). */
export async function reloadCheckpoints(rt: RunnerContext): Promise<void> {
  const r = await rt.sql.query<CheckpointRow>(
    `SELECT name, version, position, active_suffix, building_suffix FROM ${checkpointTable(rt.schema)}`,
  );
  for (const row of r.rows) {
    const entry = rt.entries.get(row.name);
    if (!entry || entry.state === 'stale') continue;
    entry.position = BigInt(row.position);
    if (row.active_suffix !== entry.suffix) {
      entry.suffix = row.active_suffix;
      entry.tables = tableNames(entry.projection, rt.schema, row.active_suffix);
    }
  }
}
