import type { EventStore, SubscribeOptions, Subscription } from './eventStore.js';
import type { RecordedEvent } from './envelope.js';
import type { HistoryEvent } from './historyEvent.js';
import { StoreClosed } from '../errors.js';

/**
 * The store subscriptions held by a system's `events()` loops. Closing the system closes them
 * first, so each loop ends cleanly (its iterator returns) instead of failing when the store and
 * its SQL client close under a read in flight.
 *
 * @example
 * const feeds = new EventFeeds(store);
 * const sub = feeds.subscribe({ fromPosition: 0n }); // null once closed
 * await feeds.close(); // every open subscription ends
 */
export class EventFeeds {
  private readonly open = new Set<Subscription>();
  private closing = false;

  constructor(readonly store: EventStore) {}

  /** True once `close()` began: a loop that fails now was ended by it. */
  get closed(): boolean {
    return this.closing;
  }

  /** A subscription to the store that `close()` ends; null when the feeds are closed already. */
  subscribe(options: SubscribeOptions): Subscription | null {
    if (this.closing) return null;
    const sub = this.store.subscribeToAll(options);
    this.open.add(sub);
    return {
      close: async () => {
        this.open.delete(sub);
        await sub.close();
      },
      [Symbol.asyncIterator]: () => sub[Symbol.asyncIterator](),
    };
  }

  /** Whether `err` only says the system closed under a loop (which then ends, not fails). */
  endedByClose(err: unknown): boolean {
    return this.closing || err instanceof StoreClosed;
  }

  async close(): Promise<void> {
    this.closing = true;
    const subs = [...this.open];
    this.open.clear();
    await Promise.all(subs.map((s) => s.close()));
  }
}

/**
 * Yields what `take` makes of each event of `sub` until `done()` says so, the subscription ends
 * or `signal` aborts; closes the subscription on the way out, however the loop ends. Aborting
 * closes it at once: a loop waiting for an event cannot be stopped by `return()` (an async
 * generator runs it only after the pending `next()` settles), but the closed subscription ends it.
 */
export async function* followSubscription(
  sub: Subscription,
  signal: AbortSignal | undefined,
  take: (e: RecordedEvent) => HistoryEvent | null,
  done: () => boolean = () => false,
): AsyncGenerator<HistoryEvent, void, undefined> {
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= sub.close());
  const onAbort = (): void => void close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) return;
    for await (const e of sub) {
      if (signal?.aborted) return;
      const event = take(e);
      if (event) yield event;
      if (done()) return;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await close();
  }
}
