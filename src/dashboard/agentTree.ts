import type { AgentSystem } from '../system.js';
import type { AgentState } from '../actors/replay.js';
import type { BudgetStatus } from '../actors/budget.js';
import { InvalidInput, NotFound } from '../errors.js';
import { activitiesOf } from './activitiesOf.js';
import { isTerminalStatus } from '../actors/agentContext.js';

/** The shortest id prefix looked up: shorter ones match too many agents to mean one. */
const MIN_PREFIX = 4;

/** One agent in a tree view: its state summarised, its children nested. */
export interface AgentNode {
  readonly id: string;
  readonly role: string;
  readonly kind: 'agent' | 'workflow';
  readonly task: string;
  readonly status: AgentState['status'];
  /** What it is doing while it runs (`calling model`, `running tools`, `waiting for 2 children`); null once ended. */
  readonly activity: string | null;
  readonly parentId: string | null;
  readonly depth: number;
  /** A plain number, as everywhere in `--json` and the API (docs/cli.md). */
  readonly revision: number;
  readonly budget: BudgetStatus;
  /**
   * For an ended agent whose parent has taken back its unspent tokens: how many. They are in
   * the parent's `available` now, so a view that sums `available` counts them there. Else null.
   */
  readonly returned: number | null;
  readonly costUsd: number;
  /** Cost of this agent and every descendant. */
  readonly subtreeCostUsd: number;
  /**
   * Tokens consumed by this agent and every descendant: what the bars show, and it only grows
   * (tokens delegated to children or reserved for a call in flight are not spent yet).
   */
  readonly subtreeConsumed: number;
  readonly nodeId: string | null;
  readonly workspace: { path: string; branch: string } | null;
  readonly output: string | null;
  /** Why it failed or was terminated (`budget_exceeded`, `timeout`, a model error…); null otherwise. */
  readonly reason: string | null;
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
export async function agentTree(system: Pick<AgentSystem, 'internal'>, rootId: string, options: { maxAgents?: number } = {}): Promise<AgentNode> {
  const max = options.maxAgents ?? 5_000;
  // Breadth-first, a level at a time, and sums folded bottom-up from the last level: a chain
  // thousands deep is as easy as a wide tree (no recursion, no promise nested per level).
  const order: Mutable<AgentNode>[] = [];
  let level: { id: string; nodeId: string | null; returned: boolean; attach: Mutable<AgentNode>[] | null }[] = [{ id: rootId, nodeId: null, returned: false, attach: null }];
  let seen = 0;
  let root: Mutable<AgentNode> | null = null;
  while (level.length > 0) {
    const states = await system.internal.runtime.states(level.map((l) => l.id));
    const next: typeof level = [];
    for (const [i, s] of states.entries()) {
      seen++;
      const node = toNode({ state: s, activity: null, nodeId: level[i]!.nodeId, returned: level[i]!.returned, children: [] });
      order.push(node);
      if (level[i]!.attach) level[i]!.attach!.push(node);
      else root = node;
      const kids = seen + next.length + s.children.length > max ? [] : s.children;
      const nodeIds = await childNodeIds(system, s, kids);
      for (const c of kids) next.push({ id: c.id, nodeId: nodeIds.get(c.id) ?? null, returned: c.budgetReturned, attach: node.children });
    }
    level = next;
  }
  // What the agents that have not ended are doing, asked once for the whole tree (a level at a
  // time, a chain 3,000 deep took 3,000 lease queries). Ended agents are doing nothing.
  const doing = await activitiesOf(system, order.filter((n) => !isTerminalStatus(n.status)).map((n) => n.id));
  for (const n of order) n.activity = doing.get(n.id) ?? null;
  sumSubtrees(order);
  return root!;
}

/** Fills in each node's subtree sums; `order` has parents before their children (breadth-first). */
export function sumSubtrees(order: readonly Mutable<AgentNode>[]): void {
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    n.subtreeCostUsd = n.costUsd + n.children.reduce((a, c) => a + c.subtreeCostUsd, 0);
    n.subtreeConsumed = n.budget.consumed + n.children.reduce((a, c) => a + c.subtreeConsumed, 0);
  }
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer E)[] ? Mutable<E>[] : T[K] };

