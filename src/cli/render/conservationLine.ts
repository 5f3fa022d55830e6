import type { BudgetStatus } from '../../actors/budget.js';

/**
 * The budget's conservation as printed arithmetic that holds, overspend included:
 * `allocated + overspent = consumed + reserved + delegated + spent by subtree + available`
 * (budget.ts `overspent`). Terms that are 0 are left out, except `available`.
 *
 * With `subtreeConsumed` (the agent and every descendant) and nothing in flight (no
 * reservation, no live child), every descendant has ended and `spentBySubtree` is exactly
 * what they consumed, so the line reads `allocated [+ overspent] = consumed + available`.
 *
 * @example
 * conservationLine(status) // "10000 allocated + 10100 overspent = 20100 consumed + 0 available"
 */
export function conservationLine(b: BudgetStatus, subtreeConsumed?: number): string {
  const left = `${b.allocated} allocated${b.overspent > 0 ? ` + ${b.overspent} overspent` : ''}`;
  if (subtreeConsumed !== undefined && b.reserved === 0 && b.delegated === 0) return `${left} = ${subtreeConsumed} consumed + ${b.available} available`;
  const terms: Array<[number, string]> = [[b.consumed, 'consumed'], [b.reserved, 'reserved'], [b.delegated, 'delegated'], [b.spentBySubtree, 'spent by subtree']];
  const right = terms.filter(([n], i) => i === 0 || n > 0).map(([n, what]) => `${n} ${what}`);
  return `${left} = ${[...right, `${b.available} available`].join(' + ')}`;
}
