import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { testSystem } from '../support/system.js';

/**
 * Handles from spawnWorkflow and decompose message like any agent's (they threw "messaging is
 * not configured"), and a received message says when it was sent.
 */
describe('workflow handles send and receive; received messages carry sentAt', () => {
  let system: AgentSystem | undefined;
  afterEach(async () => {
    await system?.close();
    system = undefined;
  });

  it('a template workflow and a decomposed one exchange messages with a plain agent', async () => {
    system = await testSystem('postgres');
    const before = Date.now();
    const wf = await system.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slug helper', budget: 50_000 });
    const planned = await system.decompose('Design it, then build it and test it', { budget: 40_000 });
    const peer = await system.spawn({ role: 'peer', task: 'listen', budget: 1_000 });

    await wf.sendMessage(peer.id, { from: 'workflow' }, { priority: 7 });
    await planned.sendMessage(peer.id, { from: 'planned' });
    await peer.sendMessage(wf.id, { to: 'workflow' });
    const got = await peer.receiveMessages({ max: 10 });
    expect(got.map((m) => [m.from, m.payload, m.priority])).toEqual([[wf.id, { from: 'workflow' }, 7], [planned.id, { from: 'planned' }, 5]]);
    for (const m of got) {
      expect(m.sentAt).toBeInstanceOf(Date);
      expect(m.sentAt.getTime()).toBeGreaterThanOrEqual(before - 5_000); // the database's clock, not ours
      expect(m.sentAt.getTime()).toBeLessThanOrEqual(Date.now() + 5_000);
    }
    expect((await wf.receiveMessages()).map((m) => m.payload)).toEqual([{ to: 'workflow' }]);
  });
});
