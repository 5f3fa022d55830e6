import type { EventToAppend, ExpectedRevision } from '../../envelope.js';
import { describeExpected } from '../../envelope.js';
import type { Attachment } from '../../eventStore.js';
import { IdempotencyConflict, InvalidInput, WrongExpectedRevision } from '../../../errors.js';
import { assertStorable } from '../validateAppend.js';

/** One append, prepared and validated, waiting for its round trip (`append_events` or an `append_batch` item). */
export interface PendingAppend {
  readonly streamId: string;
  readonly kind: string;
  readonly expected: string | null;
  readonly expectedRevision: ExpectedRevision;
  readonly payload: string;
  readonly firstId: string;
  /** Only if the append before it in the batch was stored (appendChain). */
  readonly chained?: boolean;
  /** Its attachments as the batch item's `"b"` array (JSON text), if any. */
  readonly attachments?: string;
}

/** A validated append, ready for its round trip. */
export function pendingAppend(streamId: string, events: readonly EventToAppend[], expectedRevision: ExpectedRevision, chained = false, attachments?: readonly Attachment[]): PendingAppend {
  const [kind, expected] = typeof expectedRevision === 'bigint' ? ['exact', expectedRevision.toString()] : [expectedRevision, null];
  const payload = JSON.stringify(events.map(eventJson));
  assertStorable(events, payload);
  const attached = attachments?.length ? JSON.stringify(attachments.map((b) => ({ r: b.ref, j: b.json, n: Buffer.byteLength(b.json) }))) : undefined;
  return { streamId, kind, expected, expectedRevision, payload, firstId: events[0]!.id, ...(chained ? { chained } : {}), ...(attached ? { attachments: attached } : {}) };
}

/**
 * An event as `append_one` takes it. Its `at` travels as "t" into the `recorded_at` column and
 * leaves the metadata JSON (issue 19: ~35 bytes of every row) when the column gives back the very
 * same string (an ISO time to the millisecond, years 1000-9999), which the readers put back
 * (`metadataSql` in schema.ts). Any other `at` stays in the metadata as written.
 */
function eventJson(e: EventToAppend): { id: string; type: string; data: unknown; metadata: unknown; t?: string } {
  const { at, ...rest } = e.metadata;
  if (typeof at === 'string' && ISO_MS.test(at) && !Number.isNaN(Date.parse(at)) && new Date(at).toISOString() === at) {
    return { id: e.id, type: e.type, data: e.data, metadata: rest, t: at };
  }
  return { id: e.id, type: e.type, data: e.data, metadata: e.metadata };
}

const ISO_MS = /^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** `append_batch` items (schema.ts): stream, expectation, chained, attachments, events. */
export const batchJson = (items: readonly PendingAppend[]): string =>
  `[${items.map((a) => `{"s":${JSON.stringify(a.streamId)},"k":"${a.kind}","e":${a.expected === null ? 'null' : `"${a.expected}"`}${a.chained ? ',"c":true' : ''}${a.attachments ? `,"b":${a.attachments}` : ''},"v":${a.payload}}`).join(',')}]`;

/** The store's refusal of an append (a status of `append_batch`, or the SQLSTATE `append_events` raised), as cadre's error. */
export function refusal(a: PendingAppend, status: string, detail: string | null, cause?: unknown): Error {
  if (status === 'wrong_revision' || status === 'CD001') {
    const d = detail ?? 'unknown';
    return new WrongExpectedRevision(a.streamId, describeExpected(a.expectedRevision), d === 'no_stream' ? 'no_stream' : BigInt(d), cause ? { cause } : undefined);
  }
  if (status === 'idempotency_conflict' || status === 'CD002') return new IdempotencyConflict(a.streamId, detail ?? a.firstId);
  return new InvalidInput('events', 'more than 1,048,575 events in one transaction', cause ? { cause } : undefined);
}
