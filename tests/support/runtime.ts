import { ToolRegistry } from '../../src/actors/toolRegistry.js';
import { AgentRuntime } from '../../src/actors/runtime.js';
import type { EventStore } from '../../src/events/eventStore.js';
import { createEventStore } from '../../src/events/stores/createEventStore.js';
import { createActorIndex, createBlobStore, createSnapshotStore, migrateRuntime } from '../../src/infra/postgres/runtimeTables.js';
import { createOfflineProvider } from '../../src/infra/model/offlineProvider.js';
import { systemClock, systemIds } from '../../src/infra/ids.js';
import { silentLogger } from '../../src/actors/ports/runtimePorts.js';
import { costOf } from '../../src/actors/pricing.js';
import { testPgUrl } from './testDb.js';

/**
 * The composition root of src/system.ts on the test Postgres, with the event store wrapped so a
 * test can inject faults (a store that dies, a subscription that lags) between the runtime and
 * the real store.
 */
export async function composeRuntime(
  schema: string,
  wrap: (s: EventStore) => EventStore = (s) => s,
  options: { readonly indexFollowsEvents?: boolean } = {},
): Promise<{ runtime: AgentRuntime; close(): Promise<void> }> {
  const store = await createEventStore({ kind: 'postgres', connectionString: testPgUrl(), schema });
  await migrateRuntime(store.sql, schema);
  const runtime = new AgentRuntime({
    store: wrap(store),
    snapshots: createSnapshotStore(store.sql, schema),
    // As src/system.ts on Postgres: the appends keep the index. false: the runtime writes every
    // entry itself, first, as it does beside EventStoreDB.
    index: createActorIndex(store.sql, schema, { sameDatabaseAsEvents: options.indexFollowsEvents ?? true }),
    blobs: createBlobStore(store.sql, schema),
    model: createOfflineProvider({ latencyMs: 0 }),
    workspaces: null,
    messages: null,
    tools: new ToolRegistry(),
    clock: systemClock,
    ids: systemIds,
    logger: silentLogger,
    costOf,
    config: { maxConcurrentAgents: 2, defaultTimeoutMs: null, snapshotEvery: 5, maxTokensPerCall: 1024, defaultMaxTurns: 10, cleanupPolicy: 'never', allowCommands: false, commandTimeoutMs: 30_000 },
  });
  return {
    runtime,
    async close() {
      // A runtime behind a faulty store may have effects stuck on it: give up on them.
      await Promise.race([runtime.close(), new Promise((r) => setTimeout(r, 2_000))]);
      await store.close();
    },
  };
}
