import type { Subscription } from '../../events/eventStore.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import { agentIdOfStream, agentStream, AGENT_STREAM_PREFIX } from '../streams.js';
import { WorkerHost, type WorkerOptions } from '../workerHost.js';
import { catchUp, loadActor, readTails } from './actorCache.js';
import { track, type RuntimeContext } from './runtimeContext.js';
import { OwnWrites } from './ownWrites.js';
import { mayHost } from './toolHosting.js';
import { backoffMs } from '../../infra/backoff.js';

/**
 * Worker mode: host only the actors this process holds leases for, claim free ones (new, or a
 * dead worker's), and follow the store so writes made by other workers (a child in another
 * worker reporting its end, say) refresh the actors cached here.
 */
export async function startWorker(rt: RuntimeContext, options: WorkerOptions): Promise<void> {
  const worker = new WorkerHost(
    rt.deps.index,
    options,
    rt.deps.logger,
    (ids) => hostClaimed(rt, ids),
    (ids) => {
      for (const id of ids) {
        const lost = rt.actors.get(id);
        lost?.abortWork();
        if (lost?.timer) clearTimeout(lost.timer); // its deadline is the new host's to keep
        rt.actors.delete(id);
        lost?.changed(); // a run() waiting on this copy follows the new host's through a fresh one
        rt.slots.release(id); // its new host does its work now
      }
    },
  );
  rt.worker = worker;
  await follow(rt);
  await worker.tick();
  worker.start();
  let sweeping: Promise<void> | null = null; // one sweep at a time, however slow the store
  const sweeper = setInterval(() => {
    sweeping ??= track(rt, sweepWaiting(rt).catch((err: unknown) => rt.deps.logger.warn({ err: String(err) }, 'sweep failed'))).finally(() => (sweeping = null));
  }, options.leaseTtlMs);
  sweeper.unref?.();
  rt.onClose.push(() => clearInterval(sweeper));
}

/** Starts hosting actors whose leases were just taken here: reload them and do what is due. */
async function hostClaimed(rt: RuntimeContext, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    // Reload: another process may have written since it was cached. Whoever waits on the old
    // copy (a run() following it) looks again, at the one hosted now.
    const old = rt.actors.get(id);
    rt.actors.delete(id);
    old?.changed();
    const actor = await loadActor(rt, id).catch(() => null);
    if (actor) {
      if (await mayHost(rt, actor)) rt.reconcileSoon(id);
      continue;
    }
    // Not readable yet (registered, first event not written) or not at all: let it go at
    // once rather than hold its lease until it lapses with nobody running it.
    await rt.worker?.giveUp(id).catch(() => {});
  }
}

/**
 * The safety net under the subscription: a hosted actor that waits on other processes' writes
 * (a run request, its children's ends) is compared with its stream once per lease period, so a
 * wake-up lost anyway (a refresh that failed while Postgres restarted) delays it, never strands it.
 */
async function sweepWaiting(rt: RuntimeContext): Promise<void> {
  const waiting = [...rt.actors.values()].filter((a) => {
    if (a.busy > 0 || !rt.worker?.hosts(a.id)) return false;
    const v = a.snapshot.value;
    return v === 'spawned' || (typeof v === 'object' && (v as { running?: string }).running === 'awaitingChildren');
  });
  if (waiting.length === 0) return;
  const tails = await readTails(rt, waiting.map((a) => ({ streamId: agentStream(a.id), from: a.revision + 1n })));
  for (const a of waiting) if ((tails.get(agentStream(a.id))?.length ?? 0) > 0) await refresh(rt, a.id);
}

/**
 * Keeps cached actors in step with writes made by other processes. The subscription starts at
 * the head (what is older is in the streams any load reads) and, should it fail (a lost
 * connection), starts again from the last event it delivered, so no write is ever missed.
 */
async function follow(rt: RuntimeContext): Promise<void> {
  let following: Subscription | null = null;
  rt.onClose.push(async () => await following?.close());
  // Taken before any actor is loaded here, so no write can fall between a load and the start.
  let from = await rt.deps.store.headPosition();
  const own = new OwnWrites((streamId) => onWrittenElsewhere(rt, streamId, null));
  rt.ownWrites = own;
  void (async () => {
    for (let failures = 0; !rt.closed; ) {
      try {
        const sub = rt.deps.store.subscribeToAll({ fromPosition: from, streamPrefixes: [AGENT_STREAM_PREFIX] });
        following = sub;
        if (rt.closed) await sub.close();
        for await (const e of sub) {
          from = e.position;
          failures = 0;
          if (!own.delivered(e.id)) onWrittenElsewhere(rt, e.streamId, e.revision);
        }
        return; // closed
      } catch (err) {
        if (rt.closed) return;
        failures++;
        rt.deps.logger.warn({ err: String(err), failures }, 'store subscription failed; subscribing again');
        await new Promise((r) => setTimeout(r, backoffMs(failures, { baseMs: 50, maxMs: 5000 })).unref?.());
      }
    }
  })();
}

/** `revision` null: unknown, look at the stream in any case. */
function onWrittenElsewhere(rt: RuntimeContext, streamId: string, revision: bigint | null): void {
  const id = agentIdOfStream(streamId);
  if (!id) return;
  const actor = rt.actors.get(id);
  // Being loaded: the load may have read the stream just before this event.
  const loading = actor ? undefined : rt.loading.get(id);
  if (loading) track(rt, loading.then(() => refresh(rt, id)).catch(() => {}));
  if (!actor || (revision !== null && revision <= actor.revision)) return;
  track(rt, refresh(rt, id).catch((err: unknown) => rt.deps.logger.warn({ agentId: id, err: String(err) }, 'refresh failed')));
}

/** Folds events written elsewhere into a cached actor, then lets it react. */
async function refresh(rt: RuntimeContext, id: string): Promise<void> {
  const actor = rt.actors.get(id);
  if (!actor) return;
  await catchUp(rt, actor);
  rt.reconcileSoon(id);
  if (isTerminalStatus(statusOf(actor.snapshot.value)) && !(rt.worker && rt.worker.hosts(id))) actor.ended();
}
