import type { Command } from 'commander';
import type { AgentSystem } from '../../system.js';
import { agentTree, flatten, listRoots } from '../../dashboard/agentTree.js';
import { agentArg, print, withSystem, type CliContext } from '../context.js';
import { optionalExtension } from '../extensions.js';
import { renderTable } from '../render/table.js';
import { usd } from '../render/style.js';

interface Report {
  readonly source: 'projections' | 'runtime';
  readonly root: string | null;
  readonly statusCounts: Record<string, number>;
  readonly costByRole: Array<{ role: string; agents: number; consumed: number; costUsd: number }>;
  readonly active: Array<{ agentId: string; role: string; status: string }>;
}

/** The same report from agent states when no projection is wired (walks the recent roots' trees). */
async function fromRuntime(system: AgentSystem, root: string | null): Promise<Report> {
  const roots = root ? [root] : (await listRoots(system, 50)).map((r) => r.id);
  const agents = (await Promise.all(roots.map((id) => agentTree(system, id)))).flatMap(flatten);
  const statusCounts: Record<string, number> = { spawned: 0, running: 0, waiting: 0, completed: 0, failed: 0, terminated: 0 };
  const byRole = new Map<string, { role: string; agents: number; consumed: number; costUsd: number }>();
  for (const a of agents) {
    statusCounts[a.status] = (statusCounts[a.status] ?? 0) + 1;
    const r = byRole.get(a.role) ?? { role: a.role, agents: 0, consumed: 0, costUsd: 0 };
    byRole.set(a.role, { role: a.role, agents: r.agents + 1, consumed: r.consumed + a.budget.consumed, costUsd: r.costUsd + a.costUsd });
  }
  const active = agents.filter((a) => ['spawned', 'running', 'waiting'].includes(a.status)).map((a) => ({ agentId: a.id, role: a.role, status: a.status }));
  return { source: 'runtime', root, statusCounts, costByRole: [...byRole.values()].sort((a, b) => b.consumed - a.consumed), active };
}

export function registerReport(program: Command, ctx: CliContext): void {
  program
    .command('report')
    .argument('[root]', 'limit the report to one tree')
    .description('status counts, cost by role and active agents (from the projections when wired)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre report\n  cadre report 019fd278 --json')
    .action(async (rootArg: string | undefined, opts: { json?: boolean }) => {
      await withSystem(ctx, { recover: false, readOnly: true }, async (system) => {
        const root = rootArg !== undefined ? await agentArg(system, rootArg) : null;
        const reports = optionalExtension(system, 'reports');
        let report: Report;
        if (reports) {
          // A fresh process's projection runner may still be catching up: read our own writes.
          await reports.waitFor(await system.store.headPosition(), 15_000).catch(() => undefined);
          const counts = await reports.statusCounts(root ?? undefined);
          const costRoot = root ?? (await listRoots(system, 1))[0]?.id ?? null;
          report = {
            source: 'projections',
            root,
            statusCounts: { ...counts },
            costByRole: costRoot ? (await reports.costByRole(costRoot)).map((r) => ({ ...r })) : [],
            active: (await reports.active({ limit: 50 })).map((a) => ({ agentId: a.agentId, role: a.role, status: a.status })),
          };
        } else report = await fromRuntime(system, root);
        print(ctx, opts.json, report, () => [
          `agents by status (${report.source === 'projections' ? 'from the projections' : 'from agent states; projections not wired'}):`,
          `  ${Object.entries(report.statusCounts).map(([k, v]) => `${k} ${v}`).join('   ')}`,
          '',
          report.costByRole.length ? renderTable(report.costByRole, [
            { header: 'ROLE', value: (r) => r.role },
            { header: 'AGENTS', value: (r) => r.agents, align: 'right' },
            { header: 'TOKENS', value: (r) => r.consumed, align: 'right' },
            { header: 'COST', value: (r) => usd(r.costUsd), align: 'right' },
          ]) : 'no agents yet',
          '',
          report.active.length ? `active: ${report.active.map((a) => `${a.role} ${a.agentId} (${a.status})`).join(', ')}` : 'no active agents',
        ].join('\n'));
      });
    });
}
