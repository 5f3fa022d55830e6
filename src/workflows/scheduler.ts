import type { DomainEvent } from '../events/catalogue.js';
import type { AgentContext, NodeState } from '../actors/agentContext.js';
import { completionEvents, failureEvents } from '../actors/agentDecisions.js';
import { available } from '../actors/budget.js';
import { topologicalOrder, validateGraph, type WorkflowGraph, type WorkflowNode } from './graph.js';

/**
 * The workflow scheduler: a pure function from a workflow agent's context to what it should
 * record or start next. The glue (workflowRuntime.ts) applies one step at a time and asks
 * again, deciding each event on the actor's current state, so a crash between any two appends
 * resumes from whatever was stored.
 *
 * Rules (docs/workflows.md):
 * - A node is *ready* when every dependency is terminal (completed, failed or skipped).
 *   A ready node runs if it has no dependencies or at least one of them completed; its task
 *   then carries every dependency's output (partial output for failed ones). A ready node none
 *   of whose dependencies completed is skipped.
 * - `onFailure: 'fail'` makes a node *required*: the workflow completes only if every required
 *   node completed. Once a required node has failed for good or was skipped, no new node starts:
 *   pending ones are skipped, running ones finish, then the workflow fails.
 *   `onFailure: 'continue'` makes a node optional: its failure only degrades its dependents.
 * - A failed attempt is retried while attempts ≤ retries and a retry budget of at least
 *   MIN_NODE_BUDGET tokens is left, unless it failed `budget_exceeded` (its provider reported
 *   more than it was given; a retry spent past its share again).
 * - Budgets: a node's share is floor(base × budgetPercent / 100) where base is the workflow's
 *   allocation less what the workflow itself consumed (its decomposition call). A start is capped
 *   so that nodes not started yet keep their shares; the unassigned remainder stays with the
 *   workflow and a retry may draw on it.
 */
export const MIN_NODE_BUDGET = 1;

/** Longest excerpt of a dependency's output, and of the workflow task, put in a node's task. */
const MAX_INPUTS_CHARS = 60_000;
const MAX_WORKFLOW_TASK_CHARS = 15_000;
const MAX_NODE_OUTPUT_CHARS = 2_000;

export interface NodeStart {
  readonly nodeId: string;
  readonly attempt: number;
  readonly childId: string;
  readonly role: string;
  readonly task: string;
  readonly budget: number;
  /** The child already exists, its node not started (an older ChildSpawned, before v4, whose NodeStarted was not recorded). */
  readonly spawned: boolean;
}

export type WorkflowStep =
  | { readonly kind: 'plan_missing' }
  | { readonly kind: 'record'; readonly events: DomainEvent[] }
  | { readonly kind: 'start'; readonly starts: NodeStart[] }
  | { readonly kind: 'end'; readonly events: DomainEvent[] }
  | { readonly kind: 'wait' };

export interface SchedulerInput {
  readonly context: AgentContext;
  /** Deterministic id of a node attempt's child (the same after a restart). */
  readonly childIdFor: (nodeId: string, attempt: number) => string;
  /** Why a failed child failed, by child id (its AgentFailed reason), when known. */
  readonly failureReasons?: Readonly<Record<string, string>>;
  /** Why, as a cause (`budget_exceeded`, `timeout`…), by child id, when known. */
  readonly failureCauses?: Readonly<Record<string, string>>;
  /** The workflow may record its end now (running.active, no live child, nothing reserved). */
  readonly canEnd: boolean;
}

const PENDING: NodeState = { status: 'pending', childId: null, attempt: 0, output: null };

/** The graph a workflow runs: the recorded plan's (validated when it was recorded). */
export function plannedGraph(c: AgentContext): WorkflowGraph | null {
  if (!c.plan) return null;
  const raw = c.plan.graph;
  if (typeof raw !== 'object' || raw === null) return validateGraph(raw, { field: 'plan.graph' });
  // A plan's graph object lives as long as the workflow's context and is never changed (contexts
  // are immutable): validated once, not at every step (3.8% of a 4-node workflow's CPU).
  let graph = validatedPlans.get(raw);
  if (!graph) validatedPlans.set(raw, (graph = validateGraph(raw, { field: 'plan.graph' })));
  return graph;
}
const validatedPlans = new WeakMap<object, WorkflowGraph>();

/**
 * A graph `validateGraph` returned, about to be recorded as a plan (spawnWorkflow): the context's
 * plan is that very object, so the scheduler's first step need not validate it again (~0.08 ms
 * of a 4-node workflow run's ~17 ms CPU, .prof/wfd.mjs --cpu-prof). validateGraph's output
 * passes validateGraph unchanged, and a plan read back from a stream is a new object, validated.
 */
export function planValidated(graph: WorkflowGraph): WorkflowGraph {
  validatedPlans.set(graph, graph);
  return graph;
}

