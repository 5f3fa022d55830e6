import { totalTokens } from '../../actors/ports/modelProvider.js';
import type { ParsedEvent } from '../../events/upcast.js';
import { agentIdOf, indexName, physicalTable, type Projection, type SqlStatement, type TableNames } from '../projection.js';
import { build } from '../sqlBuilder.js';

/** The kinds of budget movement the ledger records. */
export type LedgerKind = 'allocated' | 'reserved' | 'settled' | 'released' | 'delegated' | 'reclaimed' | 'overspent';

/**
 * The budget ledger: one row per budget movement, keyed by the event's global position.
 *
 * - `allocated`: the agent's stream opened with `amount` (counterparty: the parent);
 * - `reserved`: a model call held `amount` (`ref` = reservation id);
 * - `settled`: the call consumed `amount` and closed a reservation of `held`;
 * - `released`: a reservation of `amount` went back unused (`held` = `amount`);
 * - `delegated`: `amount` handed to child `counterparty`;
 * - `reclaimed`: child `counterparty` ended; its delegation of `held` closes, `amount` came
 *   back and `spent` stayed spent in its subtree (with what the subtree overspent, v2);
 * - `overspent`: a reply used `amount` more than its reservation `ref` held. A record only: the
 *   `settled` row already carries the whole usage, so no balance sums it.
 *
 * `held` is looked up in the ledger itself (the newest open reservation or delegation with that
 * reference), exactly as src/actors/budget.ts does with its maps, so the balances view
 * `<schema>.budget_balances` agrees with the actors' own arithmetic.
 */
export const budgetLedgerProjection: Projection = {
  name: 'budget_ledger',
  // v2: budget_balances gained `overspent` (812fee5) in the middle of its columns, which
  // CREATE OR REPLACE VIEW cannot do to a v1 view: every rebuild of a store projected before
  // then failed at the swap (tests/int/oldStoreOpens.int.test.ts). A new version rebuilds such a
  // store once, dropping the old view for the new shape.
  // v3: only the (agent_id, position) index. The `ref` and `party` partial indexes served the
  // lookup of what a closing row closes, which the agent index answers as well: it walks the
  // agent's movements newest first and meets the entry within a few rows (a reservation is
  // closed by the next reply). They took 635 of the 15,811 bytes stored per agent step
  // (.scratch per-relation sizes, 100 bench workflow runs).
  version: 3,
  tables: ['budget_ledger'],
  migrations(schema, suffix) {
    const t = physicalTable(schema, 'budget_ledger', suffix);
    return [
      `CREATE TABLE ${t} (
        position bigint PRIMARY KEY,
        agent_id text NOT NULL,
        revision bigint NOT NULL,
        kind text NOT NULL,
        amount bigint NOT NULL,
        held bigint NOT NULL DEFAULT 0,
        spent bigint NOT NULL DEFAULT 0,
        ref text,
        counterparty text,
        model text,
        cost_usd numeric NOT NULL DEFAULT 0,
        at timestamptz NOT NULL
      )`,
      `CREATE INDEX ${indexName('budget_ledger', suffix, 'agent')} ON ${t} (agent_id, position)`,
    ];
  },
  views(schema) {
    const l = `${schema}.budget_ledger`;
    const sum = (expr: string, kind: string): string => `coalesce(sum(${expr}) FILTER (WHERE kind = '${kind}'), 0)::bigint`;
    const allocated = sum('amount', 'allocated');
    const consumed = sum('amount', 'settled');
    const reserved = `(${sum('amount', 'reserved')} - ${sum('held', 'settled')} - ${sum('amount', 'released')})`;
    const delegated = `(${sum('amount', 'delegated')} - ${sum('held', 'reclaimed')})`;
    const spent = sum('spent', 'reclaimed');
    return [{
      name: 'budget_balances',
      sql: `CREATE OR REPLACE VIEW ${schema}.budget_balances AS
        SELECT agent_id, ${allocated} AS allocated, ${consumed} AS consumed, ${reserved} AS reserved,
          ${delegated} AS delegated, ${spent} AS spent_by_subtree, ${sum('amount', 'reclaimed')} AS reclaimed,
          greatest(0, ${allocated} - ${consumed} - ${reserved} - ${delegated} - ${spent})::bigint AS available,
          greatest(0, ${consumed} + ${reserved} + ${delegated} + ${spent} - ${allocated})::bigint AS overspent,
          coalesce(sum(cost_usd), 0) AS cost_usd, count(*)::bigint AS movements, max(position) AS last_position
        FROM ${l} GROUP BY agent_id`,
    }];
  },
  // One statement per batch (a planned statement costs ~0.2 ms here, a movement ~21 per run).
  handle: (e, tables) => ledgerStatements([e], tables),
  handleBatch: ledgerStatements,
};

