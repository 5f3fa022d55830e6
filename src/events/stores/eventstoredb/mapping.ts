import type { AllStreamResolvedEvent, AppendStreamState, EventData, ReadPosition, ResolvedEvent } from '@kurrent/kurrentdb-client';
import { InvalidInput, StoreUnavailable } from '../../../errors.js';
import type { EventMetadata, EventToAppend, ExpectedRevision, RecordedEvent } from '../../envelope.js';

/**
 * Streams that record which stream holds an event id (KurrentDB has no global index by event id;
 * see docs/eventstoredb.md). They are the adapter's bookkeeping: never returned by reads or
 * subscriptions.
 */
export const CLAIM_STREAM_PREFIX = 'cadre-event-id-';
export const CLAIM_EVENT_TYPE = 'CadreEventIdClaimed';

/** Server-side filter for `$all` reads: no `$`-prefixed (system) streams, no claim streams. */
export const NON_SYSTEM_STREAM_REGEX = `^(?!\\$|${CLAIM_STREAM_PREFIX})`;

// Older servers answer stream reads with this sentinel instead of a commit position.
const NO_POSITION = 2n ** 64n - 1n;

export const claimStreamFor = (eventId: string): string => `${CLAIM_STREAM_PREFIX}${eventId}`;

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

/** Our event → the client's JSON event: same id, type and data; our metadata as its metadata. */
export function toEventData(e: EventToAppend): EventData {
  return {
    id: e.id,
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

/** True for the events cadre reads back: not system events, not links, not claim bookkeeping. */
export function isCadreRecord(resolved: ResolvedEvent | AllStreamResolvedEvent): boolean {
  const e = resolved.event;
  if (!e || resolved.link) return false;
  return !e.type.startsWith('$') && !e.streamId.startsWith('$') && !e.streamId.startsWith(CLAIM_STREAM_PREFIX);
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
 * position as `position`, the event's metadata as our EventMetadata.
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
    metadata: metadata as EventMetadata,
    streamId: e.streamId,
    revision: e.revision,
    position,
  };
}

/** Where the first id of an append already sits, according to its claim. */
export interface StoredPlacement {
  readonly streamId: string;
  readonly revision: bigint;
}

/**
 * A retried append whose first id is already stored: `'idempotent'` when it is the same batch
 * (`storedIds`, read from the stream at the claimed revision) in the same stream at a place its
 * expectation allows, else `'conflict'`. The same rule as the Postgres adapter.
 *
 * @example
 * judgeRetry('agent-1', ['a', 'b'], 'no_stream', { streamId: 'agent-1', revision: 0n }, ['a', 'b']); // 'idempotent'
 */
export function judgeRetry(
  streamId: string,
  ids: readonly string[],
  expected: ExpectedRevision,
  placement: StoredPlacement,
  storedIds: readonly string[],
): 'idempotent' | 'conflict' {
  if (placement.streamId !== streamId) return 'conflict';
  if (storedIds.length !== ids.length || ids.some((id, i) => storedIds[i] !== id)) return 'conflict';
  const first = placement.revision;
  const allowed = typeof expected === 'bigint' ? first === expected + 1n : expected === 'no_stream' ? first === 0n : true;
  return allowed ? 'idempotent' : 'conflict';
}

/** Parses a claim event's data; undefined when it is not one this adapter wrote. */
export function parsePlacement(data: unknown): StoredPlacement | undefined {
  if (!isPlainObject(data) || typeof data.streamId !== 'string' || typeof data.revision !== 'string') return undefined;
  if (!/^\d+$/.test(data.revision)) return undefined;
  return { streamId: data.streamId, revision: BigInt(data.revision) };
}
