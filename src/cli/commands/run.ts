import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { CliError, EXIT, Interrupted } from '../cliError.js';
import { untilSignal } from '../untilSignal.js';
import type { AgentSystem } from '../../system.js';
import type { WorkflowHandle } from '../../workflows/workflowAgent.js';
import { parseCount, print, withSystem, type CliContext } from '../context.js';
import { renderAgentTree } from '../render/agentTreeView.js';
import { firstSignal } from '../firstSignal.js';
import { inspectHints, leftBehind, runWithLiveTree, summaryLine } from '../runLive.js';

interface RunOptions {
  template?: string;
  auto?: boolean;
  budget: string;
  workspace?: boolean;
  json?: boolean;
}

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .argument('<task>', 'what the workflow should achieve')
    .description('run a workflow end to end, from a template or auto-decomposed, with a live tree')
    .option('--template <id>', 'a workflow template (see `cadre templates list`)')
    .option('--auto', 'let the model decompose the task into a graph')
    .requiredOption('--budget <tokens>', 'token budget for the whole workflow')
    .option('--workspace', 'give the nodes git worktrees (WORKSPACE_REPO or the repository here)')
    .option('--json', 'print the result as JSON (no live tree)')
    .addHelpText('after', '\nExamples:\n  cadre run "Add a slugify() helper" --template tdd-workflow --budget 100000\n  cadre run "Write a CLI for todo lists" --auto --budget 200000')
    .action(async (task: string, opts: RunOptions) => {
      if ((opts.template !== undefined) === Boolean(opts.auto)) throw new CliError('give exactly one of --template <id> and --auto', { exitCode: EXIT.usage, hint: 'cadre run "<task>" --template tdd-workflow --budget 100000' });
      if (!task.trim()) throw new CliError('<task> must not be empty', { exitCode: EXIT.usage, hint: 'cadre run "<task>" --template tdd-workflow --budget 100000' });
      const budget = parseCount(opts.budget, '--budget', { min: 1 });
      // Ctrl-C while the store opened or the workflow was being spawned killed the process
      // silently, with exit 130 and a workflow left started that nothing named (a new user's
      // try, 3.5 s into a first run): noticed here, and said once the spawn has settled.
      const early = firstSignal();
      try {
        await withSystem(ctx, { recover: false }, async (system) => {
          if (early.signal) {
            ctx.output.err('interrupted before the workflow was spawned: nothing was recorded; run the task again');
            throw new Interrupted(early.signal);
          }
          const ws = opts.workspace ? { workspace: true } : {};
          const wf = opts.template !== undefined
            ? await system.workflows.spawnWorkflow({ templateId: opts.template, task, budget, start: true, ...ws })
            : await planned(ctx, system, { task, budget, ...ws });
          early.stop();
          if (early.signal) {
            system.internal.runtime.stopStarting();
            ctx.output.err(await leftBehind(system, wf.id));
            throw new Interrupted(early.signal);
          }
          await follow(ctx, system, wf, opts);
        });
      } finally {
        early.stop();
      }
    });
}

/** The spawned workflow run to its end with a live tree, then its summary. */
async function follow(ctx: CliContext, system: AgentSystem, wf: WorkflowHandle, opts: RunOptions): Promise<void> {
  const summary = await runWithLiveTree(ctx, system, wf.id, () => wf.run(), { quiet: Boolean(opts.json) });
  print(ctx, opts.json, summary, () => `\n${ctx.output.isTTY ? '' : `${renderAgentTree(summary.tree, ctx.style)}\n\n`}${summaryLine(summary)}\n${summary.output ?? ''}\n\n${inspectHints(wf.id)}`);
  if (summary.status !== 'completed') process.exitCode = EXIT.failure;
}

/**
 * The auto-decomposed workflow, planned. Ctrl-C during the planning call aborts it: the workflow
 * is recorded as failed, its call's reservation released (it was recorded before the call), and
 * the command says so and exits as interrupted, rather than dying at once and leaving it held.
 */
async function planned(ctx: CliContext, system: AgentSystem, request: { task: string; budget: number; workspace?: boolean }): Promise<WorkflowHandle> {
  const id = randomUUID();
  const abort = new AbortController();
  const planning = system.workflows.spawnAuto({ ...request, id, signal: abort.signal });
  const result = await untilSignal(planning);
  if (typeof result !== 'string') return result;
  abort.abort();
  await planning.catch(() => {});
  ctx.output.err(`interrupted while planning: workflow ${id} failed before it had a plan (nothing ran); run the task again`);
  throw new Interrupted(result);
}
