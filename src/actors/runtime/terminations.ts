import { InvalidTransition, NotSubordinate } from '../../errors.js';
import { backoffMs } from '../../infra/backoff.js';
import type { DomainEvent } from '../../events/catalogue.js';
import { liveChildren, type AgentContext } from '../agentContext.js';
import { failureEvents, terminationEvents } from '../agentDecisions.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import type { LiveActor } from '../liveActor.js';
import { timeoutReason } from '../timeoutReason.js';
import { catchUp, loadActor } from './actorCache.js';
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
  const reason = timeoutReason(c.timeoutMs, rt.deps.config.defaultTimeoutMs);
  // Recorded at once, before its children are ended (which waits for their ends: 1.3-1.7 s with
  // worktrees to merge, a new user's try): from here on no decision of the agent's starts
  // anything (deadline.ts), wherever it is hosted. A decision past the deadline may have recorded
  // it already.
  await execute(rt, id, (s) => (isTerminalStatus(statusOf(s.value)) || s.context.timedOut ? [] : [{ type: 'AgentTimedOut', data: { deadline: c.deadline! } }]), { causationId: 'timer' });
  // Then its children: a child whose spawn was decided before the deadline can be recorded after
  // the copy a round read (a single round failed the agent with "cannot accept AgentFailed" in 7
  // of 12 runs, a new user's try).
  await endAfterChildren(rt, id, {
    childReason: () => `parent ${id} timed out`,
    logCascade: false,
    ending: (s) => failureEvents({ ...s, timedOut: true }, 'timeout', reason),
    endEvent: 'AgentFailed',
    causationId: 'timer',
  });
}

/** Terminates `targetId`'s subtree if it lies under `byId`. */
export async function fire(rt: RuntimeContext, byId: string, targetId: string, reason = 'fired'): Promise<void> {
  if (byId === targetId || !(await isDescendant(rt, targetId, byId))) throw new NotSubordinate(byId, targetId);
  await terminateSubtree(rt, targetId, reason, byId);
}

/**
 * Terminates any agent and its subtree (the API's `system.terminate`, timeouts, cascades).
 *
 * The agent may be hosted by another process (a `cadre run`, a worker) that goes on with its work
 * while its children are ended from here: a workflow records a node's end and starts the next
 * node, a lead calls its model again. Its end cannot be recorded while a child is live, so the
 * children are ended again, round after round, until the end is recorded (or it ended by itself
 * meanwhile). `cadre fire` on a running workflow from a second process failed every time before.
 */
export async function terminateSubtree(rt: RuntimeContext, id: string, reason: string, by: string | null): Promise<void> {
  const causationId = by ? `agent:${by}` : 'api:terminate';
  const first = await loadActor(rt, id);
  if (isTerminalStatus(statusOf(first.snapshot.value))) return;
  // Nothing new starts here from now on (the effect the firing makes due, too, is left to this).
  first.inflight.terminating = true;
  // Recorded first: the process that hosts it (maybe not this one) stops starting work and ends
  // it too, and one that recovers it after a crash finishes the job (effects.ts `terminate`).
  await execute(rt, id, (s) => (isTerminalStatus(statusOf(s.value)) || s.context.terminating ? [] : [{ type: 'AgentTerminating', data: { reason, by } }]), { causationId });
  // The first firing recorded says why: a later one only helps it along.
  const why = (c: AgentContext): { reason: string; by: string | null } => c.terminating ?? { reason, by };
  await endAfterChildren(rt, id, {
    childReason: (c) => `parent ${id} terminated: ${why(c).reason}`,
    logCascade: true,
    ending: (c) => terminationEvents(c, why(c).reason, why(c).by),
    endEvent: 'AgentTerminated',
    causationId,
  });
  await ensureParentNotified(rt, id);
}

/**
 * Ends agent `id` once its children have, round after round: each round ends its live children
 * (`childReason`), then records `ending` if none is live. Its host may be another process that
 * goes on starting children meanwhile (a workflow's next node), or a spawn decided before this
 * began may be recorded after the copy a round read: the next round ends those too.
 * `logCascade`: a child that cannot be ended is logged, and ends the rounds with its error.
 */
async function endAfterChildren(rt: RuntimeContext, id: string, o: {
  readonly childReason: (c: AgentContext) => string;
  readonly logCascade: boolean;
  readonly ending: (c: AgentContext) => DomainEvent[];
  readonly endEvent: 'AgentFailed' | 'AgentTerminated';
  readonly causationId: string;
}): Promise<void> {
  for (let round = 1; ; round++) {
    const actor = await loadActor(rt, id);
    if (isTerminalStatus(statusOf(actor.snapshot.value))) return;
    const failed = await endChildrenFirst(rt, actor, o.childReason(actor.snapshot.context), o.logCascade);
    let childLive = false;
    await execute(rt, id, (s) => {
      if (isTerminalStatus(statusOf(s.value))) return [];
      childLive = liveChildren(s.context).length > 0;
      return childLive ? [] : o.ending(s.context);
    }, { causationId: o.causationId });
    if (!childLive) return;
    // A child that could not be ended (the store gone, say) is still live: that is the answer,
    // not another round.
    if (failed.length > 0) throw failed[0];
    if (round >= MAX_TERMINATION_ROUNDS) throw new InvalidTransition(id, `still starting children after ${round} rounds of ending them`, o.endEvent);
    await new Promise((r) => setTimeout(r, backoffMs(round, { baseMs: 5, maxMs: 200, jitter: 'full' })));
    // The host's writes since this copy was read: the children it started, or ended.
    await catchUp(rt, actor);
  }
}

/**
 * Rounds of ending an agent's children before its own end is given up: each round ends every
 * child its host started meanwhile, and a host starts a bounded number (a workflow's ready
 * nodes, a lead's one turn), so this is only reached by a host that never stops starting them.
 */
const MAX_TERMINATION_ROUNDS = 50;

/**
 * Stops the agent's own work (its model call is aborted, nothing new starts) and terminates its
 * live children (`why` is their reason), each recorded in it as finished. `logCascade`: a child that cannot be
 * terminated is logged rather than failing the whole cascade, and its error returned.
 */
async function endChildrenFirst(rt: RuntimeContext, actor: LiveActor, why: string, logCascade: boolean): Promise<unknown[]> {
  actor.inflight.terminating = true;
  actor.abortWork();
  const kids = liveChildren(actor.snapshot.context);
  const failed: unknown[] = [];
  await Promise.all(
    kids.map((k) => {
      const ending = terminateSubtree(rt, k, why, actor.id);
      return logCascade
        ? ending.catch((err: unknown) => {
            failed.push(err);
            rt.deps.logger.error({ agentId: k, err }, 'cascade failed');
          })
        : ending;
    }),
  );
  await Promise.all(
    kids.map((k) => {
      // Ending the tree does not wait on a child's commit (its worktree may be out of reach).
      const recorded = ensureParentNotified(rt, k, { commit: 'best-effort' });
      return logCascade ? recorded.catch((err: unknown) => void failed.push(err)) : recorded;
    }),
  );
  return failed;
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
