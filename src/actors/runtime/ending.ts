import { isTerminalStatus, statusOf } from '../agentMachine.js';
import type { LiveActor } from '../liveActor.js';
import { dropEnded, loadActor } from './actorCache.js';
import { execute, saveSnapshot } from './commandExecutor.js';
import { runInBackground } from './effectFailure.js';
import { endCausation, endsWithNothingLeft, parentRecordOfEnd } from './parentRecord.js';
import type { RuntimeContext } from './runtimeContext.js';
import { cleanUpWorkspace, finishWorkspace, mergeIntoParent } from './workspaceEffects.js';
import { backoffMs } from '../../infra/backoff.js';

/** Fewer events than this since the last snapshot are folded on reload rather than snapshotted at the end. */
const END_SNAPSHOT_MIN_EVENTS = 64;

/** Attempts at an agent's end steps (commit, notify the parent, clean up): ~25 s of backoff in all. */
const END_RETRIES = 8;
/** After the attempts above fail, the pause before a single process tries the whole ending again. */
const END_RETRY_PAUSE_MS = 30_000;

/**
 * What an ended agent does, once (`agentEnded`): commit its worktree, tell its parent, clean up,
 * mark it ended in the index and let its lease and its place in the cache go.
 */
export async function onEnded(rt: RuntimeContext, actor: LiveActor): Promise<void> {
  if (actor.inflight.ending) return;
  actor.inflight.ending = true;
  // Ended, here or by another process (a fire recorded by `cadre fire`): nothing under way for it
  // can be recorded any more. Its model call was left running: the fired run waited for the
  // reply, and close() then blamed a tool (a new user's try).
  actor.abortWork();
  try {
    rt.slots.release(actor.id);
    if (actor.timer) clearTimeout(actor.timer);
    actor.timer = null;
    // Every step is idempotent (it checks the stream first), so a transient failure (git down,
    // a lost connection) is retried as a whole; if it outlasts the retries the agent stays live
    // in the index and the whole ending is tried again later (retryEndLater).
    for (let attempt = 1; ; attempt++) {
      try {
        // Commits its work first, then tells its parent (if it has one).
        await ensureParentNotified(rt, actor.id);
        // After the parent merged it: the worktree follows the cleanup policy.
        await cleanUpWorkspace(rt, actor.id, (await loadActor(rt, actor.id)).snapshot.context);
        break;
      } catch (err) {
        if (!rt.closed && attempt >= END_RETRIES) retryEndLater(rt, actor.id);
        if (rt.closed || attempt >= END_RETRIES) throw err;
        rt.deps.logger.warn({ agentId: actor.id, attempt, err: err instanceof Error ? err.message : String(err) }, 'ending an agent failed; retrying');
        await new Promise((r) => setTimeout(r, backoffMs(attempt, { baseMs: 100, maxMs: 5000 })));
      }
    }
    if (!actor.indexEnded) await rt.deps.index.markEnded(actor.id);
    rt.worker?.release(actor.id);
    // A last snapshot only where it saves a real fold: a workflow node's ~17 events fold in
    // microseconds, and its snapshot was 2.8 kB and a commit per agent step.
    if (actor.eventsSinceSnapshot >= Math.min(END_SNAPSHOT_MIN_EVENTS, rt.deps.config.snapshotEvery)) saveSnapshot(rt, actor);
  } finally {
    actor.inflight.ending = false;
    actor.ended();
    // Bounded memory: ended actors leave the live set; state() reloads them on demand.
    dropEnded(rt, actor);
    actor.changed();
  }
}

/**
 * An ending that failed every attempt must not be forgotten while its parent waits: a worker
 * lets the lease lapse so that whichever worker claims the agent next ends it again; a single
 * process tries again after a pause.
 */
function retryEndLater(rt: RuntimeContext, id: string): void {
  if (rt.worker?.claimsFree) return rt.worker.release(id);
  const timer = setTimeout(() => {
    if (rt.closed) return;
    void runInBackground(rt, id, loadActor(rt, id).then(() => rt.reconcileSoon(id)));
  }, END_RETRY_PAUSE_MS);
  timer.unref?.();
}

/**
 * For an ended agent: commits its work (once), then records its end in its parent exactly once:
 * ChildFinished and the budget reclaim, the merge of its worktree, and what the parent itself
 * decides of it (a workflow's node outcome), in one append.
 *
 * Whoever tells the parent (the child's ending, or a reconcile that found it ended) commits
 * first: a parent's reconcile recorded a child completed, and merged its branch, while the
 * child's own commit was still failing, so its work never came up. A commit that keeps failing
 * now holds the parent's record back instead (the ending retries).
 *
 * Except where nothing waits on it: once the parent has recorded the end, or when the tree is
 * being ended regardless (`commit: 'best-effort'`, a termination's cascade), a commit that fails
 * is logged and left. A worktree nobody can reach (its repository deleted, as an interrupted
 * `cadre demo` did) kept the ending retrying for ever, and `cadre fire` failed on it.
 */
export async function ensureParentNotified(rt: RuntimeContext, childId: string, options: { commit?: 'required' | 'best-effort' } = {}): Promise<void> {
  const child = await loadActor(rt, childId);
  if (!isTerminalStatus(statusOf(child.snapshot.value))) return;
  const c = child.snapshot.context;
  const parent = c.parentId && c.result ? await loadActor(rt, c.parentId) : null;
  const waiting = parent !== null && parent.snapshot.context.children[childId]?.status === 'live';
  if (waiting && options.commit !== 'best-effort') await finishWorkspace(rt, child);
  else {
    await finishWorkspace(rt, child).catch((err: unknown) => {
      rt.deps.logger.warn({ agentId: childId, err: err instanceof Error ? err.message : String(err) }, 'the ended agent’s worktree was not committed; its end is recorded without it');
    });
  }
  if (!parent || !waiting) return;
  const merge = await mergeIntoParent(rt, c, parent.snapshot.context);
  await execute(rt, parent.id, (s) => parentRecordOfEnd(rt, s, c, merge, parent.inflight.terminating), {
    causationId: endCausation(childId),
    ...(endsWithNothingLeft(child.snapshot) ? { settlesChild: child } : {}),
  });
}
