import { StreamNotFoundError, WrongExpectedVersionError } from '@kurrent/kurrentdb-client';
import type { AllStreamResolvedEvent, AppendResult, AppendStreamState, EventData, Filter, ReadPosition, ResolvedEvent } from '@kurrent/kurrentdb-client';
import type * as bridge from '@kurrent/bridge';
// The client's own converter from the bridge's raw records: the fake returns exactly the shapes
// client 1.3.1 returns for reads (bytes decoded, metadata parsed or left as bytes, links apart).
import { convertRustEvent } from '@kurrent/kurrentdb-client/dist/utils/convertRustEvent.js';
import type { KurrentClientPort } from '../../src/events/stores/eventstoredb/eventStoreDbStore.js';

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

interface Raw {
  readonly record: bridge.RecordedEvent;
  readonly link: boolean;
}

type Op = 'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll';

/**
 * A KurrentDB stand-in for unit tests of the adapter, implementing the part of `KurrentDBClient`
 * the adapter uses with the server's append semantics as KurrentDB documents them (an exact-revision
 * or `no_stream` retry of the same ids is answered with success and writes nothing; part of a batch
 * already there is refused as wrong-expected-version; `any` deduplicates by the first id), the
 * client's real error classes and its real read shapes. Every call is recorded in `calls`.
 */
export class FakeKurrentClient implements KurrentClientPort {
  readonly log: Raw[] = [];
  readonly calls: Array<{ op: Op; stream?: string; options: Record<string, unknown> }> = [];
  /** Errors thrown by the next call of an operation (after it is recorded). */
  readonly failNext = new Map<Op, unknown>();
  /** Resolve refusals as `{ success: false }`, as `throwOnAppendFailure=false` makes the client do. */
  throwOnAppendFailure = true;
  /** Reads that have started and not finished, and the most seen at once. */
  inFlight = 0;
  maxInFlight = 0;
  disposed = false;
  private position = 1000n;
  private waiters: Array<() => void> = [];

