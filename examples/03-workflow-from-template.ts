/**
 * A workflow from a template: tdd-workflow runs architect → tester → implementer → reviewer, each
 * node a child agent with its share of the budget.
 */
import type { AgentSystem } from 'cadre';
import { runIfMain, useSystem } from './withSystem.js';

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    const wf = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slugify() helper', budget: 100_000 });
    const result = await wf.run();
    const state = await system.get(wf.id).state();
    return { status: result.status, nodes: Object.fromEntries(Object.entries(state.nodes).map(([id, n]) => [id, n.status])) };
  });
}

runIfMain(import.meta, main);
