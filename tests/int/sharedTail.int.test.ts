import { afterEach, describe, expect, it } from 'vitest';
import { createPgClient } from '../../src/infra/sql/pgClient.js';
import { openPostgresEventStore, type PostgresEventStore } from '../../src/events/stores/postgres/postgresEventStore.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';
import type { RecordedEvent } from '../../src/events/envelope.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { take, testEvents } from '../support/events.js';

/** A client that counts the polling reads of `$all` (the statement every subscription used to run on its own). */
function countingClient(): { sql: SqlClient; polls: () => number } {
  const sql = createPgClient({ connectionString: testPgUrl(), max: 8 });
  let polls = 0;
  const query: SqlClient['query'] = (text, params, options) => {
    if (/FROM \S+\.events\s+WHERE position > \$1/.test(text)) polls++;
    return sql.query(text, params, options);
  };
  return { sql: new Proxy(sql, { get: (t, k) => (k === 'query' ? query : Reflect.get(t, k)) }), polls: () => polls };
}

const positions = (es: readonly RecordedEvent[]): string[] => es.map((e) => e.position.toString());

/**
 * Every live subscription of a process reads `$all` through one shared tail: one poll per
 * wake-up however many subscribe, and a subscription behind the buffer catches up from the table
 * and joins it without a gap or a repeat.
 */
describe('postgres store: subscriptions share one tail', () => {
  let store: PostgresEventStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it('six live subscriptions cost one poll per append, and each sees every event once, in order', async () => {
    const { sql, polls } = countingClient();
    store = await openPostgresEventStore({ sql, ownsClient: true, schema: freshSchema('tail') });
    const head = await store.headPosition();
    const subs = Array.from({ length: 6 }, () => store!.subscribeToAll({ fromPosition: head }));
    const seen = subs.map((s) => take(s, 40));
    // Let every subscription reach its first wait before the appends start.
    await new Promise((r) => setTimeout(r, 50));
    const before = polls();
    for (let i = 0; i < 40; i++) await store.append(`agent-${i % 3}`, testEvents(1), { expectedRevision: 'any' });
    const got = await Promise.all(seen);
    const spent = polls() - before;
    for (const es of got) expect(positions(es)).toEqual(positions(got[0]!));
    expect(new Set(positions(got[0]!)).size).toBe(40);
    // Each subscription polling on its own made at least 6 per append (240); shared, about one.
    expect(spent).toBeLessThan(40 * 2 + 10);
    await Promise.all(subs.map((s) => s.close()));
  });

  it('a subscription from the start catches up from the table, then follows the live tail without a gap', async () => {
    const { sql } = countingClient();
    // A buffer of 5 events: the late subscription is behind it for most of the run.
    store = await openPostgresEventStore({ sql, ownsClient: true, schema: freshSchema('tail'), tailCapacity: 5 });
    for (let i = 0; i < 30; i++) await store.append('agent-old', testEvents(1), { expectedRevision: 'any' });
    const head = await store.headPosition();
    const live = store.subscribeToAll({ fromPosition: head });
    const liveSeen = take(live, 20);
    await new Promise((r) => setTimeout(r, 30));
    const late = store.subscribeToAll({ fromPosition: 0n, streamPrefixes: ['agent-'] });
    const lateSeen = take(late, 40);
    for (let i = 0; i < 20; i++) await store.append(i % 2 ? 'agent-new' : 'other-new', testEvents(1), { expectedRevision: 'any' });
    const [liveGot, lateGot] = await Promise.all([liveSeen, lateSeen]);
    // Read after both saw the last event: a commit elsewhere in the cluster could hold it back from an earlier read.
    const all = await store.readAll({ fromPosition: 0n, limit: 1000 });
    // The head is what was visible then: an old event held back by a commit elsewhere comes live.
    expect(positions(liveGot)).toEqual(positions(all.filter((e) => e.position > head).slice(0, 20)));
    expect(positions(lateGot)).toEqual(positions(all.filter((e) => e.streamId.startsWith('agent-'))));
    await Promise.all([late.close(), live.close()]);
  });
});
