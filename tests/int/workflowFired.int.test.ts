import { describe, expect, it } from 'vitest';
import { testSystem } from '../support/system.js';

/**
 * A workflow fired while its nodes run (a new user's try): its agents were terminated and its
 * budget balanced, but `cadre status` and the dashboard's graph showed the running nodes as
 * `running` for good and the rest as `pending`.
 */
describe('a workflow fired while its nodes run', () => {
  it('shows the nodes that were running as terminated and the ones never started as skipped', async () => {
    const system = await testSystem('pglite', { model: { provider: 'offline', latencyMs: 1_500 } });
    try {
      const graph = {
        nodes: [
          { id: 'a', role: 'architect', task: 'a', budgetPercent: 30, dependencies: [] },
          { id: 'b', role: 'tester', task: 'b', budgetPercent: 30, dependencies: [] },
          { id: 'c', role: 'reviewer', task: 'c', budgetPercent: 30, dependencies: ['a', 'b'] },
        ],
      };
      const wf = await system.workflows.spawnWorkflow({ graph, task: 'fire me', budget: 60_000 });
      const run = wf.run();
      await expect.poll(async () => (await system.workflows.progress(wf.id)).nodes.map((n) => n.status).join(' '), { timeout: 10_000, interval: 50 }).toBe('running running pending');
      await system.terminate(wf.id, 'stop it');
      expect((await run).status).toBe('terminated');
      const p = await system.workflows.progress(wf.id);
      expect(p.status).toBe('terminated');
      expect(p.nodes.map((n) => `${n.id} ${n.status}`)).toEqual(['a terminated', 'b terminated', 'c skipped']);
      for (const n of p.nodes.slice(0, 2)) expect((await system.get(n.childId!).state()).status).toBe('terminated');
    } finally {
      await system.close();
    }
  });
});
