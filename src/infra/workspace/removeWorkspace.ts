import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { WorkspaceError } from '../../errors.js';
import { agentBranch } from './agentBranch.js';
import {
  agentPath, dropWorktree, findAgentEntry, listWorktrees, readBase, refExists, withRepoLock, withWorktreeLock, type WorkspaceContext,
} from './workspaceContext.js';
import type { KeepUnsaved } from '../../actors/ports/workspacePort.js';
import type { RemoveResult } from './workspaceTypes.js';

export interface RemoveOptions {
  /** Also delete `agents/<id>` (and its stored base). Default false: the work stays reachable. */
  readonly deleteBranch?: boolean;
  /** Remove even with uncommitted changes or a lock. Default false: such a worktree is refused. */
  readonly force?: boolean;
  /**
   * Before all else, leave a worktree holding files its HEAD does not and answer `kept: true`:
   * an ended agent's work its last commit could not take (KeepUnsaved says which files count).
   */
  readonly keepUnsaved?: KeepUnsaved;
}

/**
 * Removes an agent's worktree (and its branch when asked), then prunes git's records.
 * Removing what is not there is not an error: `removed` says whether anything was.
 *
 * @example
 * await removeWorkspace(ctx, 'a1', { deleteBranch: true }); // { removed: true, branchDeleted: true }
 */
export async function removeWorkspace(ctx: WorkspaceContext, agentId: string, options: RemoveOptions = {}): Promise<RemoveResult> {
  const path = agentPath(ctx, agentId);
  // The repository itself is gone (an interrupted `cadre demo` deleted its own): nothing of the
  // worktree is left to remove, and git cannot run there; the ending retried this for ever.
  if (!existsSync(ctx.repo.root) && !existsSync(path)) return { removed: false, branchDeleted: false };
  return withWorktreeLock(ctx, path, () =>
    withRepoLock(ctx, async () => {
      const { git, repo } = ctx;
      const entry = findAgentEntry(ctx, await listWorktrees(ctx), agentId);
      let removed = false;
      if (entry && options.keepUnsaved && existsSync(entry.path)) {
        const countIgnored = options.keepUnsaved === 'all' || (await ignoresChanged(ctx, entry.path, agentId));
        const unsaved = await git.run(entry.path, ['status', '--porcelain', '-z', ...(countIgnored ? ['--ignored'] : []), '--untracked-files=all'], { okCodes: [0, 128] });
        if (unsaved.stdout !== '') return { removed: false, branchDeleted: false, kept: true };
      }
      if (entry) {
        if (!options.force && existsSync(entry.path)) {
          const dirty = await git.run(entry.path, ['status', '--porcelain', '-z'], { okCodes: [0, 128] });
          if (dirty.stdout !== '') throw new WorkspaceError(`worktree of agent ${agentId} at ${entry.path} has uncommitted changes; commit them or pass force`);
        }
        if (options.force || entry.prunable !== undefined) await dropWorktree(ctx, entry.path);
        else await git.run(repo.root, ['worktree', 'remove', entry.path]);
        removed = true;
      } else if (existsSync(path)) {
        await rm(path, { recursive: true, force: true });
        removed = true;
      }
      let branchDeleted = false;
      const branch = agentBranch(agentId);
      if (options.deleteBranch && (await refExists(ctx, `refs/heads/${branch}`))) {
        await git.run(repo.root, ['branch', '--quiet', '-D', branch]);
        branchDeleted = true;
      }
      await git.run(repo.root, ['worktree', 'prune']);
      ctx.log?.debug({ agentId, removed, branchDeleted }, 'worktree removed');
      return { removed, branchDeleted };
    }),
  );
}

/**
 * Whether the agent wrote or changed a .gitignore anywhere in its worktree since its base:
 * tracked ones that differ (committed or not), or new ones, ignored themselves or not (a `*`
 * ignores its own .gitignore). A model's `*` hid its work from the commit and the worktree went
 * with it (a trial's); the repository's own ignores hide build output, which may go.
 */
async function ignoresChanged(ctx: WorkspaceContext, path: string, agentId: string): Promise<boolean> {
  const base = (await readBase(ctx, agentId))?.commit ?? 'HEAD';
  const pattern = ':(glob)**/.gitignore';
  const changed = await ctx.git.run(path, ['diff', '--name-only', '-z', base, '--', pattern], { okCodes: [0, 128] });
  if (changed.stdout !== '') return true;
  const added = await ctx.git.run(path, ['ls-files', '--others', '-z', '--', pattern], { okCodes: [0, 128] });
  return added.stdout !== '';
}
