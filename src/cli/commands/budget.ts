import type { Command } from 'commander';
import { flatten } from '../../dashboard/agentTree.js';
import { readAgentTree } from '../../dashboard/readAgentTree.js';
import { subtreeBalance } from '../../dashboard/subtreeBalance.js';
import { agentArg, print, READ_STREAMS, withSystem, type CliContext } from '../context.js';
import { renderFields, renderTable } from '../render/table.js';
import { budgetBar, shortId, usd } from '../render/style.js';
import { conservationLine, remainderName, returnedToParent, subtreeBalanceLine } from '../render/conservationLine.js';
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
      await withSystem(ctx, READ_STREAMS, async (system) => {
        const id = await agentArg(system, agent);
        const s = await system.internal.runtime.state(id);
        const b = s.budget;
        const returned = returnedToParent(s);
        if (!opts.subtree) {
          // A workflow (any parent) spends through its children: count its subtree as tree and status do.
          const tree = s.children.length > 0 ? await readAgentTree(system, id) : null;
          const spent = tree?.subtreeConsumed ?? b.consumed;
          const withSubtree = tree ? { subtreeConsumed: tree.subtreeConsumed, subtreeCostUsd: tree.subtreeCostUsd } : {};
          print(ctx, opts.json, { agentId: id, ...b, costUsd: s.costUsd, ...withSubtree }, () => renderFields([
            ['agent', `${s.role} ${id}`],
            ['allocated', b.allocated],
            ['consumed', tree ? `${tree.subtreeConsumed} by it and its subtree (${b.consumed} by its own calls)` : b.consumed],
            ['reserved', b.reserved],
            ['delegated', b.delegated],
            ['spent by subtree', b.spentBySubtree],
            ['reclaimed', b.reclaimed],
            [remainderName(returned), b.available],
            ['overspent', b.overspent],
            ['consumed of allocated', budgetBar(spent, b.allocated, 24)],
            ['conservation', conservationLine(b, { returnedToParent: returned })],
            ['cost', tree ? `${usd(tree.subtreeCostUsd)} with its subtree; ${usd(s.costUsd)} its own calls` : usd(s.costUsd)],
          ]));
          return;
        }
        const root = await readAgentTree(system, id);
        const agents = flatten(root);
        const rows = agents.map((n) => ({
          agentId: n.id, role: n.role, depth: n.depth, status: n.status, ...n.budget,
          // An ended agent's unspent tokens went back to its parent: counted there, once.
          available: n.returned === null ? n.budget.available : 0,
          returned: n.returned ?? 0,
          costUsd: n.costUsd,
        }));
        const subtree = subtreeBalance(root);
        print(ctx, opts.json, { agentId: id, ...b, costUsd: s.costUsd, subtree, agents: rows }, () => `${renderTable(rows, [
          { header: 'AGENT', value: (r) => `${'  '.repeat(r.depth - s.depth)}${r.role} ${shortId(r.agentId)}` },
          { header: 'STATUS', value: (r) => r.status },
          { header: 'ALLOCATED', value: (r) => r.allocated, align: 'right' },
          { header: 'CONSUMED', value: (r) => r.consumed, align: 'right' },
          { header: 'RESERVED', value: (r) => r.reserved, align: 'right' },
          { header: 'AVAILABLE', value: (r) => r.available, align: 'right' },
          { header: 'RETURNED', value: (r) => r.returned, align: 'right' },
          { header: 'OVERSPENT', value: (r) => r.overspent, align: 'right' },
          { header: 'COST', value: (r) => usd(r.costUsd), align: 'right' },
        ])}\n\n${subtreeBalanceLine(subtree)}\n${plural(subtree.agents, 'agent')}, ${usd(subtree.costUsd)}. ALLOCATED is each agent's grant from its parent (a parent's includes its children's); CONSUMED, RESERVED and AVAILABLE sum to the line above; RETURNED is what an ended agent gave back, counted in its parent's AVAILABLE.`);
      });
    });
}
