import type { AgentSystem } from '../system.js';
import type { AgentState } from '../actors/replay.js';
import type { BudgetStatus } from '../actors/budget.js';
import { NotFound } from '../errors.js';

/** One agent in a tree view: its state summarised, its children nested. */
export interface AgentNode {
  readonly id: string;
  readonly role: string;
  readonly kind: 'agent' | 'workflow';
  readonly task: string;
  readonly status: AgentState['status'];
  readonly parentId: string | null;
  readonly depth: number;
  readonly revision: string;
  readonly budget: BudgetStatus;
  /** allocated + overspent − available: what this agent and its subtree have used or hold. */
  readonly used: number;
  readonly costUsd: number;
  /** Cost of this agent and every descendant. */
  readonly subtreeCostUsd: number;
  /** Tokens consumed by this agent and every descendant. */
  readonly subtreeConsumed: number;
  readonly nodeId: string | null;
  readonly workspace: { path: string; branch: string } | null;
  readonly output: string | null;
  readonly children: AgentNode[];
}

/**
 * The agent tree under `rootId`, read from the runtime alone (each agent's state lists its
 * children), so it works before any projection is wired.
 *
 * @example
 * const root = await agentTree(system, lead.id);
 * console.log(flatten(root).map((n) => `${'  '.repeat(n.depth)}${n.role} ${n.status}`).join('\n'));
 */
export async function agentTree(system: Pick<AgentSystem, 'runtime'>, rootId: string, options: { maxAgents?: number } = {}): Promise<AgentNode> {
  const max = options.maxAgents ?? 5_000;
  let seen = 0;
  const build = async (id: string, nodeId: string | null): Promise<AgentNode> => {
    seen++;
    const s = await system.runtime.state(id);
    const kids = seen + s.children.length > max ? [] : s.children;
    const children = await Promise.all(kids.map((c) => build(c.id, nodeIdOf(s, c.id))));
    const own = { consumed: s.budget.consumed, cost: s.costUsd };
    return {
      id: s.id,
      role: s.role,
      kind: s.kind,
      task: s.task,
      status: s.status,
      parentId: s.parentId,
      depth: s.depth,
      revision: s.revision.toString(),
      budget: s.budget,
      used: s.budget.allocated + s.budget.overspent - s.budget.available,
      costUsd: s.costUsd,
      subtreeCostUsd: own.cost + children.reduce((a, c) => a + c.subtreeCostUsd, 0),
      subtreeConsumed: own.consumed + children.reduce((a, c) => a + c.subtreeConsumed, 0),
      nodeId,
      workspace: s.workspace,
      output: s.result?.output ?? null,
      children,
    };
  };
  return build(rootId, null);
}

function nodeIdOf(parent: AgentState, childId: string): string | null {
  for (const [nodeId, n] of Object.entries(parent.nodes)) if (n.childId === childId) return nodeId;
  return null;
}

/** Depth-first, parents before children. */
export function flatten(root: AgentNode): AgentNode[] {
  const out: AgentNode[] = [];
  const walk = (n: AgentNode): void => {
    out.push(n);
    n.children.forEach(walk);
  };
  walk(root);
  return out;
}

export interface RootSummary {
  readonly id: string;
  readonly live: boolean;
  readonly updatedAt: string;
}

/** The most recent root agents, newest first (from the runtime's actor index). */
export async function listRoots(system: Pick<AgentSystem, 'sql' | 'schema'>, limit = 20): Promise<RootSummary[]> {
  const r = await system.sql.query<{ agent_id: string; status: string; updated_at: unknown }>(
    `SELECT agent_id, status, updated_at FROM ${system.schema}.actor_index WHERE parent_id IS NULL ORDER BY updated_at DESC, agent_id LIMIT $1`,
    [limit],
  );
  return r.rows.map((row) => ({
    id: row.agent_id,
    live: row.status === 'live',
    updatedAt: row.updated_at instanceof Date ? row.updated_at.toISOString() : String(row.updated_at),
  }));
}

/** Resolves a unique id prefix (at least 4 characters) to a full agent id; exact ids pass through. */
export async function resolveAgentId(system: Pick<AgentSystem, 'sql' | 'schema'>, idOrPrefix: string): Promise<string> {
  const exact = await system.sql.query<{ agent_id: string }>(`SELECT agent_id FROM ${system.schema}.actor_index WHERE agent_id = $1`, [idOrPrefix]);
  if (exact.rows.length > 0 || idOrPrefix.length < 4) return idOrPrefix;
  const r = await system.sql.query<{ agent_id: string }>(
    `SELECT agent_id FROM ${system.schema}.actor_index WHERE agent_id LIKE $1 || '%' ORDER BY agent_id LIMIT 2`,
    [idOrPrefix.replace(/[%_\\]/g, '')],
  );
  if (r.rows.length === 1) return r.rows[0]!.agent_id;
  if (r.rows.length === 0) throw new NotFound('agent', idOrPrefix);
  return idOrPrefix;
}
