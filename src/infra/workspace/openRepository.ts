import { mkdir, realpath } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { WorkspaceError } from '../../errors.js';
import type { GitRunner } from './gitRunner.js';
import { within } from './safePath.js';

/** Where a repository and its cadre worktrees live, all as real paths. */
export interface RepositoryInfo {
  /** The main work tree. */
  readonly root: string;
  /** The git directory shared by all worktrees (the lock key). */
  readonly commonDir: string;
  /** The folder that holds one worktree per agent. */
  readonly basePath: string;
}

/** True when `child` is strictly inside `parent` (both absolute, normalised). */
export function isInside(parent: string, child: string): boolean {
  return relative(parent, child) !== '' && within(parent, child);
}

/**
 * Checks that `repo` is a non-bare git repository and settles where worktrees go: by
 * default `<repo>/../.cadre-worktrees/<repo-name>`, outside the work tree so the main
 * checkout never sees agents' files as untracked (or `git add -A` them as embedded repos).
 * Creates nothing: the folder is made by `ensureBasePath` when the first worktree is added
 * (opening the manager to list or clean up left an empty folder beside every repository).
 *
 * @example
 * const info = await openRepository(git, '/src/app');
 * // { root: '/src/app', commonDir: '/src/app/.git', basePath: '/src/.cadre-worktrees/app' }
 */
export async function openRepository(git: GitRunner, repo: string, basePath?: string): Promise<RepositoryInfo> {
  let repoReal: string;
  try {
    repoReal = await realpath(resolve(repo));
  } catch (e) {
    throw new WorkspaceError(`workspace repository ${repo} does not exist`, { cause: e });
  }
  const probe = await git.run(repoReal, ['rev-parse', '--is-bare-repository', '--git-common-dir', '--show-toplevel'], { okCodes: [0, 128] });
  if (probe.code !== 0) throw new WorkspaceError(`workspace repository ${repo} is not a git repository: ${probe.stderr.trim()}`);
  const [bare, commonDirRaw, topLevel] = probe.stdout.split('\n');
  if (bare === 'true') throw new WorkspaceError(`workspace repository ${repo} is bare; cadre needs a repository with a work tree`);
  // A folder inside a repository is not one: git would take the repository around it, and its
  // worktrees and branches would go there, outside the folder named.
  if (topLevel && (await realpath(topLevel)) !== repoReal) throw new WorkspaceError(`workspace repository ${repo} is not the top folder of a git repository (it lies inside ${topLevel}): give ${topLevel} to use that one`);
  const commonDir = await realpath(resolve(repoReal, commonDirRaw ?? '.git'));
  // From a linked worktree, the main work tree is the one that owns the common git dir.
  const root = basename(commonDir) === '.git' ? dirname(commonDir) : (await git.run(repoReal, ['rev-parse', '--show-toplevel'])).stdout.trim();

  const base = resolve(basePath ?? join(dirname(root), '.cadre-worktrees', basename(root)));
  if (base === root || isInside(root, base)) {
    throw new WorkspaceError(`workspace basePath ${base} is inside the repository's work tree ${root}; choose a folder outside it`);
  }
  return { root, commonDir, basePath: await realpathOfMissing(base) };
}

/** Makes the worktree folder, just before a worktree (or a temporary merge worktree) goes in it. */
export async function ensureBasePath(repo: RepositoryInfo): Promise<void> {
  await mkdir(repo.basePath, { recursive: true });
}

/** The real path `path` will have: its deepest existing ancestor resolved through symlinks, the rest appended. */
async function realpathOfMissing(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    const parent = dirname(path);
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === path) throw err;
    return join(await realpathOfMissing(parent), basename(path));
  }
}
