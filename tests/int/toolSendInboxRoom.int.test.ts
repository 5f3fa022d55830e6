import { ToolRegistry } from '../../src/actors/toolRegistry.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRuntime } from '../../src/actors/runtime.js';
import type { ModelReply } from '../../src/actors/ports/modelProvider.js';
import { silentLogger } from '../../src/actors/ports/runtimePorts.js';
import { costOf } from '../../src/actors/pricing.js';
import { InboxFull } from '../../src/errors.js';
import { createEventStore } from '../../src/events/stores/createEventStore.js';
import { systemClock, systemIds } from '../../src/infra/ids.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { createActorIndex, createBlobStore, createSnapshotStore, migrateRuntime } from '../../src/infra/postgres/runtimeTables.js';
import { createMessaging, type MessagingService } from '../../src/messaging/index.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';

const usage = { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheCreationTokens: 0 };
const tool = (id: string, name: string, input: unknown): ModelReply => ({ model: 'scripted', content: [{ type: 'tool_use', id, name, input }], stopReason: 'tool_use', usage });

/**
 * A message an agent sends with its `send_message` tool takes the same room in the recipient's
 * inbox as one sent through a handle: exactly one place, from the send on (it once held two, the
 * tool's reservation and its row, until a 30 s expiry freed the reservation).
 */
describe('send_message: a tool-sent message holds one place in the recipient’s inbox', () => {
  const schema = freshSchema('toolsend');
  let store: Awaited<ReturnType<typeof createEventStore>>;
  let runtime: AgentRuntime;
  let messaging: MessagingService;
  let recipient = '';

  beforeAll(async () => {
    store = await createEventStore({ kind: 'postgres', connectionString: testPgUrl(), schema });
    await migrateRuntime(store.sql, schema);
    const model = createScriptedProvider((req) => {
      const turn = req.messages.filter((m) => m.role === 'assistant').length;
      return turn === 0 ? tool('send-1', 'send_message', { to: recipient, payload: { n: 1 } }) : tool('fin', 'finish', { output: 'sent' });
    });
    // Messaging and the runtime need each other, as in src/system.ts.
    const ref: { runtime?: AgentRuntime } = {};
    messaging = createMessaging({
      runtime: { execute: (id, decide) => ref.runtime!.execute(id, decide), state: (id) => ref.runtime!.state(id) },
      store,
      sql: store.sql,
      schema,
      logger: silentLogger,
      options: { inboxLimit: 2, sendTimeoutMs: 200 },
    });
    runtime = new AgentRuntime({
      store,
      snapshots: createSnapshotStore(store.sql, schema),
      index: createActorIndex(store.sql, schema),
      blobs: createBlobStore(store.sql, schema),
      model,
      workspaces: null,
      messages: messaging.port,
      tools: new ToolRegistry(),
      clock: systemClock,
      ids: systemIds,
      logger: silentLogger,
      costOf,
      config: { maxConcurrentAgents: 4, defaultTimeoutMs: null, snapshotEvery: 50, maxTokensPerCall: 1024, defaultMaxTurns: 5, cleanupPolicy: 'never', allowCommands: false, commandTimeoutMs: 30_000 },
    });
    ref.runtime = runtime;
    await messaging.start();
  });
  afterAll(async () => {
    await messaging?.stop();
    await runtime?.close();
    await store?.close();
  });

  it('leaves room for exactly one more message in an inbox of two', async () => {
    // One tree (a model messages only its own). Spawned, never run: the recipient stays able to
    // take messages and takes none.
    const lead = await runtime.spawnRoot({ role: 'lead', task: 'hold the team', budget: 20_000 });
    recipient = await runtime.spawnChild(lead, { role: 'recipient', task: 'wait', budget: 1000 });
    const other = await runtime.spawnChild(lead, { role: 'other', task: 'wait', budget: 1000 });
    const sender = await runtime.spawnChild(lead, { role: 'sender', task: 'send one message', budget: 10_000 });

    const result = await runtime.run(sender);
    expect(result.status).toBe('completed');
    expect(await messaging.queueDepth(recipient)).toBe(1);

    // The tool's message takes one of the two places: one more send fits, a third does not.
    await expect(messaging.send(other, recipient, { n: 2 })).resolves.toHaveProperty('messageId');
    await expect(messaging.send(other, recipient, { n: 3 })).rejects.toBeInstanceOf(InboxFull);
    expect(await messaging.queueDepth(recipient)).toBe(2);
  });
});
