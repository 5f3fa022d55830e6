import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { WorkspaceError } from '../../errors.js';
import { agentBranch } from './agentBranch.js';
import type { GitRunner } from './gitRunner.js';
import type { KeyedLocks } from './repoLock.js';
import { isInside, type RepositoryInfo } from './openRepository.js';
import { parseWorktreeList, type WorktreeEntry } from './worktreeList.js';

/** What every workspace operation needs: the repository, git, the locks, a logger. */
export interface WorkspaceContext {
  readonly repo: RepositoryInfo;
  readonly git: GitRunner;
  readonly locks: KeyedLocks;
  readonly log: Logger | undefined;
}

/**
 * Runs `fn` holding the repository's mutex (worktree add/remove/prune, branch create and
 * delete, merges). Take a worktree's lock first when both are needed, never the reverse.
 *
 * @example
 * await withRepoLock(ctx, () => ctx.git.run(ctx.repo.root, ['worktree', 'prune']));
 */
export const withRepoLock = <T>(ctx: WorkspaceContext, fn: () => Promise<T>): Promise<T> =>
  ctx.locks.withLock(`repo:${ctx.repo.commonDir}`, fn);

/**
 * Runs `fn` holding one worktree's mutex, so a commit and a merge into the same worktree
 * never share its index; different worktrees proceed in parallel.
 *
 * @example
 * await withWorktreeLock(ctx, path, () => ctx.git.run(path, ['add', '-A']));
 */
export const withWorktreeLock = <T>(ctx: WorkspaceContext, path: string, fn: () => Promise<T>): Promise<T> =>
  ctx.locks.withLock(`worktree:${path}`, fn);

/** Where an agent's worktree goes. @example agentPath(ctx, 'a1') // '<basePath>/a1' */
export const agentPath = (ctx: WorkspaceContext, agentId: string): string => join(ctx.repo.basePath, agentId);

/** @example await listWorktrees(ctx) // every worktree git knows, the main one first */
export async function listWorktrees(ctx: WorkspaceContext): Promise<WorktreeEntry[]> {
  const { stdout } = await ctx.git.run(ctx.repo.root, ['worktree', 'list', '--porcelain', '-z']);
  return parseWorktreeList(stdout);
}

/**
 * A worktree is usable when its directory and `.git` file exist and `git worktree add`
 * finished (git keeps the lock reason "initializing" until it has, so an add killed halfway
 * stays recognisable).
 *
 * @example
 * isHealthy(entry) // false for an entry whose folder was deleted
 */
export function isHealthy(entry: WorktreeEntry): boolean {
  return entry.prunable === undefined && entry.locked !== 'initializing' && existsSync(join(entry.path, '.git'));
}

/** The registered worktree of an agent: on its branch, or at its path. */
export function findAgentEntry(ctx: WorkspaceContext, entries: readonly WorktreeEntry[], agentId: string): WorktreeEntry | undefined {
  const ref = `refs/heads/${agentBranch(agentId)}`;
  const path = agentPath(ctx, agentId);
  return entries.find((e) => e.branch === ref) ?? entries.find((e) => resolve(e.path) === path);
}

/** @example await refExists(ctx, 'refs/heads/agents/a1') */
export async function refExists(ctx: WorkspaceContext, ref: string): Promise<boolean> {
  const r = await ctx.git.run(ctx.repo.root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { okCodes: [0, 1, 128] });
  return r.code === 0;
}

/** The commit a ref or branch names, or a WorkspaceError naming it. */
export async function resolveCommit(ctx: WorkspaceContext, ref: string, what: string): Promise<string> {
  const r = await ctx.git.run(ctx.repo.root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { okCodes: [0, 1, 128] });
  if (r.code !== 0) throw new WorkspaceError(`${what} ${ref} does not exist in ${ctx.repo.root}`);
  return r.stdout.trim();
}

/** The repository's checked-out branch, where root agents start. */
export async function currentBranch(ctx: WorkspaceContext): Promise<string> {
  const r = await ctx.git.run(ctx.repo.root, ['symbolic-ref', '--short', '--quiet', 'HEAD'], { okCodes: [0, 1, 128] });
  if (r.code !== 0) throw new WorkspaceError(`the HEAD of ${ctx.repo.root} is detached; pass baseBranch explicitly`);
  return r.stdout.trim();
}

// The base of an agent branch lives in the branch's own config section, which
// `git branch -D` deletes with the branch: nothing to clean up separately.
const baseKey = (agentId: string): string => `branch.${agentBranch(agentId)}.cadrebase`;

/** The commit and branch an agent's branch started from, as `create` stored them. */
export async function readBase(ctx: WorkspaceContext, agentId: string): Promise<{ commit: string; branch: string } | undefined> {
  const r = await ctx.git.run(ctx.repo.root, ['config', '--get', baseKey(agentId)], { okCodes: [0, 1] });
  const [commit, branch] = r.stdout.trim().split(' ');
  return r.code === 0 && commit && branch ? { commit, branch } : undefined;
}

/** Stores the base; call it holding the repository lock (it writes the shared config). */
export async function writeBase(ctx: WorkspaceContext, agentId: string, commit: string, branch: string): Promise<void> {
  await ctx.git.run(ctx.repo.root, ['config', baseKey(agentId), `${commit} ${branch}`]);
}

/**
 * Takes a worktree away whatever state it is in (half-added, locked, directory gone):
 * unlock, force-remove, delete leftovers under basePath, prune. Holding the repository lock.
 *
 * @example
 * await dropWorktree(ctx, '/base/a1');
 */
export async function dropWorktree(ctx: WorkspaceContext, path: string): Promise<void> {
  const root = ctx.repo.root;
  await ctx.git.run(root, ['worktree', 'unlock', path], { okCodes: [0, 1, 128] });
  await ctx.git.run(root, ['worktree', 'remove', '--force', '--force', path], { okCodes: [0, 1, 128] });
  // Never delete anything outside our own folder, whatever git reported.
  if (isInside(ctx.repo.basePath, resolve(path)) && existsSync(path)) await rm(path, { recursive: true, force: true });
  await ctx.git.run(root, ['worktree', 'prune']);
}
