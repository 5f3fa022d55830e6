import { z } from 'zod';
import type { CleanupPolicy } from '../../actors/cleanupPolicy.js';

export { shouldRemove, type AgentOutcome, type CleanupPolicy } from '../../actors/cleanupPolicy.js';

/** `WORKSPACE_CLEANUP_POLICY`, checked where it comes in; the rule itself is shouldRemove. */
export const CleanupPolicySchema = z.enum(['on_completion', 'on_failure', 'never']) satisfies z.ZodType<CleanupPolicy>;
