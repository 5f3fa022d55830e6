import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { StoreUnavailable } from '../../src/errors.js';
import { createEventStoreDbStore, openEventStoreDbStore } from '../../src/events/stores/eventstoredb/eventStoreDbStore.js';
import { eventStoreContract } from '../contract/eventStoreContract.js';
import { testEvents } from '../support/events.js';

// Test configuration is read here, in the test, never below src/infra/config.ts.
const url = process.env.EVENTSTORE_URL;

/** A port on 127.0.0.1 that nothing listens on: bind an ephemeral port, then release it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port was assigned');
  return address.port;
}

if (url) {
  console.log(`[cadre tests] EventStoreDB contract suite runs against EVENTSTORE_URL (${url.replace(/\/\/[^@/?]*@/, '//***@')})`);
  eventStoreContract({
    name: 'eventstoredb',
    // Every contract test writes to streams named with a fresh uuid, so one server serves them all.
    open: () => openEventStoreDbStore({ connectionString: url }),
    noPositionOffset: 'KurrentDB assigns $all positions itself (byte offsets in its log); they cannot be started past 2^53 on demand',
    perStreamIdempotency: 'KurrentDB has no index by event id and the adapter keeps none (docs/eventstoredb.md, "Idempotent appends")',
  });
} else {
  console.log('EventStoreDB contract suite not run: EVENTSTORE_URL is not set (no EventStoreDB server can run on this machine; see docs/eventstoredb.md)');
}

describe('eventstoredb adapter without a server', () => {
  it('fails fast and clearly with StoreUnavailable against a closed port on 127.0.0.1', async () => {
    const port = await closedPort();
    const target = `kurrentdb://127.0.0.1:${port}?tls=false`;
    let started = Date.now();
    const err = await createEventStoreDbStore(target).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as StoreUnavailable).retryable).toBe(true);
    expect((err as StoreUnavailable).message).toMatch(/KurrentDB is unavailable/);

    // A store opened without the check refuses every operation the same way.
    const store = await openEventStoreDbStore({ connectionString: target, verifyConnection: false });
    try {
      started = Date.now();
      await expect(store.append('agent-x', testEvents(1), { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(StoreUnavailable);
      await expect(store.readStream('agent-x')).rejects.toBeInstanceOf(StoreUnavailable);
      await expect(store.readAll({ limit: 1 })).rejects.toBeInstanceOf(StoreUnavailable);
      const sub = store.subscribeToAll();
      await expect(sub[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(StoreUnavailable);
      await sub.close();
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await store.close();
    }
  });
});
