import { AgentHandle, type HandleMessaging } from '../actors/agentHandle.js';
import type { AgentRuntime } from '../actors/runtime.js';
import type { WorkflowProgress } from './progress.js';
import { followWorkflow, readWorkflowProgress, watchWorkflow, type WatchOptions, type WorkflowWatch } from './watch.js';

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
