import { AgentHandle, type HandleMessaging } from '../actors/agentHandle.js';
import type { ModelProvider } from '../actors/ports/modelProvider.js';
import type { AgentRuntime } from '../actors/runtime.js';
import { ConfigError } from '../errors.js';
import { decompose, type DecomposeOptions } from './decompose.js';
import type { WorkflowProgress } from './progress.js';
import { followWorkflow, readWorkflowProgress, watchWorkflow, type WatchOptions, type WorkflowWatch } from './watch.js';
import { spawnWorkflow, type SpawnWorkflowOptions, type WorkflowSource } from './workflowRuntime.js';

/**
 * A handle to a workflow agent: everything an agent handle does (`run`, `state`, `fire`, ...)
 * plus its node progress.
 *
 * @example
 * const wf = await system.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slug helper', budget: 50_000 });
 * const watch = wf.watch((p) => console.log(p.nodes.map((n) => `${n.id}:${n.status}`).join(' ')));
 * console.log((await wf.run()).status);
 * await watch.done;
 */
export class WorkflowHandle extends AgentHandle {
  constructor(
    id: string,
    private readonly rt: AgentRuntime,
    messaging: HandleMessaging | null = null,
  ) {
    super(id, rt, messaging);
  }

  progress(): Promise<WorkflowProgress> {
    return readWorkflowProgress(this.rt, this.id);
  }

  watch(onUpdate: (p: WorkflowProgress) => void, options?: WatchOptions): WorkflowWatch {
    return watchWorkflow(this.rt, this.id, onUpdate, options);
  }

  updates(options?: WatchOptions): AsyncGenerator<WorkflowProgress, void, undefined> {
    return followWorkflow(this.rt, this.id, options);
  }
}

/** What the seed-style statics need from the default system (an AgentSystem has both). */
export interface WorkflowHost {
  readonly runtime: AgentRuntime;
  readonly model: ModelProvider;
}

type HostGetter = () => WorkflowHost | Promise<WorkflowHost>;

/**
 * The seed's workflow API, on a default system (DESIGN.md, Public API). The composition root
 * supplies that system with `WorkflowAgent.useDefaultSystem(getter)`; the getter is called on
 * first use, so the default system is only built when a static is used.
 *
 * @example
 * const wf = await WorkflowAgent.spawnFromTemplate({ templateId: 'tdd-workflow', task: 'Add a slug helper', budget: 50_000 });
 * const result = await wf.run();
 */
export class WorkflowAgent {
  private static host: HostGetter | null = null;

  /** Installs (or clears, with null) the default system's getter. */
  static useDefaultSystem(getter: HostGetter | null): void {
    WorkflowAgent.host = getter;
  }

  static async spawnFromTemplate(options: { templateId: string } & SpawnWorkflowOptions): Promise<WorkflowHandle> {
    const { templateId, ...rest } = options;
    return WorkflowAgent.spawn({ templateId }, rest);
  }

  static async spawn(source: WorkflowSource, options: SpawnWorkflowOptions): Promise<WorkflowHandle> {
    const host = await WorkflowAgent.defaultHost();
    return new WorkflowHandle(await spawnWorkflow(host.runtime, source, options), host.runtime);
  }

  static async decompose(task: string, options: DecomposeOptions): Promise<WorkflowHandle> {
    const host = await WorkflowAgent.defaultHost();
    return new WorkflowHandle(await decompose(host.runtime, host.model, task, options), host.runtime);
  }

  private static async defaultHost(): Promise<WorkflowHost> {
    if (!WorkflowAgent.host) throw new ConfigError('defaultSystem', 'no default system: the composition root must call WorkflowAgent.useDefaultSystem()');
    return WorkflowAgent.host();
  }
}
