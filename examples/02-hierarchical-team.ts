/** A hierarchical team: a lead delegates part of its budget to subordinates; running the lead runs them. */
import type { AgentSystem } from 'cadre';
import { runIfMain, useSystem } from './withSystem.js';

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    const lead = await system.spawn({ role: 'lead', task: 'Ship a login page', budget: 60_000 });
    const frontend = await lead.spawn({ role: 'frontend', task: 'Build the form', budget: 20_000 });
    const qa = await frontend.spawn({ role: 'tester', task: 'Test the form', budget: 5_000 }); // depth 2
    await lead.spawn({ role: 'backend', task: 'Build the session endpoint', budget: 20_000 });
    const result = await lead.run();
    const state = await lead.state();
    return {
      status: result.status,
      children: state.children.map((c) => `${c.role}:${c.status}`),
      grandchild: (await qa.state()).status,
      consumedBySubtree: result.budgetConsumed,
    };
  });
}

runIfMain(import.meta, main);
