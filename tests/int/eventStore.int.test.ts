import { createPgClient } from '../../src/infra/sql/pgClient.js';
import { createPgliteClient } from '../../src/infra/sql/pgliteClient.js';
import { openPostgresEventStore } from '../../src/events/stores/postgres/postgresEventStore.js';
import { eventStoreContract } from '../contract/eventStoreContract.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { testEvent } from '../support/events.js';
import type { EventToAppend } from '../../src/events/envelope.js';
import { describe, expect, it } from 'vitest';

eventStoreContract({
  name: 'pglite',
  open: async (o = {}) =>
    openPostgresEventStore({ sql: await createPgliteClient(), ownsClient: true, pollIntervalMs: 50, ...o }),
});

eventStoreContract({
  name: 'postgres',
  open: async (o = {}) =>
    openPostgresEventStore({
      sql: createPgClient({ connectionString: testPgUrl(), max: 12 }),
      ownsClient: true,
      schema: freshSchema('es'),
      pollIntervalMs: 50,
      ...o,
    }),
});

describe('an event time in the recorded_at column (issue 19)', () => {
  const stores = [
    ['pglite', async () => openPostgresEventStore({ sql: await createPgliteClient(), ownsClient: true, pollIntervalMs: 50 })],
    ['postgres', async () => openPostgresEventStore({ sql: createPgClient({ connectionString: testPgUrl(), max: 4 }), ownsClient: true, schema: freshSchema('esat'), pollIntervalMs: 50 })],
  ] as const;
  for (const [name, open] of stores) {
    it(`${name}: stores a millisecond ISO at once, in the column, and every read gives the metadata back as appended`, async () => {
      const store = await open();
      try {
        const at = (iso: string, i: number): EventToAppend => ({ ...testEvent('Timed', { i }), metadata: { ...testEvent().metadata, at: iso } });
        // Kept in the JSON: not the exact string the column gives back.
        const odd = ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000+00:00', 'not a time', '0999-01-01T00:00:00.000Z'];
        const events = [at('2026-12-05T16:51:19.345Z', 0), at('2024-02-29T23:59:59.999Z', 1), ...odd.map((o, i) => at(o, i + 2))];
        await store.append('s-at', events, { expectedRevision: 'no_stream' });
        const raw = await store.sql.query<{ i: number; has: boolean; rec: string }>(
          `SELECT (data->>'i')::int AS i, metadata ? 'at' AS has, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS rec
             FROM ${store.schema}.events WHERE stream_id = 's-at' ORDER BY revision`,
        );
        expect(raw.rows.map((r) => r.has)).toEqual([false, false, true, true, true, true]);
        expect(raw.rows.slice(0, 2).map((r) => r.rec)).toEqual(['2026-12-05T16:51:19.345Z', '2024-02-29T23:59:59.999Z']);
        // As jsonb orders an object's keys: what reading an event stored with its `at` gives.
        const asStored = async (m: unknown): Promise<string> => JSON.stringify((await store.sql.query<{ m: unknown }>(`SELECT $1::jsonb AS m`, [JSON.stringify(m)])).rows[0]!.m);
        const expected = await Promise.all(events.map((e) => asStored(e.metadata)));
        // readAll sees an append once every older transaction of the server has ended (the xmin
        // rule): another test file's transaction open meanwhile delays it (it failed a suite run).
        const readAt = async () => (await store.readAll()).filter((e) => e.streamId === 's-at');
        await expect.poll(async () => (await readAt()).length, { timeout: 30_000, interval: 50 }).toBe(events.length);
        const all = await readAt();
        const streamed = (await store.readStreams?.([{ streamId: 's-at', from: 0n }]))?.get('s-at') ?? all;
        for (const read of [await store.readStream('s-at'), all, streamed]) {
          expect(read.map((e) => JSON.stringify(e.metadata))).toEqual(expected);
        }
      } finally {
        await store.close();
      }
    });
  }
});

describe('group commit takes chains too (issue 19)', () => {
  it('postgres: chains sent at once share transactions, each chain still in one', async () => {
    const store = await openPostgresEventStore({ sql: createPgClient({ connectionString: testPgUrl(), max: 8 }), ownsClient: true, schema: freshSchema('esgc'), pollIntervalMs: 50 });
    try {
      // 40 chains at once, as 40 agents' steps would be: the store runs at most 4 batches at a
      // time, so most chains wait and go together. Sent alone (before), each took a transaction.
      const chains = Array.from({ length: 40 }, (_, i) => [`gc-${i}-a`, `gc-${i}-b`]);
      await Promise.all(chains.map(([a, b]) => store.appendChain!([
        { streamId: a!, events: [testEvent()], expectedRevision: 'no_stream' },
        { streamId: b!, events: [testEvent()], expectedRevision: 'no_stream' },
      ])));
      const r = await store.sql.query<{ stream_id: string; xid: string }>(`SELECT stream_id, transaction_id::text AS xid FROM ${store.schema}.events`);
      const xidOf = new Map(r.rows.map((row) => [row.stream_id, row.xid]));
      for (const [a, b] of chains) expect(xidOf.get(a!)).toBe(xidOf.get(b!));
      expect(new Set(xidOf.values()).size).toBeLessThan(chains.length / 2);
    } finally {
      await store.close();
    }
  });
});
