/**
 * The shape of every event cadre stores. `data` is the event's own payload (parsed by its zod
 * schema in src/events/schemas); `metadata` links it into a run: `correlationId` is the root run,
 * `causationId` the event or command that caused it.
 */
export interface EventMetadata {
  readonly correlationId: string;
  readonly causationId: string;
  readonly schemaVersion: number;
  /** ISO-8601 time from the injected clock. */
  readonly at: string;
  readonly [extra: string]: unknown;
}

/**
 * Metadata as a store holds it: lean, without what the stream id and the defaults say
 * (src/events/metadata.ts). Old events carry every key; both read back through `parseRecorded`
 * as the full `EventMetadata`.
 */
export interface StoredMetadata {
  readonly correlationId?: string;
  readonly causationId?: string;
  /** Left out when 1. */
  readonly schemaVersion?: number;
  /** ISO-8601 time from the injected clock. */
  readonly at: string;
  readonly [extra: string]: unknown;
}

/**
 * An event about to be appended. `id` is a uuid; appending the same id twice is idempotent. The
 * metadata may be full or lean (`leanMetadata`); a store keeps it as given.
 */
export interface EventToAppend<Type extends string = string, Data = unknown> {
  readonly id: string;
  readonly type: Type;
  readonly data: Data;
  readonly metadata: StoredMetadata;
}

/** An event read back from a store, its metadata as stored (`parseRecorded` fills it in). */
export interface RecordedEvent<Type extends string = string, Data = unknown> extends EventToAppend<Type, Data> {
  readonly streamId: string;
  /** Position in its stream, from 0, gap-free. */
  readonly revision: bigint;
  /** Global position: unique, strictly increasing in the order subscribers receive events. */
  readonly position: bigint;
}

/**
 * What the writer believes about the stream: it does not exist, it exists, anything goes, or its
 * last event has exactly this revision.
 */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | bigint;

export interface AppendResult {
  /** Revision of the last event now in the stream. */
  readonly nextExpectedRevision: bigint;
  /** Global position of the last appended event. */
  readonly position: bigint;
  /** True when every event id was already stored and nothing was written. */
  readonly idempotent: boolean;
}

export const describeExpected = (e: ExpectedRevision): string => (typeof e === 'bigint' ? e.toString() : e);
