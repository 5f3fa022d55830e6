import type { AgentContext, AgentResult } from '../agentContext.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import { evictIfEnded, loadActor } from './actorCache.js';
import type { RuntimeContext } from './runtimeContext.js';
import { StoreClosed } from '../../errors.js';

/** How a run ended. `O`: its output's type, text unless the agent was spawned with an `output` schema. */
export interface RunResult<O = string> {
  readonly status: 'completed' | 'failed' | 'terminated';
  readonly output: O | null;
  readonly budgetConsumed: number;
  readonly reason: string | null;
}

/** Waits until `id` has ended and settled with its parent (its end recorded there), then reports how; StoreClosed once the runtime closes. */
export async function waitForEnd(rt: RuntimeContext, id: string): Promise<RunResult> {
  for (;;) {
    // Nothing here moves it on once closed (close() wakes every waiter to see this).
    if (rt.closed) throw new StoreClosed();
    // Ended, settled with its parent and dropped from the live set: an end is final.
    const ended = rt.actors.has(id) ? undefined : rt.recentlyEnded.get(id)?.snapshot;
    if (ended?.context.result) return runResult(ended.context.result, ended.context);
    const actor = await loadActor(rt, id);
    const s = actor.snapshot;
    if (isTerminalStatus(statusOf(s.value)) && !rt.actors.has(id)) return runResult(s.context.result!, s.context);
    if (isTerminalStatus(statusOf(s.value)) && actor.inflight.ending === false && s.context.result) {
      // Ended and fully settled with the parent.
      if (!s.context.parentId || (await parentKnowsEnd(rt, s.context))) {
        evictIfEnded(rt, actor);
        return runResult(s.context.result, s.context);
      }
    }
    // Its host (here or in another process, whose writes the store subscription folds in)
    // changes it; an ended child waits for its parent to record the end.
    const parent = s.context.parentId && isTerminalStatus(statusOf(s.value)) ? rt.actors.get(s.context.parentId) : undefined;
    await Promise.race([actor.onEnd(), actor.nextChange(), actor.waitFor(() => rt.actors.get(id) !== actor), ...(parent ? [parent.nextChange()] : [])]);
  }
}

async function parentKnowsEnd(rt: RuntimeContext, c: AgentContext): Promise<boolean> {
  if (!c.parentId) return true;
  const parent = await loadActor(rt, c.parentId).catch(() => null);
  return !parent || parent.snapshot.context.children[c.id]?.status !== 'live';
}

function runResult(r: AgentResult, c: AgentContext): RunResult {
  return { status: r.status, output: r.output, budgetConsumed: c.budget.consumed + c.budget.spentBySubtree, reason: r.reason };
}
