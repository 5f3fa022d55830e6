import type { AllStreamResolvedEvent, AppendStreamState, EventData, ReadPosition, ResolvedEvent } from '@kurrent/kurrentdb-client';
import { InvalidInput, StoreUnavailable } from '../../../errors.js';
import type { EventToAppend, ExpectedRevision, RecordedEvent, StoredMetadata } from '../../envelope.js';

/**
 * Streams in which earlier versions of this adapter kept per-event-id claims (`cadre-event-id-<id>`). They are
 * no longer written (see docs/eventstoredb.md), but a database may still hold them: every read,
 * `headPosition` and subscription keeps them out.
 */
export const LEGACY_CLAIM_STREAM_PREFIX = 'cadre-event-id-';

/** Server-side filter for `$all` reads: no `$`-prefixed (system) streams, no legacy claim streams. */
export const NON_SYSTEM_STREAM_REGEX = `^(?!\\$|${LEGACY_CLAIM_STREAM_PREFIX})`;

// Older servers answer stream reads with this sentinel instead of a commit position.
const NO_POSITION = 2n ** 64n - 1n;

/**
 * Our expected revision → the client's stream state. The names match one to one; a revision is
 * the revision of the stream's last event, as in KurrentDB.
 *
 * @example
 * toStreamState(4n); // 4n
 * toStreamState('no_stream'); // 'no_stream' (the client's NO_STREAM)
 */
export function toStreamState(expected: ExpectedRevision): AppendStreamState {
  if (typeof expected === 'bigint') {
    // -1 is how some callers spell "no stream"; KurrentDB spells it NO_STREAM.
    return expected === -1n ? 'no_stream' : expected;
  }
  switch (expected) {
    case 'no_stream':
      return 'no_stream';
    case 'stream_exists':
      return 'stream_exists';
    case 'any':
      return 'any';
    default: {
      const never: never = expected;
      throw new InvalidInput('expectedRevision', `unknown expectation ${String(never)}`);
    }
  }
}

/**
 * Our global position → where a `$all` read or subscription starts. 0n is the start of the log;
 * any other value must be a position this store returned (a commit position, which on KurrentDB
 * 20+ equals the event's prepare position).
 *
 * @example
 * toReadPosition(0n); // 'start'
 * toReadPosition(4711n); // { commit: 4711n, prepare: 4711n }
 */
export function toReadPosition(position: bigint): ReadPosition {
  if (position < 0n) throw new InvalidInput('fromPosition', `must be >= 0, got ${position}`);
  return position === 0n ? 'start' : { commit: position, prepare: position };
}

/**
 * Our event → the client's JSON event: same type and data, our metadata as its metadata, the id in
 * lower case (KurrentDB returns ids lower-case, so a retry compares equal however the caller spelt it).
 */
export function toEventData(e: EventToAppend): EventData {
  return {
    id: e.id.toLowerCase(),
    contentType: 'application/json',
    type: e.type,
    // The client JSON-encodes any value; its types only name objects, arrays and strings.
    data: e.data as Record<string, unknown>,
    metadata: e.metadata as unknown as Record<string, unknown>,
  };
}

/** The commit position of a resolved event, or undefined when the server did not send one. */
export function commitPositionOf(resolved: ResolvedEvent | AllStreamResolvedEvent): bigint | undefined {
  const p = resolved.event?.position?.commit ?? resolved.commitPosition;
  return p === undefined || p < 0n || p >= NO_POSITION ? undefined : p;
}

/** True for the records cadre may read back: not system events, not links, not legacy claim bookkeeping. */
export function isCadreRecord(resolved: ResolvedEvent | AllStreamResolvedEvent): boolean {
  const e = resolved.event;
  if (!e || resolved.link) return false;
  return !e.type.startsWith('$') && !e.streamId.startsWith('$') && !e.streamId.startsWith(LEGACY_CLAIM_STREAM_PREFIX);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

function decodeJson(value: unknown, what: string): unknown {
  if (!(value instanceof Uint8Array)) return value;
  try {
    return JSON.parse(new TextDecoder().decode(value)) as unknown;
  } catch (cause) {
    throw new InvalidInput(what, 'is not JSON (this event was not written by cadre)', { cause });
  }
}

/**
 * A resolved KurrentDB event → our RecordedEvent: stream id and revision as they are, the commit
 * position as `position`, the event's metadata as we stored it (lean: `parseRecorded` fills it in).
 *
 * @example
 * const recorded = toRecordedEvent(resolved); // { id, type, data, metadata, streamId, revision, position }
 */
export function toRecordedEvent(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent {
  const e = resolved.event;
  if (!e) throw new InvalidInput('event', 'the server returned a link without its event');
  const where = `${e.streamId}@${e.revision}`;
  const position = commitPositionOf(resolved);
  if (position === undefined) {
    throw new StoreUnavailable(`KurrentDB sent no position for ${where}; cadre needs EventStoreDB 22.6 or later (or KurrentDB)`, { retryable: false });
  }
  const metadata = decodeJson(e.metadata, `metadata of ${where}`);
  if (!isPlainObject(metadata)) throw new InvalidInput(`metadata of ${where}`, 'is not a JSON object (this event was not written by cadre)');
  return {
    id: e.id,
    type: e.type,
    data: decodeJson(e.data, `data of ${where}`),
    metadata: metadata as StoredMetadata,
    streamId: e.streamId,
    revision: e.revision,
    position,
  };
}

/**
 * An append refused with wrong-expected-version, judged by the events stored where the batch was
 * meant to go (read at expected + 1, as many as the batch): `'idempotent'` when they are this batch,
 * id for id (a retry whose first try was written), `'conflict'` when some of this batch's ids are
 * there in another shape, `'none'` when none are (an ordinary concurrency conflict). Ids compare
 * case-insensitively, as KurrentDB stores them lower-case.
 *
 * @example
 * judgeRetry(['a', 'b'], ['a', 'b']); // 'idempotent'
 * judgeRetry(['a', 'c'], ['a', 'b']); // 'conflict'
 * judgeRetry(['a'], ['x']); // 'none'
 */
export function judgeRetry(ids: readonly string[], storedIds: readonly string[]): 'idempotent' | 'conflict' | 'none' {
  const mine = ids.map((id) => id.toLowerCase());
  const stored = storedIds.map((id) => id.toLowerCase());
  if (stored.length === mine.length && mine.every((id, i) => stored[i] === id)) return 'idempotent';
  const there = new Set(stored);
  return mine.some((id) => there.has(id)) ? 'conflict' : 'none';
}

/**
 * A record from a `$all` or stream read → the RecordedEvent cadre reads, or undefined for what is
 * not cadre's: system events, links, legacy claims, and (reported to `onForeign`) events whose
 * data or metadata cadre cannot have written. On a shared database one foreign event must not stop
 * `readAll`, a rebuild or a subscription at its position for ever, so it is skipped, not thrown.
 */
export function toCadreEvent(resolved: ResolvedEvent | AllStreamResolvedEvent, onForeign: (where: string, reason: string) => void): RecordedEvent | undefined {
  if (!isCadreRecord(resolved)) return undefined;
  try {
    return toRecordedEvent(resolved);
  } catch (err) {
    if (!(err instanceof InvalidInput)) throw err;
    const e = resolved.event!;
    onForeign(`${e.streamId}@${e.revision}`, err.message);
    return undefined;
  }
}
