import { z } from 'zod';
import type { EventToAppend, ExpectedRevision } from '../envelope.js';
import { NOT_STORABLE, parseInput } from '../../validation.js';
import { InvalidInput } from '../../errors.js';
import { missingField } from '../metadata.js';

// Lean metadata (src/events/metadata.ts) leaves out what a reader fills back in; what it cannot
// (a cause outside an agent stream) is refused below.
const MetadataSchema = z.looseObject({
  correlationId: z.string().min(1).optional(),
  causationId: z.string().min(1).optional(),
  schemaVersion: z.number().int().positive().optional(),
  at: z.string().min(1),
});

const EventSchema = z.object({
  id: z.uuid(),
  type: z.string().min(1).max(200),
  data: z.unknown().refine((d) => d !== undefined, 'data is required'),
  metadata: MetadataSchema,
});

const StreamIdSchema = z.string().min(1).max(500).refine((s) => !s.includes('\u0000'), 'must not contain NUL');

/** Checks what every adapter must refuse before touching storage, naming the bad field. */
export function validateAppend(streamId: unknown, events: readonly EventToAppend[], expected: ExpectedRevision): void {
  if (!isPlainStreamId(streamId)) parseInput(StreamIdSchema, streamId, 'streamId');
  if (!Array.isArray(events)) throw new InvalidInput('events', 'must be an array');
  events.forEach((e, i) => {
    if (!isPlainEvent(e)) parseInput(EventSchema, e, `events[${i}]`);
    const missing = missingField(streamId as string, e.metadata);
    if (missing) throw new InvalidInput(`events[${i}].metadata.${missing}`, 'is required outside agent streams (agent-<id>)');
  });
  const ids = new Set(events.map((e) => e.id));
  if (ids.size !== events.length) throw new InvalidInput('events', 'event ids must be unique within one append');
  if (typeof expected === 'bigint' ? expected < -1n : !['no_stream', 'stream_exists', 'any'].includes(expected)) {
    throw new InvalidInput('expectedRevision', `must be 'no_stream', 'stream_exists', 'any' or a revision >= 0, got ${String(expected)}`);
  }
}

// What the schemas above accept, checked by hand first: the zod parse of every appended event
// cost ~3% of a workflow run's CPU (issue 19). Anything the hand check does not pass goes to the
// schemas, which accept or refuse it and name the field; so the hand check may only be stricter.
// zod's z.uuid() less its two special values (nil and max), which go to the schema.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const isPlainStreamId = (s: unknown): boolean => typeof s === 'string' && s.length > 0 && s.length <= 500 && !s.includes('\u0000');
const optionalName = (v: unknown): boolean => v === undefined || (typeof v === 'string' && v.length > 0);

function isPlainEvent(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { id, type, data, metadata: m } = e as Record<string, unknown>;
  if (typeof id !== 'string' || !UUID.test(id) || typeof type !== 'string' || type.length === 0 || type.length > 200 || data === undefined) return false;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  const { at, correlationId, causationId, schemaVersion } = m as Record<string, unknown>;
  return typeof at === 'string' && at.length > 0 && optionalName(correlationId) && optionalName(causationId) && (schemaVersion === undefined || (Number.isSafeInteger(schemaVersion) && (schemaVersion as number) > 0));
}

/**
 * An escaped U+0000 or unpaired surrogate in JSON text (`\u0000`, `\ud800`: JSON.stringify
 * escapes a lone surrogate and writes a paired one raw) after an even number of backslashes. The
 * literal text `\u0000` (a backslash the JSON escapes as `\\`) is ordinary data and is allowed.
 */
const JSON_UNSTORABLE = /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/**
 * Postgres JSON cannot hold U+0000 or an unpaired UTF-16 surrogate; refuse them up front, naming
 * the event, instead of a driver error ("invalid input syntax for type json") naming nothing.
 * `serialized` (the events as the adapter will send them) is checked in one pass; only when it
 * holds one are the events looked at one by one to name the field.
 */
export function assertStorable(events: readonly EventToAppend[], serialized?: string): void {
  // JSON.stringify writes `\u` only for control characters and lone surrogates, so most appends
  // hold none and skip the pattern's scan of the whole payload (~0.08 ms of a 4-node workflow
  // run's ~17 ms CPU, .prof/wfd.mjs --cpu-prof); any `\u` still goes through it.
  if (serialized !== undefined && ((!serialized.includes('\\u') && !serialized.includes('\\U')) || !JSON_UNSTORABLE.test(serialized))) return;
  events.forEach((e, i) => {
    if (JSON_UNSTORABLE.test(JSON.stringify(e.data))) throw new InvalidInput(`events[${i}].data`, NOT_STORABLE);
    if (JSON_UNSTORABLE.test(JSON.stringify(e.metadata))) throw new InvalidInput(`events[${i}].metadata`, NOT_STORABLE);
  });
}
