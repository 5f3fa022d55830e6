import { z } from 'zod';

/** When an ended agent's worktree is removed (`WORKSPACE_CLEANUP_POLICY`). */
export const CleanupPolicySchema = z.enum(['on_completion', 'on_failure', 'never']);
export type CleanupPolicy = z.infer<typeof CleanupPolicySchema>;

/** How an agent ended, as far as its workspace cares. */
export type AgentOutcome = 'completed' | 'failed' | 'terminated';

/**
 * Whether to remove the worktree of an agent that ended with `outcome`:
 * `on_completion` removes on every end, `on_failure` keeps failed agents' worktrees for
 * inspection and removes the rest, `never` keeps them all.
 *
 * @example
 * shouldRemove('on_failure', 'failed');    // false: kept for inspection
 * shouldRemove('on_failure', 'completed'); // true
 */
export function shouldRemove(policy: CleanupPolicy, outcome: AgentOutcome): boolean {
  switch (policy) {
    case 'on_completion':
      return true;
    case 'on_failure':
      return outcome !== 'failed';
    case 'never':
      return false;
    default: {
      const unreachable: never = policy;
      throw new Error(`unknown cleanup policy ${String(unreachable)}`);
    }
  }
}
