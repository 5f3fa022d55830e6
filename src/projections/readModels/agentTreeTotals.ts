import type { EventType } from '../../events/catalogue.js';
import type { ParsedEvent } from '../../events/upcast.js';
import { agentIdOf, type SqlStatement, type TableNames } from '../projection.js';
import { build } from '../sqlBuilder.js';

/**
 * Per tree: status counts (`agent_status_counts`) and budget totals (`agent_tree_totals`), so
 * statusCounts(root) and budget(root, { subtree }) read one or a handful of rows instead of
 * aggregating a 10,000-agent tree on every read.
 *
 * They are recounted once per batch from the agents table, for the roots whose agents the batch
 * changed in status, consumed, reserved or cost. They used to be kept by a per-row trigger on
 * agents, which wrote both tables on every such UPDATE: ~18 row versions each per agent step.
 * A recount writes each row at most once per batch, and only when its value changed. It reads
 * the whole tree, which costs ~1 ms for the counts (the (root_id, status) index) and ~4 ms for
 * the totals (the rows' heap) on a 10,000-agent tree (this machine, warm cache); that is per
 * batch, and batches grow with load, so it does not grow with the event rate. Deltas would be
 * O(changed agents) but need each row's values before the batch, which the set-based per-event
 * UPDATEs do not leave anywhere without another write.
 */

/** Events whose agents row changes a column the totals read (see agents.ts `handleAgentEvent` and its generated `status`). */
const MOVES_TOTALS: ReadonlySet<EventType> = new Set<EventType>([
  'AgentSpawned', 'AgentStarted', 'ChildSpawned', 'ChildFinished', 'ModelRequested', 'ModelReplied', 'ModelFailed',
  'AgentCompleted', 'AgentFailed', 'AgentTerminated', 'BudgetReserved', 'BudgetSettled', 'BudgetReleased',
]);

/** The agents a batch moved in the totals, each once, in first-seen order. Pure. */
export function agentsMovingTotals(events: readonly ParsedEvent[]): string[] {
  const ids = new Set<string>();
  for (const e of events) {
    if (!MOVES_TOTALS.has(e.type)) continue;
    const id = e.type === 'AgentSpawned' ? e.data.agentId : agentIdOf(e.streamId);
    if (id !== null) ids.add(id);
  }
  return [...ids];
}

/** DDL of the two tables (one generation). */
export const treeTotalsTables = (counts: string, totals: string): string[] => [
  `CREATE TABLE ${counts} (root_id text NOT NULL, status text NOT NULL, n bigint NOT NULL, PRIMARY KEY (root_id, status))`,
  `CREATE TABLE ${totals} (root_id text PRIMARY KEY, agents bigint NOT NULL, consumed bigint NOT NULL, reserved bigint NOT NULL, cost_usd numeric NOT NULL)`,
];

/** The recount of the batch's trees: two statements, or none when no agent moved. Pure. */
export function recountTrees(events: readonly ParsedEvent[], tables: TableNames): SqlStatement[] {
  const ids = agentsMovingTotals(events);
  if (ids.length === 0) return [];
  const a = tables.agents!;
  const counts = tables.agent_status_counts!;
  const totals = tables.agent_tree_totals!;
  const roots = (p: (v: unknown, t: string) => string): string =>
    `roots AS (SELECT DISTINCT root_id FROM ${a} WHERE agent_id IN (SELECT jsonb_array_elements_text(${p(ids, 'jsonb')})))`;
  return [
    // Every status of a counted tree has a row, 0 included: a status passing through only
    // updates its row (a row per present status would be deleted and inserted again, ~2.4 more
    // writes per agent step), and the rows do not depend on where batches end (a rebuild cuts
    // them elsewhere). The statuses are those of agents.ts's generated `status` column.
    build((p) => `WITH ${roots(p)},
      fresh AS (SELECT r.root_id, s.status, count(a.agent_id) AS n
        FROM roots r CROSS JOIN (VALUES ('spawned'), ('running'), ('waiting'), ('completed'), ('failed'), ('terminated')) AS s(status)
        LEFT JOIN ${a} a ON a.root_id = r.root_id AND a.status = s.status
        GROUP BY r.root_id, s.status)
      INSERT INTO ${counts} AS c (root_id, status, n) SELECT root_id, status, n FROM fresh
      ON CONFLICT (root_id, status) DO UPDATE SET n = excluded.n WHERE c.n <> excluded.n`),
    build((p) => `WITH ${roots(p)}
      INSERT INTO ${totals} AS t (root_id, agents, consumed, reserved, cost_usd)
      SELECT root_id, count(*), sum(consumed), sum(reserved), sum(cost_usd) FROM ${a} WHERE root_id IN (SELECT root_id FROM roots) GROUP BY root_id
      ON CONFLICT (root_id) DO UPDATE SET agents = excluded.agents, consumed = excluded.consumed, reserved = excluded.reserved, cost_usd = excluded.cost_usd
      WHERE (t.agents, t.consumed, t.reserved, t.cost_usd) IS DISTINCT FROM (excluded.agents, excluded.consumed, excluded.reserved, excluded.cost_usd)`),
  ];
}
