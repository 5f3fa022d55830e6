import type { AgentRuntime } from '../actors/runtime.js';
import type { AgentContext } from '../actors/agentContext.js';
import type { Logger } from '../actors/ports/runtimePorts.js';
import type { AgentOutcome, CleanupPolicy } from '../actors/cleanupPolicy.js';
import { NotFound } from '../errors.js';
import type { AgentEnd } from '../infra/workspace/cleanupWorkspaces.js';
import type { createWorkspacePort } from '../infra/workspace/workspacePort.js';

/**
 * Before recovery starts any effect: worktrees on disk made to agree with the streams. A process
 * killed mid `git worktree add` or mid-merge leaves a half-added or temporary worktree that no
 * event records; agents that recorded a worktree and are not yet settled keep theirs. Systems
 * whose live agents never asked for a worktree never touch git here.
 */
export async function reconcileWorktrees(
  contexts: readonly AgentContext[],
  port: ReturnType<typeof createWorkspacePort>,
  policy: CleanupPolicy,
  logger: Logger,
  endOf: (agentId: string) => Promise<AgentEnd>,
): Promise<void> {
  if (!contexts.some((c) => c.workspaceRequest !== null)) return;
  const live = new Map<string, { baseBranch?: string }>();
  for (const c of contexts) if (c.workspace && !c.workspaceRemoved) live.set(c.id, c.workspace.baseBranch ? { baseBranch: c.workspace.baseBranch } : {});
  // Git being unavailable must not stop the system from starting: agents' own workspace steps
  // retry, and the next start reconciles again.
  try {
    const manager = await port.manager();
    // An orphan (a worktree no live agent holds) is judged by how its agent ended, read from its
    // events, so a worktree the policy kept at the agent's end is kept at every start too. One
    // whose agent has not ended (spawned since the live list was read) or that this store does not
    // know (another store on this repository may be running it) is not this start's to judge.
    const outcomes = new Map<string, AgentOutcome>();
    const keep = new Set<string>();
    for (const w of await manager.list()) {
      if (live.has(w.agentId)) continue;
      const end = await endOf(w.agentId);
      if (end === 'live' || end === 'unknown') keep.add(w.agentId);
      else outcomes.set(w.agentId, end);
    }
    await manager.reconcile(live, policy, { outcomes, keep });
  } catch (err) {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'worktree reconciliation failed; continuing');
  }
}

/** How an agent stands, from its events: its outcome, `live` until it has one, `unknown` if this store has no such agent. */
export async function endOf(runtime: AgentRuntime, agentId: string): Promise<AgentEnd> {
  const state = await runtime.state(agentId).catch((err: unknown) => (err instanceof NotFound ? null : Promise.reject(err)));
  if (!state) return 'unknown';
  const status = state.status;
  return status === 'completed' || status === 'failed' || status === 'terminated' ? status : 'live';
}
