import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { createPgClient } from '../../src/infra/sql/pgClient.js';
import { openPostgresEventStore, type PostgresEventStore } from '../../src/events/stores/postgres/postgresEventStore.js';
import type { SqlQueryable } from '../../src/infra/sql/sqlClient.js';
import type { RecordedEvent } from '../../src/events/envelope.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { take, testEvents } from '../support/events.js';

/**
 * Concurrent transactions commit out of order. These tests hold appending transactions open on
 * a real server and check that readers and subscribers never deliver an event past one that
 * is still in flight (the bug NOTES.md reproduced with position-only cursors).
 */
describe('postgres: out-of-order commits', () => {
  let store: PostgresEventStore;
  beforeAll(async () => {
    store = await openPostgresEventStore({
      sql: createPgClient({ connectionString: testPgUrl(), max: 16 }),
      ownsClient: true,
      schema: freshSchema('ord'),
      pollIntervalMs: 20,
    });
  });
  afterAll(() => store.close());

  const appendIn = (tx: SqlQueryable, streamId: string, n: number) =>
    tx.query(`SELECT * FROM ${store.schema}.append_events($1, 'any', NULL, $2::jsonb)`, [streamId, JSON.stringify(testEvents(n))]);

  it('an open transaction holds back later commits; nothing is skipped when it commits', async () => {
    const before = await store.headPosition();
    let releaseA!: () => void;
    const aHolding = new Promise<void>((r) => (releaseA = r));
    let aAppended!: () => void;
    const aDidAppend = new Promise<void>((r) => (aAppended = r));
    const txA = store.sql.transaction(async (tx) => {
      await appendIn(tx, 'agent-early', 1);
      aAppended();
      await aHolding;
    });
    await aDidAppend;
    // B starts after A, so it has the higher transaction id, and commits first.
    await store.append('agent-late', testEvents(1), { expectedRevision: 'any' });
    const visibleWhileAOpen = await store.readAll({ fromPosition: before });
    expect(visibleWhileAOpen.map((e) => e.streamId)).toEqual([]);
    releaseA();
    await txA;
    const after = await store.readAll({ fromPosition: before });
    expect(after.map((e) => e.streamId)).toEqual(['agent-early', 'agent-late']);
    expect(after[0]!.position < after[1]!.position).toBe(true);
  });

  it('a position-only cursor on commit order would skip (control): raw rows show the hazard', async () => {
    // Without the xmin rule a reader sees the later transaction's row while the earlier one is
    // open; checkpointing that position loses the earlier row for good.
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let appended!: () => void;
    const didAppend = new Promise<void>((r) => (appended = r));
    const stream = `agent-${randomUUID()}`;
    const tx = store.sql.transaction(async (t) => {
      await appendIn(t, `${stream}-a`, 1);
      appended();
      await hold;
    });
    await didAppend;
    await store.append(`${stream}-b`, testEvents(1), { expectedRevision: 'any' });
    const naive = await store.sql.query<{ stream_id: string }>(
      `SELECT stream_id FROM ${store.schema}.events WHERE stream_id LIKE $1 ORDER BY position`,
      [`${stream}%`],
    );
    expect(naive.rows.map((r) => r.stream_id)).toEqual([`${stream}-b`]);
    release();
    await tx;
  });

  it('property: appenders holding transactions open for random times; the subscriber misses nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 4 }), holdMs: fc.integer({ min: 0, max: 30 }), startMs: fc.integer({ min: 0, max: 20 }) }), { minLength: 3, maxLength: 10 }),
        async (writers) => {
          const prefix = `p-${randomUUID()}-`;
          const total = writers.reduce((n, w) => n + w.size, 0);
          const sub = store.subscribeToAll({ fromPosition: await store.headPosition(), streamPrefixes: [prefix] });
          const received = take(sub, total, 20_000);
          await Promise.all(
            writers.map(async (w, i) => {
              await new Promise((r) => setTimeout(r, w.startMs));
              await store.sql.transaction(async (tx) => {
                await appendIn(tx, `${prefix}${i}`, w.size);
                await tx.query('SELECT pg_sleep($1)', [w.holdMs / 1000]);
              });
            }),
          );
          const got: RecordedEvent[] = await received;
          await sub.close();
          expect(new Set(got.map((e) => e.id)).size).toBe(total);
          for (let i = 1; i < got.length; i++) expect(got[i]!.position > got[i - 1]!.position).toBe(true);
          const byStream = new Map<string, bigint[]>();
          for (const e of got) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e.revision]);
          for (const revs of byStream.values()) expect(revs).toEqual(revs.map((_, k) => BigInt(k)));
        },
      ),
      { numRuns: 20 },
    );
  });
});
