import type { Command } from 'commander';
import { EXIT } from '../cliError.js';
import { agentArg, print, withSystem, type CliContext } from '../context.js';
import { inspectHints, runWithLiveTree, summaryLine } from '../runLive.js';

/**
 * Starts an agent spawned without `--run`. By default it only records the run request
 * (AgentRunRequested): the process holding the agent's lease — a `cadre worker` or `cadre serve`
 * — runs it. With `--wait` this process runs what of its subtree nobody holds (children never
 * started, an interrupted run's agents) and follows the rest to the end.
 */
export function registerStart(program: Command, ctx: CliContext): void {
  program
    .command('start')
    .argument('<agent>', 'an agent spawned without --run')
    .option('--wait', 'wait for its end with a live tree (runs it and its subtree here where no worker holds them)')
    .option('--json', 'print JSON')
    .description('ask an agent to run: a worker (cadre worker) or cadre serve picks it up')
    .addHelpText('after', '\nExamples:\n  cadre start 01a2b3c4          # a worker runs it\n  cadre start 01a2b3c4 --wait   # run it here (or follow the worker running it)')
    .action(async (agent: string, opts: { wait?: boolean; json?: boolean }) => {
      await withSystem(ctx, { recover: false }, async (system) => {
        const id = await agentArg(system, agent);
        if (opts.wait) {
          const summary = await runWithLiveTree(ctx, system, id, () => system.run(id), { quiet: Boolean(opts.json) });
          print(ctx, opts.json, { ...summary, tree: undefined }, () => `\n${summaryLine(summary)}\n${summary.output ?? ''}\n\n${inspectHints(id)}`);
          if (summary.status !== 'completed') process.exitCode = EXIT.failure;
          return;
        }
        const before = await system.internal.runtime.state(id);
        if (['completed', 'failed', 'terminated'].includes(before.status)) {
          // Nothing to run, and nothing recorded: say so instead of "run requested".
          print(ctx, opts.json, { agentId: id, status: before.status, runRequested: false, hostedBy: null }, () => `${before.role} ${id} has already ${before.status === 'terminated' ? 'been terminated' : before.status}: nothing to run
see it with: cadre status ${id}`);
          return;
        }
        await system.internal.runtime.requestRun(id);
        const s = await system.internal.runtime.state(id);
        const holder = (await system.internal.runtime.leaseHolders([id])).get(id) ?? null;
        print(ctx, opts.json, { agentId: id, status: s.status, runRequested: true, hostedBy: holder }, () =>
          holder
            ? `run requested for ${s.role} ${id}: ${holder} runs it\nfollow it with: cadre tree ${id}`
            : `run requested for ${s.role} ${id} (status ${s.status}); no process hosts it now: start one with cadre worker (or cadre serve), or run it here with cadre start ${id} --wait`,
        );
      });
    });
}
