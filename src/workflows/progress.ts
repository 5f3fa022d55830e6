import type { AgentContext, AgentStatus } from '../actors/agentContext.js';
import { budgetStatus, type BudgetStatus } from '../actors/budget.js';
import { topologicalOrder } from './graph.js';
import { budgetBase, nodeShare, nodeState, plannedGraph } from './scheduler.js';

/** `terminated`: running when its workflow ended (fired, failed, timed out), its agent ended with it. */
export type NodeProgressStatus = 'pending' | 'running' | 'retrying' | 'completed' | 'failed' | 'skipped' | 'terminated';

export interface WorkflowNodeProgress {
  readonly id: string;
  readonly role: string;
  readonly status: NodeProgressStatus;
  /** Attempt number of the current or last child (0: never started). */
  readonly attempt: number;
  /** Tokens given to the current child, or the node's planned share before it starts. */
  readonly budget: number;
  /** Tokens the current child's subtree has spent so far, when known. */
  readonly consumed: number | null;
  readonly childId: string | null;
  readonly dependencies: readonly string[];
}

/** One snapshot of a workflow for a live view (the CLI's node tree). */
export interface WorkflowProgress {
  readonly id: string;
  readonly task: string;
  readonly status: AgentStatus;
  readonly source: string | null;
  readonly templateId: string | null;
  readonly nodes: readonly WorkflowNodeProgress[];
  readonly budget: BudgetStatus;
  /** The workflow's output (or partial output) once it has ended. */
  readonly output: string | null;
  readonly reason: string | null;
}

/**
 * A workflow's progress from its context and status; `consumed` gives what each node child
 * has spent (by child id). Pure.
 *
 * @example
 * const p = progressOf(context, 'waiting', { [childId]: 1200 });
 * p.nodes.map((n) => `${n.id} ${n.status} ${n.consumed ?? '-'}/${n.budget}`);
 */
export function progressOf(c: AgentContext, status: AgentStatus, consumed: Readonly<Record<string, number>> = {}): WorkflowProgress {
  const graph = c.plan ? plannedGraph(c) : null;
  const base = budgetBase(c);
  const byId = new Map((graph?.nodes ?? []).map((n) => [n.id, n]));
  const nodes: WorkflowNodeProgress[] = graph
    ? topologicalOrder(graph).map((id) => {
        const n = byId.get(id)!;
        const st = nodeState(c, id);
        const child = st.childId ? c.children[st.childId] : undefined;
        const shown = shownStatus(st.status, st.attempt, status, child?.status);
        return {
          id,
          role: n.role,
          status: shown,
          attempt: st.attempt,
          budget: child && shown !== 'retrying' ? child.budget : nodeShare(base, n),
          consumed: st.childId && shown !== 'retrying' ? (consumed[st.childId] ?? null) : null,
          childId: shown === 'retrying' || shown === 'skipped' ? null : st.childId,
          dependencies: [...n.dependencies],
        };
      })
    : [];
  return {
    id: c.id,
    task: c.task,
    status,
    source: c.plan?.source ?? null,
    templateId: c.plan?.templateId ?? null,
    nodes,
    budget: budgetStatus(c.budget),
    output: c.result?.output ?? null,
    reason: c.result?.reason ?? null,
  };
}

const ENDED: ReadonlySet<string> = new Set(['completed', 'failed', 'terminated']);

/**
 * A node as shown. Once its workflow has ended nothing of it runs or waits: a node still running
 * then was ended with the workflow (as its agent's record says, or `terminated`), and one never
 * started is `skipped`. After `cadre fire` on a workflow, its running nodes read `running` for
 * good while their agents were terminated (a new user's try).
 */
function shownStatus(node: NodeProgressStatus, attempt: number, workflow: AgentStatus, childEnded: string | undefined): NodeProgressStatus {
  if (ENDED.has(workflow)) {
    if (node === 'running') return childEnded === 'completed' || childEnded === 'failed' ? childEnded : 'terminated';
    if (node === 'pending') return 'skipped';
  }
  return node === 'pending' && attempt > 0 ? 'retrying' : node;
}
