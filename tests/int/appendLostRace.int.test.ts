import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgClient } from '../../src/infra/sql/pgClient.js';
import { openPostgresEventStore, type PostgresEventStore } from '../../src/events/stores/postgres/postgresEventStore.js';
import { migrateRuntime } from '../../src/infra/postgres/runtimeTables.js';
import { isWrongExpectedRevision } from '../../src/errors.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { testEvents } from '../support/events.js';

/**
 * A group-commit batch that loses a race to a writer elsewhere (a unique violation inside
 * append_batch) is rolled back whole and each append tried again on its own. An append's
 * attachments (a model request it names) must still be stored in its commit and only if it is:
 * this is the one path where they are not written by append_batch.
 */
describe('postgres: a batch that lost a race, appended one by one', () => {
  let store: PostgresEventStore;
  beforeAll(async () => {
    const schema = freshSchema('race');
    const sql = createPgClient({ connectionString: testPgUrl(), max: 8 });
    store = await openPostgresEventStore({ sql, ownsClient: true, schema, pollIntervalMs: 20 });
    await migrateRuntime(sql, schema);
  });
  afterAll(() => store.close());

  const blob = (ref: string) => ({ ref, json: JSON.stringify({ request: ref }) });
  const stored = async (ref: string): Promise<boolean> =>
    (await store.sql.query(`SELECT 1 FROM ${store.schema}.blobs WHERE ref = $1`, [ref])).rows.length === 1;

  it('stores the attachments of the appends that are stored, and none of the one that is refused', async () => {
    // A writer elsewhere appends the second stream's first event and holds its transaction open;
    // the batch, which did not see it, waits on the unique index and then fails as a whole.
    let release!: () => void;
    const holding = new Promise<void>((r) => (release = r));
    let appended!: () => void;
    const didAppend = new Promise<void>((r) => (appended = r));
    const elsewhere = store.sql.transaction(async (tx) => {
      await tx.query(`SELECT * FROM ${store.schema}.append_events($1, 'no_stream', NULL, $2::jsonb)`, ['agent-taken', JSON.stringify(testEvents(1))]);
      appended();
      await holding;
    });
    await didAppend;
    const chain = store.appendChain!([
      { streamId: 'agent-first', events: testEvents(2), expectedRevision: 'no_stream', attachments: [blob('sha256:first')] },
      { streamId: 'agent-taken', events: testEvents(1), expectedRevision: 'no_stream', attachments: [blob('sha256:taken')] },
    ]);
    // Let the batch reach the row lock before the other writer commits.
    await new Promise((r) => setTimeout(r, 300));
    release();
    await elsewhere;
    const [first, taken] = await chain;
    expect(first!.ok).toBe(true);
    expect(taken!.ok).toBe(false);
    expect(isWrongExpectedRevision(taken!.ok ? null : taken!.error)).toBe(true);
    expect(await stored('sha256:first')).toBe(true);
    expect(await stored('sha256:taken')).toBe(false);
    // The stored append's payload is in its own commit.
    const same = await store.sql.query<{ same: boolean }>(
      `SELECT b.xmin::text::bigint = (e.transaction_id::text::bigint & 4294967295) AS same
         FROM ${store.schema}.blobs b, ${store.schema}.events e WHERE b.ref = 'sha256:first' AND e.stream_id = 'agent-first' AND e.revision = 0`,
    );
    expect(same.rows).toEqual([{ same: true }]);
  });

  it('a single append with an attachment that is refused stores no payload', async () => {
    await store.append('agent-single', testEvents(1), { expectedRevision: 'no_stream' });
    await expect(store.append('agent-single', testEvents(1), { expectedRevision: 'no_stream', attachments: [blob('sha256:single')] })).rejects.toSatisfy(isWrongExpectedRevision);
    expect(await stored('sha256:single')).toBe(false);
    await store.append('agent-single', testEvents(1), { expectedRevision: 0n, attachments: [blob('sha256:single')] });
    expect(await stored('sha256:single')).toBe(true);
  });
});
