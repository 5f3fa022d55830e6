import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { isInside } from './openRepository.js';

/**
 * Deletes what a `git worktree add` killed halfway leaves in `<commonDir>/worktrees/`:
 * admin folders still locked "initializing" (git writes that lock first and removes it
 * last) for worktrees under `basePath`, or with no `gitdir` file yet, older than
 * `olderThanMs` (a younger one may be another process's add in flight). `git worktree
 * prune` leaves locked ones alone, so without this they would stay forever. Returns the
 * worktree paths (or admin names) cleaned.
 *
 * @example
 * await removeHalfAddedWorktrees('/repo/.git', '/base', 30_000);
 */
export async function removeHalfAddedWorktrees(commonDir: string, basePath: string, olderThanMs: number): Promise<string[]> {
  const admin = join(commonDir, 'worktrees');
  let names: string[];
  try {
    names = await readdir(admin);
  } catch {
    return [];
  }
  const cleaned: string[] = [];
  for (const name of names) {
    const dir = join(admin, name);
    const locked = join(dir, 'locked');
    let reason: string;
    try {
      reason = (await readFile(locked, 'utf8')).trim();
      if (Date.now() - (await stat(locked)).mtimeMs < olderThanMs) continue;
    } catch {
      continue;
    }
    // `gitdir` holds the path of the worktree's `.git` file; it may be missing or empty if
    // the kill came before git wrote it.
    const gitdirFile = join(dir, 'gitdir');
    const gitdir = existsSync(gitdirFile) ? (await readFile(gitdirFile, 'utf8')).trim() : '';
    const worktree = gitdir === '' ? undefined : dirname(resolve(gitdir));
    // An empty lock and no gitdir: killed between creating the lock file and writing it.
    if (reason !== 'initializing' && !(reason === '' && worktree === undefined)) continue;
    if (worktree !== undefined && !isInside(basePath, worktree)) continue;
    if (worktree !== undefined) await rm(worktree, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
    cleaned.push(worktree ?? name);
  }
  return cleaned;
}
