import { afterAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../../src/actors/runtime.js';
import { NotFound } from '../../src/errors.js';
import type { AgentSystem } from '../../src/system.js';
import { checkTreeAtRest } from '../support/actorsInvariants.js';
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
      const crashed = await composeRuntime(schema, (s) => dyingStore(s, Number.MAX_SAFE_INTEGER));
      const { id, at } = await source(crashed.runtime);
      await crashed.close();
      // A new process whose store dies at the fork's n-th append (0: its opening).
      const limited = await composeRuntime(schema, (s) => dyingStore(s, n));
      const sourceHistory = JSON.stringify(await limited.runtime.history(id));
      const fork = `fork-${n}`;
      const opened = await limited.runtime.fork(id, { atRevision: at, id: fork }).then(() => true, () => false);
      // A dead store never lets the run end: wait for the crash, not for the run.
      if (opened) void limited.runtime.run(fork).catch(() => {});
      for (const until = Date.now() + 20_000; !storeOf(limited.runtime).dead && Date.now() < until; ) await new Promise((r) => setTimeout(r, 5));
      expect(storeOf(limited.runtime).dead, `crash point ${n}`).toBe(true);
      await limited.close();

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
});
