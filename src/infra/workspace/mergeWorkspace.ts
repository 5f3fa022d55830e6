import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { WorkspaceError } from '../../errors.js';
import { agentBranch } from './agentBranch.js';
import {
  dropWorktree, findAgentEntry, isHealthy, listWorktrees, refExists, withRepoLock, withWorktreeLock,
  type WorkspaceContext,
} from './workspaceContext.js';
import type { MergeResult } from './workspaceTypes.js';
import { splitNul } from './worktreeList.js';
import { ensureBasePath } from './openRepository.js';

/** Where to merge: another agent's worktree, or a named branch. */
export type MergeTarget = string | { readonly branch: string };

/** Prefix of the throwaway worktrees used to merge into a branch nobody has checked out. */
export const TEMP_MERGE_PREFIX = '.merge-';

/**
 * Merges `agents/<childId>` into the target: an agent's worktree, the worktree that has the
 * named branch checked out, or (if none has) a temporary worktree on that branch. A
 * conflict is aborted, the target left exactly as before, and reported as an outcome.
 *
 * @example
 * const r = await mergeWorkspace(ctx, 'child', 'parent');
 * if (r.status === 'conflict') console.log(r.files);
 */
export async function mergeWorkspace(ctx: WorkspaceContext, childId: string, target: MergeTarget): Promise<MergeResult> {
  const childBranch = agentBranch(childId);
  if (!(await refExists(ctx, `refs/heads/${childBranch}`))) throw new WorkspaceError(`agent ${childId} has no branch ${childBranch} to merge`);

  if (typeof target === 'string') {
    const entry = findAgentEntry(ctx, await listWorktrees(ctx), target);
    if (!entry || !isHealthy(entry)) throw new WorkspaceError(`agent ${target} has no usable worktree to merge ${childBranch} into`);
    const label = agentBranch(target);
    return withWorktreeLock(ctx, entry.path, () => withRepoLock(ctx, () => mergeIn(ctx, entry.path, childBranch, label)));
  }

  const branch = target.branch;
  if (!(await refExists(ctx, `refs/heads/${branch}`))) throw new WorkspaceError(`branch ${branch} does not exist in ${ctx.repo.root}`);
  const checkedOut = (await listWorktrees(ctx)).find((e) => e.branch === `refs/heads/${branch}`);
  if (checkedOut) {
    if (!isHealthy(checkedOut)) throw new WorkspaceError(`branch ${branch} is checked out in a broken worktree ${checkedOut.path}; reconcile first`);
    return withWorktreeLock(ctx, checkedOut.path, () => withRepoLock(ctx, () => mergeIn(ctx, checkedOut.path, childBranch, branch)));
  }
  return withRepoLock(ctx, async () => {
    const temp = join(ctx.repo.basePath, `${TEMP_MERGE_PREFIX}${randomUUID()}`);
    await ensureBasePath(ctx.repo);
    await ctx.git.run(ctx.repo.root, ['worktree', 'add', '--quiet', temp, branch]);
    try {
      return await mergeIn(ctx, temp, childBranch, branch);
    } finally {
      await dropWorktree(ctx, temp);
    }
  });
}

async function mergeIn(ctx: WorkspaceContext, path: string, childBranch: string, label: string): Promise<MergeResult> {
  const { git } = ctx;
  const dirty = await git.run(path, ['status', '--porcelain', '-z']);
  if (dirty.stdout !== '') {
    // `merge --abort` cannot always restore uncommitted changes, so a conflict could lose
    // them; the caller commits (and records WorkspaceCommitted) first.
    throw new WorkspaceError(`cannot merge ${childBranch} into ${label}: ${path} has uncommitted changes; commit them first`);
  }
  const oldHead = (await git.run(path, ['rev-parse', 'HEAD'])).stdout.trim();
  // By its full ref: a tag or remote branch of the same short name must not stand in for it.
  const childRef = `refs/heads/${childBranch}`;
  const ancestor = await git.run(path, ['merge-base', '--is-ancestor', childRef, 'HEAD'], { okCodes: [0, 1] });
  if (ancestor.code === 0) return { status: 'up_to_date' };

  const merge = await git.run(path, ['merge', '--no-ff', '--no-edit', '--no-verify', '-m', `Merge ${childBranch} into ${label}`, childRef], {
    okCodes: [0, 1, 2, 128],
  });
  if (merge.code === 0) {
    const commit = (await git.run(path, ['rev-parse', 'HEAD'])).stdout.trim();
    const files = splitNul((await git.run(path, ['diff', '--name-only', '-z', '--no-renames', oldHead, commit])).stdout);
    ctx.log?.info({ childBranch, into: label, commit, files: files.length }, 'merged');
    return { status: 'merged', commit, files };
  }

  const conflicted = splitNul((await git.run(path, ['diff', '--name-only', '-z', '--diff-filter=U'], { okCodes: [0, 1, 128] })).stdout);
  await restore(ctx, path, oldHead);
  if (conflicted.length === 0) {
    throw new WorkspaceError(`merging ${childBranch} into ${label} failed: ${merge.stderr.trim() || merge.stdout.trim()}`);
  }
  ctx.log?.info({ childBranch, into: label, files: conflicted }, 'merge conflict; aborted');
  return { status: 'conflict', files: conflicted };
}

/** Puts the worktree back to `oldHead` with nothing half-merged, whatever the merge left. */
async function restore(ctx: WorkspaceContext, path: string, oldHead: string): Promise<void> {
  const { git } = ctx;
  await git.run(path, ['merge', '--abort'], { okCodes: [0, 1, 128] });
  const head = (await git.run(path, ['rev-parse', 'HEAD'])).stdout.trim();
  const mergeHead = await git.run(path, ['rev-parse', '--verify', '--quiet', 'MERGE_HEAD'], { okCodes: [0, 1, 128] });
  const status = await git.run(path, ['status', '--porcelain', '-z']);
  if (head === oldHead && mergeHead.code !== 0 && status.stdout === '') return;
  // The tree was clean before the merge (checked above), so anything here came from it.
  ctx.log?.warn({ path }, 'merge --abort left changes; resetting hard');
  await git.run(path, ['reset', '--hard', '--quiet', oldHead]);
  await git.run(path, ['clean', '-fd', '--quiet']);
}
