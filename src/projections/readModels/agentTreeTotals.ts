import type { EventType } from '../../events/catalogue.js';
import type { ParsedEvent } from '../../events/upcast.js';
import { agentIdOf, type SqlStatement, type TableNames } from '../projection.js';
import { build } from '../sqlBuilder.js';

/**
 * Per tree: budget totals and status counts, one `agent_tree_totals` row, so statusCounts(root)
 * and budget(root, { subtree }) read one row instead of aggregating a 10,000-agent tree on
 * every read. Until agents v6 the counts were six rows of `agent_status_counts` a tree.
 *
 * They are recounted once per batch from the agents table, for the roots whose agents the batch
 * changed in status, consumed, reserved or cost. They used to be kept by a per-row trigger on
 * agents, which wrote both tables on every such UPDATE: ~18 row versions each per agent step.
 * A recount writes each row at most once per batch, and only when a value changed. It reads
 * the whole tree's rows (~4 ms on a 10,000-agent tree, this machine, warm cache); that is per
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

/** The statuses of agents.ts's generated `status` column: a column of counts each in the totals. */
export const TREE_STATUSES = ['spawned', 'running', 'waiting', 'completed', 'failed', 'terminated'] as const;

/** DDL of the totals table (one generation): budget sums and a count per status, a row per tree. */
export const treeTotalsTables = (totals: string): string[] => [
  `CREATE TABLE ${totals} (root_id text PRIMARY KEY, agents bigint NOT NULL, consumed bigint NOT NULL, reserved bigint NOT NULL, cost_usd numeric NOT NULL,
    ${TREE_STATUSES.map((st) => `${st} bigint NOT NULL`).join(', ')})`,
];

/** The recount of the batch's trees: two statements, or none when no agent moved. Pure. */
export function recountTrees(events: readonly ParsedEvent[], tables: TableNames): SqlStatement[] {
  const ids = agentsMovingTotals(events);
  if (ids.length === 0) return [];
  const a = tables.agents!;
  const totals = tables.agent_tree_totals!;
  const cols = ['agents', 'consumed', 'reserved', 'cost_usd', ...TREE_STATUSES];
  // One row per counted tree, every status with its count, 0 included, so the row does not depend
  // on where batches end (a rebuild cuts them elsewhere). Written only when a value changed.
  return [
    build((p) => `WITH roots AS (SELECT DISTINCT root_id FROM ${a} WHERE agent_id IN (SELECT jsonb_array_elements_text(${p(ids, 'jsonb')})))
      INSERT INTO ${totals} AS t (root_id, ${cols.join(', ')})
      SELECT root_id, count(*), sum(consumed), sum(reserved), sum(cost_usd), ${TREE_STATUSES.map((st) => `count(*) FILTER (WHERE status = '${st}')`).join(', ')}
        FROM ${a} WHERE root_id IN (SELECT root_id FROM roots) GROUP BY root_id
      ON CONFLICT (root_id) DO UPDATE SET ${cols.map((c) => `${c} = excluded.${c}`).join(', ')}
      WHERE (${cols.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${cols.map((c) => `excluded.${c}`).join(', ')})`),
  ];
}
