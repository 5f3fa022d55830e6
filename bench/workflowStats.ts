import type pg from 'pg';

/** Counters of one database in pg_stat_database. */
export interface DbCounters {
  readonly commits: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
}

/** Per table: rows inserted, updated, deleted (pg_stat_user_tables) and bytes on disk with indexes and TOAST. */
export interface TableCounters {
  readonly ins: number;
  readonly upd: number;
  readonly del: number;
  readonly bytes: number;
}

/** What a database holds: its tables' counters and, when it has an events table, events per type. */
export interface Contents {
  readonly tables: ReadonlyMap<string, TableCounters>;
  readonly events: ReadonlyMap<string, number>;
  /** Bytes by relation: each table's heap, each index, each table's TOAST (with its index). */
  readonly relations?: ReadonlyMap<string, number>;
}

/**
 * Other backends flush their statistics lazily. PostgreSQL 15 flushes at most once a second, and a
 * backend that goes idle within that second waits for its idle timeout, 10 s (PGSTAT_IDLE_INTERVAL),
 * before it flushes. Measured here: counters of a finished cadre run still arrived 8-10 s later.
 * Waiting this long after a phase's last statement lets every backend's figures reach pg_stat_*.
 */
export const STATS_FLUSH_MS = 11_000;

/**
 * Read from a connection to another database (the server's admin one), so that reading adds no
 * commit to the database measured. `pg_stat_force_next_flush` makes this backend flush its own
 * figures before answering, and `pg_stat_clear_snapshot` that the read is not a cached one.
 */
export async function dbCounters(admin: pg.ClientBase, dbName: string): Promise<DbCounters> {
  await admin.query('SELECT pg_stat_clear_snapshot()');
  const r = await admin.query<{ c: string; i: string; u: string; d: string }>(
    `SELECT xact_commit::text AS c, tup_inserted::text AS i, tup_updated::text AS u, tup_deleted::text AS d FROM pg_stat_database WHERE datname = $1`,
    [dbName],
  );
  const row = r.rows[0];
  if (!row) throw new Error(`no statistics for database ${dbName}`);
  return { commits: Number(row.c), inserted: Number(row.i), updated: Number(row.u), deleted: Number(row.d) };
}

/**
 * Tables and events of the measured database in ONE statement (one commit there, which the
 * caller subtracts). It forces its own statistics out at once, so they never land in a later
 * phase.
 */
export async function contents(c: pg.ClientBase, eventsTable: string | null): Promise<Contents> {
  const events = eventsTable ? `(SELECT coalesce(json_object_agg(type, n), '{}') FROM (SELECT type, count(*) AS n FROM ${eventsTable} GROUP BY type) e)` : `'{}'::json`;
  const r = await c.query<{ tables: { name: string; ins: number; upd: number; del: number; bytes: number }[] | null; events: Record<string, number>; relations: Record<string, number> | null; f: unknown }>(
    `SELECT pg_stat_force_next_flush() AS f,
       (SELECT json_agg(json_build_object('name', schemaname || '.' || relname, 'ins', n_tup_ins, 'upd', n_tup_upd, 'del', n_tup_del, 'bytes', pg_total_relation_size(relid)))
          FROM pg_stat_user_tables) AS tables,
       ${events} AS events,
       (SELECT json_object_agg(name, bytes) FROM (
          SELECT schemaname || '.' || relname AS name, pg_relation_size(relid) AS bytes FROM pg_stat_user_tables
          UNION ALL SELECT schemaname || '.' || indexrelname || ' (index)', pg_relation_size(indexrelid) FROM pg_stat_user_indexes
          UNION ALL SELECT t.schemaname || '.' || t.relname || ' (TOAST)', pg_total_relation_size(c.reltoastrelid)
            FROM pg_stat_user_tables t JOIN pg_class c ON c.oid = t.relid WHERE c.reltoastrelid <> 0) x) AS relations`,
  );
  const row = r.rows[0]!;
  return {
    tables: new Map((row.tables ?? []).map((t) => [t.name, { ins: Number(t.ins), upd: Number(t.upd), del: Number(t.del), bytes: Number(t.bytes) }])),
    events: new Map(Object.entries(row.events).map(([k, v]) => [k, Number(v)])),
    relations: new Map(Object.entries(row.relations ?? {}).map(([k, v]) => [k, Number(v)])),
  };
}

/** Counter by counter, after minus before. */
export const dbDelta = (a: DbCounters, b: DbCounters): DbCounters => ({
  commits: b.commits - a.commits,
  inserted: b.inserted - a.inserted,
  updated: b.updated - a.updated,
  deleted: b.deleted - a.deleted,
});

/** Table by table and type by type, after minus before (a table or type new since `a` counts from 0). */
export function contentsDelta(a: Contents, b: Contents): Contents {
  const zero: TableCounters = { ins: 0, upd: 0, del: 0, bytes: 0 };
  const tables = new Map<string, TableCounters>();
  for (const [name, t] of b.tables) {
    const s = a.tables.get(name) ?? zero;
    tables.set(name, { ins: t.ins - s.ins, upd: t.upd - s.upd, del: t.del - s.del, bytes: t.bytes - s.bytes });
  }
  const events = new Map<string, number>();
  for (const [type, n] of b.events) events.set(type, n - (a.events.get(type) ?? 0));
  const relations = b.relations && new Map([...b.relations].map(([name, n]) => [name, n - (a.relations?.get(name) ?? 0)]));
  return { tables, events, ...(relations ? { relations } : {}) };
}

/** Sum of two deltas (rounds added up for the breakdown). */
export function contentsSum(a: Contents, b: Contents): Contents {
  const zero: TableCounters = { ins: 0, upd: 0, del: 0, bytes: 0 };
  const tables = new Map(a.tables);
  for (const [name, t] of b.tables) {
    const s = tables.get(name) ?? zero;
    tables.set(name, { ins: s.ins + t.ins, upd: s.upd + t.upd, del: s.del + t.del, bytes: s.bytes + t.bytes });
  }
  const events = new Map(a.events);
  for (const [type, n] of b.events) events.set(type, (events.get(type) ?? 0) + n);
  const relations = new Map(a.relations);
  for (const [name, n] of b.relations ?? []) relations.set(name, (relations.get(name) ?? 0) + n);
  return { tables, events, ...(relations.size > 0 ? { relations } : {}) };
}

export const totalBytes = (c: Contents): number => [...c.tables.values()].reduce((s, t) => s + t.bytes, 0);
