import type { AllStreamResolvedEvent, AllStreamSubscription, Filter, KurrentDBClient } from '@kurrent/kurrentdb-client';
import { StoreUnavailable } from '../../../errors.js';
import type { Subscription } from '../../eventStore.js';
import { mapClientError } from './mapError.js';
import { commitPositionOf, toCadreEvent, toReadPosition } from './mapping.js';

export interface AllSubscriptionDeps {
  readonly client: Pick<KurrentDBClient, 'subscribeToAll'>;
  /** True once the store is closed: the subscription then ends quietly. */
  readonly storeClosed: () => boolean;
  /** Called once when the subscription ends, however it ends. */
  readonly onEnd: (sub: Subscription) => void;
  /** Where a record cadre did not write is reported (it is skipped). */
  readonly onForeign: (where: string, reason: string) => void;
}

/**
 * The port's subscription on a KurrentDB catch-up subscription to `$all`: events strictly after
 * `from` that pass `filter`, cadre's only, as an async iterable; `close()` cancels it. Ended by
 * the server without an error (or by the client for a dropped connection it took for a
 * cancellation) while nobody closed it, it fails with a retryable `StoreUnavailable`: to its owner
 * that is a lost subscription to resume, not the end of the log.
 *
 * @example
 * const sub = openAllSubscription(deps, 0n, streamNameFilter({ prefixes: ['agent-'] }));
 * for await (const e of sub) console.log(e.position);
 */
export function openAllSubscription(deps: AllSubscriptionDeps, from: bigint, filter: Filter): Subscription {
  const start = toReadPosition(from);
  let inner: AllStreamSubscription | undefined;
  let done = false;
  const ended = (): boolean => done || deps.storeClosed();
  const stop = async (): Promise<void> => {
    const s = inner;
    if (!s) return;
    await s.unsubscribe().catch(() => {});
    s.destroy();
  };
  const sub: Subscription = {
    async close() {
      if (done) return;
      done = true;
      deps.onEnd(sub);
      await stop();
    },
    [Symbol.asyncIterator]: async function* () {
      if (ended()) return;
      inner = deps.client.subscribeToAll({ fromPosition: start, filter });
      try {
        for await (const resolved of inner as AsyncIterable<AllStreamResolvedEvent>) {
          if (ended()) return;
          const p = commitPositionOf(resolved);
          // The server starts after `from`; the check keeps the port's exclusive promise anyway.
          if (p === undefined || p <= from) continue;
          const e = toCadreEvent(resolved, deps.onForeign);
          if (e) yield e;
        }
      } catch (err) {
        if (ended()) return;
        throw mapClientError(err, { operation: 'subscribeToAll', readsAll: true });
      } finally {
        deps.onEnd(sub);
        await stop();
      }
      if (!ended()) throw new StoreUnavailable('KurrentDB ended the $all subscription without an error; resubscribe from the last position delivered');
    },
  };
  return sub;
}
