import type { AgentSystem } from '../system.js';
import { InvalidInput } from '../errors.js';
import { readWorkflowProgress } from '../workflows/watch.js';
import { plannedGraph } from '../workflows/scheduler.js';
import type { NodeProgressStatus } from '../workflows/progress.js';
import type { ChildRecord } from '../actors/agentContext.js';

/** One try at a node: the child that ran it. */
export interface NodeAttempt {
  readonly attempt: number;
  readonly childId: string;
  readonly status: ChildRecord['status'];
  readonly budget: number;
}

export interface GraphNode {
  readonly id: string;
  readonly role: string;
  readonly status: NodeProgressStatus;
  readonly budgetPercent: number;
  /** Tokens given to the current child, or the planned share before it starts. */
  readonly budget: number;
  readonly consumed: number | null;
  readonly retries: number;
  readonly onFailure: 'fail' | 'continue';
  readonly dependencies: readonly string[];
  /** Every child that ran this node, first try first. */
  readonly attempts: readonly NodeAttempt[];
}

export interface WorkflowGraphView {
  readonly id: string;
  readonly task: string;
  readonly status: string;
  readonly templateId: string | null;
  /** Null while the workflow is still planning (no graph yet). */
  readonly nodes: readonly GraphNode[] | null;
}

/**
 * A workflow's DAG for the dashboard's graph view: nodes with their dependencies, budget
 * percents, live status and the attempts a retried node made (one child each).
 *
 * @example
 * const g = await workflowGraph(system, workflowId);
 * g.nodes?.map((n) => `${n.id} ${n.status} ${n.attempts.length} tries`);
 */
export async function workflowGraph(system: Pick<AgentSystem, 'internal'>, id: string): Promise<WorkflowGraphView> {
  const runtime = system.internal.runtime;
  const c = await runtime.context(id);
  if (c.kind !== 'workflow') throw new InvalidInput('agent', `${id} is an agent, not a workflow: it has no graph`);
  const progress = await readWorkflowProgress(runtime, id);
  const graph = plannedGraph(c);
  if (!graph) return { id, task: c.task, status: progress.status, templateId: progress.templateId, nodes: null };
  const planned = new Map(graph.nodes.map((n) => [n.id, n]));
  const nodes = progress.nodes.map((p): GraphNode => {
    const n = planned.get(p.id)!;
    const tries = c.childOrder.filter((childId) => c.children[childId]?.nodeId === p.id);
    return {
      id: p.id, role: p.role, status: p.status, budgetPercent: n.budgetPercent, budget: p.budget, consumed: p.consumed,
      retries: n.retries, onFailure: n.onFailure, dependencies: p.dependencies,
      attempts: tries.map((childId, i) => ({ attempt: i + 1, childId, status: c.children[childId]!.status, budget: c.children[childId]!.budget })),
    };
  });
  return { id, task: c.task, status: progress.status, templateId: progress.templateId, nodes };
}
