import type { Clock } from '../../actors/ports/runtimePorts.js';
import type { RecordedEvent } from '../../events/envelope.js';
import type { EventStore, Subscription } from '../../events/eventStore.js';
import { isEventType } from '../../events/catalogue.js';
import { parseRecorded, type ParsedEvent } from '../../events/upcast.js';
import type { Mutex } from '../../infra/mutex.js';
import type { Signal } from '../../infra/signals.js';
import type { SqlClient, SqlQueryable } from '../../infra/sql/sqlClient.js';
import { applyStatements, canBatch } from '../applyStatements.js';
import type { Projection, SqlStatement, TableNames } from '../projection.js';
import type { PositionWaiters } from './positionWaiters.js';

/** The logging calls the runner makes (pino's shape). */
export interface ProjectionLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: ProjectionLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export type ProjectionState = 'live' | 'stale' | 'rebuilding';

/** One projection as the runner keeps it: where it is, which generation of tables readers see. */
export interface Entry {
  readonly projection: Projection;
  position: bigint;
  suffix: string;
  tables: TableNames;
  state: ProjectionState;
  rebuild: { suffix: string; position: bigint; done: Promise<void> } | null;
}

/**
 * What the runner's parts share: its ports and settings, the projections and the loop's state.
 * The parts are functions over this object; the facade (`ProjectionRunner`) owns it.
 */
export interface RunnerContext {
  readonly schema: string;
  readonly store: EventStore;
  /** Where the read models live. */
  readonly sql: SqlClient;
  readonly batchSize: number;
  readonly lingerMs: number;
  readonly minIntervalMs: number;
  /** When the last live batch started (performance.now()), for `minIntervalMs`. */
  lastBatchAt: number;
  readonly log: ProjectionLogger;
  /** Decides lag in ms; injected so tests can run a simulated clock. */
  readonly clock: Clock;
  /** Backoff after a failure: first and longest wait, in ms. */
  readonly retry: { readonly initialMs: number; readonly maxMs: number };
  readonly entries: Map<string, Entry>;
  /** This runner among the schema's, in a rebuild's claim (rebuildClaim.ts). */
  readonly owner: string;
  /** Held by a live batch and by a rebuild's swap. */
  readonly lock: Mutex;
  /** Fired when a projection joins the live loop (a rebuild swapped it in) and on stop. */
  readonly liveSetChanged: Signal;
  readonly stopSignal: Signal;
  /** Event types this runner does not know and said so once. */
  readonly skippedTypes: Set<string>;
  readonly waiters: PositionWaiters;
  /** The position up to which the live loop has committed its batches. */
  liveCursor: bigint;
  subscription: Subscription | undefined;
  stopping: boolean;
  lastError: string | null;
  /** Failures in a row of the live loop. */
  failures: number;
}

export const errorText = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

export const checkpointTable = (schema: string): string => `${schema}.projection_checkpoints`;

/** Where the live loop must read from: the least position of the projections it serves. */
export function minLivePosition(rt: RunnerContext): bigint | undefined {
  let min: bigint | undefined;
  for (const e of rt.entries.values()) if (e.state !== 'stale' && (min === undefined || e.position < min)) min = e.position;
  return min;
}

/** Whether every projection has applied everything up to `position`. */
export function reached(rt: RunnerContext, position: bigint): boolean {
  for (const e of rt.entries.values()) if (e.state === 'stale' || e.position < position) return false;
  return true;
}

/** The events the projections can read: unknown types and unreadable events are logged and skipped. */
export function parseBatch(rt: RunnerContext, batch: readonly RecordedEvent[]): ParsedEvent[] {
  const out: ParsedEvent[] = [];
  for (const e of batch) {
    if (!isEventType(e.type)) {
      if (!rt.skippedTypes.has(e.type)) {
        rt.skippedTypes.add(e.type);
        rt.log.info({ type: e.type, position: e.position.toString() }, 'projections skip an event type they do not know');
      }
      continue;
    }
    try {
      out.push(parseRecorded(e));
    } catch (err) {
      // A malformed event must not stop every read model forever; it is logged and skipped.
      rt.log.error({ err: errorText(err), stream: e.streamId, revision: e.revision.toString() }, 'projections skip an unreadable event');
    }
  }
  return out;
}

/** Held to the end of the transaction by whoever writes this schema's live read models. */
export function appliersLock(schema: string): SqlStatement {
  return { text: 'SELECT pg_advisory_xact_lock(hashtext($1::text))', params: [`cadre.projections:${schema}`] };
}

/** One statement when possible (atomic by itself, one round trip), else one transaction. */
export async function commit(rt: RunnerContext, statements: readonly SqlStatement[], extra?: (tx: SqlQueryable) => Promise<void>): Promise<void> {
  if (!extra && canBatch(statements)) {
    await applyStatements(rt.sql, rt.schema, statements);
    return;
  }
  await rt.sql.transaction(async (tx) => {
    await applyStatements(tx, rt.schema, statements);
    await extra?.(tx);
  });
}