/** A budget movement as the batch statement takes it (jsonb_to_recordset's columns). */
interface LedgerRow {
  position: string;
  agent_id: string;
  revision: string;
  kind: LedgerKind;
  amount: number;
  /** What the movement closes; null on a closing row: looked up in the table (opened before the batch). */
  held: number | null;
  ref: string | null;
  counterparty: string | null;
  model: string | null;
  cost_usd: string;
  at: string;
  /** Set on rows that close an entry: the column naming it. */
  closes: 'ref' | 'counterparty' | null;
  returned: number;
  overspent: number;
}

/** The one movement an event records, before its `held` is resolved; null for other events. */
function movementOf(e: ParsedEvent): LedgerRow | null {
  const agentId = e.type === 'AgentSpawned' ? e.data.agentId : agentIdOf(e.streamId);
  if (agentId === null) return null;
  const row = (kind: LedgerKind, fields: Partial<LedgerRow>): LedgerRow => ({
    position: String(e.position), agent_id: agentId, revision: String(e.revision), kind, amount: 0, held: 0,
    ref: null, counterparty: null, model: null, cost_usd: '0', at: e.metadata.at, closes: null, returned: 0, overspent: 0, ...fields,
  });
  /** What `childId` gave back and its subtree spent: by a BudgetReclaimed, or by a ChildFinished v2 itself. */
  const reclaimed = (childId: string, r: { readonly returned: number; readonly overspent: number }): LedgerRow =>
    row('reclaimed', { counterparty: childId, closes: 'counterparty', held: null, returned: r.returned, overspent: r.overspent });
  /** What call `ref` consumed, closing its reservation: by a BudgetSettled, or by a ModelReplied v2 itself. */
  const settled = (ref: string, consumed: number, model: string, costUsd: number): LedgerRow =>
    row('settled', { amount: consumed, ref, closes: 'ref', held: null, model, cost_usd: String(costUsd) });
  switch (e.type) {
    case 'AgentSpawned':
      return row('allocated', { amount: e.data.budget, counterparty: e.data.parentId });
    case 'BudgetReserved':
      return row('reserved', { amount: e.data.amount, ref: e.data.reservationId });
    case 'ModelRequested':
      // v2 reserves itself; a v1 request was preceded by a BudgetReserved.
      return e.data.reserves ? row('reserved', { amount: e.data.reserved, ref: e.data.callId }) : null;
    case 'BudgetSettled':
      return settled(e.data.reservationId, e.data.consumed, e.data.model, e.data.costUsd);
    case 'ModelReplied':
      // v2 settles itself; a v1 reply was followed by a BudgetSettled.
      return e.data.settles ? settled(e.data.callId, totalTokens(e.data.usage), e.data.model, e.data.costUsd) : null;
    case 'BudgetReleased':
      return row('released', { ref: e.data.reservationId, closes: 'ref', held: null });
    case 'BudgetDelegated':
      return row('delegated', { amount: e.data.amount, counterparty: e.data.childId });
    case 'ChildSpawned':
      // v3 delegates the child's budget itself; v1 and v2 were followed by a BudgetDelegated.
      return e.data.delegatesBudget ? row('delegated', { amount: e.data.budget, counterparty: e.data.childId }) : null;
    case 'BudgetReclaimed':
      return reclaimed(e.data.childId, e.data);
    case 'ChildFinished':
      // v2 returns the child's budget itself; a v1 record was followed by a BudgetReclaimed.
      return e.data.reclaim ? reclaimed(e.data.childId, e.data.reclaim) : null;
    case 'BudgetOverspent':
      return row('overspent', { amount: e.data.excess, held: e.data.reserved, ref: e.data.reservationId });
    case 'AgentRunRequested':
    case 'AgentStarted':
    case 'AgentCompleted':
    case 'AgentFailed':
    case 'AgentTerminated':
    case 'AgentTimedOut':
    case 'AgentTerminating':
    case 'ModelFailed':
    case 'ToolCalled':
    case 'ToolReturned':
    case 'MessageSent':
    case 'MessageReceived':
    case 'MessageAcked':
    case 'WorkspaceCreated':
    case 'WorkspaceCommitted':
    case 'WorkspaceMerged':
    case 'WorkspaceMergeConflicted':
    case 'WorkspaceRemoved':
    case 'WorkflowPlanned':
    case 'WorkflowPlanRejected':
    case 'NodeStarted':
    case 'NodeCompleted':
    case 'NodeFailed':
    case 'NodeSkipped':
    case 'ApprovalRequested':
    case 'ApprovalGranted':
    case 'ApprovalDenied':
      return null;
    default: {
      const never: never = e;
      return never;
    }
  }
}

