import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * `git diff` (or its `--stat`) from run a's branch `agents/<a>` to run b's, in `repo`; null when
 * there is no repository or either branch is missing (an agent without a worktree, or one whose
 * branch was cleaned up).
 *
 * @example
 * await branchDiff('/src/app', sourceId, forkId, true); // ' src/slug.ts | 12 +++---\n ...'
 */
export async function branchDiff(repo: string | null, a: string, b: string, stat: boolean): Promise<string | null> {
  if (repo === null) return null;
  const git = (...args: string[]) => run('git', args, { cwd: repo, maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout);
  const has = (id: string) => git('rev-parse', '--verify', '--quiet', `refs/heads/agents/${id}`).then(() => true, () => false);
  if (!(await has(a)) || !(await has(b))) return null;
  // Git's own diff only: a diff.external or textconv program named in the repository's (or the
  // user's) config would run here, and could say nothing at all ("the branches are the same").
  return git('diff', '--no-ext-diff', '--no-textconv', ...(stat ? ['--stat'] : []), `agents/${a}`, `agents/${b}`, '--');
}
