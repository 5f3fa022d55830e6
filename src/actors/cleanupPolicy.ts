/** When an ended agent's worktree is removed (`WORKSPACE_CLEANUP_POLICY`). */
export type CleanupPolicy = 'on_completion' | 'on_failure' | 'never';

/** How an agent ended, as far as its workspace cares. */
export type AgentOutcome = 'completed' | 'failed' | 'terminated';

/**
 * Whether to remove the worktree of an agent that ended with `outcome`: `on_completion` removes
 * on every end, `on_failure` keeps the worktree of every agent that did not complete (failed, or
 * terminated: a timeout, a fire or an operator's stop) for inspection and removes the rest,
 * `never` keeps them all. The one rule for the runtime's cleanup at an agent's end and for the
 * reconciliation of orphaned worktrees at start-up.
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
      return outcome === 'completed';
    case 'never':
      return false;
    default: {
      const unreachable: never = policy;
      throw new Error(`unknown cleanup policy ${String(unreachable)}`);
    }
  }
}