/** The kind that opens what a closing row closes: a reservation (`ref`) or a delegation (`counterparty`). */
const OPENS = { ref: 'reserved', counterparty: 'delegated' } as const;
const OPENS_KIND: ReadonlySet<string> = new Set(Object.values(OPENS));

/**
 * The batch's movements with `held` resolved where the batch itself opened or closed the entry
 * before: only the newest open entry not closed since counts, so the last movement of an entry
 * decides (an open: its amount; a close: nothing left). The rest stay null for the statement's
 * lookup in the table, which holds only earlier positions.
 */
function resolveHeld(rows: LedgerRow[]): LedgerRow[] {
  const last = new Map<string, number>(); // entry → open amount, or 0 once closed
  const key = (agent: string, column: string, id: string): string => `${agent}\u0000${column}\u0000${id}`;
  for (const r of rows) {
    if (r.closes !== null) {
      const k = key(r.agent_id, r.closes, r[r.closes] ?? '');
      const held = last.get(k);
      if (held !== undefined) r.held = held;
      last.set(k, 0);
    } else if (OPENS_KIND.has(r.kind)) {
      const column = r.kind === OPENS.ref ? 'ref' : 'counterparty';
      last.set(key(r.agent_id, column, r[column] ?? ''), r.amount);
    }
  }
  return rows;
}

/**
 * One INSERT for a whole batch: a row per budget movement. A closing row's `held` is the
 * newest open entry with that reference not closed by a later row, exactly as
 * src/actors/budget.ts does with its maps: resolved in the batch (resolveHeld), else looked
 * up in the table. A released reservation returns what it held; a reclaim gets back
 * min(returned, delegated) and the rest stays spent in the child's subtree.
 */
function ledgerStatements(events: readonly ParsedEvent[], tables: TableNames): SqlStatement[] {
  const rows = events.map(movementOf).filter((r): r is LedgerRow => r !== null);
  if (rows.length === 0) return [];
  const t = tables.budget_ledger!;
  const open = (column: 'ref' | 'counterparty', closers: string): string =>
    `(SELECT o.amount FROM ${t} o WHERE o.agent_id = x.agent_id AND o.${column} = x.${column} AND o.kind = '${OPENS[column]}'
        AND NOT EXISTS (SELECT 1 FROM ${t} c WHERE c.agent_id = o.agent_id AND c.${column} = o.${column}
          AND c.kind IN (${closers}) AND c.position > o.position)
      ORDER BY o.position DESC LIMIT 1)`;
  return [build((p) => `INSERT INTO ${t} (position, agent_id, revision, kind, amount, held, spent, ref, counterparty, model, cost_usd, at)
    SELECT position, agent_id, revision, kind,
      CASE kind WHEN 'released' THEN h WHEN 'reclaimed' THEN least(returned, h) ELSE amount END,
      h, CASE kind WHEN 'reclaimed' THEN h - least(returned, h) + overspent ELSE 0 END,
      ref, counterparty, model, cost_usd, at
    FROM (SELECT x.*, coalesce(x.held, CASE x.closes
        WHEN 'ref' THEN ${open('ref', `'settled', 'released'`)}
        WHEN 'counterparty' THEN ${open('counterparty', `'reclaimed'`)} END, 0) AS h
      FROM jsonb_to_recordset(${p(resolveHeld(rows), 'jsonb')}) AS x(position bigint, agent_id text, revision bigint, kind text,
        amount bigint, held bigint, ref text, counterparty text, model text, cost_usd numeric, at timestamptz,
        closes text, returned bigint, overspent bigint)) y`)];
}
