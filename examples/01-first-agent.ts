/** A first agent: spawn it with a budget, run it, read its result and budget. */
import type { AgentSystem } from 'cadre';
import { runIfMain, useSystem } from './withSystem.js';

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    const agent = await system.spawn({ role: 'researcher', task: 'Summarise what cadre is in one line', budget: 10_000 });
    const result = await agent.run(); // { status, output, budgetConsumed, reason }
    const budget = await agent.getBudgetStatus();
    return { id: agent.id, status: result.status, output: result.output, consumed: result.budgetConsumed, available: budget.available };
  });
}

runIfMain(import.meta, main);
