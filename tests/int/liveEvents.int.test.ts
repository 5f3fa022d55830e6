import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import type { AgentHandle } from '../../src/actors/agentHandle.js';
import type { HistoryEvent } from '../../src/events/historyEvent.js';
import type { Subscription } from '../../src/events/eventStore.js';
import { InvalidInput, NotFound } from '../../src/errors.js';
import { testSystem, type StoreKind } from '../support/system.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { createAgentSystem } from '../../src/system.js';

const TERMINAL = ['AgentCompleted', 'AgentFailed', 'AgentTerminated'];

/** Collects a loop's events until it returns; fails the test if it has not within `ms`. */
async function drain(events: AsyncIterable<HistoryEvent>, ms = 30_000): Promise<HistoryEvent[]> {
  const got: HistoryEvent[] = [];
  const loop = (async () => {
    for await (const e of events) got.push(e);
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the loop did not end within ${ms} ms (${got.length} events: ${got.map((e) => e.type).join(', ')})`)), ms);
  });
  try {
    await Promise.race([loop, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return got;
}

/** Every event of these agents, merged in global position order. */
async function historiesOf(system: AgentSystem, handles: readonly AgentHandle[]): Promise<HistoryEvent[]> {
  const all = (await Promise.all(handles.map((h) => h.history()))).flat();
  return all.sort((a, b) => a.position - b.position);
}

/** Counts the store subscriptions opened and closed for one agent's stream from now on; `restore()` stops counting. */
function countSubscriptions(system: AgentSystem, streamId: string): { opened: number; closed: number; restore(): void } {
  const store = system.store as { subscribeToAll: AgentSystem['store']['subscribeToAll'] };
  const original = store.subscribeToAll;
  const counts = { opened: 0, closed: 0, restore: () => void (store.subscribeToAll = original) };
  store.subscribeToAll = (options) => {
    const sub = original.call(store, options);
    if (!options?.streamPrefixes?.includes(streamId)) return sub;
    counts.opened++;
    const wrapped: Subscription = {
      close: async () => {
        counts.closed++;
        await sub.close();
      },
      [Symbol.asyncIterator]: () => sub[Symbol.asyncIterator](),
    };
    return wrapped;
  };
  return counts;
}

for (const kind of ['pglite', 'postgres'] as StoreKind[]) {
  describe(`live events on ${kind}`, () => {
    let system: AgentSystem;
    beforeAll(async () => {
      system = await testSystem(kind);
    });
    afterAll(() => system.close());

    it('a subscriber started before run() sees every event in order, then its loop ends with the agent', async () => {
      const agent = await system.spawn({ role: 'solo', task: 'think', budget: 10_000 });
      const seen = drain(agent.events());
      const result = await agent.run();
      const got = await seen;
      expect(result.status).toBe('completed');
      expect(got).toEqual(await agent.history());
      expect(got.at(-1)!.type).toBe('AgentCompleted');
      expect(got.map((e) => e.revision)).toEqual(got.map((_, i) => i));
      expect(got.some((e) => e.type === 'ModelReplied')).toBe(true);
    });

    it('subscribers started at any moment of a run all see the whole stream, once each (the switch from replay to live)', async () => {
      const lead = await system.spawn({ role: 'lead', task: 'coordinate', budget: 100_000 });
      await lead.spawn({ role: 'worker', task: 'part a', budget: 20_000 });
      await lead.spawn({ role: 'worker', task: 'part b', budget: 20_000 });
      const loops: Promise<HistoryEvent[]>[] = [];
      const run = lead.run();
      // Each subscriber replays a different prefix and goes live at a different event.
      for (let i = 0; i < 12; i++) {
        loops.push(drain(lead.events({ subtree: i % 2 === 1 })));
        await new Promise((r) => setTimeout(r, i * 3));
      }
      expect((await run).status).toBe('completed');
      const own = await lead.history();
      const children = (await lead.state()).children.map((c) => system.get(c.id));
      const subtree = await historiesOf(system, [lead, ...children]);
      const got = await Promise.all(loops);
      got.forEach((events, i) => expect(events, `subscriber ${i}`).toEqual(i % 2 === 1 ? subtree : own));
    });

    it('fromRevision starts in the middle, live and after the end', async () => {
      const agent = await system.spawn({ role: 'solo', task: 'think', budget: 10_000 });
      const live = drain(agent.events({ fromRevision: 2 }));
      await agent.run();
      const history = await agent.history();
      expect(history.length).toBeGreaterThan(4);
      expect(await live).toEqual(history.slice(2));
      // The agent has ended: a replay from any revision yields the rest and returns at once.
      expect(await drain(agent.events({ fromRevision: 3n }), 5_000)).toEqual(history.slice(3));
      expect(await drain(agent.events({ fromRevision: history.length + 5 }), 5_000)).toEqual([]);
    });

    it('subtree: true yields the children as they are spawned and ends when all have ended', async () => {
      const lead = await system.spawn({ role: 'lead', task: 'coordinate', budget: 100_000 });
      const seen = drain(lead.events({ subtree: true }));
      const a = await lead.spawn({ role: 'worker', task: 'part a', budget: 20_000 });
      const b = await lead.spawn({ role: 'worker', task: 'part b', budget: 20_000 });
      const grand = await a.spawn({ role: 'helper', task: 'detail', budget: 5_000 });
      expect((await lead.run()).status).toBe('completed');
      const got = await seen;
      const all = await historiesOf(system, [lead, a, b, grand]);
      // Every event of the four, in global order, up to the last end (nothing is recorded after it here).
      expect(got).toEqual(all);
      for (const h of [lead, a, b, grand]) expect(got.filter((e) => e.streamId === `agent-${h.id}` && TERMINAL.includes(e.type))).toHaveLength(1);
      // The loop sees a child's spawn in its parent's stream before any event of the child.
      const firstOf = (id: string) => got.findIndex((e) => e.streamId === `agent-${id}`);
      const spawnOf = (id: string) => got.findIndex((e) => e.type === 'ChildSpawned' && e.data.childId === id);
      for (const h of [a, b, grand]) expect(spawnOf(h.id)).toBeLessThan(firstOf(h.id));
      // A subtree loop from the middle of the lead's stream: the subtree's events from that event on.
      const from = got.find((e) => e.streamId === `agent-${lead.id}` && e.revision === 3)!;
      expect(await drain(lead.events({ subtree: true, fromRevision: 3 }), 5_000)).toEqual(all.filter((e) => e.position >= from.position));
      // Without subtree, only the lead's own stream.
      expect(await drain(lead.events(), 5_000)).toEqual(await lead.history());
    });

    it('breaking out of the loop releases its subscription', async () => {
      const agent = await system.spawn({ role: 'solo', task: 'wait', budget: 10_000 });
      const counts = countSubscriptions(system, `agent-${agent.id}`);
      try {
        // Not run: the agent never ends, so only the break can end these loops.
        for await (const e of agent.events()) {
          expect(e.type).toBe('AgentSpawned');
          break;
        }
        // Broke during the replay (nothing subscribed), or live if the spawn's commit was not yet
        // below every open transaction when the loop began: either way nothing is left open.
        expect(counts.closed).toBe(counts.opened);
        const before = counts.opened;
        // A loop that went live before the break: the break closes its subscription.
        const recorded = (await agent.history()).length;
        const iterator = agent.events()[Symbol.asyncIterator]();
        for (let i = 0; i < recorded; i++) expect((await iterator.next()).done).toBe(false);
        const pending = iterator.next(); // waits on the live subscription
        await new Promise((r) => setTimeout(r, 300));
        expect(counts.opened).toBe(before + 1);
        expect(counts.closed).toBe(before);
        await agent.run(); // delivers the rest
        expect((await pending).value?.revision).toBe(recorded);
        await iterator.return(undefined); // what `break` calls
        expect(counts.closed).toBe(before + 1);
      } finally {
        counts.restore();
      }
    });

    it('an aborted signal ends a loop that waits for its next event, and releases its subscription', async () => {
      const agent = await system.spawn({ role: 'solo', task: 'wait', budget: 10_000 });
      const counts = countSubscriptions(system, `agent-${agent.id}`);
      try {
        const controller = new AbortController();
        const seen = drain(agent.events({ signal: controller.signal }), 5_000);
        await new Promise((r) => setTimeout(r, 300)); // replayed, now waiting live
        expect(counts.opened).toBe(1);
        controller.abort();
        expect((await seen).map((e) => e.type)).toEqual((await agent.history()).map((e) => e.type));
        expect(counts.closed).toBe(1);
        // system.events likewise; and an already aborted signal yields nothing.
        const all = new AbortController();
        const everything = drain(system.events({ signal: all.signal }), 5_000);
        await new Promise((r) => setTimeout(r, 100));
        all.abort();
        expect((await everything).length).toBeGreaterThan(0);
        expect(await drain(agent.events({ signal: AbortSignal.abort() }), 5_000)).toEqual([]);
      } finally {
        counts.restore();
      }
    });

    it('system.events({ fromPosition }) sees the events of two agents in global order', async () => {
      const first = await system.spawn({ role: 'solo', task: 'before', budget: 10_000 });
      await first.run();
      const from = (await first.history()).at(-1)!.position;
      const one = await system.spawn({ role: 'solo', task: 'one', budget: 10_000 });
      const two = await system.spawn({ role: 'solo', task: 'two', budget: 10_000 });
      const got: HistoryEvent[] = [];
      const ended = new Set<string>();
      const loop = (async () => {
        for await (const e of system.events({ fromPosition: from })) {
          got.push(e);
          if (TERMINAL.includes(e.type)) ended.add(e.streamId);
          if (ended.has(`agent-${one.id}`) && ended.has(`agent-${two.id}`)) break;
        }
      })();
      await Promise.all([one.run(), two.run()]);
      await loop;
      const mine = got.filter((e) => e.streamId === `agent-${one.id}` || e.streamId === `agent-${two.id}`);
      expect(mine).toEqual(await historiesOf(system, [one, two]));
      expect(got.every((e) => e.position > from)).toBe(true);
      expect(got.map((e) => e.position)).toEqual([...got.map((e) => e.position)].sort((x, y) => x - y));
    });

    it('refuses bad options at the call and an unknown agent at the first read', async () => {
      const agent = await system.spawn({ role: 'solo', task: 'idle', budget: 1_000 });
      expect(() => agent.events({ fromRevision: -1 })).toThrow(InvalidInput);
      expect(() => agent.events({ fromRevision: 1.5 })).toThrow(InvalidInput);
      expect(() => agent.events({ subtree: 'yes' } as never)).toThrow(InvalidInput);
      expect(() => system.events({ fromPosition: 'x' } as never)).toThrow(InvalidInput);
      await expect(system.get('00000000-0000-4000-8000-000000000000').events().next()).rejects.toBeInstanceOf(NotFound);
    });
  });
}

describe('live events across systems on one Postgres database', () => {
  it('a second system sees what the first appends, and closing it ends its loops (system and agent) cleanly', async () => {
    const schema = freshSchema('live');
    const writer = await testSystem('postgres', { schema });
    const watcher = await testSystem('postgres', { schema, recover: false, runProjections: false, runMessaging: false });
    try {
      const agent = await writer.spawn({ role: 'solo', task: 'think', budget: 10_000 });
      const seen = drain(watcher.get(agent.id).events());
      const everything: HistoryEvent[] = [];
      const all = (async () => {
        for await (const e of watcher.events()) everything.push(e);
      })();
      await new Promise((r) => setTimeout(r, 200)); // both live before the run
      await agent.run();
      const history = await agent.history();
      expect(await seen).toEqual(history);
      // system.events never ends by itself: closing the watcher ends it, cleanly.
      const deadline = Date.now() + 10_000;
      while (everything.length < history.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(everything).toEqual(history);
      // An agent loop waiting on an agent that never runs ends too, with what it had yielded.
      const idle = await writer.spawn({ role: 'solo', task: 'never run', budget: 1_000 });
      const waiting = drain(watcher.get(idle.id).events(), 10_000);
      await new Promise((r) => setTimeout(r, 300));
      await watcher.close();
      await all;
      expect((await waiting).map((e) => e.type)).toEqual((await idle.history()).map((e) => e.type));
    } finally {
      await watcher.close();
      await writer.close();
    }
  });
});

describe('closing a system while a model call is under way', () => {
  it('ends its events loops at once, not after the call it waits to record', async () => {
    const system = await testSystem('pglite', { model: { provider: 'offline', latencyMs: 1_500 } });
    let closing: Promise<void> | undefined;
    try {
      const agent = await system.spawn({ role: 'solo', task: 'think slowly', budget: 10_000 });
      const run = agent.run().catch(() => null);
      let closeAt = 0;
      let loopEndAt = 0;
      const types: string[] = [];
      for await (const e of agent.events()) {
        types.push(e.type);
        if (e.type === 'ModelRequested' && !closing) {
          closeAt = performance.now();
          closing = system.close();
        }
      }
      loopEndAt = performance.now();
      await closing;
      const closedAt = performance.now();
      await run;
      expect(types).toContain('ModelRequested');
      expect(types).not.toContain('ModelReplied'); // ended before the call it waited for
      expect(loopEndAt - closeAt).toBeLessThan(500);
      expect(closedAt - closeAt).toBeGreaterThan(1_000); // close() itself waited to record the call
    } finally {
      await (closing ?? system.close());
    }
  });
});

describe('live events written by another OS process', () => {
  it('a subtree loop here follows a tree a worker process runs, and ends when it ends', { timeout: 120_000 }, async () => {
    const url = testPgUrl();
    const schema = freshSchema('livep');
    // Hosts nothing (capacity 0): the worker process below runs every agent and writes every event.
    const client = await createAgentSystem({ store: { kind: 'postgres', connectionString: url }, schema, model: { provider: 'offline' }, env: {}, worker: { owner: 'client', capacity: 0 } });
    const worker = spawn(process.execPath, ['--import', 'tsx', 'tests/support/workerProcess.ts', url, schema, 'w1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        worker.stdout!.setEncoding('utf8');
        worker.stdout!.on('data', (chunk: string) => {
          if (chunk.includes('ready')) resolve();
        });
        worker.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
      });
      const lead = await client.spawn({ role: 'lead', task: 'coordinate', budget: 100_000 });
      const a = await lead.spawn({ role: 'worker', task: 'part a', budget: 20_000 });
      const seen = drain(lead.events({ subtree: true }), 90_000);
      const done = lead.run();
      const got = await seen;
      expect((await done).status).toBe('completed');
      expect(got).toEqual(await historiesOf(client, [lead, a]));
      expect(got.filter((e) => TERMINAL.includes(e.type)).map((e) => e.streamId).sort()).toEqual([`agent-${lead.id}`, `agent-${a.id}`].sort());
      expect(got.some((e) => e.type === 'ModelReplied' && e.streamId === `agent-${a.id}`)).toBe(true);
    } finally {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
      await client.close();
    }
  });
});
