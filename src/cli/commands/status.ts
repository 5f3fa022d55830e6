import type { Command } from 'commander';
import { agentArg, print, READ_STREAMS, withSystem, type CliContext } from '../context.js';
import { renderFields, renderTable } from '../render/table.js';
import { budgetBar, tokens, usd } from '../render/style.js';
import { activitiesOf } from '../../dashboard/activitiesOf.js';
import { readAgentTree } from '../../dashboard/readAgentTree.js';
import { isTerminalStatus } from '../../actors/agentContext.js';
import { conservationLine, remainderName, returnedToParent } from '../render/conservationLine.js';
import { shortLine } from '../render/shortLine.js';

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .argument('<agent>', 'agent id (or a unique prefix)')
    .description("show an agent's state: status, budget, children, result")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre status 019fd278\n  cadre status 019fd278-932e-4780-875a-e6aca71ee2be --json')
    .action(async (agent: string, opts: { json?: boolean }) => {
      await withSystem(ctx, READ_STREAMS, async (system) => {
        const id = await agentArg(system, agent);
        const s = await system.internal.runtime.state(id);
        const row = await system.reports.agent(id).catch(() => null);
        const b = s.budget;
        const returned = returnedToParent(s);
        // A workflow (any parent) spends through its children: show what the whole subtree cost too.
        const subtree = s.children.length > 0 ? await readAgentTree(system, id) : null;
        // As tree says it: a context that reads "calling model" with no process holding the
        // agent is not calling anything (status said "waiting (for model)" where tree said "not
        // hosted (was calling model)", a new user's try).
        const activity = isTerminalStatus(s.status) ? null : ((await activitiesOf(system, [id])).get(id) ?? null);
        const notHosted = activity?.startsWith('not hosted') ? `; not hosted: no process runs it (cadre worker, cadre serve or cadre start ${id.slice(0, 8)} --wait takes it up)` : '';
        print(ctx, opts.json, { ...s, activity, projection: row ?? null }, () => {
          const head = renderFields([
            ['agent', s.id],
            ['role', `${s.role}${s.kind === 'workflow' ? ' (workflow)' : ''}`],
            ['task', s.task],
            ['status', `${ctx.style.status(s.status)}${s.waitingFor ? ` (for ${s.waitingFor})` : ''}${notHosted}`],
            // Each parked call, with what answers it: a person reading status should not need tree.
            ...s.pendingApprovals.map((a, i): [string, string] => [i === 0 ? 'approvals' : '', `${a.callId} ${a.tool} ${shortLine(JSON.stringify(a.input) ?? '', 80)}  (cadre approve ${s.id.slice(0, 8)} ${a.callId})`]),
            ['parent', s.parentId],
            ['root', s.rootId],
            ['revision', s.revision],
            ['turns', s.turn],
            // Consumed, as the tree's bars: tokens delegated to children or reserved are not spent yet.
            ['budget', `${budgetBar(subtree?.subtreeConsumed ?? b.consumed, b.allocated, 20)}  ${subtree?.subtreeConsumed ?? b.consumed} of ${b.allocated} consumed${subtree ? ' by it and its subtree' : ''}, ${b.available} ${remainderName(returned)}${b.overspent > 0 ? `, ${b.overspent} OVERSPENT` : ''}`],
            ['  detail', `consumed ${b.consumed}, reserved ${b.reserved}, delegated ${b.delegated}, spent by subtree ${b.spentBySubtree}, reclaimed ${b.reclaimed}`],
            ['  conservation', conservationLine(b, { returnedToParent: returned })],
            ['cost', subtree ? `${usd(subtree.subtreeCostUsd)} with its subtree (${tokens(subtree.subtreeConsumed)} tokens); ${usd(s.costUsd)} its own calls` : usd(s.costUsd)],
            ['workspace', s.workspace ? `${s.workspace.branch} at ${s.workspace.path}` : null],
            ['result', s.result ? `${s.result.status}${s.result.reason ? ` (${s.result.reason})` : ''}${s.result.output ? `: ${s.result.output}` : ''}` : null],
          ]);
          const kids = s.children.length === 0 ? '' : `\n\nchildren\n${renderTable(s.children, [
            { header: 'ID', value: (c) => c.id },
            { header: 'ROLE', value: (c) => c.role },
            // The child's own status, as tree shows it (the parent's record says only live or ended).
            { header: 'STATUS', value: (c) => subtree?.children.find((n) => n.id === c.id)?.status ?? c.status },
            { header: 'BUDGET', value: (c) => c.budget, align: 'right' },
          ])}`;
          return head + kids;
        });
      });
    });
}

