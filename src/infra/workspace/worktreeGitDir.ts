import { readFile, readdir, realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * The administrative folder of the linked worktree at `worktreePath` (`<commonDir>/worktrees/<name>`),
 * found from the repository's side: the one whose `gitdir` file names `<worktreePath>/.git`. Null
 * when there is none. Never from the worktree's own `.git` file: an agent can overwrite that
 * (`git log --output=.git` did, pointing it at a folder of its own with a config that ran a
 * program and at the user's refs; a hostile-model try), while the repository's git folder lies
 * outside every worktree.
 *
 * @example
 * await worktreeGitDir('/src/app/.git', '/src/.cadre-worktrees/app/a1'); // '/src/app/.git/worktrees/a1'
 */
export async function worktreeGitDir(commonDir: string, worktreePath: string): Promise<string | null> {
  const admin = join(commonDir, 'worktrees');
  const real = await realpath(worktreePath).catch(() => worktreePath);
  const wanted = new Set([resolve(worktreePath, '.git'), resolve(real, '.git')]);
  let names: string[];
  try {
    names = await readdir(admin);
  } catch {
    return null;
  }
  // git names the folder after the worktree's own (with a number when taken): look there first.
  const base = worktreePath.split('/').pop() ?? '';
  names.sort((a, b) => Number(b.startsWith(base)) - Number(a.startsWith(base)));
  for (const name of names) {
    const pointer = await readFile(join(admin, name, 'gitdir'), 'utf8').catch(() => null);
    if (pointer !== null && wanted.has(resolve(admin, name, pointer.trim()))) return join(admin, name);
  }
  return null;
}
