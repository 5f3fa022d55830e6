import { eventSchemas } from '../events/catalogue.js';
import type { RecordedEvent } from '../events/envelope.js';
import type { EventStore } from '../events/eventStore.js';
import { parseRecorded, type ParsedEvent } from '../events/upcast.js';
import { assertIdentifier, type SqlQueryable } from '../infra/sql/sqlClient.js';
import { atSql, metadataSql } from '../events/stores/postgres/schema.js';

/** Where the event log's table lives: the Postgres store's client and schema. */
export interface EventLogTable {
  readonly sql: SqlQueryable;
  readonly schema: string;
}

export interface ActivityQuery {
  /** A position (exclusive), or an ISO time / Date compared with the events' `metadata.at`. */
  readonly since?: bigint | number | string | Date | undefined;
  readonly limit: number;
  readonly agentId?: string | undefined;
}

/** One agent event of the feed, parsed as every reader parses it, with its `at` as Postgres read it. */
export interface ActivityEvent {
  readonly event: ParsedEvent;
  readonly at: unknown;
}

const KNOWN_TYPES = Object.keys(eventSchemas);

/**
 * The activity feed, read from the event log itself: it used to be a read model that copied
 * every agent event with a one-line summary (~5 KB per agent step written twice); the summary
 * is pure (summarize.ts), so it is made on read instead.
 *
 * Indexes: `agentId` reads the stream through the (stream_id, revision) unique index (revision
 * order is position order within a stream); a position `since` and the latest-`limit` read walk
 * the primary key. A time `since` filters `metadata.at` on that same position walk: no index on
 * events for it, since every append would pay for one while this is an occasional CLI query;
 * `at` is the writer's (possibly simulated) clock, not monotonic in position, so it cannot bound
 * the walk either. Only events older than every running transaction are shown, as the store's
 * tail reads them (a later commit can never appear below one already listed), and only types
 * this code knows (as the projections skip the others), so `limit` counts shown rows. An event
 * the current code cannot parse is left out.
 *
 * @example
 * const rows = await readActivity({ sql, schema: 'cadre' }, { limit: 20, agentId: 'a1' });
 */
export async function readActivity(log: EventLogTable, q: ActivityQuery): Promise<ActivityEvent[]> {
  const s = assertIdentifier(log.schema);
  const params: unknown[] = [q.limit, KNOWN_TYPES];
  const where = [`type = ANY($2::text[])`, `transaction_id < pg_snapshot_xmin(pg_current_snapshot())`];
  if (q.agentId !== undefined) {
    params.push(`agent-${q.agentId}`);
    where.push(`stream_id = $${params.length}`);
  } else {
    where.push(`starts_with(stream_id, 'agent-')`);
  }
  if (typeof q.since === 'bigint' || typeof q.since === 'number') {
    params.push(q.since.toString());
    where.push(`position > $${params.length}::bigint`);
  } else if (q.since !== undefined) {
    params.push(q.since instanceof Date ? q.since.toISOString() : q.since);
    where.push(`${atSql()} > $${params.length}::timestamptz`);
  }
  const select = `SELECT position, stream_id, revision, event_id, type, data, ${metadataSql()} AS metadata, ${atSql()} AS at
    FROM ${s}.events WHERE ${where.join(' AND ')}`;
  // Without `since`: the latest `limit`, shown oldest first.
  const text = q.since === undefined
    ? `SELECT * FROM (${select} ORDER BY position DESC LIMIT $1) x ORDER BY position`
    : `${select} ORDER BY position LIMIT $1`;
  const r = await log.sql.query<Record<string, unknown>>(text, params);
  const out: ActivityEvent[] = [];
  for (const row of r.rows) {
    const event = parseOrNull({
      id: String(row.event_id), type: String(row.type), data: row.data, metadata: row.metadata as RecordedEvent['metadata'],
      streamId: String(row.stream_id), revision: BigInt(String(row.revision)), position: BigInt(String(row.position)),
    });
    if (event) out.push({ event, at: row.at });
  }
  return out;
}

/** Events read per page when the feed walks a store through its port. */
const PAGE = 1000;

/**
 * The same feed through the event store's port, for a store whose events are not in Postgres
 * (EventStoreDB): an agent's stream is read from its end; everything else walks `$all` forward
 * (from `since` when it is a position), keeping the latest `limit` when no `since` bounds it.
 * A walk, so slower on a large store than the Postgres query above; an occasional CLI read.
 */
export async function readActivityThrough(store: Pick<EventStore, 'readStream' | 'readAll'>, q: ActivityQuery, pageSize = PAGE): Promise<ActivityEvent[]> {
  const after = q.since instanceof Date || typeof q.since === 'string' ? Date.parse(q.since instanceof Date ? q.since.toISOString() : q.since) : null;
  const shown = (e: RecordedEvent): ActivityEvent | null => {
    if (!e.streamId.startsWith('agent-') || !KNOWN_TYPES.includes(e.type)) return null;
    const event = parseOrNull(e);
    if (!event || (after !== null && !(Date.parse(event.metadata.at) > after))) return null;
    return { event, at: event.metadata.at };
  };
  const position = typeof q.since === 'bigint' || typeof q.since === 'number' ? BigInt(q.since) : null;
  if (q.agentId !== undefined) return readAgentActivity(store, `agent-${q.agentId}`, q, position, shown, pageSize);
  const out: ActivityEvent[] = [];
  for (let from = position ?? 0n; ; ) {
    const page = await store.readAll({ fromPosition: from, limit: pageSize });
    for (const e of page) {
      const row = shown(e);
      if (!row) continue;
      out.push(row);
      if (q.since === undefined && out.length > q.limit) out.shift();
      if (q.since !== undefined && out.length === q.limit) return out;
    }
    if (page.length < pageSize) return out;
    from = page[page.length - 1]!.position;
  }
}

/**
 * One agent's activity, a page of its stream at a time: the latest `limit` read from its end,
 * or the first `limit` after `since` read forward, so a long-lived agent's whole history is not
 * read for a page of it.
 */
async function readAgentActivity(store: Pick<EventStore, 'readStream'>, stream: string, q: ActivityQuery, position: bigint | null, shown: (e: RecordedEvent) => ActivityEvent | null, pageSize: number): Promise<ActivityEvent[]> {
  const rows: ActivityEvent[] = [];
  const backwards = q.since === undefined;
  for (let from: bigint | undefined = backwards ? undefined : 0n; ; ) {
    const page = await store.readStream(stream, { limit: pageSize, ...(backwards ? { direction: 'backwards' as const } : {}), ...(from !== undefined ? { from } : {}) });
    for (const e of page) {
      const row = position !== null && e.position <= position ? null : shown(e);
      if (row) rows.push(row);
      if (rows.length === q.limit) break;
    }
    const last = page[page.length - 1];
    if (rows.length === q.limit || page.length < pageSize || !last || (backwards && last.revision === 0n)) break;
    from = backwards ? last.revision - 1n : last.revision + 1n;
  }
  return backwards ? rows.reverse() : rows;
}

function parseOrNull(e: RecordedEvent): ParsedEvent | null {
  try {
    return parseRecorded(e);
  } catch {
    return null; // the projections skip it too (runnerContext.ts parseBatch)
  }
}
