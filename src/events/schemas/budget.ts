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
/** The child's allocation leaves `delegated`; `returned` becomes available; the rest was spent. */
export const BudgetReclaimed = z.object({ childId: AgentId, allocated: Tokens, returned: Tokens, spent: Tokens });
