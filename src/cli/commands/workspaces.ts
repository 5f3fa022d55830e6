import type { Command } from 'commander';
import { plural } from '../render/plural.js';
import { agentArg, print, withSystem, type CliContext } from '../context.js';
import { renderTable } from '../render/table.js';
import { noStoreYet } from '../noStoreYet.js';
import type { CleanupEntry, CleanupResult } from '../../infra/workspace/workspaceTypes.js';

const bytes = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`);

export function registerWorkspaces(program: Command, ctx: CliContext): void {
  const ws = program.command('workspaces').description("agents' git worktrees: list, clean up, diff");
  ws.command('list')
    .description('every cadre worktree with its branch and disk use')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre workspaces list')
    .action(async (opts: { json?: boolean }) => {
      await withSystem(ctx, { recover: false, readOnly: true }, async (system) => {
        const list = await system.workspaces.list();
        print(ctx, opts.json, list, () => (list.length === 0 ? 'no worktrees' : `${renderTable(list, [
          { header: 'AGENT', value: (w) => w.agentId },
          { header: 'BRANCH', value: (w) => w.branch },
          { header: 'DISK', value: (w) => bytes(w.diskBytes), align: 'right' },
          { header: 'PATH', value: (w) => `${w.path}${w.exists ? '' : ' (missing)'}` },
        ])}\n\ntotal ${bytes(list.reduce((a, w) => a + w.diskBytes, 0))}`));
      }).catch(noStoreYet(ctx, opts.json, [], 'no worktrees'));
    });
  ws.command('cleanup')
    .description("remove ended agents' worktrees and their agents/<id> branches whose work is merged, as the cleanup policy says")
    .option('--dry-run', 'only list what would be removed and what would be kept, with the reasons')
    .option('--delete-branches', 'also delete branches holding commits no other branch has (their work is lost)')
    .option('--include-unknown', "also remove what agents this store does not know left, as terminated agents' (only when no other store uses this repository)")
    .option('--json', 'print JSON')
    .addHelpText('after', `
Follows WORKSPACE_CLEANUP_POLICY, as the runtime does at an agent's end: on_completion (the
default) removes every ended agent's, on_failure keeps those of agents that failed or were
terminated, never keeps all. Agents that have not ended are never touched. A branch is deleted
when another branch holds all its commits (merged into main, say, or into its parent's branch);
one holding commits no other branch has is kept unless --delete-branches: it may be the only
copy of that work (see it with cadre workspaces diff <agent>).

Examples:
  cadre workspaces cleanup --dry-run
  cadre workspaces cleanup
  WORKSPACE_CLEANUP_POLICY=on_completion cadre workspaces cleanup   # also what on_failure kept`)
    .action(async (opts: { dryRun?: boolean; deleteBranches?: boolean; includeUnknown?: boolean; json?: boolean }) => {
      // A dry run only reads, so it may go through the process holding an embedded store; a
      // cleanup removes worktrees and must not race that process's agents.
      await withSystem(ctx, { recover: false, readOnly: Boolean(opts.dryRun) }, async (system) => {
        const r = await system.workspaces.cleanup({ dryRun: Boolean(opts.dryRun), deleteBranches: Boolean(opts.deleteBranches), includeUnknown: Boolean(opts.includeUnknown) });
        print(ctx, opts.json, r, () => renderCleanup(r));
      });
    });
  ws.command('diff')
    .argument('<agent>', 'agent id')
    .description("what an agent changed on its branch, against the commit it started from")
    .option('--stat', 'only the files and line counts')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre workspaces diff 01a2b3c4 --stat')
    .action(async (agent: string, opts: { stat?: boolean; json?: boolean }) => {
      await withSystem(ctx, { recover: false, readOnly: true }, async (system) => {
        const d = await system.workspaces.diff(await agentArg(system, agent));
        print(ctx, opts.json, d, () => {
          const stat = renderTable(d.files, [
            { header: 'FILE', value: (f) => f.path },
            { header: 'STATUS', value: (f) => f.status },
            { header: '+', value: (f) => f.additions, align: 'right' },
            { header: '-', value: (f) => f.deletions, align: 'right' },
          ]);
          return `${d.branch} (${d.baseCommit.slice(0, 10)}..${d.head.slice(0, 10)}): ${d.stat.files} files, +${d.stat.additions} -${d.stat.deletions}\n\n${stat}${opts.stat ? '' : `\n\n${d.patch}${d.truncated ? '\n… (truncated)' : ''}`}`;
        });
      });
    });
}

/** What cleanup removed (or would) and kept, one line per worktree or branch with its reason. */
function renderCleanup(r: CleanupResult): string {
  const count = (list: readonly CleanupEntry[]): string => {
    const worktrees = list.filter((e) => e.kind === 'worktree');
    const branches = list.filter((e) => e.kind === 'branch');
    const disk = worktrees.reduce((a, e) => a + (e.diskBytes ?? 0), 0);
    return [
      ...(worktrees.length > 0 ? [`${plural(worktrees.length, 'worktree')} (${bytes(disk)})`] : []),
      ...(branches.length > 0 ? [plural(branches.length, 'branch', 'branches')] : []),
    ].join(' and ');
  };
  const line = (e: CleanupEntry): string => `  ${e.kind === 'worktree' ? 'worktree' : 'branch  '} ${e.name} (${e.detail})`;
  const removed = r.entries.filter((e) => e.action === 'remove');
  const kept = r.entries.filter((e) => e.action === 'keep');
  const out = [removed.length > 0 ? `${r.dryRun ? 'would remove' : 'removed'} ${count(removed)}, policy ${r.policy}:` : `nothing to remove, policy ${r.policy}`, ...removed.map(line)];
  if (kept.length > 0) out.push(`${r.dryRun ? 'would keep' : 'kept'} ${count(kept)}:`, ...kept.map(line));
  if (kept.some((e) => e.reason === 'unmerged')) out.push('(cadre workspaces diff <agent> shows a branch\'s work; --delete-branches deletes unmerged branches)');
  if (kept.some((e) => e.reason === 'unknown')) out.push('(agents this store does not know: another store on this repository may be running them; --include-unknown removes what they left)');
  if (r.live.length > 0) out.push(`left alone: ${plural(r.live.length, 'live agent')}`);
  return out.join('\n');
}
