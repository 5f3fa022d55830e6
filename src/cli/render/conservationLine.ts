import type { BudgetStatus } from '../../actors/budget.js';

/**
 * The budget's conservation as printed arithmetic that holds, overspend included:
 * `allocated + overspent = consumed + reserved + delegated + spent by subtree + available`
 * (budget.ts `overspent`). Terms that are 0 are left out, except `available`, which an ended
 * child no longer holds: its remainder went back to its parent when it ended, and is named so.
 *
 * @example
 * conservationLine(status) // "10000 allocated + 10100 overspent = 20100 consumed + 0 available"
 * conservationLine(child, { returnedToParent: true }) // "5000 allocated = 150 consumed + 4850 returned to its parent"
 */
export function conservationLine(b: BudgetStatus, o: { returnedToParent?: boolean } = {}): string {
  const left = `${b.allocated} allocated${b.overspent > 0 ? ` + ${b.overspent} overspent` : ''}`;
  const terms: Array<[number, string]> = [[b.consumed, 'consumed'], [b.reserved, 'reserved'], [b.delegated, 'delegated'], [b.spentBySubtree, 'spent by subtree']];
  const right = terms.filter(([n], i) => i === 0 || n > 0).map(([n, what]) => `${n} ${what}`);
  return `${left} = ${[...right, `${b.available} ${remainderName(o.returnedToParent ?? false)}`].join(' + ')}`;
}

/** What an agent's unspent tokens are: still its own, or (an ended child's) returned to its parent. */
export function remainderName(returnedToParent: boolean): string {
  return returnedToParent ? 'returned to its parent' : 'available';
}

/** Whether an agent's remainder went back to its parent: it ended and has one (budget --subtree's RETURNED). */
export const returnedToParent = (s: { readonly result: unknown; readonly parentId: string | null }): boolean => s.result !== null && s.parentId !== null;

/**
 * A whole subtree's balance, from the sums of its rows: `allocated [+ overspent] = consumed +
 * reserved + available`, where consumed and reserved are every agent's, available counts only
 * agents that still hold theirs (an ended agent's went to its parent), and overspent is what no
 * ancestor has been charged yet. Delegations cancel out: a child's grant is its parent's
 * `delegated`. Holds because every ledger conserves (budget.ts `overspent`).
 *
 * @example
 * subtreeBalanceLine({ allocated: 50000, overspent: 0, consumed: 20100, reserved: 0, available: 29900 })
 * // "subtree: 50000 allocated = 20100 consumed + 29900 available"
 */
export function subtreeBalanceLine(t: { allocated: number; overspent: number; consumed: number; reserved: number; available: number }): string {
  const left = `${t.allocated} allocated${t.overspent > 0 ? ` + ${t.overspent} overspent` : ''}`;
  return `subtree: ${left} = ${t.consumed} consumed${t.reserved > 0 ? ` + ${t.reserved} reserved` : ''} + ${t.available} available`;
}
