import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { RecordedEvent } from '../../src/events/envelope.js';
import type { ReadAllOptions, ReadStreamOptions } from '../../src/events/eventStore.js';
import { readActivityThrough } from '../../src/projections/activityFeed.js';

/** A store's two reads over an in-memory log, as the port defines them. */
function memoryStore(log: RecordedEvent[]) {
  return {
    async readStream(streamId: string, o: ReadStreamOptions = {}) {
      const own = log.filter((e) => e.streamId === streamId);
      const backwards = o.direction === 'backwards';
      const from = o.from ?? (backwards ? BigInt(own.length - 1) : 0n);
      const picked = backwards ? own.filter((e) => e.revision <= from).reverse() : own.filter((e) => e.revision >= from);
      return picked.slice(0, o.limit ?? Infinity);
    },
    async readAll(o: ReadAllOptions = {}) {
      return log.filter((e) => o.fromPosition === undefined || e.position > o.fromPosition).slice(0, o.limit ?? Infinity);
    },
  };
}

/** Agents a1 and a2 taking turns, with a type the feed does not show now and then. */
function history(kinds: readonly number[]): RecordedEvent[] {
  const revisions = new Map<string, bigint>();
  return kinds.map((k, i) => {
    const streamId = k % 2 === 0 ? 'agent-a1' : 'agent-a2';
    const revision = revisions.get(streamId) ?? 0n;
    revisions.set(streamId, revision + 1n);
    const hidden = k % 5 === 4;
    return {
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      type: hidden ? 'SomethingNew' : 'AgentTimedOut',
      data: { deadline: '2026-01-01T00:00:00.000Z' },
      metadata: { at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() },
      streamId,
      revision,
      position: BigInt(10 * (i + 1)),
    };
  });
}

describe('activity through the store port', () => {
  it('reads an agent a page at a time and answers as if it read the whole stream at once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(9), { maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        fc.oneof(fc.constant(undefined), fc.nat(400).map((p) => BigInt(p)), fc.nat(40).map((s) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString())),
        async (kinds, limit, pageSize, since) => {
          const store = memoryStore(history(kinds));
          for (const agentId of ['a1', 'a2', 'nobody']) {
            const q = { agentId, limit, since };
            const paged = await readActivityThrough(store, q, pageSize);
            const whole = await readActivityThrough(store, q, 1_000_000);
            expect(paged.map((r) => r.event.position)).toEqual(whole.map((r) => r.event.position));
            expect(paged.length).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the latest events oldest first without a since, and the first ones after it with one', async () => {
    const store = memoryStore(history([0, 0, 0, 0, 0, 0]));
    expect((await readActivityThrough(store, { agentId: 'a1', limit: 2 }, 1)).map((r) => r.event.revision)).toEqual([4n, 5n]);
    expect((await readActivityThrough(store, { agentId: 'a1', limit: 2, since: 20n }, 1)).map((r) => r.event.revision)).toEqual([2n, 3n]);
  });
});
