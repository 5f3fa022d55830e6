import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { agentBranch, agentIdOfBranch, AgentIdSchema } from './agentBranch.js';
import { shouldRemove, type AgentOutcome, type CleanupPolicy } from './cleanupPolicy.js';
import { createWorkspace } from './createWorkspace.js';
import { isInside } from './openRepository.js';
import { removeHalfAddedWorktrees } from './halfAdded.js';
import { removeStaleLocks } from './staleLocks.js';
import { TEMP_MERGE_PREFIX } from './mergeWorkspace.js';
import { dropWorktree, isHealthy, listWorktrees, withRepoLock, type WorkspaceContext } from './workspaceContext.js';
import type { ReconcileResult } from './workspaceTypes.js';

/** What recovery knows about an agent that still needs its worktree. */
export interface LiveAgent {
  readonly baseBranch?: string;
}

export interface ReconcileOptions {
  /** How orphans ended, from their events (start-up reads them); an orphan not listed counts as `terminated`. */
  readonly outcomes?: ReadonlyMap<string, AgentOutcome>;
  /** Agents whose worktrees are left as they are, though not live here (not ended yet, or another store's). */
  readonly keep?: ReadonlySet<string>;
  /** Also delete removed orphans' branches (default false: committed work stays reachable). */
  readonly deleteBranches?: boolean;
  /** Lock files and unfinished adds older than this are from dead git processes and are deleted (default 30 s). */
  readonly staleLockMs?: number;
}

/**
 * Makes the worktrees on disk agree with the agents that are alive: clears stale git
 * locks, drops half-added worktrees and temporary merge worktrees, prunes registrations
 * whose folders are gone, removes orphans (no live agent) as `policy` says, and recreates
 * live agents' missing worktrees from their branches.
 *
 * @example
 * await reconcileWorkspaces(ctx, new Map([['a1', { baseBranch: 'main' }]]), 'on_failure');
 */
export async function reconcileWorkspaces(
  ctx: WorkspaceContext,
  live: ReadonlyMap<string, LiveAgent>,
  policy: CleanupPolicy,
  options: ReconcileOptions = {},
): Promise<ReconcileResult> {
  const removed: string[] = [];
  const kept: string[] = [];
  const { basePath } = ctx.repo;

  await withRepoLock(ctx, async () => {
    const locks = await removeStaleLocks(ctx.repo.commonDir, options.staleLockMs ?? 30_000);
    if (locks.length > 0) ctx.log?.warn({ locks }, 'removed stale git lock files');
    const halfAdded = await removeHalfAddedWorktrees(ctx.repo.commonDir, basePath, options.staleLockMs ?? 30_000);
    if (halfAdded.length > 0) ctx.log?.warn({ worktrees: halfAdded }, 'removed worktrees whose add was interrupted');

    const entries = (await listWorktrees(ctx)).filter((e) => isInside(basePath, resolve(e.path)));
    for (const e of entries) {
      const agentId = agentIdOfBranch(e.branch);
      const isLive = agentId !== undefined && live.has(agentId);
      // Temporary merge worktrees and interrupted adds are never worth keeping; a live
      // agent's interrupted add is re-added below from its branch.
      if (agentId === undefined || e.locked === 'initializing') await dropWorktree(ctx, e.path);
      if (agentId === undefined || isLive) continue;
      if (options.keep?.has(agentId)) {
        kept.push(agentId);
        continue;
      }
      const outcome = options.outcomes?.get(agentId) ?? 'terminated';
      const gone = e.locked === 'initializing' || !isHealthy(e);
      if (gone || shouldRemove(policy, outcome)) {
        if (!gone) await dropWorktree(ctx, e.path);
        if (options.deleteBranches) await ctx.git.run(ctx.repo.root, ['branch', '--quiet', '-D', agentBranch(agentId)], { okCodes: [0, 1] });
        removed.push(agentId);
      } else {
        kept.push(agentId);
      }
    }
    await ctx.git.run(ctx.repo.root, ['worktree', 'prune']);

    // Folders in basePath git does not know: leftovers of adds killed before registering.
    const known = new Set((await listWorktrees(ctx)).map((e) => resolve(e.path)));
    // No folder yet: no worktree was ever added here.
    const names = await readdir(basePath).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
    for (const name of names) {
      const full = join(basePath, name);
      if (known.has(full)) continue;
      const ours = name.startsWith(TEMP_MERGE_PREFIX) || AgentIdSchema.safeParse(name).success;
      if (ours && !live.has(name) && !options.keep?.has(name)) await rm(full, { recursive: true, force: true });
    }
  });

  const recreated: string[] = [];
  for (const [agentId, agent] of live) {
    const ws = await createWorkspace(ctx, agentId, agent.baseBranch === undefined ? {} : { baseBranch: agent.baseBranch });
    if (ws.status !== 'existing') recreated.push(agentId);
  }
  if (removed.length + recreated.length > 0) ctx.log?.info({ removed, recreated, kept }, 'workspaces reconciled');
  return { removed, recreated, kept };
}
