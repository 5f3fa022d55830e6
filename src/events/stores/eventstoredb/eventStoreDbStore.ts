import { KurrentDBClient, streamNameFilter } from '@kurrent/kurrentdb-client';
import type { AllStreamResolvedEvent, AllStreamSubscription, Filter } from '@kurrent/kurrentdb-client';
import { IdempotencyConflict, InvalidInput, StoreClosed, StoreUnavailable } from '../../../errors.js';
import type { AppendResult, EventToAppend, RecordedEvent } from '../../envelope.js';
import type { AppendOptions, EventStore, ReadAllOptions, ReadStreamOptions, SubscribeOptions, Subscription } from '../../eventStore.js';
import { assertStorable, validateAppend } from '../validateAppend.js';
import { normalizeConnectionString, redactConnectionString } from './connectionString.js';
import { clientErrorType, isStreamNotFound, mapClientError } from './mapError.js';
import type { ErrorContext } from './mapError.js';
import {
  CLAIM_EVENT_TYPE,
  NON_SYSTEM_STREAM_REGEX,
  claimStreamFor,
  commitPositionOf,
  isCadreRecord,
  judgeRetry,
  parsePlacement,
  toEventData,
  toReadPosition,
  toRecordedEvent,
  toStreamState,
} from './mapping.js';
import type { StoredPlacement } from './mapping.js';

export interface EventStoreDbStoreOptions {
  /** `kurrentdb://`, `kurrent://`, `esdb://` or a `+discover` form, e.g. `kurrentdb://127.0.0.1:2113?tls=false`. */
  readonly connectionString: string;
  /** Prefixes a subscription follows when the caller names none. Default `['agent-']` (DESIGN.md: one stream per actor). */
  readonly streamPrefixes?: readonly string[];
  /**
   * Record, per event id, the stream it went to, so that the same id appended to another stream
   * is refused (`IdempotencyConflict`) and a retry reports `idempotent: true`. KurrentDB only
   * deduplicates ids within one stream. Costs one small write per event. Default true.
   */
  readonly eventIdClaims?: boolean;
  /** Check the server answers before returning the store. Default true. */
  readonly verifyConnection?: boolean;
}

/** The KurrentDB adapter with the client it runs on. */
export interface EventStoreDbStore extends EventStore {
  readonly client: KurrentDBClient;
}

const DEFAULT_PREFIXES: readonly string[] = ['agent-'];
const READ_ALL_DEFAULT_LIMIT = 1000;

const nonSystemFilter = (): Filter => streamNameFilter({ regex: NON_SYSTEM_STREAM_REGEX });

/**
 * Opens the event store port on KurrentDB / EventStoreDB 22.6+ through the official client.
 * Global positions are `$all` commit positions: increasing, unique per event, but not dense.
 *
 * @example
 * const store = await openEventStoreDbStore({ connectionString: 'kurrentdb://127.0.0.1:2113?tls=false' });
 * await store.append('agent-1', [event], { expectedRevision: 'no_stream' });
 */
export async function openEventStoreDbStore(options: EventStoreDbStoreOptions): Promise<EventStoreDbStore> {
  const connectionString = normalizeConnectionString(options.connectionString);
  let client: KurrentDBClient;
  try {
    client = KurrentDBClient.connectionString(connectionString);
  } catch (cause) {
    const reason = cause instanceof Error ? redactConnectionString(cause.message) : 'could not be parsed';
    throw new InvalidInput('connectionString', reason, { cause });
  }
  const store = buildStore(client, options);
  if (options.verifyConnection ?? true) {
    try {
      await store.headPosition();
    } catch (err) {
      await client.dispose().catch(() => {});
      throw err;
    }
  }
  return store;
}

/**
 * The factory entry point: `createEventStore({ kind: 'eventstoredb', connectionString })` calls it.
 * Fails fast with `StoreUnavailable` when no server answers, `InvalidInput` for a bad URL.
 *
 * @example
 * const store = await createEventStoreDbStore('kurrentdb://127.0.0.1:2113?tls=false');
 */
