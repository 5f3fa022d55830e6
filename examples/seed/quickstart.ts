/**
 * The seed document's examples (../shared/seeds/000_*.txt, "Quick Start" and "Examples"), as a
 * user pastes them: no system in sight (`Agent` and `WorkflowAgent` use the default system from
 * the environment), no `close()` — the script ends by itself. The only changes: imports from
 * cadre, and paths taken from the environment so a test can point them at temporary folders.
 *
 *   npx tsx examples/seed/quickstart.ts
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, WorkflowAgent } from 'cadre';

const basePath = process.env.SEED_WORKTREES ?? '/tmp/agent-workspaces';

// A reusable template in the seed's shape (nodes named by role, dependencies by role), saved in
// the templates folder the system reads when it opens (.cadre/templates, or CADRE_TEMPLATES_DIR).
const template = {
  id: 'seed-tdd-workflow',
  name: 'Test-Driven Development',
  nodes: [
    { role: 'architect', budgetPercent: 15, dependencies: [] },
    { role: 'tester', budgetPercent: 25, dependencies: ['architect'] },
    { role: 'implementer', budgetPercent: 40, dependencies: ['tester'] },
    { role: 'reviewer', budgetPercent: 20, dependencies: ['implementer'] },
  ],
};
const templatesDir = process.env.CADRE_TEMPLATES_DIR ?? '.cadre/templates';
mkdirSync(templatesDir, { recursive: true });
writeFileSync(join(templatesDir, `${template.id}.json`), JSON.stringify(template));
// Quick start: spawn a simple agent in its own worktree, and run it.
const agent = await Agent.spawn({
  role: 'implementer',
  task: 'Create a README.md file with project overview',
  budget: 10000, // 10,000 tokens
  workspaceConfig: {
    basePath,
    isolationEnabled: true,
  },
});
const result = await agent.run();
console.log('Agent completed:', result.status);
console.log('Tokens consumed:', result.budgetConsumed);

// A hierarchical team: the coordinator spawns subordinates, then runs (they run too).
const coordinator = await Agent.spawn({ role: 'coordinator', task: 'Build a REST API with tests', budget: 100000 });
await coordinator.spawn({ role: 'backend-developer', task: 'Implement Express.js API endpoints', budget: 40000 });
await coordinator.spawn({ role: 'tester', task: 'Write integration tests for API', budget: 30000 });
await coordinator.run();

// Message passing between agents (live ones: an agent that has ended receives nothing more).
const agentA = await Agent.spawn({ role: 'producer', task: 'Process the records', budget: 5000 });
const agentB = await Agent.spawn({ role: 'consumer', task: 'Use the records', budget: 5000 });
await agentA.sendMessage(agentB.id, { type: 'data_ready', payload: { records: 1000, status: 'processed' } });
const messages = await agentB.receiveMessages();
for (const msg of messages) console.log('Received:', msg.payload);

// Budget tracking: fire a subordinate, its unused budget returns.
const parentAgent = await Agent.spawn({ role: 'lead', task: 'Plan', budget: 20000 });
const childAgent = await parentAgent.spawn({ role: 'helper', task: 'Help', budget: 5000, workspaceConfig: { isolationEnabled: false } });
await parentAgent.fire(childAgent.id);
const budget = await parentAgent.getBudgetStatus();
console.log(`Allocated: ${budget.allocated}`);
console.log(`Consumed: ${budget.consumed}`);
console.log(`Available: ${budget.available}`);

// Workflow composition from a template (the seed writes its name in capitals, too).
const workflow = await WorkflowAgent.spawnFromTemplate({ templateId: 'backend-dev-workflow', task: 'Build authentication API', budget: 200000 });
const workflowResult = await workflow.run();

const tdd = await WorkflowAgent.spawnFromTemplate({ templateId: 'SEED-TDD-workflow', task: 'Build payment processing module', budget: 150000 });
const tddResult = await tdd.run();
const progress = await tdd.progress();

console.log(JSON.stringify({
  first: { status: result.status, consumed: result.budgetConsumed, workspace: (await agent.state()).workspace },
  team: { status: (await coordinator.state()).status, children: (await coordinator.state()).children.map((c) => c.status) },
  received: messages.map((m) => m.payload),
  budget,
  helperWorkspace: (await childAgent.state()).workspace,
  workflow: workflowResult.status,
  tdd: { status: tddResult.status, nodes: progress.nodes.map((n) => `${n.id}:${n.status}`) },
}));
