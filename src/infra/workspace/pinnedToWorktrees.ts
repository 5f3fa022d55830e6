import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { GitRunner } from './gitRunner.js';
import type { RepositoryInfo } from './openRepository.js';
import { worktreeGitDir } from './worktreeGitDir.js';

/**
 * `git` with every command run in one of the repository's agent worktrees pointed at that
 * worktree's folder in the repository (worktreeGitDir.ts), never at whatever the worktree's
 * `.git` file says. An agent's own git is pinned the same way (workspacePort.ts) and its
 * arguments may not name `.git`; this keeps cadre's add, commit, diff and merge in a worktree
 * on the right repository and branch even if a program the user allow-listed rewrote the file.
 * A worktree git no longer knows (half-added, or removed) is run as before.
 *
 * @example
 * const git = pinnedToWorktrees(createGitRunner(), repo);
 * await git.run(join(repo.basePath, 'a1'), ['add', '--all']); // --git-dir=<repo>/.git/worktrees/a1
 */
export function pinnedToWorktrees(git: GitRunner, repo: RepositoryInfo): GitRunner {
  return {
    async run(cwd, args, options = {}) {
      const rel = relative(repo.basePath, resolve(cwd));
      if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) || options.gitDir) return git.run(cwd, args, options);
      const workTree = join(repo.basePath, rel.split(sep)[0]!);
      const gitDir = await worktreeGitDir(repo.commonDir, workTree);
      return git.run(cwd, args, gitDir === null ? options : { ...options, gitDir, workTree });
    },
  };
}
