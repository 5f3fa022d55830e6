import { NotFound } from '../../errors.js';
import { liveChildren, type AgentContext } from '../agentContext.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import { loadActor, preload } from './actorCache.js';
import type { RuntimeContext } from './runtimeContext.js';
import { openChild } from './spawning.js';
import { mayHost } from './toolHosting.js';

const RECOVERY_BATCH = 500;

export interface RecoverOptions {
  /** Runs before any effect resumes, with every live agent's context (worktrees on disk must agree with them). */
  readonly beforeResume?: (live: readonly AgentContext[]) => Promise<void>;
}

/**
 * Rebuilds every live actor from its snapshot and stream and resumes what its state says was
 * in flight: an unanswered model call is issued again, tools re-run (idempotently), children
 * opened, parents told of ends they missed.
 */
export async function recover(rt: RuntimeContext, options: RecoverOptions = {}): Promise<{ recovered: number; ended: number }> {
  const listed = await rt.deps.index.listLive();
  // Only what this process can lease: another live process's actors stay with it.
  const mine = rt.worker ? await rt.worker.claimRecoverable(listed.map((e) => e.agentId)) : null;
  const live = mine ? listed.filter((e) => mine.has(e.agentId)) : listed;
  let recovered = 0;
  let ended = 0;
  for (let i = 0; i < live.length; i += RECOVERY_BATCH) await preload(rt, live.slice(i, i + RECOVERY_BATCH).map((e) => e.agentId));
  const queue = [...live];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let e = queue.shift(); e; e = queue.shift()) {
        const actor = await loadActor(rt, e.agentId).catch((err: unknown) => (err instanceof NotFound ? null : Promise.reject(err)));
        if (!actor) {
          // Registered, never written: if the parent recorded the spawn, finish it; else forget it.
          if (e.parentId && (await reopenIfRecorded(rt, e.parentId, e.agentId))) recovered++;
          else await rt.deps.index.forget(e.agentId);
          continue;
        }
        if (isTerminalStatus(statusOf(actor.snapshot.value))) ended++;
        else recovered++;
      }
    }),
  );
  // A crash between the parent's ChildSpawned and the child's index entry: the parent's stream
  // is the only record, so open the child as it says.
  const reopened: string[] = [];
  for (const a of [...rt.actors.values()]) {
    if (isTerminalStatus(statusOf(a.snapshot.value))) continue;
    for (const childId of liveChildren(a.snapshot.context)) {
      if (!rt.actors.has(childId) && (await reopenIfRecorded(rt, a.id, childId))) reopened.push(childId);
    }
  }
  recovered += reopened.length;
  const resuming = [...new Set([...live.map((e) => e.agentId), ...reopened])].filter((id) => rt.actors.has(id));
  // What must agree with the streams before any effect runs (worktrees on disk), from the
  // contexts just loaded in batches.
  // Other processes' live actors count as live there too (their worktrees are in use), though
  // they are not resumed here.
  const elsewhere = listed.map((e) => e.agentId).filter((id) => !resuming.includes(id));
  if (options.beforeResume && elsewhere.length > 0) await preload(rt, elsewhere);
  const keep = [...resuming, ...elsewhere].flatMap((id) => rt.actors.get(id)?.snapshot.context ?? []);
  await options.beforeResume?.(keep);
  for (const id of resuming) {
    const actor = rt.actors.get(id);
    if (actor && (await mayHost(rt, actor))) rt.reconcileSoon(id);
  }
  // A recovering host: actors whose host is gone but whose lease has not lapsed yet are taken
  // over (by whichever claiming host is first) once it has.
  rt.worker?.startClaiming();
  return { recovered, ended };
}

/** Opens `childId`'s stream if it is missing and `parentId`'s stream records the spawn. */
async function reopenIfRecorded(rt: RuntimeContext, parentId: string, childId: string): Promise<boolean> {
  const exists = await loadActor(rt, childId).then(
    () => true,
    (err: unknown) => (err instanceof NotFound ? false : Promise.reject(err)),
  );
  if (exists) return false;
  const parent = await loadActor(rt, parentId).catch(() => null);
  if (!parent?.snapshot.context.children[childId]) return false;
  await openChild(rt, parentId, childId);
  return true;
}
