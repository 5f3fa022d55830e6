import { toSafeNumber } from '../../events/safeNumber.js';
import type { ProjectionState, RunnerContext } from './runnerContext.js';

export interface ProjectionStatus {
  readonly name: string;
  readonly version: number;
  /** `live`; `stale` (its version changed: a rebuild will replace it); `rebuilding` (live, with a rebuild under way). */
  readonly state: ProjectionState;
  /** Suffix of the tables readers see, e.g. `v1_r0`. */
  readonly suffix: string;
  /** Global position applied so far (checkpoint); a number, like every position in API results. */
  readonly position: number;
  readonly headPosition: number;
  /** Events recorded after the checkpoint, counted up to `lagEventsCap` (then `lagEventsCapped`). */
  readonly lagEvents: number;
  readonly lagEventsCapped: boolean;
  /** How long the oldest unapplied event has waited (0 when caught up). */
  readonly lagMs: number;
  /** Set while a rebuild is under way. */
  readonly rebuild: { readonly suffix: string; readonly position: number } | null;
  readonly lastError: string | null;
}

/** Lag is counted up to this many events (counting further would read the whole backlog). */
const LAG_EVENTS_CAP = 1000;

/**
 * Position, lag in events and in ms (by the runner's clock), and state of every projection, as
 * the runner's entries hold them now.
 *
 * @example
 * const [agents] = await projectionStatus(rt);
 * if (agents.lagMs > 5000) log.warn({ lagMs: agents.lagMs }, 'read models lag');
 */
export async function projectionStatus(rt: RunnerContext): Promise<ProjectionStatus[]> {
  const head = await rt.store.headPosition();
  const out: ProjectionStatus[] = [];
  const lagCache = new Map<bigint, { events: number; ms: number }>();
  for (const e of rt.entries.values()) {
    let lag = lagCache.get(e.position);
    if (!lag) {
      lag = { events: 0, ms: 0 };
      if (e.position < head) {
        const behind = await rt.store.readAll({ fromPosition: e.position, limit: LAG_EVENTS_CAP + 1 });
        const first = behind[0];
        lag = { events: behind.length, ms: first ? Math.max(0, rt.clock.now().getTime() - Date.parse(first.metadata.at)) : 0 };
      }
      lagCache.set(e.position, lag);
    }
    out.push({
      name: e.projection.name,
      version: e.projection.version,
      state: e.state,
      suffix: e.suffix,
      position: toSafeNumber(e.position, 'position'),
      headPosition: toSafeNumber(head, 'headPosition'),
      lagEvents: Math.min(lag.events, LAG_EVENTS_CAP),
      lagEventsCapped: lag.events > LAG_EVENTS_CAP,
      lagMs: lag.ms,
      rebuild: e.rebuild ? { suffix: e.rebuild.suffix, position: toSafeNumber(e.rebuild.position, 'rebuild.position') } : null,
      lastError: rt.lastError,
    });
  }
  return out;
}
