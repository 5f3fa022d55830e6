import type { ParsedEvent } from '../../events/upcast.js';
import { agentIdOf, excerpt, type SqlStatement } from '../projection.js';
import { build, type Param } from '../sqlBuilder.js';
import { isRecordOnly } from './recordOnlyEvents.js';

/**
 * One UPDATE per agent row per batch. Applying agents.ts `handleAgentEvent` event by event
 * writes a new version of the agent's ~1 KB row for every event (17 per agent step of a 4-node
 * workflow, nearly all dead tuples at once); folding the batch's events of one agent gives the
 * same row from one UPDATE. Pure. Proven equal on random sequences against Postgres
 * (tests/int/batchFolds.int.test.ts).
 *
 * What folds how: counters add; `live_children` and `calls_in_flight`, which stop at 0, compose
 * into `greatest(x + d, lo)`; first-time stamps `coalesce`; set columns take the batch's last
 * value. A reservation or delegation opened and closed in the batch nets out here; one closed
 * that was opened before the batch still reads the row's jsonb map, in the same UPDATE.
 */

/** `x → greatest(x + d, lo)` (no `lo`: `x + d`): what a run of `+1` and `greatest(0, x - 1)` composes to. */
interface Clamp { readonly d: number; readonly lo: number | null }
const NONE: Clamp = { d: 0, lo: null };
const then = (c: Clamp, d: number, lo: number | null): Clamp => {
  const carried = c.lo === null ? null : c.lo + d;
  return { d: c.d + d, lo: lo === null ? carried : Math.max(carried ?? lo, lo) };
};

/** An open entry's amount, or closed in this batch. */
type Held = number | 'closed';

interface AgentFold {
  readonly agentId: string;
  count: number;
  lastRevision: bigint;
  lastPosition: bigint;
  runRequestedAt: string | null;
  startedAt: string | null;
  /** Columns the batch sets outright, last value wins: column → [value, cast]. */
  readonly sets: Map<string, readonly [unknown, string]>;
  children: number;
  readonly childOrder: string[];
  live: Clamp;
  calls: Clamp;
  modelCalls: number;
  reserved: number;
  readonly reservations: Map<string, Held>;
  /** Closed in the batch, opened before it: their amounts come from the row. */
  readonly reservationsFromBefore: string[];
  consumed: number;
  readonly costs: string[];
  delegated: number;
  spent: number;
  reclaimed: number;
  readonly delegations: Map<string, Held>;
  /** Reclaimed in the batch, delegated before it: [childId, returned]; the row holds what was delegated. */
  readonly reclaimsFromBefore: Array<{ c: string; r: number }>;
}

const newFold = (agentId: string): AgentFold => ({
  agentId, count: 0, lastRevision: 0n, lastPosition: 0n, runRequestedAt: null, startedAt: null, sets: new Map(),
  children: 0, childOrder: [], live: NONE, calls: NONE, modelCalls: 0,
  reserved: 0, reservations: new Map(), reservationsFromBefore: [], consumed: 0, costs: [],
  delegated: 0, spent: 0, reclaimed: 0, delegations: new Map(), reclaimsFromBefore: [],
});

