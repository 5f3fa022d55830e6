import { assertIdentifier, type SqlClient } from '../../../infra/sql/sqlClient.js';
import { POSITION_SEQ_BITS } from './schema.js';

/**
 * Makes a store restored into another Postgres (pg_dump / pg_restore, or the SQL loaded into
 * PGlite) usable, once, when a writer opens it; returns whether it had to.
 *
 * Each event row carries the id of the transaction that wrote it, and its position is
 * `offset + (xid << 20) + n`; readers only see rows older than the oldest running transaction
 * (`pg_snapshot_xmin`). Transaction ids belong to one server: a fresh server's counter can be far
 * behind the ids the dump carries. Left alone, the restored events stay invisible to every reader
 * (projections, subscriptions, `headPosition`) until the new server's counter passes them, and the
 * events written meanwhile get positions below the old ones (found by
 * tests/int/oldStoreOpens.int.test.ts, loading a c53f705 dump into PGlite).
 *
 * A row whose transaction id is at or past this server's next id cannot have been written here.
 * The newest row (by position, so one index probe per open) tells whether there are any. Then,
 * in one transaction: those rows are stamped with this transaction's id (only the visibility
 * marker changes; events, revisions and positions are untouched), and the position offset rises
 * so that every later position is above the restored ones.
 *
 * @example
 * if (await adoptRestoredEvents(sql, 'cadre')) log.info('restored events adopted by this server');
 */
export async function adoptRestoredEvents(sql: SqlClient, schema: string): Promise<boolean> {
  const s = assertIdentifier(schema);
  const newest = `SELECT transaction_id >= pg_snapshot_xmax(pg_current_snapshot()) AS ahead FROM ${s}.events ORDER BY position DESC LIMIT 1`;
  const probe = await sql.query<{ ahead: boolean }>(newest);
  if (probe.rows[0]?.ahead !== true) return false;
  return sql.transaction(async (tx) => {
    // Two processes opening the restored store at once: the second finds nothing left to do.
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${s}.restored_events`]);
    const again = await tx.query<{ ahead: boolean }>(newest);
    if (again.rows[0]?.ahead !== true) return false;
    await tx.query(`UPDATE ${s}.events SET transaction_id = pg_current_xact_id() WHERE transaction_id >= pg_snapshot_xmax(pg_current_snapshot())`);
    await tx.query(
      `UPDATE ${s}.store_settings SET position_offset = greatest(position_offset,
         (SELECT max(position) FROM ${s}.events) + 1 - ((pg_current_xact_id()::text::bigint) << ${POSITION_SEQ_BITS}))`,
    );
    return true;
  });
}
