import type { AppendResult, EventToAppend, ExpectedRevision, RecordedEvent } from './envelope.js';

// Revisions and positions are bigint throughout this port: it is the store contract, and a
// Postgres position (offset + transaction id << 20) or a KurrentDB commit position can pass 2^53,
// where a number would silently round. The system's API converts them to numbers at its edge
// (src/events/historyEvent.ts, src/events/safeNumber.ts), refusing any it cannot give exactly.

export interface AppendOptions {
  readonly expectedRevision: ExpectedRevision;
  /** Payloads the events name by ref, stored with them (`EventStore.storesAttachments`). */
  readonly attachments?: readonly Attachment[];
}

/**
 * A content-addressed payload an event names by `ref` (a model request), stored in the same
 * commit as the append that names it, and only if that append is stored.
 */
export interface Attachment {
  readonly ref: string;
  /** The payload as JSON text, as stored (a model request's without its tools: blobParts.ts). */
  readonly json: string;
  /** Blobs `json` names, stored in the same commit (a model request's tools). */
  readonly parts?: readonly Attachment[];
}

export interface ReadStreamOptions {
  /** Inclusive start revision; defaults to the first (forwards) or last (backwards) event. */
  readonly from?: bigint;
  readonly direction?: 'forwards' | 'backwards';
  readonly limit?: number;
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. Defaults to the beginning. */
  readonly fromPosition?: bigint;
  readonly limit?: number;
}

export interface SubscribeOptions {
  /** Exclusive: deliver events strictly after this position. Defaults to the beginning. */
  readonly fromPosition?: bigint;
  /** Only streams whose id starts with one of these prefixes. */
  readonly streamPrefixes?: readonly string[];
}

/** A live subscription: an async iterable that catches up and then follows new events. */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  close(): Promise<void>;
}

/**
 * The event store port. Adapters: Postgres (server or PGlite) and EventStoreDB/KurrentDB.
 * One contract suite (tests/contract/eventStore.contract.ts) holds every adapter to it.
 *
 * @example
 * const store = await createEventStore({ kind: 'pglite' });
 * await store.append('agent-1', [event], { expectedRevision: 'no_stream' });
 * for await (const e of store.subscribeToAll({ fromPosition: 0n })) console.log(e.type);
 */
/** One append of a chain. */
export interface StreamAppend {
  readonly streamId: string;
  readonly events: readonly EventToAppend[];
  readonly expectedRevision: ExpectedRevision;
  readonly attachments?: readonly Attachment[];
}

export type AppendOutcome = { readonly ok: true; readonly value: AppendResult } | { readonly ok: false; readonly error: unknown };

export interface EventStore {
  readonly kind: string;
  /**
   * True when `attachments` are stored with the append, in its commit (the Postgres store: in the
   * runtime's blobs table beside the events). Otherwise the caller stores them first itself.
   */
  readonly storesAttachments?: boolean;
  append(streamId: string, events: readonly EventToAppend[], options: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeToAll(options?: SubscribeOptions): Subscription;
  /**
   * Optional: many streams in one round trip, each from its own revision (recovery loads
   * thousands of actors at once). Adapters without it are read stream by stream.
   */
  readStreams?(requests: ReadonlyArray<{ streamId: string; from: bigint }>): Promise<Map<string, RecordedEvent[]>>;
  /**
   * Optional: appends in order, each after the first only if the one before it was stored (or
   * already was), in one round trip and one commit where the adapter can. One outcome per append;
   * one not tried is `NotAppended`. `appendChain()` (appendChain.ts) falls back to appending one
   * by one, stopping at the first refusal, for adapters without it.
   */
  appendChain?(appends: readonly StreamAppend[]): Promise<AppendOutcome[]>;
  /** The position of the newest event a subscriber can see now (0n when empty). */
  headPosition(): Promise<bigint>;
  /**
   * Optional: the position of the newest event committed now, which a subscriber may not see
   * yet. On Postgres a subscriber sees an event only once every older transaction has ended (in
   * any database of the server: xids are cluster-wide), so `headPosition` can trail a commit for
   * as long as another transaction stays open; "have the read models applied everything?" asks
   * this one. Adapters whose subscribers see a commit at once leave it out (`committedHead()`
   * falls back to `headPosition`).
   */
  committedHead?(): Promise<bigint>;
  close(): Promise<void>;
}