  /** Resolves at the next write (or when `stop` is called through the returned trigger). */
  private changed(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  /** Puts a raw record in the log, as another writer (or the server) would. */
  put(streamId: string, type: string, data: unknown, metadata: Uint8Array | unknown, opts: { id?: string; link?: boolean } = {}): bigint {
    const revision = BigInt(this.log.filter((r) => r.record.streamId === streamId).length);
    this.position += 173n;
    this.log.push({
      link: opts.link ?? false,
      record: {
        streamId,
        id: (opts.id ?? crypto.randomUUID()).toLowerCase(),
        type,
        isJson: true,
        revision,
        created: 0,
        data: encode(data),
        metadata: metadata instanceof Uint8Array ? metadata : encode(metadata),
        position: { commit: this.position, prepare: this.position },
      },
    });
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
    return this.position;
  }

  private take(op: Op, stream: string | undefined, options: object): void {
    this.calls.push({ op, ...(stream !== undefined ? { stream } : {}), options: { ...options } });
    const err = this.failNext.get(op);
    if (err !== undefined) {
      this.failNext.delete(op);
      throw err;
    }
  }

  private streamRecords(streamId: string): Raw[] {
    return this.log.filter((r) => r.record.streamId === streamId);
  }

  private resolve(raw: Raw): AllStreamResolvedEvent {
    // Without resolveLinkTos a link comes back as the link record itself, in `event`.
    return convertRustEvent<ResolvedEvent>({ event: raw.record }) as unknown as AllStreamResolvedEvent;
  }

  appendToStream = (async (streamName: string, events: EventData | EventData[], options: { streamState?: AppendStreamState } = {}): Promise<AppendResult> => {
    this.take('appendToStream', streamName, options);
    const batch = Array.isArray(events) ? events : [events];
    const state = options.streamState ?? 'any';
    const existing = this.streamRecords(streamName);
    const current = existing.length === 0 ? undefined : BigInt(existing.length - 1);
    const ids = batch.map((e) => e.id!.toLowerCase());
    const at = (first: bigint): 'same' | 'other' => {
      const there = existing.slice(Number(first), Number(first) + ids.length).map((r) => r.record.id);
      return there.length === ids.length && there.every((id, i) => id === ids[i]) ? 'same' : 'other';
    };
    const refuse = (): AppendResult => {
      if (!this.throwOnAppendFailure) return { success: false, nextExpectedRevision: current ?? -1n, position: undefined };
      throw new WrongExpectedVersionError(undefined, { streamName, expected: state, current: current ?? 'no_stream' });
    };
    let first: bigint | undefined;
    if (state === 'no_stream') first = 0n;
    else if (typeof state === 'bigint') first = state + 1n;
    if (first !== undefined) {
      const expectedCurrent = first - 1n;
      if (current === expectedCurrent || (current === undefined && expectedCurrent === -1n)) {
        // ok: write below
      } else if (current !== undefined && first <= current) {
        const verdict = at(first);
        if (verdict === 'same') return { success: true, nextExpectedRevision: first + BigInt(ids.length) - 1n, position: undefined };
        return refuse();
      } else {
        return refuse();
      }
    } else {
      if (state === 'stream_exists' && current === undefined) return refuse();
      const firstIndex = existing.findIndex((r) => r.record.id === ids[0]);
      if (firstIndex >= 0) {
        const verdict = at(BigInt(firstIndex));
        if (verdict === 'same') return { success: true, nextExpectedRevision: BigInt(firstIndex + ids.length - 1), position: undefined };
        return refuse();
      }
    }
    for (const e of batch) this.put(streamName, e.type, e.data, e.metadata, { id: e.id! });
    return { success: true, nextExpectedRevision: BigInt(this.streamRecords(streamName).length - 1), position: { commit: this.position, prepare: this.position } };
  }) as unknown as KurrentClientPort['appendToStream'];

  readStream = ((streamName: string, options: { direction?: string; fromRevision?: bigint | 'start' | 'end'; maxCount?: number | bigint; requiresLeader?: boolean } = {}) => {
    this.take('readStream', streamName, options);
    return this.streamReader(streamName, options);
  }) as unknown as KurrentClientPort['readStream'];

  private async *streamReader(streamName: string, options: { direction?: string; fromRevision?: bigint | 'start' | 'end'; maxCount?: number | bigint }): AsyncGenerator<AllStreamResolvedEvent> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      // Yield to the event loop first, as a network read does, so concurrent reads overlap.
      await new Promise((r) => setImmediate(r));
      const records = this.streamRecords(streamName);
      if (records.length === 0) throw new StreamNotFoundError(undefined, streamName);
      const backwards = options.direction === 'backwards';
      const from = options.fromRevision === undefined || options.fromRevision === 'start' ? 0n : options.fromRevision === 'end' ? BigInt(records.length - 1) : options.fromRevision;
      const ordered = backwards ? records.filter((r) => r.record.revision <= from).reverse() : records.filter((r) => r.record.revision >= from);
      for (const raw of ordered.slice(0, Number(options.maxCount ?? Number.MAX_SAFE_INTEGER))) yield this.resolve(raw);
    } finally {
      this.inFlight--;
    }
  }

  private matches(filter: Filter | undefined, streamId: string): boolean {
    if (!filter) return true;
    const f = filter as { regex?: string; prefixes?: string[] };
    if (f.regex !== undefined) return new RegExp(f.regex).test(streamId);
    return (f.prefixes ?? []).some((p) => streamId.startsWith(p));
  }

  private allFrom(fromPosition: ReadPosition | undefined, backwards: boolean, filter: Filter | undefined): Raw[] {
    const kept = this.log.filter((r) => this.matches(filter, r.record.streamId));
    if (!backwards) {
      const from = fromPosition === undefined || fromPosition === 'start' ? 0n : fromPosition === 'end' ? this.position + 1n : fromPosition.commit;
      return kept.filter((r) => r.record.position!.commit >= from);
    }
    const before = fromPosition === undefined || fromPosition === 'end' ? this.position + 1n : fromPosition === 'start' ? 0n : fromPosition.commit;
    return kept.filter((r) => r.record.position!.commit < before).reverse();
  }

  readAll = ((options: { direction?: string; fromPosition?: ReadPosition; maxCount?: number | bigint; filter?: Filter; requiresLeader?: boolean } = {}) => {
    this.take('readAll', undefined, options);
    const records = this.allFrom(options.fromPosition, options.direction === 'backwards', options.filter).slice(0, Number(options.maxCount ?? Number.MAX_SAFE_INTEGER));
    return (async function* (resolve: (raw: Raw) => AllStreamResolvedEvent) {
      for (const raw of records) yield resolve(raw);
    })((raw) => this.resolve(raw));
  }) as unknown as KurrentClientPort['readAll'];

  /** What a subscription delivers once it has caught up: by default it stays open until unsubscribed. */
  subscriptionEndsAfterCatchUp = false;

  subscribeToAll = ((options: { fromPosition?: ReadPosition; filter?: Filter } = {}) => {
    this.take('subscribeToAll', undefined, options);
    const from = options.fromPosition === undefined || options.fromPosition === 'start' ? -1n : options.fromPosition === 'end' ? this.position : options.fromPosition.commit;
    const state = { stopped: false, stop: () => {} };
    const iterate = () => this.follow(from, options.filter, state);
    const end = (): void => {
      state.stopped = true;
      state.stop();
    };
    return {
      [Symbol.asyncIterator]: iterate,
      unsubscribe: async () => end(),
      destroy: () => end(),
    };
  }) as unknown as KurrentClientPort['subscribeToAll'];

  /** Catch up, then follow live: the server starts after `from` and sends each new record once. */
  private async *follow(from: bigint, filter: Filter | undefined, state: { stopped: boolean; stop: () => void }): AsyncGenerator<AllStreamResolvedEvent> {
    let i = 0;
    for (;;) {
      while (!state.stopped && i < this.log.length) {
        const raw = this.log[i++]!;
        if (raw.record.position!.commit > from && this.matches(filter, raw.record.streamId)) yield this.resolve(raw);
      }
      // The server ends the stream without an error (as a dropped connection looks to the client).
      if (state.stopped || this.subscriptionEndsAfterCatchUp) return;
      await new Promise<void>((r) => {
        state.stop = r;
        void this.changed().then(r);
      });
    }
  }

  dispose = async (): Promise<void> => {
    this.disposed = true;
  };
}
