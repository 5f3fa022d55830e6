import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { testSystem } from '../support/system.js';

/**
 * Bounded memory: finished agents leave the runtime's cache, also after being looked at again
 * (run() on a finished child, state(), a parent checking its child), so a long-lived parent
 * with thousands of finished children keeps only itself in memory.
 */
describe('finished agents leave memory', () => {
  let system: AgentSystem;
  beforeAll(async () => {
    system = await testSystem('pglite', { model: { provider: 'offline', latencyMs: 0 } });
  });
  afterAll(() => system.close());

  it('only live agents stay cached', { timeout: 120_000 }, async () => {
    const parent = await system.spawn({ role: 'lead', task: 'delegate', budget: 10_000_000 });
    const ids: string[] = [];
    for (let wave = 0; wave < 5; wave++) {
      const children = await Promise.all(Array.from({ length: 10 }, (_, i) => parent.spawn({ role: 'worker', task: `part ${wave}.${i}`, budget: 20_000 })));
      const results = await Promise.all(children.map((c) => c.run()));
      expect(results.every((r) => r.status === 'completed')).toBe(true);
      for (const c of children) {
        ids.push(c.id);
        // Looked at again after the end: reloaded for the answer, not kept.
        expect((await c.state()).status).toBe('completed');
        expect((await c.run()).status).toBe('completed');
      }
    }
    const live = new Set(system.internal.runtime.liveIds());
    expect(ids.filter((id) => live.has(id)), 'finished children still cached').toEqual([]);
    expect(live.has(parent.id)).toBe(true);
    expect((await parent.state()).budget).toMatchObject({ delegated: 0, reserved: 0 });
  });
});
