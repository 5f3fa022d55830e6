import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AgentRuntime } from '../../actors/runtime.js';
import { isTerminalStatus } from '../../actors/agentContext.js';
import { isDeadLocalOwner } from '../../infra/ids.js';
import { CliError, EXIT } from '../cliError.js';
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
          await refuseUnreachableWorktrees(system.internal.runtime, id);
          const summary = await runWithLiveTree(ctx, system, id, () => system.run(id), { quiet: Boolean(opts.json) });
          print(ctx, opts.json, { ...summary, tree: undefined }, () => `\n${summaryLine(summary)}\n${summary.output ?? ''}\n\n${inspectHints(id)}`);
          if (summary.status !== 'completed') process.exitCode = EXIT.failure;
          return;
        }
        const before = await system.internal.runtime.state(id);
        if (isTerminalStatus(before.status)) {
          // Nothing to run, and nothing recorded: say so instead of "run requested".
          print(ctx, opts.json, { agentId: id, status: before.status, runRequested: false, hostedBy: null }, () => `${before.role} ${id} has already ${before.status === 'terminated' ? 'been terminated' : before.status}: nothing to run
see it with: cadre status ${id}`);
          return;
        }
        await system.internal.runtime.requestRun(id);
        const held = await holderWithin(system.internal.runtime, id, CLAIM_WAIT_MS);
        // A lease of a process that was killed holds until it lapses, and nothing runs the agent.
        const gone = held !== null && isDeadLocalOwner(held);
        const holder = gone ? null : held;
        const s = await system.internal.runtime.state(id);
        const nobody = `no process took it up within ${CLAIM_WAIT_MS / 1000} s: start one with cadre worker (or cadre serve), or run it here with cadre start ${id} --wait`;
        print(ctx, opts.json, { agentId: id, status: s.status, runRequested: true, hostedBy: holder }, () =>
          holder
            ? `run requested for ${s.role} ${id}: ${holder} runs it\nfollow it with: cadre tree ${id}`
            : gone
              ? `run requested for ${s.role} ${id} (status ${s.status}); the process that held it (${held}) is gone: start a worker (cadre worker or cadre serve) to take it up, or run it here with cadre start ${id} --wait`
              : isTerminalStatus(s.status)
                ? `run requested for ${s.role} ${id}: another process ran it to its end (status ${s.status})\nsee it with: cadre status ${id}`
                : `run requested for ${s.role} ${id} (status ${s.status}); ${nobody}`,
        );
      });
    });
}

/**
 * How long to look for the process that takes the agent up: a worker claims free agents on its
 * lease tick (1 s), so read at once the answer was "no process hosts it" with a worker running,
 * 3 times of 3 (a new user's try).
 */
const CLAIM_WAIT_MS = 2_000;

/**
 * The agent's lease holder, looked for every 100 ms for up to `ms` or until a live process holds
 * it or it has ended; null if none holds it then. A dead process's lease is looked past: a
 * worker may claim the agent from it within the wait.
 */
async function holderWithin(runtime: Pick<AgentRuntime, 'leaseHolders' | 'state'>, id: string, ms: number): Promise<string | null> {
  const until = Date.now() + ms;
  for (;;) {
    const holder = (await runtime.leaseHolders([id])).get(id) ?? null;
    if ((holder && !isDeadLocalOwner(holder)) || Date.now() >= until || isTerminalStatus((await runtime.state(id)).status)) return holder;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `--wait` where the subtree has agents nobody hosts whose worktrees this process cannot reach:
 * it waited for them for ever, warning each tick (a new user's `cadre start` from another
 * folder, or without the WORKSPACE_BASE_PATH the run had). Says where to run it instead.
 */
async function refuseUnreachableWorktrees(runtime: Pick<AgentRuntime, 'unreachableWorktrees'>, id: string): Promise<void> {
  const stuck = await runtime.unreachableWorktrees(id, isDeadLocalOwner);
  const first = stuck.find((x) => x.path !== null) ?? stuck[0];
  if (!first) return;
  const repo = first.path === null ? null : repositoryOf(first.path);
  const where = first.path === null ? 'asks for a git worktree' : `works in the worktree ${first.path}`;
  const others = stuck.length > 1 ? ` (and ${stuck.length - 1} more agent${stuck.length > 2 ? 's' : ''} of its tree)` : '';
  const settings = `${first.path === null ? '' : `WORKSPACE_BASE_PATH=${dirname(first.path)} `}cadre start ${id} --wait`;
  throw new CliError(`${first.role} ${first.agentId} ${where}, and ${first.why}${others}: nothing here can run it, and no other process holds it`, {
    hint: `run it where it was made: ${repo ? `cd ${repo} && ${settings}` : `${settings} inside the repository it was made in (or with WORKSPACE_REPO set to it)`}; or start a cadre worker there`,
  });
}

/** The repository a worktree belongs to, from its `.git` file (`gitdir: <repo>/.git/worktrees/<name>`), or null. */
function repositoryOf(worktree: string): string | null {
  try {
    const m = /^gitdir: (.*)\/\.git\/worktrees\/[^/]+\s*$/.exec(readFileSync(join(worktree, '.git'), 'utf8'));
    return m ? m[1]! : null;
  } catch {
    return null;
  }
}
