import { z } from 'zod';
import { parseInput } from '../validation.js';
import { revisionArg } from './safeNumber.js';
import { parseRecorded } from './upcast.js';
import { toHistoryEvent, type HistoryEvent } from './historyEvent.js';
import { InvalidInput } from '../errors.js';
import { followSubscription, type EventFeeds } from './eventFeeds.js';

/** Agents' streams: the ones whose events the catalogue types (a user's own streams in the store are not). */
const AGENT_STREAMS = 'agent-';

export interface SystemEventsOptions {
  /**
   * Exclusive, as everywhere in the store: events strictly after this position (pass the
   * position of the last event you handled to go on after it). Default: from the beginning.
   */
  readonly fromPosition?: number | bigint;
  /** Ends the loop (it returns) when aborted, even while it waits for the next event. */
  readonly signal?: AbortSignal;
}

export const SystemEventsOptionsSchema = z.object({ fromPosition: z.union([z.number(), z.bigint()]).optional(), signal: z.instanceof(AbortSignal).optional() }).strict();

/**
 * Every agent's events after `fromPosition`, in global position order, then live, without end:
 * the loop stops when its consumer breaks out (which releases the subscription) or when the
 * system closes (it then returns). Options are checked here, at the call, not at the first read.
 *
 * @example
 * for await (const e of systemEvents(feeds, { fromPosition: 0 })) console.log(e.position, e.streamId, e.type);
 */
export function systemEvents(feeds: EventFeeds, options: unknown = {}): AsyncGenerator<HistoryEvent, void, undefined> {
  const o = parseInput(SystemEventsOptionsSchema, options ?? {}, 'events');
  const from = o.fromPosition === undefined ? 0n : revisionArg(o.fromPosition, 'events.fromPosition');
  if (from < 0n) throw new InvalidInput('events.fromPosition', 'must be 0 or more');
  return follow(feeds, from, o.signal);
}

async function* follow(feeds: EventFeeds, from: bigint, signal: AbortSignal | undefined): AsyncGenerator<HistoryEvent, void, undefined> {
  const sub = feeds.subscribe({ fromPosition: from, streamPrefixes: [AGENT_STREAMS] });
  if (!sub) return;
  try {
    yield* followSubscription(sub, signal, (e) => toHistoryEvent(parseRecorded(e)));
  } catch (err) {
    if (!feeds.endedByClose(err)) throw err;
  }
}
