import type { AgentSystem } from '../system.js';
import { activitiesOf } from './activitiesOf.js';
import { isTerminalStatus } from '../actors/agentContext.js';
import { toNode, type AgentNode } from './agentTree.js';

/**
 * One agent as a row of the tree view (`agentTree`'s node, without children): what the page
 * fetches when an event names an agent, instead of the whole tree again. Subtree totals are the
 * agent's own; the page sums them over the rows it holds.
 *
 * @example
 * const row = await agentNode(system, childId);
 * console.log(row.parentId, row.nodeId, row.status);
 */
export async function agentNode(system: Pick<AgentSystem, 'internal'>, id: string): Promise<AgentNode> {
  const runtime = system.internal.runtime;
  const state = await runtime.state(id);
  const parent = state.parentId ? await runtime.state(state.parentId) : null;
  let nodeId: string | null = null;
  for (const [node, n] of Object.entries(parent?.nodes ?? {})) if (n.childId === id) nodeId = node;
  const returned = parent?.children.find((c) => c.id === id)?.budgetReturned ?? false;
  const activity = isTerminalStatus(state.status) ? null : ((await activitiesOf(system, [id])).get(id) ?? null);
  return toNode({ state, activity, nodeId, returned, children: [] });
}
