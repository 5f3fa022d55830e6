import { Aborted, NotFound } from '../../errors.js';
import type { RecordedEvent } from '../../events/envelope.js';
import { batchStatements, tableNames, type SqlStatement } from '../projection.js';
import type { SqlQueryable } from '../../infra/sql/sqlClient.js';
import { dropTables, pointViews } from './readModelTables.js';
import { claimRebuild, keepClaimed, readBuilding, renewClaim } from './rebuildClaim.js';
import { appliersLock, checkpointTable, commit, parseBatch, type Entry, type RunnerContext } from './runnerContext.js';

/**
 * Replays `$all` from position 0 into the fresh generation `rebuild.suffix` of the projection's
 * tables while the live ones keep serving, then, in one transaction, catches up to the live
 * loop, points the readers' views at the new tables, moves the checkpoint and drops the old
 * tables.
 */
export async function runRebuild(rt: RunnerContext, entry: Entry, rebuild: { suffix: string; position: bigint }): Promise<void> {
  const p = entry.projection;
  // Another runner's rebuild under way: wait for it, then serve what it swapped in (or, if it
  // died, take the rebuild over).
  for (;;) {
    const claimed = await claimRebuild(rt, p, rt.owner);
    if (claimed) {
      rebuild.suffix = claimed;
      break;
    }
    if (await adoptOthersRebuild(rt, entry)) return;
  }
  const release = keepClaimed(rt, p, rebuild.suffix, rt.owner);
  try {
    await buildAndSwap(rt, entry, rebuild);
  } finally {
    release();
  }
  rt.liveSetChanged.fire();
  rt.waiters.wake();
}

async function buildAndSwap(rt: RunnerContext, entry: Entry, rebuild: { suffix: string; position: bigint }): Promise<void> {
  const p = entry.projection;
  const tables = tableNames(p, rt.schema, rebuild.suffix);
  rt.log.info({ projection: p.name, suffix: rebuild.suffix }, 'projection rebuild started');
  const renew = (tx: SqlQueryable): Promise<void> => renewClaim(rt, tx, p, rebuild.suffix, rt.owner);
  const statementsFor = (events: readonly RecordedEvent[]): SqlStatement[] => batchStatements(p, parseBatch(rt, events), tables);
  // Catch up without holding the lock: the live tables keep serving and updating.
  for (;;) {
    if (rt.stopping) throw new Aborted(`the runner stopped while rebuilding ${p.name}`);
    const events = await rt.store.readAll({ fromPosition: rebuild.position, limit: rt.batchSize });
    if (events.length === 0) break;
    await commit(rt, statementsFor(events), renew);
    rebuild.position = events[events.length - 1]!.position;
    if (events.length < rt.batchSize && rebuild.position >= rt.liveCursor) break;
  }
  // The last stretch and the swap happen with the live loop paused, so the new checkpoint
  // is at least where the live loop is: nothing is skipped, nothing applied twice.
  await rt.lock.run(async () => {
    if (rt.stopping) throw new Aborted(`the runner stopped while rebuilding ${p.name}`);
    const tail: RecordedEvent[] = [];
    let at = rebuild.position;
    while (at < rt.liveCursor) {
      const events = await rt.store.readAll({ fromPosition: at, limit: rt.batchSize });
      if (events.length === 0) break;
      tail.push(...events);
      at = events[events.length - 1]!.position;
    }
    // Behind the same lock as live applies (in any process) to the tables it drops.
    await commit(rt, [appliersLock(rt.schema), ...statementsFor(tail)], async (tx) => {
      await renew(tx);
      // The generation serving now, as the checkpoint says (its row locked by the renewal): this
      // runner's copy may predate another's swap, and dropping what the copy named left the
      // tables serving until now behind for good, a trial's three rebuilds at once.
      const cp = await tx.query<{ active_suffix: string; version: number }>(`SELECT active_suffix, version FROM ${checkpointTable(rt.schema)} WHERE name = $1`, [p.name]);
      const old = cp.rows[0]?.active_suffix ?? entry.suffix;
      const versionChanged = Number(cp.rows[0]?.version ?? p.version) !== p.version;
      // Lock in the order readers do (derived views, then table views, each down to its
      // tables), so a reader and the swap queue up instead of deadlocking.
      const views = [...(p.views?.(rt.schema) ?? []).map((v) => v.name), ...p.tables];
      const existing = await tx.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind = 'v' AND c.relname = ANY (string_to_array($2, ','))`,
        [rt.schema, views.join(',')],
      );
      const present = new Set(existing.rows.map((r) => r.name));
      const toLock = views.filter((v) => present.has(v)).map((v) => `${rt.schema}.${v}`);
      if (toLock.length > 0) await tx.query(`LOCK TABLE ${toLock.join(', ')} IN ACCESS EXCLUSIVE MODE`);
      await pointViews(rt, tx, p, rebuild.suffix, versionChanged);
      const moved = await tx.query(
        `UPDATE ${checkpointTable(rt.schema)} SET version = $2, position = $3, active_suffix = $4, building_suffix = NULL, building_owner = NULL, building_seen_at = NULL, updated_at = now()
          WHERE name = $1`,
        [p.name, p.version, at.toString(), rebuild.suffix],
      );
      if (moved.rowCount !== 1) throw new NotFound('projection checkpoint', p.name);
      if (old !== rebuild.suffix) await dropTables(rt, tx, p, old);
    });
    rebuild.position = at;
    Object.assign(entry, { position: at, suffix: rebuild.suffix, tables, state: 'live' as const });
    rt.log.info({ projection: p.name, suffix: rebuild.suffix, position: at.toString() }, 'projection rebuilt and swapped in');
  });
}

/**
 * Waits while another runner's claim on `entry`'s rebuild is fresh. True when that rebuild
 * brought the projection to this runner's version: `entry` now follows the tables it swapped in.
 * False when the claim went silent (its runner died) without that: the caller claims it.
 */
async function adoptOthersRebuild(rt: RunnerContext, entry: Entry): Promise<boolean> {
  const p = entry.projection;
  rt.log.info({ projection: p.name }, 'another runner is rebuilding the projection: waiting for it');
  for (;;) {
    if (rt.stopping) throw new Aborted(`the runner stopped while waiting for another runner's rebuild of ${p.name}`);
    const cp = await readBuilding(rt, p);
    if (!cp.rebuilding) {
      if (cp.version !== p.version) return false;
      await rt.lock.run(async () => {
        Object.assign(entry, { position: cp.position, suffix: cp.activeSuffix, tables: tableNames(p, rt.schema, cp.activeSuffix), state: 'live' as const });
      });
      rt.log.info({ projection: p.name, suffix: cp.activeSuffix }, 'projection rebuilt by another runner');
      // Its checkpoint may be behind where this runner's live loop reads: the loop starts over
      // from the least checkpoint, so nothing between the two is skipped for it.
      await rt.subscription?.close();
      rt.liveSetChanged.fire();
      rt.waiters.wake();
      return true;
    }
    await rt.stopSignal.wait(OTHERS_REBUILD_POLL_MS);
  }
}

/** How often a runner waiting on another's rebuild looks at the checkpoint. */
const OTHERS_REBUILD_POLL_MS = 200;
