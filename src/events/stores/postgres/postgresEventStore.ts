import { randomUUID } from 'node:crypto';
import { InvalidInput, StoreClosed, WrongExpectedRevision } from '../../../errors.js';
import type { SqlClient } from '../../../infra/sql/sqlClient.js';
import { assertIdentifier } from '../../../infra/sql/sqlClient.js';
import { migrate } from '../../../infra/sql/migrate.js';
import type { AppendResult, EventToAppend, RecordedEvent, StoredMetadata } from '../../envelope.js';
import { describeExpected } from '../../envelope.js';
import type { AppendOptions, AppendOutcome, EventStore, ReadAllOptions, ReadStreamOptions, StreamAppend, SubscribeOptions, Subscription } from '../../eventStore.js';
import { NotAppended } from '../../appendChain.js';
import { adoptRestoredEvents } from './restoredStore.js';
import { eventStoreMigrations, insertAttachments, metadataSql, notifyChannel } from './schema.js';
import { Signal } from '../../../infra/signals.js';
import { SharedTail } from './sharedTail.js';
import { CoalescingNotifier } from '../../../infra/sql/coalescingNotifier.js';
import { validateAppend } from '../validateAppend.js';
import { batchJson, pendingAppend, refusal, type PendingAppend } from './pendingAppend.js';
import { GroupCommit, type Outcome } from './groupCommit.js';

interface EventRow {
  position: bigint;
  stream_id: string;
  revision: bigint;
  event_id: string;
  type: string;
  data: unknown;
  metadata: StoredMetadata;
}

export interface PostgresEventStoreOptions {
  readonly sql: SqlClient;
  /** Schema holding cadre's tables; tests use one per suite. Default `cadre`. */
  readonly schema?: string;
  /** Close the SqlClient when the store closes (true when the factory made it). */
  readonly ownsClient?: boolean;
  /** Fallback poll interval of live subscriptions, in ms (NOTIFY wakes them sooner). */
  readonly pollIntervalMs?: number;
  /** Most events the shared tail keeps for lagging subscriptions (default 10,000; tests make it small). */
  readonly tailCapacity?: number;
  /** Tests only: start global positions at this offset (the contract suite uses > 2^53). */
  readonly positionOffset?: bigint;
  /** Apply the migrations first (default true); 'ifBehind' for a reader (only a missing or older schema); false for a reader whose client cannot write. */
  readonly migrate?: boolean | 'ifBehind';
}

/** The Postgres adapter with the SQL client it runs on, for components that share the database. */
export interface PostgresEventStore extends EventStore {
  readonly sql: SqlClient;
  readonly schema: string;
}

const MAX_ANY_RETRIES = 20;

const toRecorded = (r: EventRow): RecordedEvent => ({
  id: r.event_id,
  type: r.type,
  data: r.data,
  metadata: r.metadata,
  streamId: r.stream_id,
  revision: r.revision,
  position: r.position,
});

