import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { WorkspaceError } from '../../errors.js';
import { agentBranch } from './agentBranch.js';
import {
  agentPath, currentBranch, dropWorktree, findAgentEntry, isHealthy, listWorktrees, readBase, refExists, resolveCommit,
  withRepoLock, writeBase, type WorkspaceContext,
} from './workspaceContext.js';
import type { WorkspaceInfo } from './workspaceTypes.js';
import { ensureBasePath } from './openRepository.js';

/**
 * Gives `agentId` a worktree on `agents/<agentId>`, idempotently: a healthy one is returned
 * as it is; one left broken (directory deleted, `worktree add` killed halfway) is dropped
 * and re-added from the surviving branch; otherwise the branch starts at `baseBranch`
 * (default: the repository's current branch). Holds the repository lock for every change.
 *
 * @example
 * const ws = await createWorkspace(ctx, 'a1', { baseBranch: 'agents/root' });
 */
export async function createWorkspace(ctx: WorkspaceContext, agentId: string, options: { baseBranch?: string } = {}): Promise<WorkspaceInfo> {
  const path = agentPath(ctx, agentId);
  if (!existsSync(path)) {
    // Fast path, the common case: nothing of this agent on disk. Resolving the base is a
    // read and stays outside the lock; the add starts from that exact commit even if the
    // base branch moves on meanwhile.
    const baseName = options.baseBranch ?? (await currentBranch(ctx));
    const baseCommit = await resolveCommit(ctx, baseName, 'base').catch(() => undefined);
    // An unknown base may still be fine when the agent's branch survives: the slow path knows.
    const fresh = baseCommit === undefined ? undefined : await withRepoLock(ctx, () => addFresh(ctx, agentId, baseName, baseCommit));
    if (fresh) return fresh;
  }
  return withRepoLock(ctx, () => createLocked(ctx, agentId, options.baseBranch));
}

/** Adds a new branch and worktree; undefined when git refuses because something exists already. */
async function addFresh(ctx: WorkspaceContext, agentId: string, baseName: string, baseCommit: string): Promise<WorkspaceInfo | undefined> {
  const branch = agentBranch(agentId);
  const path = agentPath(ctx, agentId);
  if (existsSync(path)) return undefined;
  await ensureBasePath(ctx.repo);
  try {
    await ctx.git.run(ctx.repo.root, ['worktree', 'add', '--quiet', '-b', branch, path, baseCommit]);
  } catch (e) {
    // The branch "already exists" or the worktree is "already registered": inspect instead.
    if (e instanceof WorkspaceError && /already exists|already registered|already checked out|is a missing but/i.test(e.message)) return undefined;
    throw e;
  }
  // Written after the add: if this process dies in between, `readBase` is missing and the
  // base is recovered with merge-base instead.
  await writeBase(ctx, agentId, baseCommit, baseName);
  ctx.log?.debug({ agentId, path, branch, baseCommit }, 'worktree created');
  return { agentId, path, branch, baseBranch: baseName, baseCommit, status: 'created' };
}

async function createLocked(ctx: WorkspaceContext, agentId: string, baseBranch: string | undefined): Promise<WorkspaceInfo> {
  const { git, repo } = ctx;
  const branch = agentBranch(agentId);
  const path = agentPath(ctx, agentId);
  const entry = findAgentEntry(ctx, await listWorktrees(ctx), agentId);

  if (entry && isHealthy(entry)) {
    if (entry.branch !== `refs/heads/${branch}`) {
      throw new WorkspaceError(`worktree ${entry.path} of agent ${agentId} is on ${entry.branch ?? 'a detached HEAD'}, not ${branch}`);
    }
    const base = await readBase(ctx, agentId);
    const baseName = baseBranch ?? base?.branch ?? (await currentBranch(ctx));
    return { agentId, path: entry.path, branch, baseBranch: baseName, baseCommit: base?.commit ?? (await mergeBase(ctx, branch, baseName)), status: 'existing' };
  }

  if (entry) {
    ctx.log?.warn({ agentId, path: entry.path, locked: entry.locked, prunable: entry.prunable }, 'dropping a broken worktree before re-adding it');
    await dropWorktree(ctx, entry.path);
  } else if (existsSync(path)) {
    // A folder at our path that git does not know: leftovers of an interrupted add.
    await rm(path, { recursive: true, force: true });
    await git.run(repo.root, ['worktree', 'prune']);
  }

  if (await refExists(ctx, `refs/heads/${branch}`)) {
    const base = await readBase(ctx, agentId);
    const baseName = baseBranch ?? base?.branch ?? (await currentBranch(ctx));
    const baseCommit = base?.commit ?? (await mergeBase(ctx, branch, baseName));
    if (!base) await writeBase(ctx, agentId, baseCommit, baseName);
    await ensureBasePath(repo);
    await git.run(repo.root, ['worktree', 'add', '--quiet', path, branch]);
    ctx.log?.info({ agentId, path, branch }, 'worktree recreated from its branch');
    return { agentId, path, branch, baseBranch: baseName, baseCommit, status: 'recreated' };
  }

  const baseName = baseBranch ?? (await currentBranch(ctx));
  const baseCommit = await resolveCommit(ctx, baseName, 'base');
  await ensureBasePath(repo);
  await git.run(repo.root, ['worktree', 'add', '--quiet', '-b', branch, path, baseCommit]);
  await writeBase(ctx, agentId, baseCommit, baseName);
  ctx.log?.debug({ agentId, path, branch, baseCommit }, 'worktree created');
  return { agentId, path, branch, baseBranch: baseName, baseCommit, status: 'created' };
}

async function mergeBase(ctx: WorkspaceContext, branch: string, base: string): Promise<string> {
  const r = await ctx.git.run(ctx.repo.root, ['merge-base', branch, base], { okCodes: [0, 1, 128] });
  if (r.code !== 0) throw new WorkspaceError(`cannot tell where ${branch} started: no common history with ${base}`);
  return r.stdout.trim();
}
