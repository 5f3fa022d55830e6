import { WorkspaceError } from '../../errors.js';
import { agentBranch } from './agentBranch.js';
import { agentPath, findAgentEntry, isHealthy, listWorktrees, withWorktreeLock, type WorkspaceContext } from './workspaceContext.js';
import type { CommitResult } from './workspaceTypes.js';
import { isGitName } from './safePath.js';
import { splitNul } from './worktreeList.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The path of an agent's usable worktree, or a WorkspaceError saying it has none. */
export async function requireWorktree(ctx: WorkspaceContext, agentId: string): Promise<string> {
  const path = agentPath(ctx, agentId);
  // The common case needs no git process: our folder with its `.git` file.
  if (existsSync(join(path, '.git'))) return path;
  const entry = findAgentEntry(ctx, await listWorktrees(ctx), agentId);
  if (!entry || !isHealthy(entry)) throw new WorkspaceError(`agent ${agentId} has no usable worktree (reconcile or create it first)`);
  return entry.path;
}

/**
 * Commits everything in the agent's worktree (new, changed and deleted files) on its branch
 * as cadre; null when there is nothing to commit. Files under a name git takes for its own
 * directory (`.git.`, `git~1`: safePath `isGitName`), which an agent's command can make, are
 * left out and named in the message: git refuses them, and `git add --all` refused the whole
 * commit for one of them, so the agent's work never reached its branch. Worktrees have their own index, so
 * commits in different worktrees run in parallel; one worktree's commits and merges queue.
 *
 * @example
 * const c = await commitWorkspace(ctx, 'a1', 'write the parser'); // { commit: 'ab12…', files: ['src/p.ts'] } | null
 */
export async function commitWorkspace(ctx: WorkspaceContext, agentId: string, message: string): Promise<CommitResult | null> {
  const path = await requireWorktree(ctx, agentId);
  const { git } = ctx;
  return withWorktreeLock(ctx, path, async () => {
    const head = await git.run(path, ['symbolic-ref', '--quiet', 'HEAD'], { okCodes: [0, 1, 128] });
    const expected = `refs/heads/${agentBranch(agentId)}`;
    if (head.stdout.trim() !== expected) {
      throw new WorkspaceError(`worktree ${path} is on ${head.stdout.trim() || 'a detached HEAD'}, not ${expected}; refusing to commit there`);
    }
    const refused = splitNul((await git.run(path, ['ls-files', '--others', '--exclude-standard', '-z'])).stdout)
      .filter((f) => f.split('/').some(isGitName));
    await git.run(path, ['add', '--all', '--', '.', ...refused.map((f) => `:(exclude,literal)${f}`)]);
    const files = splitNul((await git.run(path, ['diff', '--cached', '--name-only', '-z', '--no-renames'])).stdout);
    if (files.length === 0) return null;
    if (refused.length > 0) ctx.log?.warn({ agentId, refused }, 'left out of the commit: names git refuses');
    const note = refused.length === 0 ? '' : `\n\nLeft out, names git refuses: ${refused.map((f) => JSON.stringify(f)).join(', ')}`;
    await git.run(path, ['commit', '--quiet', '--no-verify', '--allow-empty-message', '-m', message + note]);
    const commit = (await git.run(path, ['rev-parse', 'HEAD'])).stdout.trim();
    ctx.log?.debug({ agentId, commit, files: files.length }, 'committed');
    return { commit, files };
  });
}
