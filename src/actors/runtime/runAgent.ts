import { InvalidInput } from '../../errors.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import { loadActor } from './actorCache.js';
import { cancellable, stoppedWaiting, untilAborted } from './cancellation.js';
import { requestRun } from './runStart.js';
import { repositoryMismatch } from './toolHosting.js';
import type { RuntimeContext } from './runtimeContext.js';
import { waitForEnd, type RunResult } from './waitForEnd.js';

/**
 * The three ways a caller drives an agent to its end (Temporal's start/result split):
 * `runAgent` asks and waits, `startAgent` asks and returns, `agentResult` only waits. Each hosts
 * what of the agent's subtree nobody hosts while it is waited for (as a worker would), so a plain
 * process that runs or waits for an agent also runs its children.
 */

/** Asks `id` to run and waits for its end; aborting `signal` terminates its subtree (cancellation.ts). */
export async function runAgent(rt: RuntimeContext, id: string, signal?: AbortSignal): Promise<RunResult> {
  await refuseWhereItsWorktreeCannotBeMade(rt, id);
  const run = (): Promise<RunResult> => hostedUntilEnd(rt, id, true);
  return signal ? cancellable(rt, id, signal, run) : run();
}

/**
 * An agent that asks for a worktree it has not made yet cannot run in a process with no
 * repository, or with another one: refused before anything is recorded, so it can still be run
 * where its repository is (`cadre start <id> --wait` from another folder ran it with no worktree,
 * silently).
 */
async function refuseWhereItsWorktreeCannotBeMade(rt: RuntimeContext, id: string): Promise<void> {
  const { snapshot } = await loadActor(rt, id);
  const request = snapshot.context.workspaceRequest;
  if (!request || snapshot.context.workspace || isTerminalStatus(statusOf(snapshot.value))) return;
  const why = repositoryMismatch(rt, request);
  if (why) throw new InvalidInput('workspace', `${snapshot.context.role} ${id.slice(0, 8)} cannot run here: ${why}: run it inside ${request.repo ?? 'its repository'}, or set WORKSPACE_REPO to it`);
}

/**
 * Records the run request (it survives a restart: whichever process hosts the agent then runs
 * it) and returns; this process hosts the agent's subtree until it ends, as `run()` would.
 */
export async function startAgent(rt: RuntimeContext, id: string): Promise<void> {
  const hosting = await hostSubtree(rt, id);
  if (!hosting) return;
  try {
    await askToRun(rt, id);
  } catch (err) {
    hosting.stop();
    throw err;
  }
  // Nobody waits on this: it ends at the agent's end, or with StoreClosed when the system closes.
  if (rt.worker) void waitForEnd(rt, id).catch(() => {}).finally(hosting.stop);
}

/**
 * Waits for `id`'s end without asking it to run. `signal` only stops this wait (`Aborted`); the
 * agent goes on.
 */
export async function agentResult(rt: RuntimeContext, id: string, signal?: AbortSignal): Promise<RunResult> {
  if (signal?.aborted) throw stoppedWaiting(signal);
  return hostedUntilEnd(rt, id, false, signal);
}

/** `stopWaiting`: gives up the wait (and the hosting that came with it), not the agent. */
async function hostedUntilEnd(rt: RuntimeContext, id: string, ask: boolean, stopWaiting?: AbortSignal): Promise<RunResult> {
  const hosting = await hostSubtree(rt, id);
  if (!hosting) return untilAborted(waitForEnd(rt, id), stopWaiting);
  try {
    if (ask) await askToRun(rt, id);
    return await untilAborted(waitForEnd(rt, id), stopWaiting);
  } finally {
    hosting.stop();
  }
}

/**
 * Hosts what of `id`'s subtree nobody hosts until `stop()` is called; null when `id` has ended
 * and settled here already (a workflow node that finished before the workflow watched it): an
 * end is final, nothing to host, run or read, and waitForEnd answers from memory (asking cost a
 * stream read, a lease tick and a catch-up read per node).
 */
async function hostSubtree(rt: RuntimeContext, id: string): Promise<{ stop: () => void } | null> {
  if (settledHere(rt, id)) return null;
  await loadActor(rt, id); // NotFound before anything is claimed
  if (settledHere(rt, id)) return null; // it ended meanwhile
  return { stop: rt.worker ? await rt.worker.hostSubtree(id) : () => {} };
}

/**
 * Ended here with nothing left to do: its ending ran here to the end, or its ending's commit
 * held its parent's record of it and ended its index entry (indexEnded).
 */
export function settledHere(rt: RuntimeContext, id: string): boolean {
  // Its ending ran here to the end (it may have been loaded again since, to be read).
  if (rt.recentlyEnded.get(id)?.snapshot.context.result) return true;
  const live = rt.actors.get(id);
  return !!live && live.indexEnded && live.snapshot.context.result !== null;
}

/** Records the run request (once); whichever process holds the agent's lease runs it. */
export async function askToRun(rt: RuntimeContext, id: string): Promise<void> {
  // Asked already, or ended: both only ever become true, so a cached copy that says so is
  // current enough (a workflow asked each node child twice: a stream read per agent step).
  const cached = rt.actors.get(id)?.snapshot;
  if (cached && (cached.context.runRequested || isTerminalStatus(statusOf(cached.value)))) return;
  if (rt.recentlyEnded.has(id)) return;
  // The cached copy, not one caught up first (a read per run): if another process asked or
  // ended it meanwhile, the append is refused for its revision and the decision is taken again
  // on what it wrote.
  const actor = await loadActor(rt, id);
  const status = statusOf(actor.snapshot.value);
  if (!isTerminalStatus(status) && !actor.snapshot.context.runRequested) await requestRun(rt, id, 'api:run');
}
