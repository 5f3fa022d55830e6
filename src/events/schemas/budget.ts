import { z } from 'zod';
import { AgentId, Tokens } from './common.js';

export const BudgetReserved = z.object({ reservationId: z.string(), amount: Tokens });
export const BudgetSettled = z.object({
  reservationId: z.string(),
  consumed: Tokens,
  model: z.string(),
  costUsd: z.number().nonnegative(),
});
export const BudgetReleased = z.object({ reservationId: z.string(), reason: z.string() });
export const BudgetDelegated = z.object({ childId: AgentId, amount: Tokens });
/**
 * The child's allocation leaves `delegated`; `returned` becomes available; the rest was spent,
 * and `overspent` (v2) is what the child's subtree spent beyond its allocation: it is charged
 * to this agent too (`spent` includes it). v1 events are read with `overspent: 0`.
 */
export const BudgetReclaimed = z.object({ childId: AgentId, allocated: Tokens, returned: Tokens, spent: Tokens, overspent: Tokens });
/**
 * A reply reported more usage than its reservation held (a provider that under-reserved or
 * misreports). The real usage is settled in full by the BudgetSettled beside it; this records
 * the excess on its own, and the agent ends failed with cause `budget_exceeded`.
 */
export const BudgetOverspent = z.object({ reservationId: z.string(), reserved: Tokens, consumed: Tokens, excess: Tokens });
