/**
 * A report query: the projections answer "what does the tree look like" and "where did the budget
 * go" from Postgres read models (`system.reports`), kept by the projection runner.
 */
import type { AgentSystem } from 'cadre';
import { runIfMain, useSystem } from './withSystem.js';

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    const reports = system.reports;
    const lead = await system.spawn({ role: 'lead', task: 'Audit the repo', budget: 30_000 });
    await lead.spawn({ role: 'reviewer', task: 'Review security', budget: 8_000 });
    await lead.spawn({ role: 'reviewer', task: 'Review style', budget: 8_000 });
    await lead.run();
    await reports.waitFor(await system.store.headPosition());
    return {
      tree: (await reports.tree(lead.id)).map((r) => `${'  '.repeat(r.depth)}${r.role} ${r.status}`),
      costByRole: await reports.costByRole(lead.id),
      budget: await reports.budget(lead.id, { subtree: true }),
    };
  });
}

runIfMain(import.meta, main);
