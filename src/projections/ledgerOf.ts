import { totalTokens } from '../actors/ports/modelProvider.js';
import type { ParsedEvent } from '../events/upcast.js';
import { toSafeNumber } from '../events/safeNumber.js';

/** The kinds of budget movement the ledger lists. */
export type LedgerKind = 'allocated' | 'reserved' | 'settled' | 'released' | 'delegated' | 'reclaimed' | 'overspent';

/**
 * One budget movement of an agent:
 *
 * - `allocated`: the agent's stream opened with `amount` (counterparty: the parent);
 * - `reserved`: a model call held `amount` (`ref` = reservation id);
 * - `settled`: the call consumed `amount` and closed a reservation of `held`;
 * - `released`: a reservation of `amount` went back unused (`held` = `amount`);
 * - `delegated`: `amount` handed to child `counterparty`;
 * - `reclaimed`: child `counterparty` ended; its delegation of `held` closes, `amount` came
 *   back and `spent` stayed spent in its subtree (with what the subtree overspent);
 * - `overspent`: a reply used `amount` more than its reservation `ref` held (`held`). A record
 *   only: the `settled` row already carries the whole usage, so no balance sums it.
 */
export interface LedgerRow {
  readonly position: number;
  readonly agentId: string;
  readonly revision: number;
  readonly kind: LedgerKind;
  readonly amount: number;
  readonly held: number;
  readonly spent: number;
  readonly ref: string | null;
  readonly counterparty: string | null;
  readonly model: string | null;
  readonly costUsd: number;
  readonly at: string;
}

/** A movement before what it closes is known: `closes` names the column of the entry it closes. */
type Movement = Omit<LedgerRow, 'held' | 'spent'> & { held: number | null; closes: 'ref' | 'counterparty' | null; returned: number; overspent: number };

/** The one movement an event records; null for other events. Old pairs and their merged v2 events give the same row. */
function movementOf(e: ParsedEvent, agentId: string): Movement | null {
  const row = (kind: LedgerKind, fields: Partial<Movement>): Movement => ({
    position: toSafeNumber(e.position, 'position'), agentId, revision: toSafeNumber(e.revision, 'revision'), kind, amount: 0, held: 0,
    ref: null, counterparty: null, model: null, costUsd: 0, at: e.metadata.at, closes: null, returned: 0, overspent: 0, ...fields,
  });
  /** What `childId` gave back and its subtree spent: by a BudgetReclaimed, or by a ChildFinished v2 itself. */
  const reclaimed = (childId: string, r: { readonly returned: number; readonly overspent: number }): Movement =>
    row('reclaimed', { counterparty: childId, closes: 'counterparty', held: null, returned: r.returned, overspent: r.overspent });
  /** What call `ref` consumed, closing its reservation: by a BudgetSettled, or by a ModelReplied v2 itself. */
  const settled = (ref: string, consumed: number, model: string, costUsd: number): Movement =>
    row('settled', { amount: consumed, ref, closes: 'ref', held: null, model, costUsd });
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
    default:
      return null;
  }
}

/** The kind that opens what a closing row closes: a reservation (`ref`) or a delegation (`counterparty`). */
const OPENS = { ref: 'reserved', counterparty: 'delegated' } as const;

/**
 * An agent's budget ledger, derived from its stream (position order): one row per movement.
 * A closing row's `held` is what the newest open entry with its reference still held (0 if none
 * is open), exactly as src/actors/budget.ts does with its maps. A released reservation returns
 * what it held; a reclaim gets back min(returned, delegated), and the rest stays spent in the
 * child's subtree.
 *
 * It was a read model (`budget_ledger`, a row per movement): 5.25 rows and 1,556 bytes of every
 * agent step's 12,610 (`npm run bench -- workflow`), for a list read one agent at a time, which
 * its stream answers in one indexed read. The balances are the agents read model's columns.
 *
 * @example
 * const rows = ledgerOf(agentId, (await store.readStream(`agent-${agentId}`)).map(parseRecorded));
 */
export function ledgerOf(agentId: string, events: readonly ParsedEvent[]): LedgerRow[] {
  const fold = ledgerFold(agentId);
  fold.add(events);
  return fold.rows;
}

/**
 * `ledgerOf` a page at a time: each page's events are folded once, onto what the pages before
 * it left open, for a reader that stops once it has the rows it wants.
 *
 * @example
 * const fold = ledgerFold(agentId);
 * for (const page of pages) { fold.add(page); if (fold.rows.length >= 100) break; }
 */
export function ledgerFold(agentId: string): { add(events: readonly ParsedEvent[]): void; readonly rows: LedgerRow[] } {
  const open = new Map<string, number>(); // entry → what it holds, 0 once closed
  const key = (column: 'ref' | 'counterparty', id: string | null): string => `${column}\u0000${id ?? ''}`;
  const rows: LedgerRow[] = [];
  const add = (e: ParsedEvent): void => {
    const m = movementOf(e, agentId);
    if (m === null) return;
    const { closes, returned, overspent, ...rest } = m;
    let held = m.held ?? 0;
    let amount = m.amount;
    let spent = 0;
    if (closes !== null) {
      held = open.get(key(closes, m[closes])) ?? 0;
      open.set(key(closes, m[closes]), 0);
      if (m.kind === 'released') amount = held;
      if (m.kind === 'reclaimed') {
        amount = Math.min(returned, held);
        spent = held - amount + overspent;
      }
    } else if (m.kind === OPENS.ref) open.set(key('ref', m.ref), m.amount);
    else if (m.kind === OPENS.counterparty) open.set(key('counterparty', m.counterparty), m.amount);
    rows.push({ ...rest, held, amount, spent });
  };
  return { add: (events) => events.forEach(add), rows };
}
