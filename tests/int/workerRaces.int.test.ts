import { afterEach, describe, expect, it } from 'vitest';
import type { EventStore, Subscription } from '../../src/events/eventStore.js';
import type { AgentRuntime } from '../../src/actors/runtime.js';
import { composeRuntime } from '../support/runtime.js';
import { freshSchema } from '../support/testDb.js';

/**
 * Races between workers that share a store, made deterministic: one worker's store subscription
 * is held back (as on a loaded machine, where another worker's write reaches it late) so each
 * test can act in the window before it arrives.
 */

/** The store as it is, except that subscriptions deliver nothing until `release()`. */
function laggingSubscriptions(inner: EventStore): { store: EventStore; release(): void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const store: EventStore = {
    kind: inner.kind,
    append: inner.append.bind(inner),
    readStream: inner.readStream.bind(inner),
    ...(inner.readStreams ? { readStreams: inner.readStreams.bind(inner) } : {}),
    readAll: inner.readAll.bind(inner),
    headPosition: inner.headPosition.bind(inner),
    close: inner.close.bind(inner),
    subscribeToAll(opts): Subscription {
      const sub = inner.subscribeToAll(opts);
      return {
        close: () => sub.close(),
        async *[Symbol.asyncIterator]() {
          for await (const e of sub) {
            await gate;
            yield e;
          }
        },
      };
    },
  };
  return { store, release };
}

const WORKER = { leaseTtlMs: 60_000, tickMs: 100, capacity: 100 };

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  // Past the deadline the test fails on `late`; `p` may still reject when the runtime closes.
  p.catch(() => {});
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('two workers on one store', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  /** Worker A hosts a lead whose store subscription lags; worker B hosts its one child. */
  async function leadAndChild(worker = WORKER): Promise<{ a: AgentRuntime; b: AgentRuntime; release(): void; lead: string; child: string; leadDone: Promise<unknown> }> {
    const schema = freshSchema('race');
    let lag!: ReturnType<typeof laggingSubscriptions>;
    const a = await composeRuntime(schema, (s) => (lag = laggingSubscriptions(s)).store);
    const b = await composeRuntime(schema);
    closers.push(a.close, b.close);
    await a.runtime.startWorker({ owner: 'a', ...worker });
    await b.runtime.startWorker({ owner: 'b', ...worker });
    const lead = await a.runtime.spawnRoot({ role: 'lead', task: 'wait for the part', budget: 20_000 });
    const child = await b.runtime.spawnChild(lead, { role: 'part', task: 'do the part', budget: 5_000 });
    const leadDone = a.runtime.run(lead);
    // B hosts the child: A's run request reaches it and it runs to its end, telling the lead.
    expect((await within(b.runtime.waitForEnd(child), 15_000, 'the child')).status).toBe('completed');
    return { a: a.runtime, b: b.runtime, release: lag.release, lead, child, leadDone };
  }

  it('a read answers from the stream, not from a cached copy the subscription has not yet brought up to date', async () => {
    const { a, release, lead, child, leadDone } = await leadAndChild();
    // A cached both when it ran the lead; the subscription that would refresh them is held back.
    expect((await a.state(child)).status).toBe('completed');
    const leadState = await a.state(lead);
    expect(leadState.children.find((c) => c.id === child)?.status).toBe('completed');
    const budget = (await a.context(lead)).budget;
    expect(budget.delegated).toBe(0);
    expect(budget.reclaimed + budget.spentBySubtree).toBe(5_000);
    // What the read brought in is acted on as well: the lead, hosted here, goes on.
    expect(((await within(leadDone, 15_000, 'the lead')) as { status: string }).status).toBe('completed');
    release();
  });

  it('a worker whose write loses the race to another worker\'s reacts to what that write says', async () => {
    const { a, release, lead, child, leadDone } = await leadAndChild();
    // A's own try at recording the child's end (as its reconciler does when it finds the child
    // ended) meets B's record of it: the conflict reloads the lead, and there is nothing to add.
    const written = await a.execute(lead, (s) => {
      const rec = s.context.children[child];
      if (rec?.status !== 'live') return [];
      return [
        { type: 'ChildFinished', data: { childId: child, status: 'completed', output: 'done', reclaim: { allocated: rec.budget, returned: rec.budget, spent: 0, overspent: 0 }, completesNode: null } },
      ];
    });
    expect(written).toEqual([]);
    // The subscription's news of B's write comes now, when A's copy already holds it: only the
    // reload itself can have woken the lead.
    release();
    const result = (await within(leadDone, 15_000, 'the lead')) as { status: string };
    expect(result.status).toBe('completed');
  });

  it('a worker that never hears of another worker\'s write still finds it within a lease period', async () => {
    // The subscription stays silent for good (as if every refresh it asked for had failed).
    const { leadDone } = await leadAndChild({ ...WORKER, leaseTtlMs: 500 });
    const result = (await within(leadDone, 15_000, 'the lead')) as { status: string };
    expect(result.status).toBe('completed');
  });

  it('an actor being created is leased to its creator from its first row on: a busy neighbour cannot claim it half-made', async () => {
    const schema = freshSchema('race');
    const a = await composeRuntime(schema);
    const b = await composeRuntime(schema);
    closers.push(a.close, b.close);
    // A claims free actors every millisecond: any moment an entry sits unleased, it takes it.
    await a.runtime.startWorker({ owner: 'a', ...WORKER, tickMs: 1 });
    await b.runtime.startWorker({ owner: 'b', ...WORKER });
    const lead = await b.runtime.spawnRoot({ role: 'lead', task: 'fan out', budget: 100_000 });
    for (let i = 0; i < 20; i++) await b.runtime.spawnChild(lead, { role: 'part', task: `part ${i}`, budget: 2_000 });
    // Leases last a minute here: an actor orphaned by a half-made claim would stall the run.
    const result = await within(b.runtime.run(lead), 20_000, 'the fan-out');
    expect(result.status).toBe('completed');
  });

  it('a worker at capacity leases only what it has room for from a burst of spawns; a neighbour runs the rest', async () => {
    const schema = freshSchema('race');
    const a = await composeRuntime(schema);
    const b = await composeRuntime(schema);
    closers.push(a.close, b.close);
    await a.runtime.startWorker({ owner: 'a', ...WORKER });
    await b.runtime.startWorker({ owner: 'b', ...WORKER, capacity: 2 });
    // Spawned at once: every registration happens before any of them is confirmed.
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => b.runtime.spawnRoot({ role: 'solo', task: `job ${i}`, budget: 5_000 })));
    expect(b.runtime.hosted).toBeLessThanOrEqual(2);
    // Leases last a minute: one held in the store beyond B's room would stall its agent.
    const results = await within(Promise.all(ids.map((id) => b.runtime.run(id))), 20_000, 'the burst');
    expect(results.every((r) => r.status === 'completed')).toBe(true);
  });
});
