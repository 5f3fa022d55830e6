import type { EventMetadata, StoredMetadata } from './envelope.js';
import { agentIdOfStream } from '../actors/streams.js';
import { InvalidInput } from '../errors.js';

/**
 * Stored metadata leaves out what the row already says (issue 19): most of an agent stream's
 * events were caused by the agent itself, belong to its own run, and are at version 1 of their
 * schema, and writing that out cost up to ~110 of the ~175 bytes of JSON each event carried.
 *
 * - `schemaVersion` is left out when it is 1, on any stream: a missing version reads as 1.
 * - `causationId` is left out on an agent stream `agent-<id>` when it is `agent:<id>`.
 * - `correlationId` (the root run) is left out on an agent stream when it is the agent's own id
 *   (a root agent). A child's is kept: its root is named only in the stream's AgentSpawned, and a
 *   reader (a projection following $all, say) sees one event at a time. Nothing in cadre reads
 *   it to decide anything; it is kept for the audit trail (`history`), so it must read back.
 * - `at` (the injected clock's time) is kept here; the Postgres store moves it to its row's
 *   `recorded_at` column and puts it back on read (pendingAppend.ts, `metadataSql`). Every other
 *   key is kept (`leaseTo`, read by a trigger on the raw row).
 *
 * `fullMetadata` puts them back; `parseRecorded` calls it, so every reader of parsed events sees
 * the full shape, and an event stored before (with every key) reads exactly as it did.
 *
 * @example
 * const stored = leanMetadata('agent-a1', { correlationId: 'a1', causationId: 'agent:a1', schemaVersion: 1, at });
 * // → { at }
 * fullMetadata('agent-a1', stored); // → { correlationId: 'a1', causationId: 'agent:a1', schemaVersion: 1, at }
 */
export function leanMetadata(streamId: string, m: EventMetadata): StoredMetadata {
  const { correlationId, causationId, schemaVersion, ...rest } = m;
  const d = derivable(streamId);
  return {
    ...(d && correlationId === d.correlationId ? {} : { correlationId }),
    ...(d && causationId === d.causationId ? {} : { causationId }),
    ...(schemaVersion === DEFAULT_SCHEMA_VERSION ? {} : { schemaVersion }),
    ...rest,
  };
}

/**
 * Stored metadata, lean or full, as every reader sees it (see `leanMetadata`); `where` names the
 * event in an error. `system.history()` and the projections get it filled in already; a reader
 * of the raw store (`system.store.readStream`) calls this.
 *
 * @example
 * const [first] = await system.store.readStream(`agent-${id}`);
 * fullMetadata(first.streamId, first.metadata); // { at, causationId, correlationId, schemaVersion }
 */
export function fullMetadata(streamId: string, m: StoredMetadata, where = `event in ${streamId}`): EventMetadata {
  // Every key present (an event stored before lean metadata, or a child's with a cause of its
  // own and a later schema version): the very object, so old events read as they always did.
  if (m.correlationId !== undefined && m.causationId !== undefined && m.schemaVersion !== undefined) return m as EventMetadata;
  const field = missingField(streamId, m);
  if (field) throw new InvalidInput(`${where}.metadata.${field}`, 'is missing and cannot be derived outside an agent stream');
  const d = derivable(streamId)!;
  const { correlationId = d.correlationId, causationId = d.causationId, schemaVersion = DEFAULT_SCHEMA_VERSION } = m;
  const filled: Record<string, unknown> = { correlationId, causationId, schemaVersion };
  // m's keys and the ones filled in, each once, with the values `{ ...m, ...filled }` would hold.
  // Not built that way: a spread of a parsed object followed by more keys takes V8's slow path;
  // this function went from ~4-5 µs to ~1-2 per lean event (node micro-benchmark on Node 20),
  // and the projections read every event through here (~48 per 4-node workflow run).
  const keys = Object.keys(m);
  for (const k of FILLED_KEYS) if (!Object.hasOwn(m, k)) keys.push(k);
  // In the order Postgres returns a jsonb object's keys (shorter first, then bytewise; alike for
  // ASCII keys), so that `cadre history --json` prints a filled-in event as it printed one stored
  // in full.
  keys.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(keys.map((k) => [k, Object.hasOwn(filled, k) ? filled[k] : (m as Record<string, unknown>)[k]])) as EventMetadata;
}

const FILLED_KEYS = ['correlationId', 'causationId', 'schemaVersion'] as const;

/**
 * The first metadata key a reader could not fill back in (stores refuse such an append), or
 * null. Outside agent streams only `schemaVersion` may be left out.
 */
export function missingField(streamId: string, m: StoredMetadata): 'correlationId' | 'causationId' | null {
  if (derivable(streamId)) return null;
  if (m.correlationId === undefined) return 'correlationId';
  if (m.causationId === undefined) return 'causationId';
  return null;
}

const DEFAULT_SCHEMA_VERSION = 1;

function derivable(streamId: string): { correlationId: string; causationId: string } | null {
  const agentId = agentIdOfStream(streamId);
  return agentId ? { correlationId: agentId, causationId: `agent:${agentId}` } : null;
}