export function createEventStoreDbStore(connectionString: string, options: Omit<EventStoreDbStoreOptions, 'connectionString'> = {}): Promise<EventStoreDbStore> {
  return openEventStoreDbStore({ ...options, connectionString });
}

function buildStore(client: KurrentDBClient, options: EventStoreDbStoreOptions): EventStoreDbStore {
  const claims = options.eventIdClaims ?? true;
  const defaultPrefixes = options.streamPrefixes ?? DEFAULT_PREFIXES;
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const assertOpen = (): void => {
    if (closed) throw new StoreClosed();
  };
  const fail = (err: unknown, ctx: ErrorContext): never => {
    throw mapClientError(err, ctx);
  };

  async function readStreamRaw(streamId: string, opts: ReadStreamOptions): Promise<RecordedEvent[]> {
    const backwards = opts.direction === 'backwards';
    if (opts.limit !== undefined && opts.limit <= 0) return [];
    if (opts.from !== undefined && opts.from < 0n) throw new InvalidInput('from', `must be >= 0, got ${opts.from}`);
    const out: RecordedEvent[] = [];
    try {
      const reader = client.readStream(streamId, {
        direction: backwards ? 'backwards' : 'forwards',
        fromRevision: opts.from ?? (backwards ? 'end' : 'start'),
        maxCount: opts.limit ?? Number.MAX_SAFE_INTEGER,
      });
      for await (const resolved of reader) {
        if (resolved.event) out.push(toRecordedEvent(resolved));
      }
    } catch (err) {
      if (isStreamNotFound(err)) return [];
      fail(err, { streamId, operation: 'readStream' });
    }
    return out;
  }

  async function lastRevision(streamId: string): Promise<bigint> {
    const [last] = await readStreamRaw(streamId, { direction: 'backwards', limit: 1 });
    return last?.revision ?? -1n;
  }

  async function readClaim(eventId: string): Promise<StoredPlacement | undefined> {
    try {
      for await (const resolved of client.readStream(claimStreamFor(eventId), { maxCount: 1 })) {
        return parsePlacement(resolved.event?.data);
      }
    } catch (err) {
      if (isStreamNotFound(err)) return undefined;
      fail(err, { operation: 'append (event id lookup)' });
    }
    return undefined;
  }

  async function writeClaims(streamId: string, events: readonly EventToAppend[], firstRevision: bigint): Promise<void> {
    await Promise.all(events.map(async (e, i) => {
      try {
        await client.appendToStream(
          claimStreamFor(e.id),
          { contentType: 'application/json', id: crypto.randomUUID(), type: CLAIM_EVENT_TYPE, data: { streamId, revision: (firstRevision + BigInt(i)).toString() }, metadata: undefined },
          { streamState: 'no_stream' },
        );
      } catch (err) {
        // Already claimed: this batch was written before and its claim survived.
        if (clientErrorType(err) === 'wrong-expected-version') return;
        fail(err, { streamId, operation: 'append (event id claim)' });
      }
    }));
  }

  async function append(streamId: string, events: readonly EventToAppend[], opts: AppendOptions): Promise<AppendResult> {
    assertOpen();
    validateAppend(streamId, events, opts.expectedRevision);
    if (events.length === 0) {
      return { nextExpectedRevision: await lastRevision(streamId), position: 0n, idempotent: true };
    }
    assertStorable(events);
    const expected = opts.expectedRevision;
    if (claims) {
      const placement = await readClaim(events[0]!.id);
      if (placement) {
        const stored = placement.streamId === streamId
          ? await readStreamRaw(streamId, { from: placement.revision, limit: events.length })
          : [];
        const verdict = judgeRetry(streamId, events.map((e) => e.id), expected, placement, stored.map((e) => e.id));
        if (verdict === 'conflict') throw new IdempotencyConflict(streamId, events[0]!.id);
        const last = stored[stored.length - 1]!;
        return { nextExpectedRevision: last.revision, position: last.position, idempotent: true };
      }
    }
    let next: bigint;
    try {
      const result = await client.appendToStream(streamId, events.map(toEventData), { streamState: toStreamState(expected) });
      next = result.nextExpectedRevision;
    } catch (err) {
      return fail(err, { streamId, expected, operation: 'append' });
    }
    if (claims) await writeClaims(streamId, events, next - BigInt(events.length) + 1n);
    // The position is read back rather than taken from the append reply, so that it is by
    // construction the one readStream, readAll and subscriptions report for that event (and the
    // one an idempotent retry reports).
    const [last] = await readStreamRaw(streamId, { from: next, limit: 1 });
    if (!last) throw new StoreUnavailable(`KurrentDB acknowledged the append to ${streamId} but revision ${next} cannot be read back`);
    const position = last.position;
    return { nextExpectedRevision: next, position, idempotent: false };
  }

  /** `$all` forwards, strictly after `from`, cadre's events only, paging past what the filter keeps out. */
  async function readAllAfter(from: bigint, limit: number): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    let cursor = from;
    while (out.length < limit) {
      // One more than needed: a read from a position includes the event at that position.
      const page = limit - out.length + 1;
      let seen = 0;
      let furthest = cursor;
      try {
        for await (const resolved of client.readAll({ fromPosition: toReadPosition(cursor), maxCount: page, filter: nonSystemFilter() })) {
          seen++;
          const p = commitPositionOf(resolved);
          if (p === undefined || p <= cursor) continue;
          furthest = p;
          if (isCadreRecord(resolved)) out.push(toRecordedEvent(resolved));
          if (out.length === limit) break;
        }
      } catch (err) {
        fail(err, { operation: 'readAll' });
      }
      if (seen < page || furthest === cursor) break;
      cursor = furthest;
    }
    return out;
  }

  async function headPosition(): Promise<bigint> {
    assertOpen();
    try {
      for await (const resolved of client.readAll({ direction: 'backwards', fromPosition: 'end', maxCount: 20, filter: nonSystemFilter() })) {
        if (isCadreRecord(resolved)) return commitPositionOf(resolved) ?? 0n;
      }
    } catch (err) {
      fail(err, { operation: 'headPosition' });
    }
    return 0n;
  }

  function subscribeToAll(opts: SubscribeOptions = {}): Subscription {
    assertOpen();
    const from = opts.fromPosition ?? 0n;
    const start = toReadPosition(from);
    const prefixes = [...(opts.streamPrefixes ?? defaultPrefixes)];
    const filter = prefixes.length > 0 ? streamNameFilter({ prefixes }) : nonSystemFilter();
    let inner: AllStreamSubscription | undefined;
    let done = false;
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
        subscriptions.delete(sub);
        await stop();
      },
      [Symbol.asyncIterator]: async function* () {
        if (done || closed) return;
        inner = client.subscribeToAll({ fromPosition: start, filter });
        try {
          for await (const resolved of inner as AsyncIterable<AllStreamResolvedEvent>) {
            if (done || closed) return;
            const p = commitPositionOf(resolved);
            // The server starts after `from`; the check keeps the port's exclusive promise anyway.
            if (p === undefined || p <= from || !isCadreRecord(resolved)) continue;
            yield toRecordedEvent(resolved);
          }
        } catch (err) {
          if (done || closed) return;
          fail(err, { operation: 'subscribeToAll' });
        } finally {
          subscriptions.delete(sub);
          await stop();
        }
      },
    };
    subscriptions.add(sub);
    return sub;
  }

  return {
    kind: 'eventstoredb',
    client,
    append,
    readStream: (streamId: string, opts: ReadStreamOptions = {}) => {
      assertOpen();
      return readStreamRaw(streamId, opts);
    },
    readAll: (opts: ReadAllOptions = {}) => {
      assertOpen();
      const limit = opts.limit ?? READ_ALL_DEFAULT_LIMIT;
      if (limit <= 0) return Promise.resolve([]);
      return readAllAfter(opts.fromPosition ?? 0n, limit);
    },
    subscribeToAll,
    headPosition,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.close()));
      await client.dispose().catch(() => {});
    },
  };
}
