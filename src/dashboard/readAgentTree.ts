import type { AgentSystem } from '../system.js';
import type { TreeDetailRow } from '../projections/treeDetail.js';
import { committedHead } from '../events/committedHead.js';
import { agentsProjection } from '../projections/readModels/agents.js';
import { activitiesOf } from './activitiesOf.js';
import { isTerminalStatus } from '../actors/agentContext.js';
import { agentTree, sumSubtrees, toNode, type AgentNode, type Mutable } from './agentTree.js';

type TreeSystem = Pick<AgentSystem, 'internal' | 'reports' | 'store'>;

/**
 * The agent tree under `rootId` as `agentTree` builds it, read from the read models (one query
 * for the subtree) when they are current, else folded from the streams.
 *
 * Read models lag the events: a `cadre run` may exit before its projections catch up, and a
 * read-only CLI runs no projections and may not write, so it cannot catch them up itself. When
 * the agents projection has not applied the store's head (or was built by another version of
 * its tables), the tree is folded from the streams as before: always exact, and no slower than
 * it was. Checked before reading, so the rows are at least as new as the head was then.
 *
 * @example
 * const tree = await readAgentTree(system, lead.id);
 * console.log(`${tree.role}: ${tree.subtreeConsumed} tokens by it and its subtree`);
 */
export async function readAgentTree(system: TreeSystem, rootId: string, options: { maxAgents?: number; sketch?: boolean } = {}): Promise<AgentNode> {
  const rows = (await readModelsCurrent(system)) ? await system.reports.treeDetail(rootId) : [];
  // No rows although current: the agent is newer than the check, or not an agent; folding says which.
  if (rows.length === 0) return agentTree(system, rootId, options);
  return treeFromRows(system, rootId, rows, options.maxAgents ?? 5_000, options.sketch === true);
}

/**
 * Whether the agents read model has applied every event the store holds now.
 *
 * @example
 * if (!(await readModelsCurrent(system))) console.warn('read models are behind: folding streams');
 */
export async function readModelsCurrent(system: TreeSystem): Promise<boolean> {
  // The head first: whatever the checkpoint says after it is at least that new. Every committed
  // event, not only what a subscriber sees: that head waits for any older transaction of the server.
  const head = await committedHead(system.store);
  const checkpoint = await system.reports.checkpoint(agentsProjection.name);
  return checkpoint !== null && checkpoint.version === agentsProjection.version && checkpoint.position >= head;
}

/** Read-model text columns are excerpts cut here (projection.ts `excerpt`) ending in an ellipsis. */
const EXCERPT_MAX = 2000;
const cut = (text: string | null): boolean => text !== null && text.length >= EXCERPT_MAX - 1 && text.endsWith('…');

/**
 * What the read model cannot say of an agent, so it is folded: a live one (what it is doing now
 * lives in its context, not its row), a terminated one (its output is the model's last text,
 * which no event of the read model carries) and one whose task, output or reason was cut.
 */
const needsFold = (r: TreeDetailRow): boolean =>
  r.endedStatus === null || r.endedStatus === 'terminated' || cut(r.task) || cut(r.output) || cut(r.failureReason);

/**
 * `sketch`: the rows as they are, nothing folded (a live agent shows the read model's status and
 * no activity, cut text stays cut): one query, for a view to draw at once and complete after.
 */
async function treeFromRows(system: TreeSystem, rootId: string, rows: readonly TreeDetailRow[], max: number, sketch: boolean): Promise<AgentNode> {
  const byId = new Map(rows.map((r) => [r.agentId, r]));
  const foldIds = sketch ? [] : rows.filter(needsFold).map((r) => r.agentId);
  const states = new Map((await system.internal.runtime.states(foldIds)).map((s) => [s.id, s]));
  const activities = await activitiesOf(system, foldIds.filter((id) => byId.get(id)!.endedStatus === null && !isTerminalStatus(states.get(id)!.status)));
  const nodeOf = (r: TreeDetailRow, isRoot: boolean): Mutable<AgentNode> => {
    // As agentTree: the root of the view has no node id, and only a child's remainder can be returned.
    const nodeId = isRoot ? null : r.nodeId;
    const state = states.get(r.agentId);
    const returned = !isRoot && r.endedStatus !== null && !r.heldByParent;
    if (state) return toNode({ state, activity: activities.get(r.agentId) ?? null, nodeId, returned, children: [] });
    return {
      id: r.agentId, role: r.role, kind: r.kind, task: r.task, status: (r.endedStatus ?? r.status) as AgentNode['status'], activity: null, parentId: r.parentId,
      depth: r.depth, revision: r.lastRevision, budget: r.budget, returned: returned ? r.budget.available : null, costUsd: r.costUsd,
      subtreeCostUsd: r.costUsd, subtreeConsumed: r.budget.consumed, nodeId, workspace: r.workspace, output: r.output,
      reason: r.failureReason, children: [],
    };
  };
  // Breadth-first with agentTree's cap, children in the order their parent recorded them.
  const root = nodeOf(byId.get(rootId)!, true);
  const order: Mutable<AgentNode>[] = [root];
  let queued = 1;
  for (let i = 0; i < order.length; i++) {
    const kids = byId.get(order[i]!.id)!.childOrder;
    if (queued + kids.length > max) continue;
    for (const k of kids) {
      const row = byId.get(k);
      if (!row) continue; // its stream not opened yet (a crash between the parent's append and the child's)
      const node = nodeOf(row, false);
      order[i]!.children.push(node);
      order.push(node);
    }
    queued += kids.length;
  }
  sumSubtrees(order);
  return root;
}