/** A graph's nodes in topological order, worked out once per graph object (graphs are never changed). */
function nodeOrder(graph: WorkflowGraph): readonly WorkflowNode[] {
  let order = nodeOrders.get(graph);
  if (!order) {
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    nodeOrders.set(graph, (order = topologicalOrder(graph).map((id) => byId.get(id)!)));
  }
  return order;
}
const nodeOrders = new WeakMap<WorkflowGraph, readonly WorkflowNode[]>();

/** The base node shares are computed from. */
export const budgetBase = (c: AgentContext): number => Math.max(0, c.budget.allocated - c.budget.consumed);

export const nodeShare = (base: number, n: WorkflowNode): number => Math.floor((base * n.budgetPercent) / 100);

export const nodeState = (c: AgentContext, id: string): NodeState => (Object.hasOwn(c.nodes, id) ? c.nodes[id]! : PENDING);

const isTerminal = (s: NodeState['status']): boolean => s === 'completed' || s === 'failed' || s === 'skipped';

/**
 * The next step of a workflow: the first of record outcomes → skip → start → end that has
 * anything to do, or `wait` while nodes run.
 *
 * @example
 * const step = nextStep({ context, childIdFor: (n, a) => ids.derive(context.id, `${n}#${a}`), canEnd: false });
 * if (step.kind === 'start') for (const s of step.starts) await spawn(s);
 */
export function nextStep(input: SchedulerInput): WorkflowStep {
  const c = input.context;
  const graph = plannedGraph(c);
  if (!graph) return { kind: 'plan_missing' };
  const order = nodeOrder(graph);
  const base = budgetBase(c);
  const failedRequired = order.find((n) => n.onFailure === 'fail' && (nodeState(c, n.id).status === 'failed' || nodeState(c, n.id).status === 'skipped'));
  // A pending node's next child id, derived once per call: childIdFor is a sha256, and the steps
  // below asked for the same id up to 3 + nodes times (owed() per node), ~80 hashes per 4-node
  // run, 0.36 ms of its ~17 ms CPU (.prof/wfd.mjs, --cpu-prof).
  const nextChildIds = new Map<string, string>();
  const nextChildId = (n: WorkflowNode): string => {
    let id = nextChildIds.get(n.id);
    if (id === undefined) nextChildIds.set(n.id, (id = input.childIdFor(n.id, nodeState(c, n.id).attempt + 1)));
    return id;
  };
  const existingChild = (n: WorkflowNode): string | null => {
    if (nodeState(c, n.id).status !== 'pending') return null;
    const id = nextChildId(n);
    return c.children[id] ? id : null;
  };
  // Shares still owed to nodes that have no child yet: a start or retry must leave them.
  const owed = (except: string): number =>
    order.filter((n) => n.id !== except && nodeState(c, n.id).status === 'pending' && !existingChild(n)).reduce((s, n) => s + nodeShare(base, n), 0);

  // 1. Outcomes of node children that ended. A completed child's ChildFinished (v3) completes
  // its node itself; a NodeCompleted is recorded only where it did not (an older record, or one
  // recorded where workflows were not attached).
  const outcomes: DomainEvent[] = [];
  let spare = available(c.budget);
  for (const n of order) {
    const st = nodeState(c, n.id);
    if (st.status !== 'running' || !st.childId) continue;
    const child = c.children[st.childId];
    if (!child || child.status === 'live') continue;
    if (child.status === 'completed') {
      outcomes.push({ type: 'NodeCompleted', data: { nodeId: n.id, childId: st.childId, output: child.output ?? '' } });
      continue;
    }
    const reason = input.failureReasons?.[st.childId] ?? `child agent ${child.status}`;
    const retryBudget = Math.min(nodeShare(base, n), Math.max(0, spare - owed(n.id)));
    // A provider that reported more than the node was given would do it again: no retry on that.
    const retryable = input.failureCauses?.[st.childId] !== 'budget_exceeded';
    const willRetry = retryable && !failedRequired && st.attempt <= n.retries && retryBudget >= MIN_NODE_BUDGET;
    if (willRetry) spare -= retryBudget;
    outcomes.push({ type: 'NodeFailed', data: { nodeId: n.id, childId: st.childId, attempt: st.attempt, reason, willRetry } });
  }
  if (outcomes.length > 0) return { kind: 'record', events: outcomes };

  // 2. Skips.
  const skips: DomainEvent[] = [];
  for (const n of order) {
    if (nodeState(c, n.id).status !== 'pending' || existingChild(n)) continue;
    if (failedRequired) {
      skips.push({ type: 'NodeSkipped', data: { nodeId: n.id, reason: `not run: required node ${failedRequired.id} ${nodeState(c, failedRequired.id).status}` } });
      continue;
    }
    const deps = n.dependencies.map((d) => [d, nodeState(c, d).status] as const);
    if (deps.length > 0 && deps.every(([, s]) => isTerminal(s)) && !deps.some(([, s]) => s === 'completed')) {
      skips.push({ type: 'NodeSkipped', data: { nodeId: n.id, reason: `no dependency completed (${deps.map(([d, s]) => `${d} ${s}`).join(', ')})` } });
    }
  }
  if (skips.length > 0) return { kind: 'record', events: skips };

  // 3. Starts: ready nodes, in parallel; and children spawned before a crash, adopted.
  const starts: NodeStart[] = [];
  spare = available(c.budget);
  let stillOwed = owed('');
  for (const n of order) {
    const st = nodeState(c, n.id);
    if (st.status !== 'pending') continue;
    const attempt = st.attempt + 1;
    const childId = nextChildId(n);
    const existing = c.children[childId];
    if (existing) {
      starts.push({ nodeId: n.id, attempt, childId, role: existing.role, task: existing.task, budget: existing.budget, spawned: true });
      continue;
    }
    const ready = n.dependencies.every((d) => isTerminal(nodeState(c, d).status));
    if (!ready || failedRequired) continue;
    const share = nodeShare(base, n);
    stillOwed -= share;
    const budget = Math.max(0, Math.min(share, spare - stillOwed));
    spare -= budget;
    starts.push({ nodeId: n.id, attempt, childId, role: n.role, task: nodeTask(c, graph, n), budget, spawned: false });
  }
  if (starts.length > 0) return { kind: 'start', starts };

  // 4. The end, once every node is terminal (or nothing can ever run again).
  const allTerminal = order.every((n) => isTerminal(nodeState(c, n.id).status));
  const running = order.some((n) => nodeState(c, n.id).status === 'running');
  if (!allTerminal && running) return { kind: 'wait' };
  if (!input.canEnd) return { kind: 'wait' };
  const output = combinedOutput(c, order);
  if (!allTerminal) return { kind: 'end', events: failureEvents({ ...c, lastText: output }, 'error', 'workflow stuck: no node can start') };
  const missing = order.filter((n) => n.onFailure === 'fail' && nodeState(c, n.id).status !== 'completed');
  if (missing.length === 0) return { kind: 'end', events: completionEvents(c, output) };
  const failed = missing.filter((n) => nodeState(c, n.id).status === 'failed').map((n) => n.id);
  const skipped = missing.filter((n) => nodeState(c, n.id).status === 'skipped').map((n) => n.id);
  const list = (ids: string[], what: string): string => `required node${ids.length > 1 ? 's' : ''} ${ids.join(', ')} ${what}`;
  const reason = [failed.length > 0 ? list(failed, 'failed') : '', skipped.length > 0 ? list(skipped, 'not run') : ''].filter(Boolean).join('; ');
  return { kind: 'end', events: failureEvents({ ...c, lastText: output }, 'child_failed', reason) };
}

