import { KurrentDBClient, WrongExpectedVersionError, streamNameFilter } from '@kurrent/kurrentdb-client';
import type { Filter, Position, ReadPosition } from '@kurrent/kurrentdb-client';
import { IdempotencyConflict, InvalidInput, StoreClosed, StoreUnavailable, WrongExpectedRevision } from '../../../errors.js';
import type { AppendResult, EventToAppend, ExpectedRevision, RecordedEvent } from '../../envelope.js';
import type { AppendOptions, EventStore, ReadAllOptions, ReadStreamOptions, SubscribeOptions, Subscription } from '../../eventStore.js';
import type { Logger } from '../../../actors/ports/runtimePorts.js';
import { createLogger } from '../../../infra/logger.js';
import { assertStorable, validateAppend } from '../validateAppend.js';
import { describeParseError, normalizeConnectionString } from './connectionString.js';
import { clientErrorType, isStreamNotFound, mapClientError } from './mapError.js';
import type { ErrorContext } from './mapError.js';
import { openAllSubscription } from './allSubscription.js';
import { NON_SYSTEM_STREAM_REGEX, commitPositionOf, isCadreRecord, judgeRetry, toCadreEvent, toEventData, toReadPosition, toStreamState } from './mapping.js';

export interface EventStoreDbStoreOptions {
  /** `kurrentdb://`, `kurrent://`, `esdb://` or a `+discover` form, e.g. `kurrentdb://127.0.0.1:2113?tls=false`. */
  readonly connectionString: string;
  /**
   * Prefixes a subscription follows when the caller names none. Default: none, i.e. every
   * non-system stream, as the port says (and as `readAll` and `headPosition` read).
   */
  readonly streamPrefixes?: readonly string[];
  /** Check the server answers before returning the store. Default true. */
  readonly verifyConnection?: boolean;
  /** Where skipped foreign records are reported. Default: a pino logger at `warn` on stderr. */
  readonly logger?: Logger;
  /** Streams `readStreams` reads at once on the one connection. Default 16. */
  readonly readConcurrency?: number;
}

/**
 * The subset of the official client the adapter uses: a real `KurrentDBClient` in production, a
 * fake with the client's own result shapes and error classes in unit tests.
 */
export type KurrentClientPort = Pick<KurrentDBClient, 'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose'>;

/** The KurrentDB adapter with the client it runs on. */
export interface EventStoreDbStore extends EventStore {
  readonly client: KurrentClientPort;
  readStreams(requests: ReadonlyArray<{ streamId: string; from: bigint }>): Promise<Map<string, RecordedEvent[]>>;
}

const READ_ALL_DEFAULT_LIMIT = 1000;
const HEAD_PAGE = 100;
const DEFAULT_READ_CONCURRENCY = 16;
// Read-backs must see the append just acknowledged: in a cluster only the leader is sure to.
const ON_LEADER = { requiresLeader: true } as const;

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
  } catch (err) {
    // No `cause`: the client's ParseError carries the whole connection string, password included.
    throw new InvalidInput('connectionString', describeParseError(err));
  }
  const store = eventStoreDbStoreOn(client, options);
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

/** The revision a batch appended at `expected` would start at; undefined for `any` / `stream_exists`, which name no place. */
function expectedFirstRevision(expected: ExpectedRevision): bigint | undefined {
  if (typeof expected === 'bigint') return expected + 1n;
  return expected === 'no_stream' ? 0n : undefined;
}

/**
 * The port on a client. `openEventStoreDbStore` hands it the official client; tests hand it a fake
 * built from the client's own result shapes and error classes.
 *
 * @example
 * const store = eventStoreDbStoreOn(KurrentDBClient.connectionString(url), {});
 */
