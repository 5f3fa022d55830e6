import type { RunResult } from './actors/runtime.js';
import type { AgentState } from './actors/replay.js';
import type { BudgetStatus } from './actors/budget.js';
import type { SpawnConfig } from './actors/spawnConfig.js';
import type { HistoryEvent } from './events/historyEvent.js';
import type { PeekedMessage } from './messaging/index.js';
import type { ReceivedMessage } from './actors/ports/messagePort.js';
import type { WorkflowProgress } from './workflows/progress.js';
import { configureDefaultSystem, withDefaultSystem } from './defaultSystem.js';

/**
 * An agent, the seed's way: `Agent.spawn(...)` with no system in sight (the default system,
 * from the environment: defaultSystem.ts), and the same methods as a system's handles. Holds
 * only its id, so it works across the default system's closing and reopening.
 *
 * @example
 * const agent = await Agent.spawn({ role: 'implementer', task: 'Write the README', budget: 10_000 });
 * const result = await agent.run();
 * console.log(result.status, result.budgetConsumed, result.output);
 */
export class Agent {
  constructor(readonly id: string) {}

  /** A root agent on the default system. */
  static async spawn(config: SpawnConfig): Promise<Agent> {
    adoptBasePath(config);
    return new Agent(await withDefaultSystem(async (s) => (await s.spawn(config)).id));
  }

  /** A subordinate with part of this agent's budget. */
  async spawn(config: SpawnConfig): Promise<Agent> {
    adoptBasePath(config);
    return new Agent(await withDefaultSystem(async (s) => (await s.get(this.id).spawn(config)).id));
  }

  /** Runs the agent (and its children not yet running) to its end. */
  run(): Promise<RunResult> {
    return withDefaultSystem((s) => s.get(this.id).run());
  }

  /** Terminates a subordinate's subtree; its unspent budget returns here. */
  fire(childId: string, reason?: string): Promise<void> {
    return withDefaultSystem((s) => s.get(this.id).fire(childId, reason));
  }

  sendMessage(recipientId: string, payload: unknown, options?: { priority?: number; dedupeKey?: string }): Promise<{ messageId: string }> {
    return withDefaultSystem((s) => s.get(this.id).sendMessage(recipientId, payload, options));
  }

  receiveMessages(options?: { max?: number; waitMs?: number; ack?: boolean }): Promise<ReceivedMessage[]> {
    return withDefaultSystem((s) => s.get(this.id).receiveMessages(options));
  }

  peekMessages(options?: { limit?: number }): Promise<PeekedMessage[]> {
    return withDefaultSystem((s) => s.get(this.id).peekMessages(options));
  }

  getBudgetStatus(): Promise<BudgetStatus> {
    return withDefaultSystem((s) => s.get(this.id).getBudgetStatus());
  }

  state(): Promise<AgentState> {
    return withDefaultSystem((s) => s.get(this.id).state());
  }

  history(): Promise<HistoryEvent[]> {
    return withDefaultSystem((s) => s.get(this.id).history());
  }
}

/**
 * A workflow agent, the seed's way: `WorkflowAgent.spawnFromTemplate({ templateId, task, budget })`
 * on the default system, with its nodes' progress besides everything an agent does.
 *
 * @example
 * const wf = await WorkflowAgent.spawnFromTemplate({ templateId: 'tdd-workflow', task: 'Add a slug helper', budget: 150_000 });
 * await wf.run();
 */
export class WorkflowAgent extends Agent {
  static async spawnFromTemplate(options: { templateId: string; task: string; budget: number; workspace?: boolean | { base?: string } }): Promise<WorkflowAgent> {
    return new WorkflowAgent(await withDefaultSystem(async (s) => (await s.spawnWorkflow(options)).id));
  }

  /** A workflow from a graph of nodes (the seed's template shape is accepted). */
  static async spawnFromGraph(options: { graph: unknown; task: string; budget: number; workspace?: boolean | { base?: string } }): Promise<WorkflowAgent> {
    return new WorkflowAgent(await withDefaultSystem(async (s) => (await s.spawnWorkflow(options)).id));
  }

  /** Asks the model to plan the task as a workflow, then spawns it. */
  static async decompose(task: string, options: { budget: number }): Promise<WorkflowAgent> {
    return new WorkflowAgent(await withDefaultSystem(async (s) => (await s.decompose(task, options)).id));
  }

  progress(): Promise<WorkflowProgress> {
    return withDefaultSystem((s) => s.workflows.progress(this.id));
  }
}

/** The seed puts worktrees' base path on each spawn: the default system takes the first one. */
function adoptBasePath(config: SpawnConfig): void {
  const basePath = config.workspaceConfig?.basePath;
  if (basePath !== undefined && config.workspaceConfig?.isolationEnabled !== false) configureDefaultSystem({ workspace: { basePath } });
}