/** One node from an agent's folded state; `returned`: its parent took back its remainder. */
export function toNode(p: { readonly state: AgentState; readonly activity: string | null; readonly nodeId: string | null; readonly returned: boolean; readonly children: Mutable<AgentNode>[] }): Mutable<AgentNode> {
  const s = p.state;
  return {
    id: s.id,
    role: s.role,
    kind: s.kind,
    task: s.task,
    status: s.status,
    activity: p.activity,
    parentId: s.parentId,
    depth: s.depth,
    revision: s.revision,
    budget: s.budget,
    returned: p.returned ? s.budget.available : null,
    costUsd: s.costUsd,
    subtreeCostUsd: s.costUsd,
    subtreeConsumed: s.budget.consumed,
    nodeId: p.nodeId,
    workspace: s.workspace,
    output: s.result?.output ?? null,
    reason: s.result?.reason ?? null,
    children: p.children,
  };
}

/**
 * The workflow node each child runs. A node names only its current attempt's child, so a retried
 * node's failed attempt is found in the parent's record of its spawns (read only then): it showed
 * no node in `cadre run --json` and `cadre tree` until the read models caught up (a trial's).
 */
async function childNodeIds(system: Pick<AgentSystem, 'internal'>, parent: AgentState, kids: readonly { id: string }[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const [nodeId, n] of Object.entries(parent.nodes)) if (n.childId) ids.set(n.childId, nodeId);
  if (parent.kind !== 'workflow' || kids.every((c) => ids.has(c.id))) return ids;
  const recorded = (await system.internal.runtime.context(parent.id)).children;
  for (const c of kids) {
    const nodeId = recorded[c.id]?.nodeId;
    if (nodeId && !ids.has(c.id)) ids.set(c.id, nodeId);
  }
  return ids;
}

/** Depth-first, parents before children (an explicit stack: trees can be thousands deep). */
export function flatten(root: AgentNode): AgentNode[] {
  const out: AgentNode[] = [];
  const stack: AgentNode[] = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    out.push(n);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return out;
}

export interface RootSummary {
  readonly id: string;
  readonly live: boolean;
  readonly updatedAt: string;
}

/** The most recent root agents, newest first (from the runtime's actor index). */
export async function listRoots(system: Pick<AgentSystem, 'internal' | 'schema'>, limit = 20): Promise<RootSummary[]> {
  const r = await system.internal.sql.query<{ agent_id: string; status: string; updated_at: unknown }>(
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
export async function resolveAgentId(system: Pick<AgentSystem, 'internal' | 'schema'>, idOrPrefix: string): Promise<string> {
  const exact = await system.internal.sql.query<{ agent_id: string }>(`SELECT agent_id FROM ${system.schema}.actor_index WHERE agent_id = $1`, [idOrPrefix]);
  if (exact.rows.length > 0) return idOrPrefix;
  if (idOrPrefix.length < MIN_PREFIX) throw new InvalidInput('agent', `no agent has the id ${JSON.stringify(idOrPrefix)}, and a prefix needs at least ${MIN_PREFIX} characters`);
  // A prefix is literal text: LIKE's `_` and `%` escaped. They were dropped instead, so `5f2_` matched
  // `5f20…` by its first three characters, and `cadre fire e3a_bcda` fired agent e3abcdaa (a new user's try).
  const r = await system.internal.sql.query<{ agent_id: string }>(
    `SELECT agent_id FROM ${system.schema}.actor_index WHERE agent_id LIKE $1 || '%' ESCAPE '\\' ORDER BY agent_id LIMIT 2`,
    [idOrPrefix.replace(/[%_\\]/g, '\\$&')],
  );
  if (r.rows.length === 1) return r.rows[0]!.agent_id;
  if (r.rows.length === 0) throw new NotFound('agent', idOrPrefix);
  throw new InvalidInput('agent', `the prefix ${JSON.stringify(idOrPrefix)} matches more than one agent (${r.rows[0]!.agent_id}, ${r.rows[1]!.agent_id}, …): give more of the id`);
}

/** A root as the dashboard's tree picker shows it: who it is and how it stands, not just an id. */
export interface RootChoice extends RootSummary {
  readonly role: string;
  readonly kind: AgentState['kind'];
  readonly task: string;
  readonly status: AgentState['status'];
}

/**
 * `listRoots` with each root's role, kind, task and status (one state read per root).
 *
 * @example
 * (await describeRoots(system, await listRoots(system, 30))).map((r) => `${r.role} ${r.status}`);
 */
export async function describeRoots(system: Pick<AgentSystem, 'internal'>, roots: readonly RootSummary[]): Promise<RootChoice[]> {
  return Promise.all(roots.map(async (r) => {
    const s = await system.internal.runtime.state(r.id);
    return { ...r, role: s.role, kind: s.kind, task: s.task, status: s.status };
  }));
}
