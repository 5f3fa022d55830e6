import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresEventStore } from '../../src/events/stores/postgres/postgresEventStore.js';
import { adoptRestoredEvents } from '../../src/events/stores/postgres/restoredStore.js';
import type { EventToAppend } from '../../src/events/envelope.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';
import { freshSchema, sqlTargets } from '../support/testDb.js';

const ev = (n: number): EventToAppend => ({
  id: randomUUID(),
  type: 'AgentRunRequested',
  data: { n },
  metadata: { correlationId: 'c', causationId: 'c', schemaVersion: 1, at: new Date(0).toISOString() },
});

// A dump restored into a server whose transaction counter is behind the one the events were
// written under (a fresh server, PGlite): simulated by moving the rows' transaction ids, and their
// positions with them, a million transactions into this server's future.
describe.each(sqlTargets)('a store restored from another server ($name)', (target) => {
  let sql: SqlClient;
  const schema = freshSchema('rs');
  beforeAll(async () => {
    sql = await target.open();
  });
  afterAll(async () => {
    await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await sql.close();
  });

  it('is adopted on open: its events become readable and new ones are positioned after them', async () => {
    const first = await openPostgresEventStore({ sql, schema });
    await first.append('agent-r', [ev(1), ev(2), ev(3)], { expectedRevision: 'no_stream' });
    await first.close();
    await sql.query(`UPDATE ${schema}.events SET transaction_id = ((transaction_id::text::bigint + 1000000)::text)::xid8, position = position + (1000000::bigint << 20)`);
    const restored = await sql.query<{ p: bigint }>(`SELECT max(position) AS p FROM ${schema}.events`);
    const restoredHead = BigInt(restored.rows[0]!.p);

    // What every reader saw before: nothing (the rows sit past the server's transaction ids).
    expect((await sql.query(`SELECT 1 FROM ${schema}.events WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())`)).rows).toHaveLength(0);

    const store = await openPostgresEventStore({ sql, schema });
    try {
      // Visible once every transaction older than the adopting one has ended (the xmin rule): a
      // transaction another test file holds open on this server delays it, never loses it.
      await expect.poll(() => store.headPosition(), { timeout: 30_000, interval: 50 }).toBe(restoredHead);
      expect((await store.readAll({ fromPosition: 0n })).map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 3]);
      const next = await store.append('agent-r', [ev(4)], { expectedRevision: 2n });
      expect(next.position).toBeGreaterThan(restoredHead);
      // Visible to readAll under the same rule: polled, as the head above.
      await expect.poll(async () => (await store.readAll({ fromPosition: restoredHead })).map((e) => (e.data as { n: number }).n), { timeout: 30_000, interval: 50 }).toEqual([4]);
      expect(await adoptRestoredEvents(sql, schema)).toBe(false);
    } finally {
      await store.close();
    }
  });
});
