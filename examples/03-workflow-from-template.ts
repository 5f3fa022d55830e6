/**
 * A workflow from a template: tdd-workflow runs architect → tester → implementer → reviewer, each
 * node a child agent with its share of the budget. Needs the workflows module
 * (`system.extensions.workflows`, also `system.spawnWorkflow` once wired).
 */
import type { AgentSystem } from '../src/index.js';
import { runIfMain, useSystem } from './withSystem.js';

interface Workflows {
  spawnWorkflow(o: { templateId: string; task: string; budget: number }): Promise<{ id: string; run(): Promise<{ status: string; output: string | null }> }>;
}

export const requires = ['workflows'] as const;

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    const workflows = system.extensions.workflows as Workflows | undefined;
    if (!workflows) throw new Error('workflows are not wired into this system (system.extensions.workflows)');
    const wf = await workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slugify() helper', budget: 100_000 });
    const result = await wf.run();
    const state = await system.get(wf.id).state();
    return { status: result.status, nodes: Object.fromEntries(Object.entries(state.nodes).map(([id, n]) => [id, n.status])) };
  });
}

runIfMain(import.meta, main);
