import { BudgetExceeded, DELEGATING_TO_A_CHILD } from '../errors.js';

/**
 * An agent's token budget, in integers. Pure arithmetic: every operation is a function from
 * the ledger and a request to a new ledger, or a typed refusal. (DESIGN.md, Budgets.)
 */
export interface BudgetLedger {
  readonly allocated: number;
  readonly consumed: number;
  readonly reserved: number;
  readonly delegated: number;
  readonly spentBySubtree: number;
  readonly reclaimed: number;
  /** Open reservations by id (one per model call in flight). */
  readonly reservations: Readonly<Record<string, number>>;
  /** What each live child holds. */
  readonly delegations: Readonly<Record<string, number>>;
}

export interface BudgetStatus {
  readonly allocated: number;
  readonly consumed: number;
  readonly reserved: number;
  readonly delegated: number;
  readonly spentBySubtree: number;
  readonly reclaimed: number;
  readonly available: number;
  /**
   * How far spending went past `allocated` (a provider that reported more usage than was
   * reserved, here or in a child's subtree). With it every balance adds up:
   * `allocated + overspent = consumed + reserved + delegated + spentBySubtree + available`.
   */
  readonly overspent: number;
}

export const openLedger = (allocated: number): BudgetLedger => ({
  allocated,
  consumed: 0,
  reserved: 0,
  delegated: 0,
  spentBySubtree: 0,
  reclaimed: 0,
  reservations: {},
  delegations: {},
});

/** `allocated − consumed − reserved − delegated − spentBySubtree`, never below 0. */
export const available = (b: BudgetLedger): number =>
  Math.max(0, b.allocated - b.consumed - b.reserved - b.delegated - b.spentBySubtree);

/**
 * What was spent beyond `allocated`: `consumed + reserved + delegated + spentBySubtree −
 * allocated`, never below 0. `available` and `overspent` are the two sides of one difference,
 * so `allocated + overspent = consumed + reserved + delegated + spentBySubtree + available`
 * holds for every ledger (budget.unit.test.ts checks it with random overspends).
 */
export const overspent = (b: Pick<BudgetLedger, 'allocated' | 'consumed' | 'reserved' | 'delegated' | 'spentBySubtree'>): number =>
  Math.max(0, b.consumed + b.reserved + b.delegated + b.spentBySubtree - b.allocated);

export const budgetStatus = (b: BudgetLedger): BudgetStatus => ({
  allocated: b.allocated,
  consumed: b.consumed,
  reserved: b.reserved,
  delegated: b.delegated,
  spentBySubtree: b.spentBySubtree,
  reclaimed: b.reclaimed,
  available: available(b),
  overspent: overspent(b),
});

/** Refusal or nothing: used by deciders before they emit an event. */
export function checkReserve(agentId: string, b: BudgetLedger, amount: number): BudgetExceeded | null {
  return amount > available(b) ? new BudgetExceeded(agentId, amount, available(b), 'a model call reservation') : null;
}

export function checkDelegate(agentId: string, b: BudgetLedger, amount: number): BudgetExceeded | null {
  return amount > available(b) ? new BudgetExceeded(agentId, amount, available(b), DELEGATING_TO_A_CHILD) : null;
}

export const reserve = (b: BudgetLedger, id: string, amount: number): BudgetLedger => ({
  ...b,
  reserved: b.reserved + amount,
  reservations: { ...b.reservations, [id]: amount },
});

/** Replaces a reservation with what the call really used. */
export function settle(b: BudgetLedger, id: string, consumed: number): BudgetLedger {
  const held = b.reservations[id] ?? 0;
  const { [id]: _gone, ...rest } = b.reservations;
  return { ...b, reserved: b.reserved - held, consumed: b.consumed + consumed, reservations: rest };
}

export function release(b: BudgetLedger, id: string): BudgetLedger {
  return settle(b, id, 0);
}

export const delegate = (b: BudgetLedger, childId: string, amount: number): BudgetLedger => ({
  ...b,
  delegated: b.delegated + amount,
  delegations: { ...b.delegations, [childId]: amount },
});

/**
 * A child ended and gave back `returned` of what it was allocated; the rest it spent, and
 * `childOverspent` (its `overspent` when it ended) it spent beyond that: the subtree's whole
 * spending is charged here, so an overspend below shows up the chain.
 */
export function reclaim(b: BudgetLedger, childId: string, returned: number, childOverspent = 0): BudgetLedger {
  const allocated = b.delegations[childId] ?? 0;
  const { [childId]: _gone, ...rest } = b.delegations;
  const back = Math.min(returned, allocated);
  return {
    ...b,
    delegated: b.delegated - allocated,
    spentBySubtree: b.spentBySubtree + (allocated - back) + childOverspent,
    reclaimed: b.reclaimed + back,
    delegations: rest,
  };
}

/** What an ending agent hands back to its parent: everything not consumed here or below. */
export const unspent = (b: BudgetLedger): number => available(b);