/** Adds one event (not AgentSpawned) of the fold's agent. */
function add(f: AgentFold, e: ParsedEvent): void {
  f.count++;
  f.lastRevision = e.revision;
  f.lastPosition = e.position;
  const at = e.metadata.at;
  if (isRecordOnly(e)) return;
  const set = (column: string, value: unknown, cast: string): void => void f.sets.set(column, [value ?? null, cast]);
  const delegated = (childId: string, amount: number): void => {
    f.delegated += amount;
    f.delegations.set(childId, amount);
  };
  const reclaimed = (child: string, r: { readonly returned: number; readonly overspent: number }): void => {
    const held = f.delegations.get(child);
    f.spent += r.overspent;
    if (held === undefined) {
      f.reclaimsFromBefore.push({ c: child, r: r.returned });
    } else {
      // budget.ts `reclaim`, as agents.ts applies it: what was delegated leaves `delegated`.
      const amount = held === 'closed' ? 0 : held;
      const back = Math.min(r.returned, amount);
      f.delegated -= amount;
      f.spent += amount - back;
      f.reclaimed += back;
    }
    f.delegations.set(child, 'closed');
  };
  switch (e.type) {
    case 'AgentRunRequested':
      f.runRequestedAt ??= at;
      return;
    case 'AgentStarted':
      // A start recorded without a request before it was asked for in the same decision.
      f.runRequestedAt ??= at;
      f.startedAt ??= at;
      set('deadline', e.data.deadline, 'timestamptz');
      return;
    case 'ChildSpawned':
      f.children++;
      f.childOrder.push(e.data.childId);
      f.live = then(f.live, 1, null);
      if (e.data.delegatesBudget) delegated(e.data.childId, e.data.budget);
      return;
    case 'ChildFinished':
      f.live = then(f.live, -1, 0);
      // v2 returns the child's budget itself; a v1 record was followed by a BudgetReclaimed.
      if (e.data.reclaim) reclaimed(e.data.childId, e.data.reclaim);
      return;
    case 'WorkspaceCreated':
      set('workspace_path', e.data.path, 'text');
      set('workspace_branch', e.data.branch, 'text');
      return;
    case 'WorkspaceRemoved':
      set('workspace_path', null, 'text');
      set('workspace_branch', null, 'text');
      return;
    case 'AgentCompleted':
      ended(set, 'completed', at, e.data.returned);
      set('output', excerpt(e.data.output), 'text');
      return;
    case 'AgentFailed':
      ended(set, 'failed', at, e.data.returned);
      set('output', excerpt(e.data.partialOutput), 'text');
      set('failure_reason', excerpt(e.data.reason), 'text');
      set('failure_cause', e.data.cause, 'text');
      return;
    case 'AgentTerminated':
      ended(set, 'terminated', at, e.data.returned);
      set('failure_reason', excerpt(e.data.reason), 'text');
      set('terminated_by', e.data.by, 'text');
      return;
    case 'BudgetReserved':
      f.reserved += e.data.amount;
      f.reservations.set(e.data.reservationId, e.data.amount);
      return;
    case 'BudgetSettled':
    case 'BudgetReleased': {
      const id = e.data.reservationId;
      const held = f.reservations.get(id);
      if (held === undefined) f.reservationsFromBefore.push(id);
      else if (held !== 'closed') f.reserved -= held;
      f.reservations.set(id, 'closed');
      if (e.type === 'BudgetSettled') {
        f.consumed += e.data.consumed;
        f.costs.push(String(e.data.costUsd));
      }
      return;
    }
    case 'BudgetDelegated':
      delegated(e.data.childId, e.data.amount);
      return;
    case 'BudgetReclaimed':
      reclaimed(e.data.childId, e.data);
      return;
    case 'ModelRequested':
      f.calls = then(f.calls, 1, null);
      f.modelCalls++;
      return;
    case 'ModelReplied':
    case 'ModelFailed':
      f.calls = then(f.calls, -1, 0);
      return;
    case 'AgentSpawned': // its INSERT is not folded (foldAgentBatch)
      return;
    default: {
      const never: never = e;
      return never;
    }
  }
}

function ended(set: (column: string, value: unknown, cast: string) => void, status: string, at: string, returned: number): void {
  set('ended_status', status, 'text');
  set('ended_at', at, 'timestamptz');
  set('returned', returned, 'bigint');
}

const clampSql = (column: string, c: Clamp, p: Param): string =>
  c.lo === null ? `${column} + ${p(c.d, 'int')}` : `greatest(${column} + ${p(c.d, 'int')}, ${p(c.lo, 'int')})`;

/** Open entries as a jsonb object, closed ones as the keys to remove: the map's final state. */
function mapChange(held: ReadonlyMap<string, Held>): { added: Record<string, number>; removed: string[] } {
  const added: Record<string, number> = {};
  const removed: string[] = [];
  for (const [k, v] of held) if (v === 'closed') removed.push(k); else added[k] = v;
  return { added, removed };
}

