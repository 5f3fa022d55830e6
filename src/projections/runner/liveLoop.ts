import type { RecordedEvent } from '../../events/envelope.js';
import { backoffMs } from '../../infra/backoff.js';
import { batchStatements, type SqlStatement } from '../projection.js';
import { reloadCheckpoints } from './readModelTables.js';
import { appliersLock, commit, errorText, minLivePosition, parseBatch, type RunnerContext } from './runnerContext.js';

/** SQLSTATE raised by the checkpoint compare-and-set (runnerSchema.ts) when another runner moved it. */
const CHECKPOINT_MOVED = 'CD101';
const movedByAnotherRunner = (err: unknown): boolean => typeof err === 'object' && err !== null && (err as { code?: unknown }).code === CHECKPOINT_MOVED;

/** Resolves with `'idle'` once the event loop has had a turn (nothing more was ready). */
const nextTurn = (): Promise<'idle'> => new Promise((resolve) => setImmediate(() => resolve('idle')));

/** Resolves with `'idle'` after `ms` (a stopping runner closes the subscription, which ends the wait sooner). */
const afterMs = (ms: number): Promise<'idle'> => new Promise((resolve) => setTimeout(() => resolve('idle'), ms));

/**
 * Follows `$all` from the least live checkpoint until the runner stops; after a failure it
 * backs off and resumes from the checkpoints (which the failed batch never moved).
 */
export async function runLoop(rt: RunnerContext): Promise<void> {
  rt.failures = 0;
  while (!rt.stopping) {
    try {
      if (rt.failures > 0) {
        await rt.lock.run(() => reloadCheckpoints(rt));
        rt.waiters.wake();
      }
      const from = minLivePosition(rt);
      if (from === undefined) {
        await rt.liveSetChanged.wait(1000);
        continue;
      }
      await follow(rt, from);
    } catch (err) {
      if (rt.stopping) break;
      if (movedByAnotherRunner(err)) {
        // Another process applied this batch first (the checkpoint compare-and-set did its job):
        // nothing failed; pick up from the checkpoints it wrote, at once.
        rt.log.debug({ err: errorText(err) }, 'another runner applied the batch; resuming from its checkpoints');
        await rt.lock.run(() => reloadCheckpoints(rt));
        rt.waiters.wake();
        continue;
      }
      rt.failures++;
      rt.lastError = errorText(err);
      const delay = backoffMs(rt.failures - 1, { baseMs: rt.retry.initialMs, maxMs: rt.retry.maxMs });
      rt.log.warn({ err: rt.lastError, failures: rt.failures, retryInMs: delay }, 'projection runner failed; resuming from the checkpoints');
      await rt.stopSignal.wait(delay);
    }
  }
}

/** Subscribes from `from` and applies batches until stopped or the subscription fails. */
async function follow(rt: RunnerContext, from: bigint): Promise<void> {
  const sub = rt.store.subscribeToAll({ fromPosition: from });
  rt.subscription = sub;
  const it = sub[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<RecordedEvent>> | undefined;
  try {
    if (rt.stopping) return;
    while (!rt.stopping) {
      const first = await (pending ?? it.next());
      pending = undefined;
      if (first.done) return;
      const batch: RecordedEvent[] = [first.value];
      // Take what the subscription has ready, and what arrives within `lingerMs` of the first
      // event or until `minIntervalMs` after the last batch began: one transaction per few ms
      // rather than one per append, and under load one per interval (see the two options).
      const wait = Math.max(rt.lingerMs, rt.lastBatchAt + rt.minIntervalMs - performance.now());
      const until = wait > 0 ? afterMs(wait) : nextTurn();
      while (batch.length < rt.batchSize) {
        pending = it.next();
        const next = await Promise.race([pending, until]);
        if (next === 'idle') break;
        pending = undefined;
        if (next.done) break;
        batch.push(next.value);
      }
      rt.lastBatchAt = performance.now();
      await applyLive(rt, batch);
      rt.lastError = null;
      rt.failures = 0;
    }
  } finally {
    pending?.catch(() => undefined);
    rt.subscription = undefined;
    await sub.close();
  }
}

/** Applies one batch to every live projection behind it, with their checkpoints, in one commit. */
async function applyLive(rt: RunnerContext, batch: readonly RecordedEvent[]): Promise<void> {
  const last = batch[batch.length - 1]!.position;
  const events = parseBatch(rt, batch);
  await rt.lock.run(async () => {
    const targets = [...rt.entries.values()].filter((e) => e.state !== 'stale' && e.position < last);
    if (targets.length > 0) {
      // Runners in several processes apply the same events. Taking one lock per schema first
      // makes them queue instead of deadlocking on read-model rows locked in different orders,
      // and moving the checkpoints next lets a runner that queued behind another fail at once
      // (CD101, then it reloads) rather than after redoing the other's work.
      const statements: SqlStatement[] = [appliersLock(rt.schema)];
      for (const t of targets) {
        statements.push({
          text: `SELECT ${rt.schema}.projection_advance($1::text, $2::bigint, $3::bigint, $4::text)`,
          params: [t.projection.name, t.position, last, t.suffix],
        });
      }
      for (const t of targets) {
        statements.push(...batchStatements(t.projection, events.filter((e) => e.position > t.position), t.tables));
      }
      await commit(rt, statements);
      for (const t of targets) t.position = last;
    }
    if (last > rt.liveCursor) rt.liveCursor = last;
  });
  rt.waiters.wake();
}
