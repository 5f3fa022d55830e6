import type { Command } from 'commander';
import { plural } from '../render/plural.js';
import { agentArg, print, withSystem, type CliContext } from '../context.js';
import { renderTable } from '../render/table.js';

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
      });
    });
  ws.command('cleanup')
    .description('remove the worktrees of every agent that is not live, and the agents/<id> branches that hold no work')
    .option('--dry-run', 'only say what would be removed')
    .option('--delete-branches', 'also delete branches that hold commits (their work is lost unless merged somewhere)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nA branch whose agent committed something is kept unless --delete-branches: it may be the only copy\nof that work (see it with cadre workspaces diff <agent>).\n\nExamples:\n  cadre workspaces cleanup --dry-run\n  cadre workspaces cleanup')
    .action(async (opts: { dryRun?: boolean; deleteBranches?: boolean; json?: boolean }) => {
      await withSystem(ctx, { recover: false }, async (system) => {
        const workspaces = system.workspaces;
        const list = await workspaces.list();
        const live = new Set((await system.internal.sql.query<{ agent_id: string }>(`SELECT agent_id FROM ${system.schema}.actor_index WHERE status = 'live'`)).rows.map((r) => r.agent_id));
        const done = list.filter((w) => !live.has(w.agentId));
        // A branch with commits of its own may be the only copy of an agent's work: kept unless asked.
        const holdsWork = async (agentId: string): Promise<boolean> => (await workspaces.diff(agentId).then((d) => d.stat.files > 0, () => true));
        const plan = await Promise.all(done.map(async (w) => ({ ...w, deleteBranch: Boolean(opts.deleteBranches) || !(await holdsWork(w.agentId)) })));
        if (!opts.dryRun) for (const w of plan) await workspaces.remove(w.agentId, { deleteBranch: w.deleteBranch });
        const freed = done.reduce((a, w) => a + w.diskBytes, 0);
        const keptBranches = plan.filter((w) => !w.deleteBranch).map((w) => w.branch);
        print(ctx, opts.json, { removed: done.map((w) => w.agentId), kept: list.length - done.length, keptBranches, freedBytes: freed, dryRun: Boolean(opts.dryRun) },
          () => [
            `${opts.dryRun ? 'would remove' : 'removed'} ${plural(done.length, 'worktree')}, ${bytes(freed)}; kept ${list.length - done.length} of live agents`,
            ...(keptBranches.length > 0 ? [`${opts.dryRun ? 'would keep' : 'kept'} ${plural(keptBranches.length, 'branch', 'branches')} holding work: ${keptBranches.join(', ')} (--delete-branches to delete them)`] : []),
          ].join('\n'));
      });
    });
  ws.command('diff')
    .argument('<agent>', 'agent id')
    .description("what an agent changed on its branch, against the commit it started from")
    .option('--stat', 'only the files and line counts')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre workspaces diff 01a2b3c4 --stat')
    .action(async (agent: string, opts: { stat?: boolean; json?: boolean }) => {
      await withSystem(ctx, { recover: false }, async (system) => {
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
