/**
 * Budget tracking: delegation moves tokens into `delegated`; firing a child returns what it did
 * not spend; at rest, allocated = consumed over the tree + available (conservation).
 */
import type { AgentSystem } from 'cadre';
import { runIfMain, useSystem } from './withSystem.js';

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    const lead = await system.spawn({ role: 'lead', task: 'Plan the release', budget: 50_000 });
    const writer = await lead.spawn({ role: 'writer', task: 'Draft the notes', budget: 15_000 });
    const idle = await lead.spawn({ role: 'researcher', task: 'Not needed after all', budget: 10_000 });
    const afterDelegation = await lead.getBudgetStatus(); // delegated: 25,000
    await lead.fire(idle.id, 'not needed'); // its 10,000 come back unspent
    const afterFire = await lead.getBudgetStatus();
    await lead.run();
    const atRest = await lead.getBudgetStatus();
    const consumed = [(await lead.state()).budget.consumed, (await writer.state()).budget.consumed, (await idle.state()).budget.consumed].reduce((a, b) => a + b, 0);
    return {
      delegatedAfterSpawn: afterDelegation.delegated,
      delegatedAfterFire: afterFire.delegated,
      reclaimed: afterFire.reclaimed,
      conservation: atRest.allocated === consumed + atRest.available,
      atRest,
    };
  });
}

runIfMain(import.meta, main);