function sqlState(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
function sqlDetail(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'detail' in err ? String((err as { detail: unknown }).detail) : undefined;
}

/**
 * One SQL implementation of the event store port for a Postgres server and for PGlite.
 *
 * @example
 * const store = await openPostgresEventStore({ sql: createPgClient({ connectionString }) });
 */
export async function openPostgresEventStore(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
  const schema = assertIdentifier(options.schema ?? 'cadre');
  const sql = options.sql;
  if (options.migrate !== false) await migrate(sql, schema, 'eventstore', eventStoreMigrations(schema), { onlyIfBehind: options.migrate === 'ifBehind' });
  // A writer adopts events restored from another server's dump (restoredStore.ts).
  if (options.migrate === undefined || options.migrate === true) await adoptRestoredEvents(sql, schema);
  if (options.positionOffset !== undefined) {
    await sql.query(`UPDATE ${schema}.store_settings SET position_offset = $1 WHERE position_offset < $1`, [options.positionOffset.toString()]);
  }
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const wake = new Signal();
  // Notifications name their sender: this store's own come back on its LISTEN connection, and
  // waking on them polled the table once more per append for events it had already seen.
  const origin = randomUUID();
  // At most one NOTIFY per 20 ms (the first after a quiet spell goes at once): with 3 ms, a
  // 4-node workflow sent one per append, 10 commits per agent step for a hint other processes
  // also get by polling; now a burst costs a process elsewhere at most 20 ms of latency.
  const notifier = new CoalescingNotifier(() => sql.query(`SELECT pg_notify($1, $2)`, [notifyChannel(schema), origin], { prepareAs: 'cadre_notify' }), 20);
  let unlisten: (() => Promise<void>) | undefined;
  let listening: Promise<void> | undefined;
  const subscriptions = new Set<{ close(): Promise<void> }>();
  let closed = false;

  const ensureListening = (): Promise<void> =>
    (listening ??= sql.listen(notifyChannel(schema), (sender) => {
      if (sender !== origin) wake.fire();
    }).then((u) => {
      unlisten = u;
    }));

  const assertOpen = (): void => {
    if (closed) throw new StoreClosed();
  };

  const currentRevision = async (streamId: string): Promise<bigint | 'no_stream'> => {
    const r = await sql.query<{ revision: bigint }>(
      `SELECT revision FROM ${schema}.events WHERE stream_id = $1 ORDER BY revision DESC LIMIT 1`,
      [streamId],
    );
    return r.rows[0]?.revision ?? 'no_stream';
  };

  const appendText = `SELECT * FROM ${schema}.append_events($1, $2, $3, $4::jsonb)`;
  const appendAttachedText = `WITH attached AS (${insertAttachments(schema, '$5::jsonb')}) ${appendText}`;

  /**
   * One append in its own call (and transaction), with the store's errors mapped to ours. Its
   * attachments ride in the same statement (a data-modifying WITH runs once, whatever the rest
   * reads), so they are stored in its commit and only if it is: after a batch lost a race, a
   * refused append leaves no payload behind.
   */
  async function appendOne(a: PendingAppend): Promise<AppendResult> {
    const text = a.attachments ? appendAttachedText : appendText;
    const params = a.attachments ? [a.streamId, a.kind, a.expected, a.payload, a.attachments] : [a.streamId, a.kind, a.expected, a.payload];
    for (let attempt = 0; ; attempt++) {
      try {
        // The hottest statement in cadre: parsed and planned once per connection.
        const r = await sql.query<{ last_revision: bigint; last_position: bigint; was_idempotent: boolean }>(text, params, {
          prepareAs: a.attachments ? `cadre_append_attached_${schema}` : `cadre_append_${schema}`,
        });
        const row = r.rows[0]!;
        return { nextExpectedRevision: row.last_revision, position: row.last_position, idempotent: row.was_idempotent };
      } catch (err) {
        const code = sqlState(err);
        if (code === 'CD001' || code === 'CD002' || code === 'CD003') throw refusal(a, code, sqlDetail(err) ?? null, err);
        if (code === '23505') {
          // A concurrent writer took the same revision (or the same event id) between our
          // check and our insert. With 'any' or a retry of the same ids, trying again is right;
          // with an exact expectation the stream has moved on.
          if ((a.kind === 'any' || a.kind === 'stream_exists' || String(err).includes('events_event_id')) && attempt < MAX_ANY_RETRIES) continue;
          throw new WrongExpectedRevision(a.streamId, describeExpected(a.expectedRevision), await currentRevision(a.streamId), { cause: err });
        }
        throw err;
      }
    }
  }

  /**
   * Several appends in one call and one commit (group commit). If the database refuses the call
   * as a whole because it lost a race (a unique violation from a writer elsewhere, a deadlock or
   * serialization failure), each append is tried again on its own: appends are idempotent by
   * event id, so one that did commit is reported as such. Any other failure (the database
   * unreachable after the client's own retries) fails every append of the batch at once, rather
   * than waiting out the same outage once per append.
   */
  async function appendMany(items: readonly PendingAppend[]): Promise<Outcome<AppendResult>[]> {
    const settle = (p: Promise<AppendResult>): Promise<Outcome<AppendResult>> => p.then((value) => ({ ok: true, value }), (error: unknown) => ({ ok: false, error }));
    if (items.length === 1) return [await settle(appendOne(items[0]!))];
    const batch = batchJson(items);
    type Row = { idx: number; status: string; last_revision: bigint | null; last_position: bigint | null; detail: string | null };
    let rows: Row[];
    try {
      rows = (await sql.query<Row>(`SELECT * FROM ${schema}.append_batch($1::jsonb)`, [batch], { prepareAs: `cadre_append_batch_${schema}` })).rows;
    } catch (err) {
      const lostRace = /^(23|40)/.test(sqlState(err) ?? '');
      if (!lostRace) throw err;
      const out: Outcome<AppendResult>[] = [];
      for (const a of items) out.push(a.chained && out.length > 0 && !out[out.length - 1]!.ok ? { ok: false, error: new NotAppended(a.streamId) } : await settle(appendOne(a)));
      return out;
    }
    const byIdx = new Map(rows.map((r) => [Number(r.idx), r]));
    return items.map((a, i): Outcome<AppendResult> => {
      const r = byIdx.get(i + 1);
      if (!r) return { ok: false, error: new Error(`append_batch returned no outcome for append ${i + 1}`) };
      if (r.status === 'ok' || r.status === 'idempotent') {
        return { ok: true, value: { nextExpectedRevision: r.last_revision!, position: r.last_position!, idempotent: r.status === 'idempotent' } };
      }
      if (r.status === 'skipped') return { ok: false, error: new NotAppended(a.streamId) };
      return { ok: false, error: refusal(a, r.status, r.detail) };
    });
  }

  // Appends that arrive while earlier ones are on the wire share the next round trip and commit,
  // up to 100 units or 4 MB of events in one statement. A unit is one append or one chain (a
  // decision with the child stream it opens): a chain's first item is never chained, so chains
  // laid end to end in one batch keep their own all-or-nothing. Chains went alone until issue 19's
  // census showed every agent step is one: with 50 workflows in flight each run still took 5
  // append_batch commits, none shared (.prof/agg.ts, 1,000 runs).
  const appends = new GroupCommit<readonly PendingAppend[], Outcome<AppendResult>[]>(
    async (units) => {
      const outcomes = await appendMany(units.flat());
      let at = 0;
      return units.map((u) => ({ ok: true, value: outcomes.slice(at, (at += u.length)) }));
    },
    { maxBatch: 100, maxInFlight: 4, weigh: (u) => u.reduce((n, a) => n + a.payload.length, 0), maxWeight: 4_000_000 },
  );

  async function append(streamId: string, events: readonly EventToAppend[], opts: AppendOptions): Promise<AppendResult> {
    assertOpen();
    validateAppend(streamId, events, opts.expectedRevision);
    if (events.length === 0) {
      const current = await currentRevision(streamId);
      const rev = current === 'no_stream' ? -1n : current;
      return { nextExpectedRevision: rev, position: 0n, idempotent: true };
    }
    const [outcome] = await appends.submit([pendingAppend(streamId, events, opts.expectedRevision, false, opts.attachments)]);
    if (!outcome!.ok) throw outcome!.error;
    const result = outcome!.value;
    wake.fire();
    if (!result.idempotent) notifier.poke();
    return result;
  }

  /** The chain in one `append_batch` call: one round trip, one commit (appendChain.ts). */
  async function appendChain(chain: readonly StreamAppend[]): Promise<AppendOutcome[]> {
    assertOpen();
    chain.forEach((a, i) => {
      validateAppend(a.streamId, a.events, a.expectedRevision);
      if (a.events.length === 0) throw new InvalidInput(`appends[${i}].events`, 'a chained append needs at least one event');
    });
    const outcomes = await appends.submit(chain.map((a, i) => pendingAppend(a.streamId, a.events, a.expectedRevision, i > 0, a.attachments)));
    wake.fire();
    if (outcomes.some((o) => o.ok && !o.value.idempotent)) notifier.poke();
    return outcomes;
  }

  async function readStream(streamId: string, opts: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertOpen();
    const backwards = opts.direction === 'backwards';
    const limit = opts.limit ?? 1_000_000;
    const params: unknown[] = [streamId, limit];
    let where = 'stream_id = $1';
    if (opts.from !== undefined) {
      params.push(opts.from.toString());
      where += backwards ? ' AND revision <= $3' : ' AND revision >= $3';
    }
    const r = await sql.query<EventRow>(
      `SELECT position, stream_id, revision, event_id, type, data, ${metadataSql()} AS metadata FROM ${schema}.events
        WHERE ${where} ORDER BY revision ${backwards ? 'DESC' : 'ASC'} LIMIT $2`,
      params,
      { prepareAs: `cadre_stream_${backwards ? 'back' : 'fwd'}${opts.from === undefined ? '' : '_from'}_${schema}` },
    );
    return r.rows.map(toRecorded);
  }

  async function readAllFiltered(from: bigint, limit: number, prefixes?: readonly string[]): Promise<RecordedEvent[]> {
    const params: unknown[] = [from.toString(), limit];
    let filter = '';
    if (prefixes && prefixes.length > 0) {
      params.push(prefixes.map((p) => p.replace(/[\\%_]/g, (c) => `\\${c}`) + '%'));
      filter = ' AND stream_id LIKE ANY($3)';
    }
    // Only transactions older than every running one: a later commit can never land below.
    // Prepared, as every statement an agent step repeats: a named statement's round trip costs
    // this process ~70 µs of CPU here, an unnamed one's ~150 (.prof raw query loop, this machine).
    const r = await sql.query<EventRow>(
      `SELECT position, stream_id, revision, event_id, type, data, ${metadataSql()} AS metadata FROM ${schema}.events
        WHERE position > $1 AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())${filter}
        ORDER BY position LIMIT $2`,
      params,
      { prepareAs: `cadre_tail${filter ? '_prefixed' : ''}_${schema}` },
    );
    return r.rows.map(toRecorded);
  }

  const tail = new SharedTail({
    read: (from, limit) => readAllFiltered(from, limit),
    head: () => headPosition(),
    wake,
    pollIntervalMs,
    ...(options.tailCapacity !== undefined ? { capacity: options.tailCapacity } : {}),
  });

  function subscribeToAll(opts: SubscribeOptions = {}): Subscription {
    assertOpen();
    const cursor = { position: opts.fromPosition ?? 0n };
    const prefixes = opts.streamPrefixes && opts.streamPrefixes.length > 0 ? opts.streamPrefixes : null;
    const wanted = (e: RecordedEvent): boolean => prefixes === null || prefixes.some((p) => e.streamId.startsWith(p));
    const batchSize = 500;
    let done = false;
    const sub: Subscription = {
      async close() {
        done = true;
        subscriptions.delete(sub);
        tail.interrupt();
      },
      [Symbol.asyncIterator]: async function* () {
        await ensureListening();
        const detach = tail.attach(cursor);
        try {
          while (!done && !closed) {
            const buffered = await tail.after(cursor.position, batchSize);
            if (buffered === 'behind') {
              // Catching up from before the shared buffer: read the table directly.
              const start = tail.start;
              const batch = await readAllFiltered(cursor.position, batchSize, opts.streamPrefixes);
              for (const e of batch) {
                cursor.position = e.position;
                yield e;
                if (done || closed) return;
              }
              // A short read saw every visible event it was asked for, and none can appear at or
              // below the buffer's start later: move up to it.
              if (batch.length < batchSize && start !== undefined && cursor.position < start) cursor.position = start;
              continue;
            }
            if (buffered.length === 0) {
              await tail.waitBeyond(cursor.position, () => done || closed);
              continue;
            }
            for (const e of buffered) {
              cursor.position = e.position;
              if (!wanted(e)) continue;
              yield e;
              if (done || closed) return;
            }
          }
        } finally {
          detach();
          subscriptions.delete(sub);
        }
      },
    };
    subscriptions.add(sub);
    return sub;
  }

  async function headPosition(): Promise<bigint> {
    const r = await sql.query<{ p: bigint | null }>(
      `SELECT max(position) AS p FROM ${schema}.events WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())`,
      [],
      { prepareAs: `cadre_head_${schema}` },
    );
    return r.rows[0]?.p ?? 0n;
  }

  async function readStreams(requests: ReadonlyArray<{ streamId: string; from: bigint }>): Promise<Map<string, RecordedEvent[]>> {
    assertOpen();
    const out = new Map<string, RecordedEvent[]>(requests.map((r) => [r.streamId, []]));
    if (requests.length === 0) return out;
    const r = await sql.query<EventRow>(
      `SELECT e.position, e.stream_id, e.revision, e.event_id, e.type, e.data, ${metadataSql('e')} AS metadata
         FROM unnest($1::text[], $2::bigint[]) AS q(stream_id, from_revision)
         JOIN ${schema}.events e ON e.stream_id = q.stream_id AND e.revision >= q.from_revision
        ORDER BY e.stream_id, e.revision`,
      [requests.map((q) => q.streamId), requests.map((q) => q.from.toString())],
    );
    for (const row of r.rows) out.get(row.stream_id)?.push(toRecorded(row));
    return out;
  }

  return {
    kind: sql.kind,
    // Into the runtime's blobs table in this schema (src/infra/postgres/runtimeTables.ts).
    storesAttachments: true,
    sql,
    schema,
    append,
    appendChain,
    readStream,
    readStreams,
    readAll: (opts: ReadAllOptions = {}) => {
      assertOpen();
      return readAllFiltered(opts.fromPosition ?? 0n, opts.limit ?? 1000);
    },
    subscribeToAll,
    async headPosition() {
      assertOpen();
      return headPosition();
    },
    async committedHead() {
      assertOpen();
      // Every committed row, whatever transaction is still open: positions begin with the xid.
      const r = await sql.query<{ p: bigint | null }>(`SELECT max(position) AS p FROM ${schema}.events`, [], { prepareAs: `cadre_committed_head_${schema}` });
      return r.rows[0]?.p ?? 0n;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.close()));
      tail.close();
      wake.fire();
      await notifier.drain();
      await unlisten?.().catch(() => {});
      if (options.ownsClient) await sql.close();
    },
  };
}
