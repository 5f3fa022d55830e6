import type { Command } from 'commander';
import { flatten, listRoots } from '../../dashboard/agentTree.js';
import { readAgentTree } from '../../dashboard/readAgentTree.js';
import { agentArg, parseCount, print, READ_STREAMS, withSystem, type CliContext } from '../context.js';
import { renderAgentTree } from '../render/agentTreeView.js';
import { noStoreYet } from '../noStoreYet.js';
import { plural } from '../render/plural.js';

export function registerTree(program: Command, ctx: CliContext): void {
  program
    .command('tree')
    .argument('[root]', 'a root agent id (or a unique prefix); default: the most recent roots')
    .description('show an agent tree with status, budget bars and cost')
    .option('--limit <n>', 'how many recent roots to show without [root]', '5')
    .option('--json', 'print JSON (a nested tree, or a list of trees)')
    .addHelpText('after', '\nExamples:\n  cadre tree\n  cadre tree 019fd278 --json')
    .action(async (root: string | undefined, opts: { limit: string; json?: boolean }) => {
      const limit = parseCount(opts.limit, '--limit', { min: 1 });
      await withSystem(ctx, READ_STREAMS, async (system) => {
        const ids = root !== undefined ? [await agentArg(system, root)] : (await listRoots(system, limit)).map((r) => r.id);
        const trees = await Promise.all(ids.map((id) => readAgentTree(system, id)));
        if (root !== undefined) print(ctx, opts.json, trees[0], () => renderAgentTree(trees[0]!, ctx.style));
        else {
          print(ctx, opts.json, trees, () => (trees.length === 0
            ? 'no agents yet — try `cadre demo` or `cadre spawn --role researcher --task "..." --budget 10000 --run`'
            : trees.map((t) => `${renderAgentTree(t, ctx.style)}\n${ctx.style.dim(`  ${plural(flatten(t).length, 'agent')}, root ${t.id}`)}`).join('\n\n')));
        }
      }).catch(root === undefined ? noStoreYet(ctx, opts.json, [], 'no agents') : (err: unknown) => Promise.reject(err));
    });
}
