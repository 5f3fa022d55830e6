import { flatten, type AgentNode } from './agentTree.js';
import type { BudgetStatus } from '../actors/budget.js';

/** A subtree's budget in one balance: `allocated + overspent = consumed + reserved + available`. */
export interface SubtreeBalance {
  readonly agents: number;
  /** The subtree root's grant. */
  readonly allocated: number;
  /** Spending past the grants that no ancestor has been charged yet. */
  readonly overspent: number;
  /** Every agent's. */
  readonly consumed: number;
  /** Every agent's (calls in flight). */
  readonly reserved: number;
  /** What agents still hold; an ended agent's unspent tokens count once, in its parent. */
  readonly available: number;
  readonly costUsd: number;
}

/** What the sum needs of each agent; `returned` is non-null once its parent took back its remainder. */
export interface BalanceRow {
  readonly budget: BudgetStatus;
  readonly returned: number | null;
  readonly costUsd: number;
}

/**
 * Sums a subtree so that it balances. Delegations cancel out (a child's grant is its parent's
 * `delegated`), and an agent whose parent took back its remainder (`returned`) counts neither
 * that remainder nor its overspend — both are in the parent's ledger now. Every ledger conserves
 * (budget.ts `overspent`), so the sums do too.
 *
 * @example
 * const b = subtreeBalance(await agentTree(system, lead.id));
 * b.allocated + b.overspent === b.consumed + b.reserved + b.available; // true
 */
export function subtreeBalance(root: AgentNode): SubtreeBalance {
  return sumBalance(root.budget.allocated, flatten(root));
}

/**
 * The same sum over rows gathered any other way (the subtree as it was at a revision,
 * `subtreeBalanceAt`); `allocated` is the subtree root's grant.
 *
 * @example
 * sumBalance(root.budget.allocated, [root, ...descendants]);
 */
export function sumBalance(allocated: number, agents: readonly BalanceRow[]): SubtreeBalance {
  let overspent = 0, consumed = 0, reserved = 0, available = 0, costUsd = 0;
  for (const n of agents) {
    consumed += n.budget.consumed;
    reserved += n.budget.reserved;
    costUsd += n.costUsd;
    if (n.returned !== null) continue;
    available += n.budget.available;
    overspent += n.budget.overspent;
  }
  return { agents: agents.length, allocated, overspent, consumed, reserved, available, costUsd };
}
