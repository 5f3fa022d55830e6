import { WorkspaceError } from '../../errors.js';
import { agentBranch } from './agentBranch.js';
import { agentPath, findAgentEntry, isHealthy, listWorktrees, readBase, withWorktreeLock, type WorkspaceContext } from './workspaceContext.js';
import type { CommitResult } from './workspaceTypes.js';
import { isGitName, within } from './safePath.js';
import { splitNul } from './worktreeList.js';
import { existsSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';

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
    const outward = await unstageOutwardLinks(ctx, path, (await readBase(ctx, agentId))?.commit ?? 'HEAD');
    const files = splitNul((await git.run(path, ['diff', '--cached', '--name-only', '-z', '--no-renames'])).stdout);
    if (files.length === 0) return null;
    if (refused.length > 0) ctx.log?.warn({ agentId, refused }, 'left out of the commit: names git refuses');
    if (outward.length > 0) ctx.log?.warn({ agentId, links: outward }, 'left out of the commit: symbolic links that lead outside the repository');
    const note = (refused.length === 0 ? '' : `\n\nLeft out, names git refuses: ${refused.map((f) => JSON.stringify(f)).join(', ')}`)
      + (outward.length === 0 ? '' : `\n\nLeft out, symbolic links that lead outside the repository: ${outward.map((f) => JSON.stringify(f)).join(', ')}`);
    await git.run(path, ['commit', '--quiet', '--no-verify', '--allow-empty-message', '-m', message + note]);
    const commit = (await git.run(path, ['rev-parse', 'HEAD'])).stdout.trim();
    ctx.log?.debug({ agentId, commit, files: files.length }, 'committed');
    return { commit, files };
  });
}

/**
 * Takes back out of the index every symbolic link the agent added or changed since `base` (the
 * commit its branch started from) that leads outside the worktree (absolute, or climbing above
 * it from where it stands), and returns their paths. A model made `d/s -> /home/you/.ssh/id_rsa`
 * with `git apply` and it was committed and merged into your branch (an attacker's try): nothing
 * in cadre follows it, but your editor, build or backup might. Against the base, not HEAD: a
 * link the agent committed itself (`git commit`, with git allow-listed) was never in cadre's
 * commit and went up with the merge (the next try). Links the repository already held stay.
 */
async function unstageOutwardLinks(ctx: WorkspaceContext, path: string, base: string): Promise<string[]> {
  // `:old new oldsha newsha status\0path\0` per entry; links are mode 120000.
  const raw = splitNul((await ctx.git.run(path, ['diff', '--cached', '--raw', '-z', '--no-renames', '--diff-filter=AMT', base])).stdout);
  const outward: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.split(' ')[1] !== '120000') continue;
    const file = raw[i + 1]!;
    let target: string;
    try {
      target = await readlink(join(path, file));
    } catch {
      continue; // gone since it was staged: git commits what it staged, which the next check sees
    }
    if (isAbsolute(target) || !within(path, resolve(dirname(join(path, file)), target))) outward.push(file);
  }
  // Back to what the base holds: a new link leaves the index, a changed one is as it was.
  if (outward.length > 0) await ctx.git.run(path, ['reset', '--quiet', base, '--', ...outward.map((f) => `:(literal)${f}`)]);
  return outward;
}
