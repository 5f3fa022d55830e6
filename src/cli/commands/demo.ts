import type { Command } from 'commander';
import { rmSync } from 'node:fs';
import { firstSignal } from '../firstSignal.js';
import type { AgentSystem } from '../../system.js';
import type { AgentNode } from '../../dashboard/agentTree.js';
import { flatten } from '../../dashboard/agentTree.js';
import { isCadreError } from '../../errors.js';
import { Interrupted } from '../cliError.js';
import { parseCount, print, type CliContext } from '../context.js';
import { createDemoRepo, filesPerBranch, type DemoRepo } from '../demoRepo.js';
import { renderAgentTree } from '../render/agentTreeView.js';
import { renderTable } from '../render/table.js';
import { shortId, tokens, usd } from '../render/style.js';
import { inspectHints, runWithLiveTree, summaryLine, type RunSummary } from '../runLive.js';
import { closeSystem } from '../closeSystem.js';

const TASK = 'Add a slugify(text) function to src/text.js, with tests';

/** Starts the job: a tdd-workflow, in worktrees when there is a repository. */
/**
 * The least --budget the demo completes with: measured on 2026-12-04, the offline model's
 * tdd-workflow needs 27,000 tokens (26,300 failed: the design node could not afford a turn);
 * rounded up for headroom. Less would pass the check and fail part-way. (Measured before node
 * outputs stopped quoting upstream ones, which shortened later nodes' prompts: it now needs less.)
 */
export const DEMO_MIN_BUDGET = 30_000;

async function startJob(system: AgentSystem, budget: number): Promise<{ id: string; run: () => Promise<{ status: string; output: string | null }>; kind: string }> {
  const workspace = system.workspaces.repo !== null ? { workspace: true } : {};
  const spawn = (ws: object) => system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: TASK, budget, ...ws });
  const wf = await spawn(workspace).catch((err: unknown) => (isCadreError(err) && err.code === 'INVALID_INPUT' && /workspace/.test(err.message) ? spawn({}) : Promise.reject(err)));
  return { id: wf.id, run: () => wf.run(), kind: 'workflow tdd-workflow' };
}