/** The one UPDATE of a fold. */
function updateOf(f: AgentFold, table: string): SqlStatement {
  return build((p) => {
    const s: string[] = [
      `last_revision = ${p(f.lastRevision, 'bigint')}`, `last_position = ${p(f.lastPosition, 'bigint')}`, `event_count = event_count + ${p(f.count, 'bigint')}`,
    ];
    if (f.runRequestedAt !== null) s.push(`run_requested_at = coalesce(run_requested_at, ${p(f.runRequestedAt, 'timestamptz')})`);
    if (f.startedAt !== null) s.push(`started_at = coalesce(started_at, ${p(f.startedAt, 'timestamptz')})`);
    for (const [column, [value, cast]] of f.sets) s.push(`${column} = ${p(value, cast)}`);
    if (f.children > 0) s.push(`children = children + ${p(f.children, 'int')}`, `child_order = child_order || ${p(f.childOrder, 'jsonb')}`);
    if (f.live !== NONE) s.push(`live_children = ${clampSql('live_children', f.live, p)}`);
    if (f.calls !== NONE) s.push(`calls_in_flight = ${clampSql('calls_in_flight', f.calls, p)}`);
    if (f.modelCalls > 0) s.push(`model_calls = model_calls + ${p(f.modelCalls, 'int')}`);
    if (f.reservations.size > 0) {
      const { added, removed } = mapChange(f.reservations);
      const fromRow = f.reservationsFromBefore.length === 0 ? ''
        : ` - (SELECT coalesce(sum((reservations ->> k)::bigint), 0) FROM jsonb_array_elements_text(${p(f.reservationsFromBefore, 'jsonb')}) k)`;
      s.push(`reserved = reserved + ${p(f.reserved, 'bigint')}${fromRow}`,
        `reservations = (reservations - ARRAY(SELECT jsonb_array_elements_text(${p(removed, 'jsonb')}))) || ${p(added, 'jsonb')}`);
    }
    if (f.consumed !== 0) s.push(`consumed = consumed + ${p(f.consumed, 'bigint')}`);
    // Summed by Postgres: numeric, exactly as adding each settle's cost in turn.
    if (f.costs.length > 0) s.push(`cost_usd = cost_usd + (SELECT sum(x::numeric) FROM jsonb_array_elements_text(${p(f.costs, 'jsonb')}) x)`);
    if (f.delegations.size > 0) {
      const { added, removed } = mapChange(f.delegations);
      let delegated = `delegated + ${p(f.delegated, 'bigint')}`;
      let spent = `spent_by_subtree + ${p(f.spent, 'bigint')}`;
      let reclaimed = `reclaimed + ${p(f.reclaimed, 'bigint')}`;
      if (f.reclaimsFromBefore.length > 0) {
        const held = (what: string): string =>
          `(SELECT coalesce(sum(${what}), 0) FROM (SELECT coalesce((delegations ->> r.c)::bigint, 0) AS h, r.r FROM jsonb_to_recordset(${p(f.reclaimsFromBefore, 'jsonb')}) AS r(c text, r bigint)) x)`;
        delegated += ` - ${held('h')}`;
        spent += ` + ${held('h - least(r, h)')}`;
        reclaimed += ` + ${held('least(r, h)')}`;
      }
      s.push(`delegated = ${delegated}`, `spent_by_subtree = ${spent}`, `reclaimed = ${reclaimed}`,
        `delegations = (delegations - ARRAY(SELECT jsonb_array_elements_text(${p(removed, 'jsonb')}))) || ${p(added, 'jsonb')}`);
    }
    return `UPDATE ${table} SET ${s.join(', ')} WHERE agent_id = ${p(f.agentId, 'text')}`;
  });
}

/**
 * A batch's statements for the agents table: each AgentSpawned's INSERT (from `insertOf`), then
 * one UPDATE per agent for its other events. An agent's fold is flushed before an INSERT of
 * the same id, so an update never lands before the row it updates would exist.
 *
 * @example
 * foldAgentBatch(events, 'cadre.agents_v5_r0', (e) => handleAgentEvent(e, tables))
 */
export function foldAgentBatch(events: readonly ParsedEvent[], table: string, insertOf: (e: ParsedEvent) => SqlStatement[]): SqlStatement[] {
  const out: SqlStatement[] = [];
  const folds = new Map<string, AgentFold>();
  for (const e of events) {
    if (e.type === 'AgentSpawned') {
      const pending = folds.get(e.data.agentId);
      if (pending) {
        out.push(updateOf(pending, table));
        folds.delete(e.data.agentId);
      }
      out.push(...insertOf(e));
      continue;
    }
    const agentId = agentIdOf(e.streamId);
    if (agentId === null) continue;
    let f = folds.get(agentId);
    if (!f) folds.set(agentId, (f = newFold(agentId)));
    add(f, e);
  }
  for (const f of folds.values()) out.push(updateOf(f, table));
  return out;
}