export function eventStoreDbStoreOn(client: KurrentClientPort, options: Omit<EventStoreDbStoreOptions, 'connectionString'>): EventStoreDbStore {
  const defaultPrefixes = options.streamPrefixes ?? [];
  const readConcurrency = Math.max(1, options.readConcurrency ?? DEFAULT_READ_CONCURRENCY);
  let logger = options.logger;
  const onForeign = (where: string, reason: string): void => {
    logger ??= createLogger('warn');
    logger.warn({ record: where, reason }, 'KurrentDB: skipped a record cadre did not write');
  };
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const assertOpen = (): void => {
    if (closed) throw new StoreClosed();
  };
  const fail = (err: unknown, ctx: ErrorContext): never => {
    throw mapClientError(err, ctx);
  };

  async function readStreamRaw(streamId: string, opts: ReadStreamOptions, extra: { requiresLeader?: boolean } = {}): Promise<RecordedEvent[]> {
    const backwards = opts.direction === 'backwards';
    if (opts.limit !== undefined && opts.limit <= 0) return [];
    if (opts.from !== undefined && opts.from < 0n) throw new InvalidInput('from', `must be >= 0, got ${opts.from}`);
    const out: RecordedEvent[] = [];
    try {
      const reader = client.readStream(streamId, {
        direction: backwards ? 'backwards' : 'forwards',
        fromRevision: opts.from ?? (backwards ? 'end' : 'start'),
        maxCount: opts.limit ?? Number.MAX_SAFE_INTEGER,
        ...extra,
      });
      for await (const resolved of reader) {
        const e = toCadreEvent(resolved, onForeign);
        if (e) out.push(e);
      }
    } catch (err) {
      if (isStreamNotFound(err)) return [];
      fail(err, { streamId, operation: 'readStream' });
    }
    return out;
  }

  async function lastRevision(streamId: string): Promise<bigint> {
    const [last] = await readStreamRaw(streamId, { direction: 'backwards', limit: 1 }, ON_LEADER);
    return last?.revision ?? -1n;
  }

  /**
   * A refused append: a retry whose first try was written answers `idempotent: true` (the server
   * deduplicates an exact-revision or `no_stream` retry itself, so this is the rarer case of a retry
   * that raced its first try); some of its ids stored in another shape is an `IdempotencyConflict`;
   * otherwise the refusal stands. An `any` / `stream_exists` append is refused on an existing
   * stream only when the server found part of the batch already stored ("corrupted idempotency").
   */
  async function judgeRefusal(streamId: string, ids: readonly string[], expected: ExpectedRevision, err: unknown): Promise<AppendResult> {
    const refused = mapClientError(err, { streamId, expected, operation: 'append' });
    if (!(refused instanceof WrongExpectedRevision) || refused.actual === 'no_stream') throw refused;
    const first = expectedFirstRevision(expected);
    if (first === undefined) throw new IdempotencyConflict(streamId, ids[0]!);
    if (first > refused.actual) throw refused;
    const stored = await readStreamRaw(streamId, { from: first, limit: ids.length }, ON_LEADER);
    const verdict = judgeRetry(ids, stored.map((e) => e.id));
    if (verdict === 'conflict') throw new IdempotencyConflict(streamId, ids[0]!);
    if (verdict === 'none') throw refused;
    const last = stored[stored.length - 1]!;
    return { nextExpectedRevision: last.revision, position: last.position, idempotent: true };
  }

  async function append(streamId: string, events: readonly EventToAppend[], opts: AppendOptions): Promise<AppendResult> {
    assertOpen();
    validateAppend(streamId, events, opts.expectedRevision);
    if (events.length === 0) {
      return { nextExpectedRevision: await lastRevision(streamId), position: 0n, idempotent: true };
    }
    assertStorable(events);
    const ids = events.map((e) => e.id.toLowerCase());
    if (new Set(ids).size !== ids.length) throw new InvalidInput('events', 'event ids must be unique within one append (KurrentDB compares them case-insensitively)');
    const expected = opts.expectedRevision;
    let next: bigint;
    try {
      const result = await client.appendToStream(streamId, events.map(toEventData), { streamState: toStreamState(expected) });
      if (!result.success) {
        // `throwOnAppendFailure=false` in the connection string: the client resolves a refusal
        // instead of throwing it, with the stream's revision (-1 when there is no stream).
        const current = result.nextExpectedRevision;
        throw new WrongExpectedVersionError(undefined, { streamName: streamId, expected: toStreamState(expected), current: current < 0n ? 'no_stream' : current });
      }
      next = result.nextExpectedRevision;
    } catch (err) {
      if (clientErrorType(err) === 'wrong-expected-version') return judgeRefusal(streamId, ids, expected, err);
      return fail(err, { streamId, expected, operation: 'append' });
    }
    // The position is read back (on the leader, which has the write) rather than taken from the
    // append reply, so that it is by construction the one readStream, readAll and subscriptions
    // report for that event.
    const [last] = await readStreamRaw(streamId, { from: next, limit: 1 }, ON_LEADER);
    if (!last) throw new StoreUnavailable(`KurrentDB acknowledged the append to ${streamId} but revision ${next} cannot be read back`);
    return { nextExpectedRevision: next, position: last.position, idempotent: false };
  }

  /** Many streams, each from its own revision, at most `readConcurrency` reads in flight. */
  async function readStreams(requests: ReadonlyArray<{ streamId: string; from: bigint }>): Promise<Map<string, RecordedEvent[]>> {
    assertOpen();
    const out = new Map<string, RecordedEvent[]>(requests.map((r) => [r.streamId, []]));
    let nextIndex = 0;
    const worker = async (): Promise<void> => {
      while (nextIndex < requests.length) {
        const r = requests[nextIndex++]!;
        out.set(r.streamId, await readStreamRaw(r.streamId, { from: r.from }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(readConcurrency, requests.length) }, worker));
    return out;
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
          const e = toCadreEvent(resolved, onForeign);
          if (e) out.push(e);
          if (out.length === limit) break;
        }
      } catch (err) {
        fail(err, { operation: 'readAll', readsAll: true });
      }
      if (seen < page || furthest === cursor) break;
      cursor = furthest;
    }
    return out;
  }

  /**
   * The newest non-system, non-link record's position, paging backwards past links and `$` events
   * until one is found or the log's start is reached (only then 0n, so "subscribe from head" never
   * replays the whole log because the newest records were bookkeeping).
   */
  async function headPosition(): Promise<bigint> {
    assertOpen();
    let from: ReadPosition = 'end';
    let below: bigint | undefined;
    try {
      for (;;) {
        let seen = 0;
        let oldest: Position | undefined;
        for await (const resolved of client.readAll({ direction: 'backwards', fromPosition: from, maxCount: HEAD_PAGE, filter: nonSystemFilter() })) {
          seen++;
          const p = commitPositionOf(resolved);
          if (p === undefined || (below !== undefined && p >= below)) continue;
          if (isCadreRecord(resolved)) return p;
          oldest = (resolved.event ?? resolved.link)?.position ?? { commit: p, prepare: p };
        }
        if (seen < HEAD_PAGE || oldest === undefined) return 0n;
        from = oldest;
        below = oldest.commit;
      }
    } catch (err) {
      return fail(err, { operation: 'headPosition', readsAll: true });
    }
  }

  function subscribeToAll(opts: SubscribeOptions = {}): Subscription {
    assertOpen();
    const prefixes = [...(opts.streamPrefixes ?? defaultPrefixes)];
    const filter = prefixes.length > 0 ? streamNameFilter({ prefixes }) : nonSystemFilter();
    const sub = openAllSubscription({ client, storeClosed: () => closed, onEnd: (s) => subscriptions.delete(s), onForeign }, opts.fromPosition ?? 0n, filter);
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
    readStreams,
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
