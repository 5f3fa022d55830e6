import type { EventMetadata, RecordedEvent } from './envelope.js';
import { eventSchemas, isEventType, type DomainEvent } from './catalogue.js';
import { InvalidInput, UnreadableEvent } from '../errors.js';
import { formatPath } from '../validation.js';
import { fullMetadata } from './metadata.js';

/**
 * Upcasters turn an old version of an event's data into the next version, on read. Stored
 * events are never rewritten. Key: `${type}@${fromVersion}`.
 */
type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;
const upcasters: Record<string, Upcaster> = {
  // v2 added `overspent`; before it no child could overspend, so a v1 reclaim carries none.
  'BudgetReclaimed@1': (data) => ({ overspent: 0, ...data }),
  // v2 added the child's `spec`; a v1 record kept none, so a child reopened from it gets defaults.
  'ChildSpawned@1': (data) => ({ spec: null, ...data }),
  // v3 delegates the child's budget itself; a v1 or v2 record was followed by a BudgetDelegated.
  'ChildSpawned@2': (data) => ({ delegatesBudget: false, ...data }),
  // v4 starts a workflow node itself; a v1 to v3 record of a node's child was followed by a NodeStarted.
  'ChildSpawned@3': (data) => ({ nodeAttempt: null, ...data }),
  // v2 returns the child's budget itself; a v1 record was followed by a BudgetReclaimed.
  'ChildFinished@1': (data) => ({ reclaim: null, ...data }),
  // v3 completes a workflow node itself; a v1 or v2 record of a node's end was followed by a NodeCompleted.
  'ChildFinished@2': (data) => ({ completesNode: null, ...data }),
  // v2 holds its reservation itself; a v1 request was preceded by a BudgetReserved.
  'ModelRequested@1': (data) => ({ reserves: false, ...data }),
  // v2 settles its reservation itself; a v1 reply was followed by a BudgetSettled.
  'ModelReplied@1': (data) => ({ settles: false, ...data }),
  // v3 may mark a call sent again after a takeover (`resent`); a v2 record never does: its
  // history cannot tell, so it reads as not resent (the field stays absent).
  'ModelReplied@2': (data) => data,
  // v2 may mark a call sent again after a takeover, as ModelReplied v3 does.
  'ModelFailed@1': (data) => data,
};

/** Registers an upcaster (used by tests and by future schema changes). */
export function registerUpcaster(type: string, fromVersion: number, fn: Upcaster): void {
  upcasters[`${type}@${fromVersion}`] = fn;
}

/** A recorded event as the current code understands it: upcast, zod-validated, full metadata. */
export type ParsedEvent = DomainEvent & Pick<RecordedEvent, 'id' | 'streamId' | 'revision' | 'position'> & { readonly metadata: EventMetadata };

/**
 * The one place stored events become what the code reads: lean metadata filled back in
 * (src/events/metadata.ts), old data versions upcast, the data validated.
 */
export function parseRecorded(e: RecordedEvent): ParsedEvent {
  const where = `${e.streamId}@${e.revision}`;
  if (!isEventType(e.type)) throw new UnreadableEvent(where, 'type', `unknown event type ${e.type} (written by a newer cadre?)`);
  const entry = eventSchemas[e.type];
  let metadata: ParsedEvent['metadata'];
  try {
    metadata = fullMetadata(e.streamId, e.metadata, `event ${where}`);
  } catch (err) {
    throw err instanceof InvalidInput ? new UnreadableEvent(where, err.field.replace(`event ${where}.`, ''), err.reason) : err;
  }
  let data = e.data as Record<string, unknown>;
  for (let v = metadata.schemaVersion; v < entry.version; v++) {
    const up = upcasters[`${e.type}@${v}`];
    if (!up) throw new UnreadableEvent(where, 'metadata.schemaVersion', `no upcaster for ${e.type} v${v}`);
    data = up(data);
  }
  const parsed = entry.schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // A newer version of an event is read as this one when it only adds fields; when it does not, say so.
    const newer = metadata.schemaVersion > entry.version ? ` (${e.type} v${metadata.schemaVersion}, written by a newer cadre: this one reads up to v${entry.version})` : '';
    throw new UnreadableEvent(where, formatPath('data', issue?.path ?? []), `${issue?.message ?? 'invalid'}${newer}`);
  }
  return { type: e.type, data: parsed.data, id: e.id, metadata, streamId: e.streamId, revision: e.revision, position: e.position } as ParsedEvent;
}
