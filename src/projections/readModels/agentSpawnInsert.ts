import type { ParsedEvent } from '../../events/upcast.js';
import { excerpt, type SqlStatement } from '../projection.js';
import { build } from '../sqlBuilder.js';

export type SpawnEvent = Extract<ParsedEvent, { type: 'AgentSpawned' }>;

/**
 * What the rest of a batch did to an agent it also opens, as final column values: its row is
 * inserted with them instead of being inserted and then updated in the same transaction, which
 * wrote two versions of the row (and of its index entries) for every new agent.
 */
export interface AfterSpawn {
  /** Events after the AgentSpawned, and the last one's place. */
  readonly count: number;
  readonly lastRevision: bigint;
  readonly lastPosition: bigint;
  readonly runRequestedAt: string | null;
  readonly startedAt: string | null;
  /** Columns set outright (agentBatchFold's SETTABLE), last value wins. */
  readonly sets: ReadonlyMap<string, unknown>;
  readonly children: number;
  readonly childOrder: readonly string[];
  readonly liveChildren: number;
  readonly callsInFlight: number;
  readonly modelCalls: number;
  readonly reserved: number;
  readonly reservations: Readonly<Record<string, number>>;
  readonly consumed: number;
  /** Each call's cost as text, summed as numeric by the statement (as the UPDATE sums them). */
  readonly costs: readonly string[];
  readonly delegated: number;
  readonly spent: number;
  readonly reclaimed: number;
  readonly delegations: Readonly<Record<string, number>>;
}

/** Columns a batch may set outright, with their types: the spawn's row takes the batch's value. */
export const SETTABLE: ReadonlyArray<readonly [string, string]> = [
  ['deadline', 'timestamptz'], ['workspace_path', 'text'], ['workspace_branch', 'text'], ['ended_status', 'text'],
  ['ended_at', 'timestamptz'], ['returned', 'bigint'], ['output', 'text'], ['failure_reason', 'text'], ['failure_cause', 'text'],
  ['terminated_by', 'text'],
];

/**
 * One INSERT of the agents rows some AgentSpawned events open, with each row's materialised
 * path `/root/…/id/` and, where `after` has it, what the rest of the batch did to the agent. A
 * parent opened by the same statement is not visible to its lookups, so such a child's path is
 * built here from its parent's; otherwise the statement reads the parent's row. The agents read
 * model inserts one event's row (agents.ts `handle`) and a batch's rows (agentBatchFold.ts) with it.
 *
 * @example
 * insertSpawns([spawned], 'cadre.agents_v5_r0')
 */
export function insertSpawns(spawns: readonly SpawnEvent[], table: string, after: ReadonlyMap<string, AfterSpawn> = new Map()): SqlStatement[] {
  if (spawns.length === 0) return [];
  /** Where a row's path starts: the stored path of `base` (none: '/'), then `suffix`. */
  const placed = new Map<string, { base: string | null; suffix: string }>();
  const rows = spawns.map((e) => {
    const d = e.data;
    const parent = d.parentId === null ? undefined : placed.get(d.parentId);
    const at = parent ? { base: parent.base, suffix: `${parent.suffix}${d.agentId}/` } : { base: d.parentId, suffix: `${d.agentId}/` };
    placed.set(d.agentId, at);
    // Started in its opening (`started`): as an AgentStarted right after it sets them.
    const startedAt = d.started ? e.metadata.at : null;
    const a = after.get(d.agentId);
    const sets: Record<string, unknown> = { deadline: d.started?.deadline ?? null, ...(a ? Object.fromEntries(a.sets) : {}) };
    return {
      agent_id: d.agentId, parent_id: d.parentId, root_id: d.rootId, depth: d.depth, base: at.base, suffix: at.suffix, kind: d.kind,
      role: d.role, task: excerpt(d.task), node_id: d.nodeId, model: d.model, allocated: d.budget, created_at: e.metadata.at,
      last_revision: String(a && a.count > 0 ? a.lastRevision : e.revision), last_position: String(a && a.count > 0 ? a.lastPosition : e.position),
      event_count: 1 + (a?.count ?? 0),
      run_requested_at: startedAt ?? a?.runRequestedAt ?? null, started_at: startedAt ?? a?.startedAt ?? null,
      ...sets,
      children: a?.children ?? 0, child_order: a?.childOrder ?? [], live_children: a?.liveChildren ?? 0, calls_in_flight: a?.callsInFlight ?? 0,
      model_calls: a?.modelCalls ?? 0, reserved: a?.reserved ?? 0, reservations: a?.reservations ?? {}, consumed: a?.consumed ?? 0,
      costs: a?.costs ?? [], delegated: a?.delegated ?? 0, spent: a?.spent ?? 0, reclaimed: a?.reclaimed ?? 0, delegations: a?.delegations ?? {},
    };
  });
  const settable = SETTABLE.map(([c]) => c).join(', ');
  return [
    build((p) => `INSERT INTO ${table} (agent_id, parent_id, root_id, depth, path, kind, role, task, node_id, model, allocated,
        created_at, last_revision, last_position, event_count, run_requested_at, started_at, ${settable},
        children, child_order, live_children, calls_in_flight, model_calls, reserved, reservations, consumed, cost_usd,
        delegated, spent_by_subtree, reclaimed, delegations)
      SELECT x.agent_id, x.parent_id, x.root_id, x.depth, coalesce((SELECT a.path FROM ${table} a WHERE a.agent_id = x.base), '/') || x.suffix,
        x.kind, x.role, x.task, x.node_id, x.model, x.allocated, x.created_at, x.last_revision, x.last_position, x.event_count,
        x.run_requested_at, x.started_at, ${SETTABLE.map(([c]) => `x.${c}`).join(', ')},
        x.children, x.child_order, x.live_children, x.calls_in_flight, x.model_calls, x.reserved, x.reservations, x.consumed,
        (SELECT coalesce(sum(c::numeric), 0) FROM jsonb_array_elements_text(x.costs) c),
        x.delegated, x.spent, x.reclaimed, x.delegations
      FROM jsonb_to_recordset(${p(rows, 'jsonb')}) AS x(agent_id text, parent_id text, root_id text, depth int, base text, suffix text,
        kind text, role text, task text, node_id text, model text, allocated bigint, created_at timestamptz, last_revision bigint,
        last_position bigint, event_count int, run_requested_at timestamptz, started_at timestamptz,
        ${SETTABLE.map(([c, type]) => `${c} ${type}`).join(', ')},
        children int, child_order jsonb, live_children int, calls_in_flight int, model_calls int, reserved bigint, reservations jsonb,
        consumed bigint, costs jsonb, delegated bigint, spent bigint, reclaimed bigint, delegations jsonb)
      ON CONFLICT (agent_id) DO NOTHING`),
  ];
}