/**
 * A node child's task: the node's own task, the workflow's task, and the outputs of its
 * dependencies ("outputs flow to dependents"), cut to fit an agent's task limit.
 */
export function nodeTask(c: AgentContext, graph: WorkflowGraph, n: WorkflowNode): string {
  const parts = [n.task, '', `Workflow task: ${cut(c.task, MAX_WORKFLOW_TASK_CHARS)}`];
  if (n.dependencies.length > 0) {
    const each = Math.floor(MAX_INPUTS_CHARS / n.dependencies.length);
    parts.push('', 'Inputs from the nodes this one depends on:');
    for (const d of n.dependencies) {
      const st = nodeState(c, d);
      const role = graph.nodes.find((x) => x.id === d)?.role ?? '?';
      const out = st.status === 'completed' ? st.output : st.childId ? (c.children[st.childId]?.output ?? null) : null;
      const label = st.status === 'completed' ? 'completed' : `${st.status}, partial result`;
      parts.push(`--- ${d} (${role}, ${label}) ---`, out && out.trim() ? cut(out, each) : '(no output)');
    }
  }
  return parts.join('\n');
}

/** Every node's outcome, in dependency order: the workflow's output. */
export function combinedOutput(c: AgentContext, order: readonly WorkflowNode[]): string {
  const done = order.filter((n) => nodeState(c, n.id).status === 'completed').length;
  const lines = [`Workflow: ${done} of ${order.length} nodes completed.`];
  for (const n of order) {
    const st = nodeState(c, n.id);
    const out = st.status === 'completed' ? st.output : st.childId ? (c.children[st.childId]?.output ?? null) : null;
    // Each node's own output, cut to a screenful: the whole of it is the node's (`cadre status <child>`).
    lines.push('', `## ${n.id} (${n.role}): ${st.status}${st.attempt > 1 ? ` after ${st.attempt} attempts` : ''}`, out?.trim() ? cut(out, MAX_NODE_OUTPUT_CHARS) : '(no output)');
  }
  return lines.join('\n');
}

const cut = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 12)}\n[truncated]`);
