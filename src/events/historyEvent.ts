import type { DomainEvent } from './catalogue.js';
import type { ParsedEvent } from './upcast.js';
import { toSafeNumber } from './safeNumber.js';

/**
 * A recorded event as `system.history()` and `agent.history()` return it: upcast, validated,
 * and JSON-safe (`revision` and `position` are plain numbers, exact below 2^53). The event store
 * port (`createEventStore`) keeps them bigint: that is the store contract, where positions are
 * compared and stored exactly whatever their size.
 *
 * @example
 * const events: HistoryEvent[] = await system.history(agentId);
 * JSON.stringify(events); // works: no bigint inside
 */
export type HistoryEvent = DomainEvent & Pick<ParsedEvent, 'id' | 'metadata' | 'streamId'> & {
  /** The event's place in its stream, from 0. */
  readonly revision: number;
  /** The event's place in the whole store (increasing, not contiguous). */
  readonly position: number;
};

/** The event with its revision and position as numbers; one at or above 2^53 is refused naming it. */
export function toHistoryEvent(e: ParsedEvent): HistoryEvent {
  const at = `event ${e.streamId}@${e.revision}`;
  return { ...e, revision: toSafeNumber(e.revision, `${at}.revision`), position: toSafeNumber(e.position, `${at}.position`) } as HistoryEvent;
}
