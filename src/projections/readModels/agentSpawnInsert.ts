import type { ParsedEvent } from '../../events/upcast.js';
import { excerpt, type SqlStatement } from '../projection.js';
import { build } from '../sqlBuilder.js';

export type SpawnEvent = Extract<ParsedEvent, { type: 'AgentSpawned' }>;

/**
 * One INSERT of the agents rows some AgentSpawned events open, with each row's materialised
 * path `/root/…/id/`. A parent opened by the same statement is not visible to its lookups, so
 * such a child's path is built here from its parent's; otherwise the statement reads the
 * parent's row. The agents read model inserts one event's row (agents.ts `handle`) and a
 * batch's rows (agentBatchFold.ts) with it.
 *
 * @example
 * insertSpawns([spawned], 'cadre.agents_v5_r0')
 */
export function insertSpawns(spawns: readonly SpawnEvent[], table: string): SqlStatement[] {
  if (spawns.length === 0) return [];
  /** Where a row's path starts: the stored path of `base` (none: '/'), then `suffix`. */
  const placed = new Map<string, { base: string | null; suffix: string }>();
  const rows = spawns.map((e) => {
    const d = e.data;
    const parent = d.parentId === null ? undefined : placed.get(d.parentId);
    const at = parent ? { base: parent.base, suffix: `${parent.suffix}${d.agentId}/` } : { base: d.parentId, suffix: `${d.agentId}/` };
    placed.set(d.agentId, at);
    return {
      agent_id: d.agentId, parent_id: d.parentId, root_id: d.rootId, depth: d.depth, base: at.base, suffix: at.suffix, kind: d.kind,
      role: d.role, task: excerpt(d.task), node_id: d.nodeId, model: d.model, allocated: d.budget, created_at: e.metadata.at,
      last_revision: String(e.revision), last_position: String(e.position),
      // Started in its opening (`started`): as an AgentStarted right after it sets them.
      ...(d.started ? { run_requested_at: e.metadata.at, started_at: e.metadata.at, deadline: d.started.deadline } : {}),
    };
  });
  return [
    build((p) => `INSERT INTO ${table} (agent_id, parent_id, root_id, depth, path, kind, role, task, node_id, model, allocated,
        created_at, last_revision, last_position, event_count, run_requested_at, started_at, deadline)
      SELECT x.agent_id, x.parent_id, x.root_id, x.depth, coalesce((SELECT a.path FROM ${table} a WHERE a.agent_id = x.base), '/') || x.suffix,
        x.kind, x.role, x.task, x.node_id, x.model, x.allocated, x.created_at, x.last_revision, x.last_position, 1,
        x.run_requested_at, x.started_at, x.deadline
      FROM jsonb_to_recordset(${p(rows, 'jsonb')}) AS x(agent_id text, parent_id text, root_id text, depth int, base text, suffix text,
        kind text, role text, task text, node_id text, model text, allocated bigint, created_at timestamptz, last_revision bigint,
        last_position bigint, run_requested_at timestamptz, started_at timestamptz, deadline timestamptz)
      ON CONFLICT (agent_id) DO NOTHING`),
  ];
}
