import { totalTokens } from '../../actors/ports/modelProvider.js';
import type { ParsedEvent } from '../../events/upcast.js';
import { agentIdOf, excerpt, indexName, physicalTable, type Projection, type SqlStatement, type TableNames } from '../projection.js';
import { build, type Param } from '../sqlBuilder.js';
import { foldAgentBatch } from './agentBatchFold.js';
import { insertSpawns } from './agentSpawnInsert.js';
import { recountTrees, treeTotalsTables } from './agentTreeTotals.js';
import { isRecordOnly } from './recordOnlyEvents.js';

/**
 * The hierarchy: one row per agent with its place in the tree (parent, root, depth and a
 * materialised path `/root/child/grandchild/`), status, timestamps and budget columns.
 *
 * Budget columns follow src/actors/budget.ts exactly: open reservations and live delegations
 * are kept as small jsonb maps on the row so a settle or reclaim knows what it closes.
 *
 * Status is a generated column: `completed | failed | terminated` once a terminal event is
 * applied; `spawned` until AgentStarted; then `waiting` while a model call is in flight
 * (ModelRequested without its ModelReplied/ModelFailed) or children are live (ChildSpawned
 * without ChildFinished), otherwise `running`. It mirrors the machine's awaitingModel /
 * awaitingChildren states closely enough for reports; `agent.state()` is the exact answer.
 */
/** Characters of the materialised path the subtree index keeps (ids are ASCII, so bytes too). */
export const PATH_KEY = 1024;

/** The trigger function a generation before v5 used to keep the per-tree totals (dropped with it). */
const totalsFunction = (schema: string, suffix: string): string => `${schema}.${indexName('agents', suffix, 'tree_totals')}`;

export const agentsProjection: Projection = {
  name: 'agents',
  // 4: the workspace an agent holds and its children in spawn order, so a tree reads from here.
  // 5: tree totals recounted once per batch (agentTreeTotals.ts) instead of by a per-row trigger.
  // 6: a tree's status counts are columns of its agent_tree_totals row, no longer six rows of
  //    agent_status_counts (issue 19: 307 of 14,356 bytes stored per agent step, and a statement
  //    per batch); no index on `status` nor `(root_id, status)`, which only that recount read.
  version: 6,
  tables: ['agents', 'agent_tree_totals'],
  migrations(schema, suffix) {
    const t = physicalTable(schema, 'agents', suffix);
    const totals = physicalTable(schema, 'agent_tree_totals', suffix);
    const ix = (what: string): string => indexName('agents', suffix, what);
    return [
      `CREATE TABLE ${t} (
        agent_id text PRIMARY KEY,
        parent_id text,
        root_id text NOT NULL,
        depth int NOT NULL,
        path text COLLATE "C" NOT NULL,
        kind text NOT NULL,
        role text NOT NULL,
        task text NOT NULL,
        node_id text,
        model text,
        ended_status text,
        status text GENERATED ALWAYS AS (CASE
          WHEN ended_status IS NOT NULL THEN ended_status
          WHEN started_at IS NULL THEN 'spawned'
          WHEN calls_in_flight > 0 OR live_children > 0 THEN 'waiting'
          ELSE 'running' END) STORED,
        allocated bigint NOT NULL,
        consumed bigint NOT NULL DEFAULT 0,
        reserved bigint NOT NULL DEFAULT 0,
        delegated bigint NOT NULL DEFAULT 0,
        spent_by_subtree bigint NOT NULL DEFAULT 0,
        reclaimed bigint NOT NULL DEFAULT 0,
        available bigint GENERATED ALWAYS AS (greatest(0, allocated - consumed - reserved - delegated - spent_by_subtree)) STORED,
        cost_usd numeric NOT NULL DEFAULT 0,
        reservations jsonb NOT NULL DEFAULT '{}',
        delegations jsonb NOT NULL DEFAULT '{}',
        calls_in_flight int NOT NULL DEFAULT 0,
        model_calls int NOT NULL DEFAULT 0,
        live_children int NOT NULL DEFAULT 0,
        children int NOT NULL DEFAULT 0,
        child_order jsonb NOT NULL DEFAULT '[]',
        workspace_path text,
        workspace_branch text,
        created_at timestamptz NOT NULL,
        run_requested_at timestamptz,
        started_at timestamptz,
        deadline timestamptz,
        ended_at timestamptz,
        returned bigint,
        output text,
        failure_reason text,
        failure_cause text,
        terminated_by text,
        last_revision bigint NOT NULL,
        last_position bigint NOT NULL,
        event_count bigint NOT NULL
      )`,
      `CREATE INDEX ${ix('parent')} ON ${t} (parent_id)`,
      // A btree entry holds at most ~2.7 kB and a path grows ~37 bytes a level, so the index keeps
      // the first PATH_KEY characters: exact to depth ~27, a superset past it that the full
      // comparison in the query trims (see subtreeJoin in reports.ts). Depth stays unlimited.
      `CREATE INDEX ${ix('root_path')} ON ${t} (root_id, left(path, ${PATH_KEY}))`,
      `CREATE INDEX ${ix('active')} ON ${t} (created_at) WHERE ended_status IS NULL`,
      ...treeTotalsTables(totals),
    ];
  },
  // Generations before v5 kept the tree totals with a trigger whose function outlives its table;
  // before v6 the status counts had a table of their own (and a view on it, dropped with it).
  teardown: (schema, suffix) => [
    `DROP FUNCTION IF EXISTS ${totalsFunction(schema, suffix)}()`,
    `DROP TABLE IF EXISTS ${physicalTable(schema, 'agent_status_counts', suffix)} CASCADE`,
  ],
  handle: handleAgentEvent,
  // One INSERT and one UPDATE per batch, the same rows as `handle` event by event (agentBatchFold.ts).
  handleBatch: (events, tables) => foldAgentBatch(events, tables.agents!),
  afterBatch: recountTrees,
};

