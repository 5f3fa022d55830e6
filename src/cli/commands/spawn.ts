import type { Command } from 'commander';
import { CliError, EXIT } from '../cliError.js';
import { agentArg, parseCount, print, withSystem, type CliContext } from '../context.js';
import { inspectHints, runWithLiveTree, summaryLine } from '../runLive.js';

interface SpawnOptions {
  role: string;
  task: string;
  budget: string;
  parent?: string;
  workspace?: boolean;
  run?: boolean;
  json?: boolean;
}

export function registerSpawn(program: Command, ctx: CliContext): void {
  program
    .command('spawn')
    .description('spawn an agent (a root, or a child of --parent with part of its budget)')
    .requiredOption('--role <role>', 'what the agent is, e.g. researcher')
    .requiredOption('--task <task>', 'what it should do')
    .requiredOption('--budget <tokens>', 'its token budget')
    .option('--parent <agent>', 'spawn under this agent (the budget comes out of its own)')
    .option('--workspace', 'give it a git worktree on branch agents/<id>')
    .option('--run', 'run it now and show a live tree until it ends')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre spawn --role researcher --task "Summarise README.md" --budget 10000 --run\n  cadre spawn --role tester --task "Write tests" --budget 2000 --parent 019fd278')
    .action(async (opts: SpawnOptions) => {
      const budget = parseCount(opts.budget, '--budget'); // 0 as in the API: the agent ends budget_exhausted without a call
      if (!opts.role.trim()) throw new CliError('--role must not be empty', { exitCode: EXIT.usage, hint: 'e.g. --role researcher' });
      if (!opts.task.trim()) throw new CliError('--task must not be empty', { exitCode: EXIT.usage, hint: 'e.g. --task "Summarise README.md"' });
      await withSystem(ctx, { recover: false }, async (system) => {
        const config = { role: opts.role, task: opts.task, budget, ...(opts.workspace ? { workspace: true } : {}) };
        // With --run the opening holds the run request: a kill right after the spawn's commit left
        // an agent no worker would run (a crash trial's), where now one takes it over.
        const start = { start: Boolean(opts.run) };
        const handle = opts.parent !== undefined ? await system.get(await agentArg(system, opts.parent)).spawn(config, start) : await system.spawn(config, start);
        if (!opts.run) {
          const s = await handle.state();
          print(ctx, opts.json, s, () => `spawned ${s.role} ${s.id} with ${budget} tokens (status ${s.status})\nstart it with: cadre start ${s.id}   (a worker — cadre worker — runs it; add --wait to run it here)`);
          return;
        }
        const summary = await runWithLiveTree(ctx, system, handle.id, () => handle.run(), { quiet: Boolean(opts.json) });
        print(ctx, opts.json, { ...summary, tree: undefined, state: await handle.state() }, () => `\n${summaryLine(summary)}\n${summary.output ?? ''}\n\n${inspectHints(handle.id)}`);
        if (summary.status !== 'completed') process.exitCode = EXIT.failure;
      });
    });
}
