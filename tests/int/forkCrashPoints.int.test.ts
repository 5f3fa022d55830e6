import { afterAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../../src/actors/runtime.js';
import { NotFound } from '../../src/errors.js';
import type { AgentSystem } from '../../src/system.js';
import { checkTreeAtRest, treeOf } from '../support/actorsInvariants.js';
import { dyingStore } from '../support/dyingStore.js';
import { composeRuntime } from '../support/runtime.js';
import { testSystem } from '../support/system.js';
import { freshSchema } from '../support/testDb.js';

/**
 * Crashes at each of a fork's write points (its opening, then each append of its run): the
 * opening is one append, so a crash leaves no fork or a whole one; recovery finishes a whole one;
 * the source is never written.
 */
type Counted = { deps: { store: { appends: number; dead: boolean } } };
const storeOf = (r: AgentRuntime) => (r as unknown as Counted).deps.store;

/** A finished source agent; returns its id and the fork point (just before its last reply). */
async function source(runtime: AgentRuntime): Promise<{ id: string; at: number }> {
  const id = await runtime.spawnRoot({ role: 'lead', task: 'summarise', budget: 20_000 });
  await runtime.run(id);
  const h = await runtime.history(id);
  return { id, at: h.findLastIndex((e) => e.type === 'ModelReplied') - 1 };
}

/**
 * A new process whose store dies at its n-th append from now (0: the fork's opening) forks the
 * source and runs the fork: a dead store never lets the run end, so this waits for the crash.
 */
async function forkUntilCrash(schema: string, n: number, src: { id: string; at: number }, fork: string, chains = true): Promise<void> {
  const limited = await composeRuntime(schema, (s) => dyingStore(s, n, undefined, { chains }));
  const opened = await limited.runtime.fork(src.id, { atRevision: src.at, id: fork }).then(() => true, () => false);
  if (opened) void limited.runtime.run(fork).catch(() => {});
  for (const until = Date.now() + 20_000; !storeOf(limited.runtime).dead && Date.now() < until; ) await new Promise((r) => setTimeout(r, 5));
  expect(storeOf(limited.runtime).dead, `crash point ${n}`).toBe(true);
  await limited.close();
}

describe('a crash at any of a fork\'s write points', () => {
  const systems: AgentSystem[] = [];
  afterAll(async () => {
    for (const s of systems) await s.close();
  });

  it('leaves no fork or a whole one, which recovery finishes; the source is untouched', { timeout: 180_000 }, async () => {
    // A reference run counts the source's appends and the fork's.
    const ref = await composeRuntime(freshSchema('fref'), (s) => dyingStore(s, Number.MAX_SAFE_INTEGER));
    const src = await source(ref.runtime);
    const before = storeOf(ref.runtime).appends;
    const forkId = await ref.runtime.fork(src.id, { atRevision: src.at, id: 'fork-ref' });
    await ref.runtime.run(forkId);
    const forkAppends = storeOf(ref.runtime).appends - before;
    await ref.close();
    expect(forkAppends).toBeGreaterThanOrEqual(2);

    for (let n = 0; n < forkAppends; n++) {
      const schema = freshSchema('fcp');
      const first = await composeRuntime(schema, (s) => dyingStore(s, Number.MAX_SAFE_INTEGER));
      const { id, at } = await source(first.runtime);
      const sourceHistory = JSON.stringify(await first.runtime.history(id));
      await first.close();
      const fork = `fork-${n}`;
      await forkUntilCrash(schema, n, { id, at }, fork);

      const system = await testSystem('postgres', { schema, model: { provider: 'offline' } });
      systems.push(system);
      expect(JSON.stringify(await system.history(id)), `crash point ${n}: the source`).toBe(sourceHistory);
      if (n === 0) {
        await expect(system.history(fork)).rejects.toBeInstanceOf(NotFound);
      } else {
        expect((await system.run(fork)).status, `crash point ${n}`).toBe('completed');
        const forked = await system.history(fork);
        expect(forked[0]!.data).toMatchObject({ forkedFrom: { sourceId: id, sourceRevision: at } });
        await checkTreeAtRest(system, fork);
      }
      await checkTreeAtRest(system, id);
      await system.close();
    }
    console.log(`fork crash points exercised: ${forkAppends} (the opening, then each append of its run)`);
  });

  /** A finished lead with a child spawned through the API; the fork point: the child's spawn, the child still running. */
  async function lead(runtime: AgentRuntime): Promise<{ id: string; at: number }> {
    const id = await runtime.spawnRoot({ role: 'lead', task: 'summarise', budget: 20_000 });
    await runtime.spawnChild(id, { role: 'helper', task: 'help', budget: 5_000 }, { run: true });
    await runtime.run(id);
    const h = await runtime.history(id);
    return { id, at: h.findIndex((e) => e.type === 'ChildSpawned') };
  }

  for (const chains of [true, false]) {
    it(`a fork with its subtree, ${chains ? 'in one commit (Postgres)' : 'stream by stream (a store without chained appends, as EventStoreDB)'}: a crash leaves no fork, a whole one, or one recovery completes`, { timeout: 180_000 }, async () => {
      const ref = await composeRuntime(freshSchema('fsref'), (s) => dyingStore(s, Number.MAX_SAFE_INTEGER, undefined, { chains }));
      const src = await lead(ref.runtime);
      const before = storeOf(ref.runtime).appends;
      await ref.runtime.fork(src.id, { atRevision: src.at, id: 'fork-ref' });
      const openingAppends = storeOf(ref.runtime).appends - before;
      await ref.close();
      expect(openingAppends).toBe(chains ? 1 : 2);

      for (let n = 0; n < openingAppends + 1; n++) {
        const schema = freshSchema('fscp');
        const first = await composeRuntime(schema, (s) => dyingStore(s, Number.MAX_SAFE_INTEGER));
        const { id, at } = await lead(first.runtime);
        const children = (await first.runtime.history(id)).flatMap((e) => (e.type === 'ChildSpawned' ? [(e.data as { childId: string }).childId] : []));
        const sourceTree = JSON.stringify(await Promise.all([id, ...children].map((a) => first.runtime.history(a))));
        await first.close();
        const fork = `fork-${n}`;
        await forkUntilCrash(schema, n, { id, at }, fork, chains);

        const system = await testSystem('postgres', { schema, model: { provider: 'offline' } });
        systems.push(system);
        expect(JSON.stringify(await Promise.all((await treeOf(system, id)).map((a) => system.history(a)))), `crash point ${n}: the source`).toBe(sourceTree);
        if (n === 0) {
          await expect(system.history(fork)).rejects.toBeInstanceOf(NotFound);
        } else {
          expect((await system.run(fork)).status, `crash point ${n}`).toBe('completed');
          const tree = await treeOf(system, fork);
          expect(tree, `crash point ${n}: the fork's child`).toHaveLength(2);
          await checkTreeAtRest(system, fork);
        }
        await checkTreeAtRest(system, id);
        await system.close();
      }
    });
  }
});