/**
 * The agents table's statements for one event: the reference the batch fold must equal
 * (agentBatchFold.ts).
 *
 * @example
 * handleAgentEvent(event, tableNames(agentsProjection, 'cadre', 'v5_r0'))
 */
function handleAgentEvent(e: ParsedEvent, tables: TableNames): SqlStatement[] {
  const t = tables.agents!;
  if (e.type === 'AgentSpawned') return insertSpawns([e], t);
  const agentId = agentIdOf(e.streamId);
  if (agentId === null) return [];
  /** `amount` handed to `childId`: by a BudgetDelegated, or by a ChildSpawned v3 itself. */
  const delegation = (p: Param, childId: string, amount: number): string =>
    `delegated = delegated + ${p(amount, 'bigint')}, delegations = delegations || jsonb_build_object(${p(childId, 'text')}, ${p(amount, 'bigint')})`;
  /** What `childId` gave back: by a BudgetReclaimed, or by a ChildFinished v2 itself. */
  const reclaim = (p: Param, childId: string, r: { readonly returned: number; readonly overspent: number }): string => {
    // budget.ts `reclaim`: what the ledger delegated (not the event's copy) leaves `delegated`.
    const held = `coalesce((delegations ->> ${p(childId, 'text')})::bigint, 0)`;
    const back = `least(${p(r.returned, 'bigint')}, ${held})`;
    // ... and what the child's subtree overspent is charged here too (BudgetReclaimed v2's `overspent`).
    return `delegated = delegated - ${held}, spent_by_subtree = spent_by_subtree + (${held} - ${back}) + ${p(r.overspent, 'bigint')},
      reclaimed = reclaimed + ${back}, delegations = delegations - ${p(childId, 'text')}`;
  };
  const reservation = (p: Param, id: string, amount: number): string =>
    `reserved = reserved + ${p(amount, 'bigint')}, reservations = reservations || jsonb_build_object(${p(id, 'text')}, ${p(amount, 'bigint')})`;
  /** Reservation `id` closes: settled with what it consumed and cost, or released (0 and 0). */
  const closing = (p: Param, id: string, consumed: number, costUsd: number): string => {
    const ref = p(id, 'text');
    return `reserved = reserved - coalesce((reservations ->> ${ref})::bigint, 0), consumed = consumed + ${p(consumed, 'bigint')},
      cost_usd = cost_usd + ${p(costUsd, 'numeric')}, reservations = reservations - ${ref}`;
  };
  const touch = (set: (p: Param) => string = () => ''): SqlStatement[] => [
    build((p) => {
      const extra = set(p);
      return `UPDATE ${t} SET ${extra === '' ? '' : `${extra}, `}last_revision = ${p(e.revision, 'bigint')},
        last_position = ${p(e.position, 'bigint')}, event_count = event_count + 1 WHERE agent_id = ${p(agentId, 'text')}`;
    }),
  ];
  if (isRecordOnly(e)) return touch();
  const at = e.metadata.at;
  switch (e.type) {
    case 'AgentRunRequested':
      return touch((p) => `run_requested_at = coalesce(run_requested_at, ${p(at, 'timestamptz')})`);
    case 'AgentStarted':
      // A start recorded without a request before it was asked for in the same decision.
      return touch((p) => `run_requested_at = coalesce(run_requested_at, ${p(at, 'timestamptz')}), started_at = coalesce(started_at, ${p(at, 'timestamptz')}), deadline = ${p(e.data.deadline, 'timestamptz')}`);
    case 'ChildSpawned':
      // Spawn order as the parent records it (the children's own streams may open in another order).
      return touch((p) => `children = children + 1, live_children = live_children + 1, child_order = child_order || to_jsonb(${p(e.data.childId, 'text')})${
        // v3 delegates the child's budget itself; v1 and v2 were followed by a BudgetDelegated.
        e.data.delegatesBudget ? `, ${delegation(p, e.data.childId, e.data.budget)}` : ''}`);
    case 'WorkspaceCreated':
      return touch((p) => `workspace_path = ${p(e.data.path, 'text')}, workspace_branch = ${p(e.data.branch, 'text')}`);
    case 'WorkspaceRemoved':
      return touch(() => `workspace_path = NULL, workspace_branch = NULL`);
    case 'ChildFinished':
      // v2 returns the child's budget itself; a v1 record was followed by a BudgetReclaimed.
      return touch((p) => `live_children = greatest(0, live_children - 1)${e.data.reclaim ? `, ${reclaim(p, e.data.childId, e.data.reclaim)}` : ''}`);
    case 'AgentCompleted':
      return touch((p) => `ended_status = 'completed', ended_at = ${p(at, 'timestamptz')}, returned = ${p(e.data.returned, 'bigint')},
        output = ${p(excerpt(e.data.output), 'text')}`);
    case 'AgentFailed':
      return touch((p) => `ended_status = 'failed', ended_at = ${p(at, 'timestamptz')}, returned = ${p(e.data.returned, 'bigint')},
        output = ${p(excerpt(e.data.partialOutput), 'text')}, failure_reason = ${p(excerpt(e.data.reason), 'text')},
        failure_cause = ${p(e.data.cause, 'text')}`);
    case 'AgentTerminated':
      return touch((p) => `ended_status = 'terminated', ended_at = ${p(at, 'timestamptz')}, returned = ${p(e.data.returned, 'bigint')},
        failure_reason = ${p(excerpt(e.data.reason), 'text')}, terminated_by = ${p(e.data.by, 'text')}`);
    case 'BudgetReserved':
      return touch((p) => reservation(p, e.data.reservationId, e.data.amount));
    case 'BudgetSettled':
      return touch((p) => closing(p, e.data.reservationId, e.data.consumed, e.data.costUsd));
    case 'BudgetReleased':
      return touch((p) => closing(p, e.data.reservationId, 0, 0));
    case 'BudgetDelegated':
      return touch((p) => delegation(p, e.data.childId, e.data.amount));
    case 'BudgetReclaimed':
      return touch((p) => reclaim(p, e.data.childId, e.data));
    case 'ModelRequested':
      // v2 reserves itself; a v1 request was preceded by a BudgetReserved.
      return touch((p) => `calls_in_flight = calls_in_flight + 1, model_calls = model_calls + 1${
        e.data.reserves ? `, ${reservation(p, e.data.callId, e.data.reserved)}` : ''}`);
    case 'ModelReplied':
      // v2 settles itself; a v1 reply was followed by a BudgetSettled.
      return touch((p) => `calls_in_flight = greatest(0, calls_in_flight - 1)${
        e.data.settles ? `, ${closing(p, e.data.callId, totalTokens(e.data.usage), e.data.costUsd)}` : ''}`);
    case 'ModelFailed':
    case 'ApprovalGranted':
    case 'ApprovalDenied':
      return touch(() => `calls_in_flight = greatest(0, calls_in_flight - 1)`);
    // A tool call parked for a person's answer is a call the agent waits on, as a model call is:
    // it shows `waiting` until the answer (no new column: stores without approvals read the same).
    case 'ApprovalRequested':
      return touch(() => `calls_in_flight = calls_in_flight + 1`);
    default: {
      const never: never = e;
      return never;
    }
  }
}
