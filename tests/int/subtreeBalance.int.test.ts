import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { agentTree, flatten } from '../../src/dashboard/agentTree.js';
import { subtreeBalance, type SubtreeBalance } from '../../src/dashboard/subtreeBalance.js';
import { testSystem } from '../support/system.js';

const balances = (b: SubtreeBalance): void => expect(b.allocated + b.overspent, JSON.stringify(b)).toBe(b.consumed + b.reserved + b.available);

/**
 * The numbers `cadre budget --subtree` and the tree's bars print, on a real tree part-way
 * through: live agents holding delegations, an ended child whose remainder and overspend its
 * live parent took back, and the same tree at rest. Summing every agent's `available` (what the
 * table did) counted an ended child's remainder twice — in it and in its parent.
 */
describe('a subtree balances (budget --subtree, tree bars)', () => {
  let system: AgentSystem | undefined;
  afterEach(async () => {
    await system?.close();
    system = undefined;
  });

  it('with live delegations, a returned child and an overspend charged to a live parent; and at rest', async () => {
    // Every call reports 20,100 tokens: the 10,000 worker overspends into its parent of 12,000.
    system = await testSystem('postgres', { model: { provider: 'offline', usage: { input: 20_000, output: 100 } } });
    const lead = await system.spawn({ role: 'lead', task: 'delegate', budget: 50_000 });
    const p = await lead.spawn({ role: 'planner', task: 'plan', budget: 12_000 });
    const w = await p.spawn({ role: 'worker', task: 'work', budget: 10_000 });
    const q = await lead.spawn({ role: 'qa', task: 'check', budget: 9_000 });
    await q.spawn({ role: 'tester', task: 'test', budget: 3_000 });
    const idle = await lead.spawn({ role: 'idle', task: 'wait', budget: 5_000 });
    await lead.fire(idle.id); // ends with all 5,000 unspent: back in the lead's available
    expect((await w.run()).status).toBe('failed');

    const tree = await agentTree(system, lead.id);
    const byRole = new Map(flatten(tree).map((n) => [n.role, n]));
    expect(byRole.get('idle')).toMatchObject({ status: 'terminated', returned: 5_000, budget: { available: 5_000 } });
    expect(byRole.get('worker')).toMatchObject({ returned: 0, subtreeConsumed: 20_100, budget: { overspent: 10_100 } });
    expect(byRole.get('planner')).toMatchObject({ returned: null, subtreeConsumed: 20_100, budget: { delegated: 0, spentBySubtree: 20_100, available: 0, overspent: 8_100 } });
    // The lead has delegated 21,000 and consumed nothing: its bar shows what its subtree consumed, not 21,000.
    expect(byRole.get('lead')).toMatchObject({ subtreeConsumed: 20_100, budget: { delegated: 21_000, available: 29_000 } });
    const midway = subtreeBalance(tree);
    expect(midway).toMatchObject({ agents: 6, allocated: 50_000, overspent: 8_100, consumed: 20_100, reserved: 0, available: 29_000 + 0 + 6_000 + 3_000 }); // the idle agent's 5,000 once, in the lead's 29,000
    balances(midway);

    await system.terminate(lead.id);
    const atRest = subtreeBalance(await agentTree(system, lead.id));
    // Everyone ended: the planner's overspend reached the lead, which absorbed it.
    expect(atRest).toMatchObject({ overspent: 0, consumed: 20_100, reserved: 0, available: 29_900 });
    balances(atRest);
  });
});
