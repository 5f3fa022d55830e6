import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { createPgClient } from '../src/infra/sql/pgClient.js';
import { openPostgresEventStore } from '../src/events/stores/postgres/postgresEventStore.js';
import type { EventToAppend } from '../src/events/envelope.js';
import { benchDatabase, fmt, percentile, printTable, rate, ratio, sortNumbers, type BenchRow } from './support.js';

const ROUNDS = 5;

/** The round whose ratio (second / first) is the median of all rounds. */
function medianRound(rounds: Array<[number, number]>): [number, number] {
  const sorted = [...rounds].sort((x, y) => x[1] / x[0] - y[1] / y[0]);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const event = (i: number): EventToAppend => ({
  id: randomUUID(),
  type: 'BenchHappened',
  data: { i, note: 'a small payload like most agent events' },
  metadata: { correlationId: 'bench', causationId: 'bench', schemaVersion: 1, at: new Date().toISOString() },
});

/**
 * Event store throughput against the physical limit measured in the same run on the same
 * database: raw single-row INSERT commits and raw batched INSERT rows.
 */
export async function benchEventStore(scale = 1): Promise<BenchRow[]> {
  const db = await benchDatabase();
  const n = Math.round(2000 * scale);
  const rows: BenchRow[] = [];
  try {
    const raw = new pg.Pool({ connectionString: db.url, max: 8 });
    await raw.query('CREATE TABLE raw_events (id bigserial PRIMARY KEY, stream_id text, data jsonb)');
    const payload = JSON.stringify(event(0).data);
    const store = await openPostgresEventStore({ sql: createPgClient({ connectionString: db.url, max: 8 }), ownsClient: true, schema: 'cadre' });
    const revs = new Map<string, bigint>();
    const appendOne = async (stream: string) => {
      const r = await store.append(stream, [event(0)], { expectedRevision: revs.get(stream) ?? 'no_stream' });
      revs.set(stream, r.nextExpectedRevision);
    };
    const batches = Math.round(60 * scale);
    // A second reference: the same rows cadre stores (its columns, its three unique indexes),
    // inserted raw. What an append costs beyond this is its own logic (the expected-revision
    // check, the position rule, the batch unpacking), not the shape of an event.
    await raw.query('CREATE TABLE raw_event_rows (LIKE cadre.events INCLUDING ALL)');
    let rawPosition = 0;
    const rawRows = (count: number) => {
      const es = Array.from({ length: count }, (_, i) => event(i));
      const base = rawPosition;
      rawPosition += count;
      return raw.query(
        `INSERT INTO raw_event_rows (position, transaction_id, stream_id, revision, event_id, type, data, metadata)
         SELECT $1::bigint + n, pg_current_xact_id(), $2, n - 1, id, t, d, m
           FROM unnest($3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[]) WITH ORDINALITY AS x(id, t, d, m, n)`,
        [String(base), `agent-${randomUUID()}`, es.map((e) => e.id), es.map((e) => e.type), es.map((e) => JSON.stringify(e.data)), es.map((e) => JSON.stringify(e.metadata))],
      );
    };
    const rawRow = () => {
      const e = event(0);
      return raw.query(
        `INSERT INTO raw_event_rows (position, transaction_id, stream_id, revision, event_id, type, data, metadata)
         VALUES ($1, pg_current_xact_id(), $2, 0, $3, $4, $5, $6)`,
        [String(++rawPosition), `agent-${randomUUID()}`, e.id, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)],
      );
    };
    const eventRows = { one: [] as number[], batch: [] as number[] };
    // Each pair (raw limit, cadre) is measured back to back, in several rounds: the machine's
    // speed drifts (other work, checkpoints), and a ratio of neighbours is fairer than one of
    // distant runs. The table reports the median round of each.
    const pairs = {
      one: [] as Array<[number, number]>,
      eight: [] as Array<[number, number]>,
      batch: [] as Array<[number, number]>,
    };
    for (let round = 0; round < ROUNDS; round++) {
      pairs.one.push([
        await rate(n, 1, () => raw.query('INSERT INTO raw_events (stream_id, data) VALUES ($1, $2)', ['s', payload])),
        await rate(n, 1, () => appendOne(`agent-bench-1-${round}`)),
      ]);
      pairs.eight.push([
        await rate(n * 2, 8, () => raw.query('INSERT INTO raw_events (stream_id, data) VALUES ($1, $2)', ['s', payload])),
        await rate(n * 2, 8, (_i, w) => appendOne(`agent-bench-8-${round}-${w}`)),
      ]);
      pairs.batch.push([
        100 * (await rate(batches, 1, () => raw.query('INSERT INTO raw_events (stream_id, data) SELECT $1, d FROM unnest($2::jsonb[]) AS d', ['s', Array(100).fill(payload)]))),
        100 * (await rate(batches, 1, () => store.append(`agent-batch-${randomUUID()}`, Array.from({ length: 100 }, (_, i) => event(i)), { expectedRevision: 'no_stream' }))),
      ]);
      eventRows.one.push(await rate(n, 1, rawRow));
      eventRows.batch.push(100 * (await rate(batches, 1, () => rawRows(100))));
    }
    await raw.end();
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const [raw1, app1] = medianRound(pairs.one);
    const [raw8, app8] = medianRound(pairs.eight);
    const [rawBatch, appBatch] = medianRound(pairs.batch);

    // Delivery latency: a subscriber on its own pool (woken by NOTIFY, not in-process).
    const reader = await openPostgresEventStore({ sql: createPgClient({ connectionString: db.url, max: 2 }), ownsClient: true, schema: 'cadre' });
    const committedAt = new Map<string, number>();
    const receivedAt = new Map<string, number>();
    const samples = Math.round(500 * scale);
    const sub = reader.subscribeToAll({ fromPosition: await reader.headPosition(), streamPrefixes: ['agent-latency'] });
    const consumer = (async () => {
      for await (const e of sub) {
        receivedAt.set(e.id, performance.now());
        if (receivedAt.size >= samples) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    let rev: bigint | 'no_stream' = 'no_stream';
    for (let i = 0; i < samples; i++) {
      const e = event(i);
      const r = await store.append('agent-latency', [e], { expectedRevision: rev });
      committedAt.set(e.id, performance.now());
      rev = r.nextExpectedRevision;
      await new Promise((res) => setTimeout(res, 2));
    }
    await Promise.race([consumer, new Promise((r) => setTimeout(r, 10_000))]);
    await sub.close();
    await reader.close();
    await store.close();
    // An event can arrive before its append call returns; that counts as zero latency.
    const lat = sortNumbers([...receivedAt].map(([id, t]) => Math.max(0, t - (committedAt.get(id) ?? t))));

    rows.push(
      { name: `raw INSERT commits/s, 1 connection (median of ${ROUNDS} rounds)`, value: fmt(raw1) },
      { name: 'raw INSERT commits/s, 8 connections', value: fmt(raw8) },
      { name: 'raw batched INSERT rows/s (100/tx)', value: fmt(rawBatch) },
      { name: 'cadre append/s, 1 event, 1 writer', value: fmt(app1), limit: fmt(raw1), ratio: ratio(app1, raw1), goal: '>= 80%' },
      { name: 'cadre append/s, 1 event, 8 writers', value: fmt(app8), limit: fmt(raw8), ratio: ratio(app8, raw8), goal: '>= 80%' },
      { name: 'cadre events/s, batches of 100', value: fmt(appBatch), limit: fmt(rawBatch), ratio: ratio(appBatch, rawBatch), goal: '>= 50%' },
      { name: 'raw INSERT of cadre event rows/s, 1 per tx, 1 conn', value: fmt(median(eventRows.one)), limit: fmt(raw1), ratio: ratio(median(eventRows.one), raw1) },
      { name: 'raw INSERT of cadre event rows/s, 100 per tx', value: fmt(median(eventRows.batch)), limit: fmt(rawBatch), ratio: ratio(median(eventRows.batch), rawBatch) },
      { name: 'cadre vs raw event rows: 1 event / batches of 100', value: `${ratio(app1, median(eventRows.one))} / ${ratio(appBatch, median(eventRows.batch))}` },
      { name: 'subscription delivery p50 (ms)', value: fmt(percentile(lat, 50), 2) },
      { name: 'subscription delivery p99 (ms)', value: fmt(percentile(lat, 99), 2), goal: '< 10 ms' },
      { name: 'delivered / appended', value: `${receivedAt.size} / ${samples}` },
    );
    printTable(`event store (${db.source})`, rows);
    return rows;
  } finally {
    await db.cleanup();
  }
}
