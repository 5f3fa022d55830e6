import { NotSubordinate } from '../../errors.js';
import { liveChildren, type AgentContext } from '../agentContext.js';
import { failureEvents, terminationEvents } from '../agentDecisions.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import type { LiveActor } from '../liveActor.js';
import { timeoutReason } from '../timeoutReason.js';
import { loadActor } from './actorCache.js';
import { execute } from './commandExecutor.js';
import { runInBackground } from './effectFailure.js';
import { ensureParentNotified } from './ending.js';
import type { RuntimeContext } from './runtimeContext.js';

/**
 * Ends that come from outside the agent's own work: its deadline passing (a durable timer: the
 * deadline is in the stream, so a restart re-arms it), and being fired, itself or with an
 * ancestor. Children end first, each recording why; the agent ends once every child reported.
 */

/** Arms the agent's deadline timer if it has a deadline and none is armed. */
export function armTimer(rt: RuntimeContext, actor: LiveActor): void {
  const c = actor.snapshot.context;
  if (actor.timer || !c.deadline || isTerminalStatus(statusOf(actor.snapshot.value))) return;
  const ms = Math.max(0, new Date(c.deadline).getTime() - rt.deps.clock.now().getTime());
  actor.timer = setTimeout(() => {
    actor.timer = null;
    void runInBackground(rt, actor.id, timeOut(rt, actor.id));
  }, Math.min(ms, 2 ** 31 - 1));
  actor.timer.unref?.();
}

async function timeOut(rt: RuntimeContext, id: string): Promise<void> {
  const actor = await loadActor(rt, id);
  const c = actor.snapshot.context;
  if (isTerminalStatus(statusOf(actor.snapshot.value)) || !c.deadline) return;
  if (new Date(c.deadline).getTime() > rt.deps.clock.now().getTime()) return armTimer(rt, actor);
  await endChildrenFirst(rt, actor, `parent ${id} timed out`, false);
  await execute(rt, id, (s) => {
    if (isTerminalStatus(statusOf(s.value))) return [];
    const after: AgentContext = { ...s.context, timedOut: true };
    return [{ type: 'AgentTimedOut', data: { deadline: c.deadline! } }, ...failureEvents(after, 'timeout', timeoutReason(c.timeoutMs, rt.deps.config.defaultTimeoutMs))];
  }, { causationId: 'timer' });
}

/** Terminates `targetId`'s subtree if it lies under `byId`. */
export async function fire(rt: RuntimeContext, byId: string, targetId: string, reason = 'fired'): Promise<void> {
  if (byId === targetId || !(await isDescendant(rt, targetId, byId))) throw new NotSubordinate(byId, targetId);
  await terminateSubtree(rt, targetId, reason, byId);
}

/** Terminates any agent and its subtree (the API's `system.terminate`, timeouts, cascades). */
export async function terminateSubtree(rt: RuntimeContext, id: string, reason: string, by: string | null): Promise<void> {
  const actor = await loadActor(rt, id);
  if (isTerminalStatus(statusOf(actor.snapshot.value))) return;
  await endChildrenFirst(rt, actor, `parent ${id} terminated: ${reason}`, true);
  await execute(rt, id, (s) => (isTerminalStatus(statusOf(s.value)) ? [] : terminationEvents(s.context, reason, by)), { causationId: by ? `agent:${by}` : 'api:terminate' });
  await ensureParentNotified(rt, id);
}

/**
 * Stops the agent's own work (its model call is aborted, nothing new starts) and terminates its
 * live children (`why` is their reason), each recorded in it as finished. `logCascade`: a child that cannot be
 * terminated is logged rather than failing the whole cascade.
 */
async function endChildrenFirst(rt: RuntimeContext, actor: LiveActor, why: string, logCascade: boolean): Promise<void> {
  actor.inflight.terminating = true;
  actor.inflight.call?.controller.abort();
  const kids = liveChildren(actor.snapshot.context);
  await Promise.all(
    kids.map((k) => {
      const ending = terminateSubtree(rt, k, why, actor.id);
      return logCascade ? ending.catch((err: unknown) => rt.deps.logger.error({ agentId: k, err }, 'cascade failed')) : ending;
    }),
  );
  await Promise.all(kids.map((k) => ensureParentNotified(rt, k)));
}

async function isDescendant(rt: RuntimeContext, id: string, ancestor: string): Promise<boolean> {
  let current: string | null = id;
  for (let hops = 0; current && hops < 100_000; hops++) {
    const entry = await rt.deps.index.get(current);
    if (!entry) return false;
    if (entry.parentId === ancestor) return true;
    current = entry.parentId;
  }
  return false;
}
