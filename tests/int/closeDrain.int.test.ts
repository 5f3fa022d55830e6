import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { testSystem } from '../support/system.js';
import { freshSchema } from '../support/testDb.js';

/**
 * Stopping a process while a model call is out (`cadre serve` stopped, a worker told to end):
 * the call, already sent and perhaps billed, is let finish and its reply recorded, so recovery
 * does not ask the model again (a new user saw 2 requests for 1 recorded call). Nothing new starts,
 * and close() still returns within 10 s.
 */
describe('close() lets a model call already sent finish and records it', () => {
  const systems: AgentSystem[] = [];
  afterEach(async () => {
    for (const s of systems.splice(0)) await s.close();
  });

  it('a 1.5 s call under way when close() is called: replied and recorded, not left for recovery to repeat', async () => {
    const schema = freshSchema('drain');
    const first = await testSystem('postgres', { schema, model: { provider: 'offline', latencyMs: 1_500 } });
    const agent = await first.spawn({ role: 'solo', task: 'answer', budget: 10_000 });
    void agent.run().catch(() => undefined);
    while (!(await first.history(agent.id)).some((e) => e.type === 'ModelRequested')) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await first.close();
    expect(Date.now() - started).toBeLessThan(10_000);

    const second = await testSystem('postgres', { schema, recover: false });
    systems.push(second);
    const history = await second.history(agent.id);
    const requested = history.filter((e) => e.type === 'ModelRequested');
    expect(requested).toHaveLength(1);
    expect(history.filter((e) => e.type === 'ModelReplied')).toHaveLength(1); // aborted, it was missing: the next host called again
    expect((await second.replay(agent.id)).budget.reserved).toBe(0);
  });
});
