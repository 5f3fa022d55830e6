import type { EventStore, SubscribeOptions, Subscription } from './eventStore.js';
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
