import type { Command } from 'commander';
import { InvalidInput } from '../../errors.js';
import { CliError, EXIT } from '../cliError.js';
import { agentArg, parseCount, print, withSystem, type CliContext } from '../context.js';
import { inspectHints, runWithLiveTree, summaryLine } from '../runLive.js';

interface ForkCliOptions {
  at: string;
  budget?: string;
  model?: string;
  under?: string;
  run?: boolean;
  json?: boolean;
}

// The API's field names, as the user typed them.
const FLAGS: Record<string, string> = { 'fork.atRevision': '--at', 'fork.budget': '--budget', 'fork.model': '--model', 'fork.under': '--under' };

export function registerFork(program: Command, ctx: CliContext): void {
  program
    .command('fork')
    .argument('<agent>', 'the source agent id (or a unique prefix)')
    .requiredOption('--at <revision>', "the source's state after this revision is the fork's (`cadre history <agent>` lists them)")
    .option('--budget <tokens>', "the fork's allocation (default: the source's original one)")
    .option('--model <model>', 'another model for the fork, from the cut on')
    .option('--under <agent>', 'fork as a new child of this agent (its budget is delegated from it); default: a new root')
    .option('--run', 'run the fork now and show a live tree until it ends')
    .option('--json', 'print JSON')
    .description('start a new agent from another one as it was at a revision (the source is only read)')
    .addHelpText('after', '\nExamples:\n  cadre fork 019fd278 --at 6 --model claude-opus-4-1 --run\n  cadre fork 019fd278 --at 6 --budget 50000 --json')
    .action(async (agent: string, opts: ForkCliOptions) => {
      const atRevision = parseCount(opts.at, '--at');
      const budget = opts.budget === undefined ? undefined : parseCount(opts.budget, '--budget', { min: 1 });
      // Without --run this process only opens the fork: it hosts nothing (a worker, or `cadre
      // serve`, runs it), else it would start running it and stop mid-way when the command exits.
      const hostNothing = opts.run ? {} : { worker: { owner: `cadre-fork-${process.pid}`, capacity: 0 } };
      await withSystem(ctx, { recover: false, ...hostNothing }, async (system) => {
        const source = await agentArg(system, agent);
        const under = opts.under === undefined ? undefined : await agentArg(system, opts.under);
        const handle = await system.fork(source, { atRevision, ...(budget !== undefined ? { budget } : {}), ...(opts.model !== undefined ? { model: opts.model } : {}), ...(under !== undefined ? { under } : {}) }).catch((err: unknown) => {
          // The revisions are the hint for --at; the other flags' reasons say what to give.
          if (err instanceof InvalidInput && FLAGS[err.field]) throw new CliError(`invalid ${FLAGS[err.field]}: ${err.reason}`, { exitCode: EXIT.usage, ...(err.field === 'fork.atRevision' ? { hint: `\`cadre history ${agent}\` lists the revisions` } : {}), cause: err });
          throw err;
        });
        // Where it was really cut: a revision inside a model reply's decision moves to its end, a
        // workflow's spawn to its plan (forkRevision).
        const opening = (await system.history(handle.id))[0];
        const cutAt = opening?.type === 'AgentSpawned' ? opening.data.forkedFrom?.sourceRevision ?? atRevision : atRevision;
        const why = async (): Promise<string> => ((await system.history(source))[cutAt]?.type === 'WorkflowPlanned' ? 'a workflow\'s spawn and its plan are one commit' : `the end of the model reply's decision revision ${atRevision} is in`);
        const where = cutAt === atRevision ? `at revision ${atRevision}` : `at revision ${cutAt} (${await why()})`;
        if (!opts.run) {
          const s = await handle.state();
          const below = s.children.length === 0 ? '' : `, with its ${s.children.length} ${s.children.length === 1 ? 'child' : 'children'} as they were then`;
          print(ctx, opts.json, s, () => `forked ${source} ${where} as ${s.id}${below} (status ${s.status})\na worker (cadre worker) runs it; or run it here with: cadre start ${s.id} --wait`);
          return;
        }
        const summary = await runWithLiveTree(ctx, system, handle.id, () => handle.run(), { quiet: Boolean(opts.json) });
        print(ctx, opts.json, { ...summary, tree: undefined, state: await handle.state() }, () => `\n${summaryLine(summary)}\n${summary.output ?? ''}\n\n${inspectHints(handle.id)}\ncompare the runs: cadre diff ${source} ${handle.id}`);
        if (summary.status !== 'completed') process.exitCode = EXIT.failure;
      });
    });
}
