import type { ModelProvider } from '../actors/ports/modelProvider.js';
import type { HandleMessaging } from '../actors/agentHandle.js';
import { decompose, type DecomposeOptions } from './decompose.js';
import type { WorkflowProgress } from './progress.js';
import type { WorkflowTemplate } from './templates.js';
import { followWorkflow, readWorkflowProgress, type WatchOptions } from './watch.js';
import { WorkflowHandle } from './workflowAgent.js';
import type { Workflows } from './workflowRuntime.js';

export interface SpawnWorkflowRequest {
  readonly templateId?: string;
  readonly graph?: unknown;
  readonly task: string;
  readonly budget: number;
  readonly workspace?: boolean | { readonly base?: string };
  /** Start it in its spawn's commit (one commit fewer than spawning it and then `run()`). */
  readonly start?: boolean;
}

/**
 * `system.workflows`: spawn workflows from templates, graphs or the model's plan; list templates;
 * follow a run's progress.
 *
 * @example
 * const wf = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add slugify()', budget: 100_000 });
 * for await (const p of system.workflows.follow(wf.id)) console.log(p.status, p.nodes.map((n) => n.status));
 */
export interface WorkflowsApi {
  spawnWorkflow(request: SpawnWorkflowRequest): Promise<WorkflowHandle>;
  /** Auto-decomposition, then a handle to the planned (not yet running) workflow. */
  spawnAuto(request: { task: string } & DecomposeOptions): Promise<WorkflowHandle>;
  readonly templates: { list(): WorkflowTemplate[]; get(id: string): WorkflowTemplate | null };
  progress(id: string): Promise<WorkflowProgress>;
  follow(id: string, options?: WatchOptions): AsyncGenerator<WorkflowProgress, void, undefined>;
}

/**
 * What the composition root puts in `system.workflows`.
 *
 * @example
 * const workflows = attachWorkflows(runtime, { templates, logger });
 * const api = createWorkflowsApi(workflows, model, messaging.handle);
 */
export function createWorkflowsApi(workflows: Workflows, model: ModelProvider, messaging: HandleMessaging | null = null): WorkflowsApi {
  const runtime = workflows.runtime;
  return {
    async spawnWorkflow({ templateId, graph, ...options }) {
      const source = templateId !== undefined ? { templateId } : { graph };
      return new WorkflowHandle(await workflows.spawn(source, options), runtime, messaging);
    },
    async spawnAuto({ task, ...options }) {
      return new WorkflowHandle(await decompose(runtime, model, task, options), runtime, messaging);
    },
    templates: { list: () => workflows.templates.list(), get: (id) => workflows.templates.find(id) ?? null },
    progress: (id) => readWorkflowProgress(runtime, id),
    follow: (id, options) => followWorkflow(runtime, id, options),
  };
}
