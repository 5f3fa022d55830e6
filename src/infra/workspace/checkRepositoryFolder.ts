import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InvalidInput } from '../../errors.js';
import { findGitRoot } from './findGitRoot.js';

/**
 * Refuses, at start, a repository setting that names no repository's top folder: a path that
 * does not exist (a typo cost 20 s of worktree retries and a failed agent before it was named),
 * or a folder inside some other repository, which git would quietly take for that one: worktrees
 * went to a folder beside it and branches into it, outside the folder named.
 *
 * @example
 * checkRepositoryFolder('/src/app/docs', 'WORKSPACE_REPO'); // throws: inside /src/app, not its top folder
 */
export function checkRepositoryFolder(path: string, setting: string): void {
  const folder = resolve(path);
  if (!existsSync(folder)) throw new InvalidInput(setting, `${folder} does not exist: give the top folder of a git repository`);
  if (!statSync(folder).isDirectory()) throw new InvalidInput(setting, `${folder} is not a folder: give the top folder of a git repository`);
  if (existsSync(join(folder, '.git'))) return;
  const around = findGitRoot(dirname(folder));
  throw new InvalidInput(setting, around
    ? `${folder} is not the top folder of a git repository (it lies inside ${around}): give ${around} to use that repository, or run git init in ${folder}`
    : `${folder} is not a git repository: run git init there, or give the top folder of one`);
}
