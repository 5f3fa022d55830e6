import { createAgentSystem } from '../src/system.js';
import { fakeModelProvider, WORKFLOW_ROLES, workflowTask, type FakeModel } from './workflowModel.js';
import type { WorkflowSide } from './workflowSide.js';

/** The four roles in a chain, a quarter of the budget each. */
const GRAPH = {
  nodes: WORKFLOW_ROLES.map((role, i) => ({
    id: role,
    role,
    task: `Do the ${role}'s part.`,
    budgetPercent: 25,
    dependencies: i === 0 ? [] : [WORKFLOW_ROLES[i - 1]!],
  })),
};

/**
 * cadre through its public API, as a user would configure it for this load: Postgres store,
 * projections and messaging running (the defaults), no recovery at start, room for the 100
 * agents that 50 workflows in flight keep live (a workflow agent and its current node).
 */
export async function cadreSide(url: string, model: FakeModel): Promise<WorkflowSide> {
  const system = await createAgentSystem({
    store: { kind: 'postgres', connectionString: url },
    schema: 'cadre',
    model: fakeModelProvider(model),
    env: {},
    recover: false,
    maxConcurrentAgents: 10_000,
    defaultAgentTimeoutMs: null,
  });
  let runs = 0;
  return {
    name: 'cadre',
    dbName: new URL(url).pathname.slice(1),
    eventsTable: 'cadre.events',
    get calls() {
      return model.calls;
    },
    async run() {
      // Spawned started, as `cadre run` does: LangGraph's invoke starts its run in one call too.
      const wf = await system.workflows.spawnWorkflow({ graph: GRAPH, task: workflowTask(++runs), budget: 100_000, start: true });
      const result = await wf.run();
      if (result.status !== 'completed') throw new Error(`cadre workflow ${wf.id} ended ${result.status}: ${result.reason ?? ''}`);
    },
    async settle() {
      // caughtUp: the committed head, not the one a subscriber sees now, which trails a commit while
      // any other transaction is open (the read models' bytes were then read a little early).
      await system.reports.caughtUp(120_000);
      return 1; // committedHead's query
    },
    close: () => system.close(),
  };
}
