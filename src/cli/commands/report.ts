import type { Command } from 'commander';
import { CliError, EXIT } from '../cliError.js';
import { agentArg, print, withSystem, type CliContext } from '../context.js';
import { caughtUpOrWarn } from '../caughtUpOrWarn.js';
import { renderTable } from '../render/table.js';
import { usd } from '../render/style.js';
import { noStoreYet } from '../noStoreYet.js';
import { addUsd } from '../../actors/pricing.js';
import { hostedNow } from '../../dashboard/hostedNow.js';
import type { AgentSystem } from '../../system.js';

interface Report {
  readonly source: 'projections';
  readonly root: string | null;
  readonly statusCounts: Record<string, number>;
  readonly costByRole: Array<{ role: string; agents: number; consumed: number; costUsd: number }>;
  /** `hosted`: a live process holds it (one nobody holds is not running, whatever its status says). */
  readonly active: Array<{ agentId: string; role: string; status: string; hosted: boolean }>;
}

/** What `report --json` prints before any agent exists. */
const EMPTY_REPORT: Report = { source: 'projections', root: null, statusCounts: {}, costByRole: [], active: [] };

export function registerReport(program: Command, ctx: CliContext): void {
  program
    .command('report')
    .argument('[root]', 'limit the report to one tree')
    .description('status counts, cost by role and active agents, from the projections')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre report\n  cadre report 019fd278 --json')
    .action(async (rootArg: string | undefined, opts: { json?: boolean }) => {
      await withSystem(ctx, { recover: false, readOnly: true }, async (system) => {
        const root = rootArg !== undefined ? await agentArg(system, rootArg) : null;
        // The figures are a whole tree's (its totals row): an agent under a root read "0 agents"
        // above a table that counted it (a new user's try).
        const asked = root === null ? null : await system.get(root).state();
        if (asked && asked.parentId !== null) {
          throw new CliError(`agent ${asked.id} is not a root: report covers a whole tree, and its tree's root is ${asked.rootId}`, {
            exitCode: EXIT.usage,
            hint: `cadre report ${asked.rootId} for the tree; cadre budget ${asked.id} --subtree or cadre tree ${asked.id} for this agent's own subtree`,
          });
        }
        const reports = system.reports;
        await caughtUpOrWarn(ctx, reports);
        // One scope for every figure: the tree asked for, or every agent of the store (the cost
        // table covered only the latest tree while the counts covered all of them).
        const counts = await reports.statusCounts(root ?? undefined);
        const report: Report = {
          source: 'projections',
          root,
          statusCounts: { ...counts },
          costByRole: (await reports.costByRole(root ?? undefined)).map((r) => ({ ...r })),
          active: await withHosting(system, await reports.active({ limit: 50, ...(root ? { rootId: root } : {}) })),
        };
        print(ctx, opts.json, report, () => [
          `agents by status, ${root ? `tree ${root}` : 'every tree'} (from the projections):`,
          `  ${Object.entries(report.statusCounts).map(([k, v]) => `${k} ${v}`).join('   ')}`,
          '',
          report.costByRole.length ? `tokens and cost by role, ${root ? 'this tree' : 'every tree'}:\n` + renderTable(report.costByRole, [
            { header: 'ROLE', value: (r) => r.role },
            { header: 'AGENTS', value: (r) => r.agents, align: 'right' },
            { header: 'TOKENS', value: (r) => r.consumed, align: 'right' },
            { header: 'COST', value: (r) => usd(r.costUsd), align: 'right' },
          ]) + `\n${totalLine(report.costByRole)}` : 'no agents yet',
          '',
          report.active.length ? `active: ${report.active.map((a) => `${a.role} ${a.agentId} (${a.status}${a.hosted ? '' : ', not hosted'})`).join(', ')}` : 'no active agents',
        ].join('\n'));
      }).catch(rootArg === undefined ? noStoreYet(ctx, opts.json, EMPTY_REPORT, 'no agents') : (err: unknown) => Promise.reject(err));
    });
}

/** The sum of the role rows, said once under them (a new user looked for it). */
function totalLine(rows: readonly { agents: number; consumed: number; costUsd: number }[]): string {
  const sum = rows.reduce((a, r) => ({ agents: a.agents + r.agents, consumed: a.consumed + r.consumed, costUsd: addUsd(a.costUsd, r.costUsd) }), { agents: 0, consumed: 0, costUsd: 0 });
  return `in all: ${sum.agents} agent${sum.agents === 1 ? '' : 's'}, ${sum.consumed} tokens, ${usd(sum.costUsd)}`;
}

/**
 * The active agents with whether a live process holds each, as tree tells it: an orphaned agent
 * read "(waiting)" here while tree said "not hosted (was calling model)" (a new user's try).
 */
async function withHosting(system: AgentSystem, active: readonly { agentId: string; role: string; status: string }[]): Promise<Report['active']> {
  const hosted = await hostedNow(system, active.map((a) => a.agentId));
  return active.map((a) => ({ agentId: a.agentId, role: a.role, status: a.status, hosted: hosted.has(a.agentId) }));
}
