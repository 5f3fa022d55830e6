import { afterEach, describe, expect, it, vi } from 'vitest';
import { MessageProjector } from '../../src/messaging/projector.js';
import type { QueueSql } from '../../src/messaging/queueSql.js';
import type { EventStore } from '../../src/events/eventStore.js';
import type { RecordedEvent } from '../../src/events/envelope.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';

/** A subscription the test feeds by hand, one event at a time. */
function handFedStore(): { store: EventStore; push(e: RecordedEvent): void } {
  const buffered: RecordedEvent[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  const store = {
    subscribeToAll: () => ({
      async *[Symbol.asyncIterator]() {
        while (!closed) {
          if (buffered.length > 0) yield buffered.shift()!;
          else await new Promise<void>((r) => (wake = r));
        }
      },
      async close() {
        closed = true;
        wake?.();
      },
    }),
  } as unknown as EventStore;
  return {
    store,
    push(e) {
      buffered.push(e);
      wake?.();
      wake = null;
    },
  };
}

let position = 0n;
const rec = (agent: string, type: string, data: unknown): RecordedEvent => ({
  id: `e${++position}`, type, data, streamId: `agent-${agent}`, revision: 0n, position,
  metadata: { correlationId: 'c', causationId: 'c', schemaVersion: 1, at: '2026-01-01T00:00:00.000Z' },
});
const ended = (agent: string): RecordedEvent => rec(agent, 'AgentCompleted', { output: '', returned: 0 });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the message projection holds a batch of only ends for a moment (one round trip, not one per end)', () => {
  let projector: MessageProjector | undefined;
  afterEach(async () => {
    await projector?.stop();
    projector = undefined;
  });

  function start(): { push(e: RecordedEvent): void; applied: { at: number; ended: string[]; messages: string[] }[] } {
    const fed = handFedStore();
    const applied: { at: number; ended: string[]; messages: string[] }[] = [];
    const queue = {
      checkpoint: async () => 0n,
      applyBatch: async (_q: unknown, b: { ended: { agentId: string }[]; messages: { messageId: string }[] }) => {
        applied.push({ at: Date.now(), ended: b.ended.map((e) => e.agentId), messages: b.messages.map((m) => m.messageId) });
        return [];
      },
    } as unknown as QueueSql;
    const logger = { info() {}, warn() {}, error() {}, debug() {} } as never;
    projector = new MessageProjector({ store: fed.store, sql: {} as SqlClient, queue, channel: 'c', instanceId: 'i', logger, onApplied: () => {} });
    projector.start();
    return { push: fed.push, applied };
  }

  it('applies ends together once they have waited, and with a message at once', async () => {
    const p = start();
    const t0 = Date.now();
    p.push(ended('a'));
    await sleep(5);
    p.push(ended('b'));
    await vi.waitFor(() => expect(p.applied.flatMap((a) => a.ended)).toEqual(['a', 'b']), { timeout: 2_000 });
    // Held: nothing was applied before ~50 ms had passed (as they came, `a` went at once).
    expect(p.applied[0]!.at - t0).toBeGreaterThanOrEqual(40);

    const before = p.applied.length;
    p.push(ended('c'));
    await sleep(5);
    const sentAt = Date.now();
    p.push(rec('d', 'MessageSent', { messageId: 'm1', to: 'e', payload: null, priority: 5, dedupeKey: null }));
    await vi.waitFor(() => expect(p.applied.length).toBeGreaterThan(before), { timeout: 2_000 });
    // The message did not wait out the 50 ms, and took the held end with it.
    expect(p.applied.slice(before)).toMatchObject([{ ended: ['c'], messages: ['m1'] }]);
    expect(p.applied[before]!.at - sentAt).toBeLessThan(40);
  });

  it('a steady flow of ends is still applied every ~50 ms, not held for ever', async () => {
    const p = start();
    const t0 = Date.now();
    for (let i = 0; i < 30; i++) {
      p.push(ended(`x${i}`));
      await sleep(10);
    }
    await sleep(120);
    expect(p.applied.flatMap((a) => a.ended)).toEqual(Array.from({ length: 30 }, (_, i) => `x${i}`));
    // ~300 ms of ends: several applies, the first long before the flow stopped.
    expect(p.applied.length).toBeGreaterThanOrEqual(3);
    expect(p.applied[0]!.at - t0).toBeLessThan(200);
  });
});
