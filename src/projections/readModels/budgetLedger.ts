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
  version: 2,
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
      `CREATE INDEX ${indexName('budget_ledger', suffix, 'ref')} ON ${t} (agent_id, ref, position) WHERE ref IS NOT NULL`,
      `CREATE INDEX ${indexName('budget_ledger', suffix, 'party')} ON ${t} (agent_id, counterparty, position) WHERE kind IN ('delegated', 'reclaimed')`,
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
  handle: handleLedgerEvent,
};

/** The newest `openKind` row for `ref` not yet closed by a later `closeKinds` row. */
function openAmount(t: string, agent: string, refCol: 'ref' | 'counterparty', ref: string, openKind: string, closeKinds: string): string {
  return `coalesce((SELECT o.amount FROM ${t} o WHERE o.agent_id = ${agent} AND o.${refCol} = ${ref} AND o.kind = '${openKind}'
      AND NOT EXISTS (SELECT 1 FROM ${t} c WHERE c.agent_id = o.agent_id AND c.${refCol} = o.${refCol}
        AND c.kind IN (${closeKinds}) AND c.position > o.position)
    ORDER BY o.position DESC LIMIT 1), 0)`;
}

function handleLedgerEvent(e: ParsedEvent, tables: TableNames): SqlStatement[] {
  const t = tables.budget_ledger!;
  const agentId = e.type === 'AgentSpawned' ? e.data.agentId : agentIdOf(e.streamId);
  if (agentId === null) return [];
  const at = e.metadata.at;
  const cols = `position, agent_id, revision, kind, amount, held, spent, ref, counterparty, model, cost_usd, at`;
  type Row = { kind: LedgerKind; amount: string; held?: string; spent?: string; ref?: string; party?: string; model?: string; cost?: string; from?: string };
  const insert = (row: (p: (v: unknown, type: string) => string, agent: string) => Row): SqlStatement[] => [
    build((p) => {
      const agent = p(agentId, 'text');
      const r = row(p, agent);
      return `INSERT INTO ${t} (${cols}) SELECT ${p(e.position, 'bigint')}, ${agent}, ${p(e.revision, 'bigint')}, '${r.kind}',
        ${r.amount}, ${r.held ?? '0'}, ${r.spent ?? '0'}, ${r.ref ?? 'NULL'}, ${r.party ?? 'NULL'}, ${r.model ?? 'NULL'},
        ${r.cost ?? '0'}, ${p(at, 'timestamptz')}${r.from ?? ''}`;
    }),
  ];
  /** What `childId` gave back and its subtree spent: by a BudgetReclaimed, or by a ChildFinished v2 itself. */
  const reclaimed = (childId: string, r: { readonly returned: number; readonly overspent: number }): SqlStatement[] =>
    insert((p, agent) => {
      const child = p(childId, 'text');
      const held = openAmount(t, agent, 'counterparty', child, 'delegated', `'reclaimed'`);
      return {
        kind: 'reclaimed', amount: 'x.back', held: 'x.held', spent: `x.held - x.back + ${p(r.overspent, 'bigint')}`, party: child,
        // budget.ts `reclaim`: back = min(returned, what was delegated); computed once here.
        from: ` FROM (SELECT h.held, least(${p(r.returned, 'bigint')}, h.held) AS back FROM (SELECT ${held} AS held) h) x`,
      };
    });
  switch (e.type) {
    case 'AgentSpawned':
      return insert((p) => ({ kind: 'allocated', amount: p(e.data.budget, 'bigint'), party: p(e.data.parentId, 'text') }));
    case 'BudgetReserved':
      return insert((p) => ({ kind: 'reserved', amount: p(e.data.amount, 'bigint'), ref: p(e.data.reservationId, 'text') }));
    case 'BudgetSettled':
      return insert((p, agent) => {
        const ref = p(e.data.reservationId, 'text');
        return {
          kind: 'settled', amount: p(e.data.consumed, 'bigint'), ref, model: p(e.data.model, 'text'), cost: p(e.data.costUsd, 'numeric'),
          held: openAmount(t, agent, 'ref', ref, 'reserved', `'settled', 'released'`),
        };
      });
    case 'BudgetReleased':
      return insert((p, agent) => {
        const ref = p(e.data.reservationId, 'text');
        const held = openAmount(t, agent, 'ref', ref, 'reserved', `'settled', 'released'`);
        return { kind: 'released', amount: held, held, ref };
      });
    case 'BudgetDelegated':
      return insert((p) => ({ kind: 'delegated', amount: p(e.data.amount, 'bigint'), party: p(e.data.childId, 'text') }));
    case 'ChildSpawned':
      // v3 delegates the child's budget itself; v1 and v2 were followed by a BudgetDelegated.
      return e.data.delegatesBudget ? insert((p) => ({ kind: 'delegated', amount: p(e.data.budget, 'bigint'), party: p(e.data.childId, 'text') })) : [];
    case 'BudgetReclaimed':
      return reclaimed(e.data.childId, e.data);
    case 'ChildFinished':
      // v2 returns the child's budget itself; a v1 record was followed by a BudgetReclaimed.
      return e.data.reclaim ? reclaimed(e.data.childId, e.data.reclaim) : [];
    case 'BudgetOverspent':
      return insert((p) => ({ kind: 'overspent', amount: p(e.data.excess, 'bigint'), held: p(e.data.reserved, 'bigint'), ref: p(e.data.reservationId, 'text') }));
    case 'AgentRunRequested':
    case 'AgentStarted':
    case 'AgentCompleted':
    case 'AgentFailed':
    case 'AgentTerminated':
    case 'AgentTimedOut':
    case 'AgentTerminating':
    case 'ModelRequested':
    case 'ModelReplied':
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
      return [];
    default: {
      const never: never = e;
      return never;
    }
  }
}
