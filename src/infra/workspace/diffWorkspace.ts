import { WorkspaceError } from '../../errors.js';
import { agentBranch } from './agentBranch.js';
import { readBase, resolveCommit, type WorkspaceContext } from './workspaceContext.js';
import type { DiffFile, WorkspaceDiff } from './workspaceTypes.js';
import { splitNul } from './worktreeList.js';

const STATUS: Record<string, DiffFile['status']> = { A: 'added', M: 'modified', D: 'deleted', T: 'type_changed' };

/**
 * The agent branch against the commit it started from: unified diff text (cut at
 * `maxBytes`, default 2 MiB), and per-file status and line counts. Committed work only:
 * commit first to include the worktree's pending changes.
 *
 * @example
 * const d = await diffWorkspace(ctx, 'a1');
 * console.log(d.stat, d.patch);
 */
export async function diffWorkspace(ctx: WorkspaceContext, agentId: string, options: { maxBytes?: number } = {}): Promise<WorkspaceDiff> {
  const { git, repo } = ctx;
  const branch = agentBranch(agentId);
  const head = await resolveCommit(ctx, `refs/heads/${branch}`, 'branch');
  const base = await readBase(ctx, agentId);
  if (!base) throw new WorkspaceError(`the base commit of ${branch} is unknown (it was not created by cadre)`);
  const range = [base.commit, head];
  const common = ['--no-color', '--no-ext-diff', '--no-textconv', '--no-renames'];
  const [patch, numstat, names] = await Promise.all([
    git.run(repo.root, ['diff', ...common, ...range]),
    git.run(repo.root, ['diff', ...common, '--numstat', '-z', ...range]),
    git.run(repo.root, ['diff', ...common, '--name-status', '-z', ...range]),
  ]);

  const counts = new Map<string, { add: number | null; del: number | null }>();
  for (const rec of splitNul(numstat.stdout)) {
    const [a, d, ...rest] = rec.split('\t');
    const num = (x: string | undefined): number | null => (x === undefined || x === '-' ? null : Number(x));
    counts.set(rest.join('\t'), { add: num(a), del: num(d) });
  }
  const fields = splitNul(names.stdout);
  const files: DiffFile[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const path = fields[i + 1]!;
    const c = counts.get(path);
    files.push({ path, status: STATUS[fields[i]!] ?? 'other', additions: c?.add ?? null, deletions: c?.del ?? null });
  }

  const maxBytes = options.maxBytes ?? 2 * 1024 * 1024;
  const bytes = Buffer.from(patch.stdout, 'utf8');
  const truncated = bytes.length > maxBytes;
  return {
    agentId,
    branch,
    baseCommit: base.commit,
    head,
    patch: truncated ? bytes.subarray(0, maxBytes).toString('utf8') : patch.stdout,
    truncated,
    files,
    stat: {
      files: files.length,
      additions: files.reduce((n, f) => n + (f.additions ?? 0), 0),
      deletions: files.reduce((n, f) => n + (f.deletions ?? 0), 0),
    },
  };
}
