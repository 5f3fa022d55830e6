import type { Command } from 'commander';
import { agentTree, flatten } from '../../dashboard/agentTree.js';
import { agentArg, print, withSystem, type CliContext } from '../context.js';
import { renderFields, renderTable } from '../render/table.js';
import { budgetBar, shortId, usd } from '../render/style.js';
import { conservationLine } from '../render/conservationLine.js';
import { plural } from '../render/plural.js';

export function registerBudget(program: Command, ctx: CliContext): void {
  program
    .command('budget')
    .argument('<agent>', 'agent id (or a unique prefix)')
    .description("show an agent's token budget (allocated, consumed, reserved, delegated, available)")
    .option('--subtree', 'also total the agent and every descendant, one row per agent')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre budget 019fd278\n  cadre budget 019fd278 --subtree --json')
    .action(async (agent: string, opts: { subtree?: boolean; json?: boolean }) => {
      await withSystem(ctx, { recover: false, readOnly: true }, async (system) => {
        const id = await agentArg(system, agent);
        const s = await system.runtime.state(id);
        const b = s.budget;
        if (!opts.subtree) {
          print(ctx, opts.json, { agentId: id, ...b, costUsd: s.costUsd }, () => renderFields([
            ['agent', `${s.role} ${id}`],
            ['allocated', b.allocated],
            ['consumed', b.consumed],
            ['reserved', b.reserved],
            ['delegated', b.delegated],
            ['spent by subtree', b.spentBySubtree],
            ['reclaimed', b.reclaimed],
            ['available', b.available],
            ['overspent', b.overspent],
            ['used', budgetBar(b.allocated + b.overspent - b.available, b.allocated, 24)],
            ['conservation', conservationLine(b)],
            ['cost', usd(s.costUsd)],
          ]));
          return;
        }
        const agents = flatten(await agentTree(system, id));
        const subtree = { agents: agents.length, consumed: agents.reduce((a, n) => a + n.budget.consumed, 0), reserved: agents.reduce((a, n) => a + n.budget.reserved, 0), costUsd: agents.reduce((a, n) => a + n.costUsd, 0) };
        const rows = agents.map((n) => ({ agentId: n.id, role: n.role, depth: n.depth, status: n.status, ...n.budget, costUsd: n.costUsd }));
        print(ctx, opts.json, { agentId: id, ...b, costUsd: s.costUsd, subtree, agents: rows }, () => `${renderTable(rows, [
          { header: 'AGENT', value: (r) => `${'  '.repeat(r.depth - s.depth)}${r.role} ${shortId(r.agentId)}` },
          { header: 'STATUS', value: (r) => r.status },
          { header: 'ALLOCATED', value: (r) => r.allocated, align: 'right' },
          { header: 'CONSUMED', value: (r) => r.consumed, align: 'right' },
          { header: 'RESERVED', value: (r) => r.reserved, align: 'right' },
          { header: 'DELEGATED', value: (r) => r.delegated, align: 'right' },
          { header: 'AVAILABLE', value: (r) => r.available, align: 'right' },
          { header: 'OVERSPENT', value: (r) => r.overspent, align: 'right' },
          { header: 'COST', value: (r) => usd(r.costUsd), align: 'right' },
        ])}\n\nsubtree: ${plural(subtree.agents, 'agent')}, ${subtree.consumed} tokens consumed, ${subtree.reserved} reserved, ${usd(subtree.costUsd)}; conservation: ${conservationLine(b, subtree.consumed)}`);
      });
    });
}
