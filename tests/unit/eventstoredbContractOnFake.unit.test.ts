import { eventStoreDbStoreOn } from '../../src/events/stores/eventstoredb/eventStoreDbStore.js';
import { silentLogger } from '../../src/actors/ports/runtimePorts.js';
import { eventStoreContract } from '../contract/eventStoreContract.js';
import { FakeKurrentClient } from '../support/fakeKurrentClient.js';

// The shared contract, run through the adapter on the fake client (the server's append semantics
// as KurrentDB documents them, the client's own errors and read shapes). It proves the adapter's
// own logic against the port; it is no substitute for the run against a real server
// (tests/int/eventstoredb.int.test.ts with EVENTSTORE_URL).
eventStoreContract({
  name: 'eventstoredb adapter on a fake client',
  open: async () => eventStoreDbStoreOn(new FakeKurrentClient(), { logger: silentLogger }),
  noPositionOffset: 'the fake, like KurrentDB, assigns positions itself',
  perStreamIdempotency: 'KurrentDB has no index by event id and the adapter keeps none',
});