export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run a real multi-agent job on the embedded store: a tdd-workflow on a fresh git repository')
    .option('--budget <tokens>', `the job's token budget (at least ${DEMO_MIN_BUDGET})`, '120000')
    .option('--keep', 'keep the temporary git repository (its path is printed)')
    .option('--json', 'print the summary as JSON (no live tree)')
    .addHelpText('after', '\nNo server and no API key needed: the embedded PGlite store (.cadre/ or CADRE_DATA_DIR) and the\noffline model (Claude when ANTHROPIC_API_KEY is set).\n\nExamples:\n  cadre demo\n  npm run demo')
    .action(async (opts: { budget: string; keep?: boolean; json?: boolean }) => {
      const started = Date.now();
      const budget = parseCount(opts.budget, '--budget', { min: DEMO_MIN_BUDGET });
      const repo: DemoRepo = await createDemoRepo();
      // Ctrl-C before the run is under way (the store opening, the job starting) is kept, not
      // Node's default: that died silently and left the temporary repository behind.
      const early = firstSignal();
      let system: AgentSystem | null = null;
      let summary: RunSummary | null = null;
      let interrupted = false;
      let branches: Awaited<ReturnType<typeof filesPerBranch>> = [];
      let kind = '';
      try {
        // Offline, each model call takes a moment so the live tree has something to show.
        // Through the config, so a key in ANTHROPIC_API_KEY_FILE counts too (process.env alone missed it).
        const { readEnv } = await import('../../infra/config.js');
        const offline = readEnv().ANTHROPIC_API_KEY ? {} : { model: { provider: 'offline' as const, latencyMs: 250 } };
        const opened = await ctx.openSystem({ recover: false, workspace: { repo: repo.repo, basePath: repo.worktrees, cleanup: 'never' }, ...offline });
        system = opened;
        const model = opened.model.isLLM ? `Claude (${opened.model.defaultModel})` : 'the offline model (deterministic rules, not an LLM)';
        if (!opts.json && !early.signal) ctx.output.out(`${ctx.style.bold('cadre demo')}: "${TASK}"\nstore ${opened.store.kind}, model ${model}, repository ${repo.repo}\n`);
        const job = early.signal ? null : await startJob(opened, budget);
        // Its worktrees live in a temporary repository that goes when the demo ends: nothing could
        // resume an interrupted run (a worker retried its endings for ever), so it is ended here.
        const endRun = async (): Promise<string> => {
          if (!job) return 'interrupted: the demo stopped before its run started';
          await opened.terminate(job.id, 'cadre demo interrupted').catch(() => undefined);
          const status = await opened.get(job.id).state().then((st) => st.status, () => 'unknown');
          if (status === 'terminated') return `interrupted: the demo's run ${job.id} is terminated (its worktrees were in a temporary repository); run cadre demo again`;
          if (['completed', 'failed'].includes(status)) return `interrupted: the demo's run ${job.id} had already ${status} (cadre tree ${job.id})`;
          return `interrupted: the demo's run ${job.id} could not be ended (${status}); end it with cadre fire ${job.id}`;
        };
        early.stop();
        if (early.signal || !job) {
          ctx.output.err(await endRun());
          throw new Interrupted(early.signal ?? 'SIGINT');
        }
        kind = job.kind;
        summary = await runWithLiveTree(ctx, opened, job.id, job.run, { quiet: Boolean(opts.json), onInterrupt: endRun });
        branches = await filesPerBranch(repo.repo);
      } catch (err) {
        interrupted = err instanceof Interrupted || early.signal !== null;
        throw err;
      } finally {
        early.stop();
        if (system) await closeSystem(system, ctx.output, interrupted);
        if (!opts.keep) rmSync(repo.dir, { recursive: true, force: true });
      }
      const roleOf = new Map(flatten(summary.tree).map((n: AgentNode) => [n.id, n.nodeId ?? n.role]));
      const wall = (Date.now() - started) / 1000;
      print(ctx, opts.json, { ...summary, tree: summary.tree, kind, branches, wallSeconds: wall, repository: opts.keep ? repo.repo : null }, () => [
        '',
        ctx.output.isTTY ? '' : `${renderAgentTree(summary.tree, ctx.style)}\n`,
        `${ctx.style.bold(summaryLine(summary))}  (${kind})`,
        '',
        renderTable(flatten(summary.tree), [
          { header: 'AGENT', value: (n) => `${'  '.repeat(n.depth)}${n.nodeId ?? n.role}` },
          { header: 'ID', value: (n) => shortId(n.id) },
          { header: 'STATUS', value: (n) => n.status },
          // With the subtree, as the tree above and the totals count them (the workflow row said 0
          // beside a tree row of 16k: a workflow spends through its nodes).
          { header: 'TOKENS', value: (n) => tokens(n.subtreeConsumed), align: 'right' },
          { header: 'OF', value: (n) => tokens(n.budget.allocated), align: 'right' },
          { header: 'COST', value: (n) => usd(n.subtreeCostUsd), align: 'right' },
        ]),
        'tokens and cost of each agent include its subtree',
        '',
        branches.length === 0
          ? 'files changed per branch: none (no agent made a worktree)'
          : `files changed per branch:\n${branches.map((b) => `  ${b.branch.replace(b.agentId, shortId(b.agentId))} (${roleOf.get(b.agentId) ?? '?'}): ${b.files.join(', ') || 'no changes'}`).join('\n')}`,
        '',
        inspectHints(summary.rootId),
        opts.keep ? `repository kept at ${repo.repo}` : '',
        `done in ${wall.toFixed(1)} s`,
      ].filter((l, i, all) => l !== '' || all[i - 1] !== '').join('\n'));
      if (summary.status !== 'completed') process.exitCode = 1;
    });
}
