import type { SqlQueryable } from '../../infra/sql/sqlClient.js';
import { Aborted } from '../../errors.js';
import { claimIsLive, freshClaimSql } from './claimFreshness.js';
import { createTables, dropTables, generationOf, suffixFor } from './readModelTables.js';
import { checkpointTable, type RunnerContext } from './runnerContext.js';
import type { Projection } from '../projection.js';

/**
 * One rebuild of a projection at a time, across every runner on the schema. A rebuild claims
 * the projection's checkpoint row (`building_suffix`, `building_owner`) and renews the claim
 * (`building_seen_at`, the server's clock, so processes need not agree on time) with every batch
 * it writes and on a timer; a claim silent for CLAIM_STALE_MS (claimFreshness.ts) belonged to a
 * runner that died, and only then may another runner drop its tables or take the rebuild over.
 *
 * Without it (tests/int/rebuildTogether): a runner started beside an operator's
 * `cadre projections rebuild` dropped the tables being built ("relation agents_v6_r1 does not
 * exist"), and three runners started together after an upgrade that changed a projection's
 * version each rebuilt into the same tables, failing each other: the projection never went live.
 */

/** How often a rebuild renews its claim while it waits on something other than its own batches. */
export const CLAIM_RENEW_MS = 5_000;

/**
 * Claims `p`'s rebuild for `owner` and creates its tables, in one transaction: the suffix it
 * builds, or null when another runner's claim is alive. The generation is the next after the
 * checkpoint's, read under the row's lock: taken from this runner's own copy, a rebuild asked
 * for just as another swapped its tables in chose the generation now serving, and dropping it
 * to start failed ('cannot drop table agents_v6_r1 because other objects depend on it', a trial
 * of three `cadre projections rebuild` at once). A dead claim's tables are dropped first.
 */
export async function claimRebuild(rt: RunnerContext, p: Projection, owner: string): Promise<string | null> {
  return rt.sql.transaction(async (tx) => {
    const r = await tx.query<{ active_suffix: string; building_suffix: string | null; building_owner: string | null; fresh: boolean }>(
      `SELECT active_suffix, building_suffix, building_owner, ${freshClaimSql} AS fresh FROM ${checkpointTable(rt.schema)} WHERE name = $1 FOR UPDATE`,
      [p.name],
    );
    const row = r.rows[0];
    if (!row) throw new Aborted(`the checkpoint of ${p.name} is gone`);
    if (row.building_suffix && claimIsLive(rt.sql.kind, row)) return null;
    if (row.building_suffix) await dropTables(rt, tx, p, row.building_suffix);
    const suffix = suffixFor(p.version, Math.max(generationOf(row.active_suffix), generationOf(row.building_suffix), 0) + 1);
    await createTables(rt, tx, p, suffix);
    await tx.query(
      `UPDATE ${checkpointTable(rt.schema)} SET building_suffix = $2, building_owner = $3, building_seen_at = now() WHERE name = $1`,
      [p.name, suffix, owner],
    );
    return suffix;
  });
}

/**
 * Renews the claim inside the transaction `tx` writes a batch in; throws `Aborted` (rolling the
 * batch back) when the claim is no longer this runner's: another took the rebuild over, after
 * this one was silent too long, and this one must not write into its tables.
 */
export async function renewClaim(rt: RunnerContext, tx: SqlQueryable, p: Projection, suffix: string, owner: string): Promise<void> {
  const r = await tx.query(
    `UPDATE ${checkpointTable(rt.schema)} SET building_seen_at = now() WHERE name = $1 AND building_suffix = $2 AND building_owner = $3`,
    [p.name, suffix, owner],
  );
  if (r.rowCount !== 1) throw new Aborted(`another runner took over the rebuild of ${p.name}`);
}

/** Renews the claim every CLAIM_RENEW_MS until the returned function is called. */
export function keepClaimed(rt: RunnerContext, p: Projection, suffix: string, owner: string): () => void {
  const timer = setInterval(() => {
    void rt.sql.transaction((tx) => renewClaim(rt, tx, p, suffix, owner)).catch(() => undefined);
  }, CLAIM_RENEW_MS);
  timer.unref?.();
  return () => clearInterval(timer);
}

/** The projection's checkpoint as a runner waiting on another's rebuild reads it: `rebuilding` while a live runner's claim holds. */
export async function readBuilding(rt: RunnerContext, p: Projection): Promise<{ version: number; position: bigint; activeSuffix: string; rebuilding: boolean }> {
  const r = await rt.sql.query<{ version: number; position: bigint; active_suffix: string; building_suffix: string | null; building_owner: string | null; fresh: boolean }>(
    `SELECT version, position, active_suffix, building_suffix, building_owner, ${freshClaimSql} AS fresh FROM ${checkpointTable(rt.schema)} WHERE name = $1`,
    [p.name],
  );
  const row = r.rows[0];
  if (!row) throw new Aborted(`the checkpoint of ${p.name} is gone`);
  return {
    version: Number(row.version),
    position: BigInt(row.position),
    activeSuffix: row.active_suffix,
    rebuilding: row.building_suffix !== null && claimIsLive(rt.sql.kind, row),
  };
}
