import type { EventStore } from './eventStore.js';

/**
 * The position of the newest event committed now: the store's `committedHead` where it has one,
 * else the head a subscriber sees (the same thing for adapters that leave it out). Ask this, not
 * `headPosition`, before saying the read models have applied everything.
 *
 * @example
 * const current = checkpoint >= (await committedHead(system.store));
 */
export function committedHead(store: Pick<EventStore, 'headPosition' | 'committedHead'>): Promise<bigint> {
  return store.committedHead ? store.committedHead() : store.headPosition();
}
