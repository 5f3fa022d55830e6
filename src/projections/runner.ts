import type { Clock } from '../actors/ports/runtimePorts.js';
import { InvalidInput, NotFound } from '../errors.js';
import type { EventStore } from '../events/eventStore.js';
import { revisionArg } from '../events/safeNumber.js';
import { processOwnerName, systemClock } from '../infra/ids.js';
import { Mutex } from '../infra/mutex.js';
import { Signal } from '../infra/signals.js';
import { migrate } from '../infra/sql/migrate.js';
import { assertIdentifier, type SqlClient } from '../infra/sql/sqlClient.js';
import type { Projection } from './projection.js';
import { runLoop } from './runner/liveLoop.js';
import { PositionWaiters } from './runner/positionWaiters.js';
import { projectionStatus, type ProjectionStatus } from './runner/projectionStatus.js';
import { generationOf, reloadCheckpoints, setUp, suffixFor } from './runner/readModelTables.js';
import { runRebuild } from './runner/rebuild.js';
import { errorText, minLivePosition, reached, silentLogger, type Entry, type ProjectionLogger, type RunnerContext } from './runner/runnerContext.js';
import { runnerMigrations } from './runnerSchema.js';

export type { ProjectionLogger, ProjectionState } from './runner/runnerContext.js';
export type { ProjectionStatus } from './runner/projectionStatus.js';

export interface ProjectionRunnerOptions {
  readonly store: EventStore;
  /** Where the read models live (may be another database than the store's). */
  readonly sql: SqlClient;
  /** Schema of the read models and checkpoints. Default `cadre`. */
  readonly schema?: string;
  readonly projections: readonly Projection[];
  /** Most events applied per transaction. Default 500. */
  readonly batchSize?: number;
  readonly logger?: ProjectionLogger;
  /** The time lag in ms is measured against (the system's injected clock). Default the system clock. */
  readonly clock?: Clock;
  /**
   * How long a batch waits for more events after its first, in ms. Default 5: a 4-node workflow
   * applied a transaction per append (9 per agent step, each updating every projection's
   * checkpoint); read models lag by at most this much more. 0 takes only what is ready.
   */
  readonly lingerMs?: number;
  /**
   * The least time in ms from one batch's start to the next's: under a steady flow of events a
   * batch gathers what came meanwhile, while an event after a quiet spell is applied at once.
   * Default 50. A batch's statements cost nearly as much for one run's events as for several
   * (set-based, see the read models): with one batch per ~28 ms run (5 ms of lingering) the read
   * models took ~14 ms of the server's time per run of the workflow benchmark, with batches of
   * ~2.7 runs ~6 ms, and the runs went ~15% faster (.prof wfd, pg_stat_user_functions). Read
   * models lag by at most this much more under load. 0: no pacing.
   */
  readonly minIntervalMs?: number;
  /** Backoff after a failure: first and longest wait, in ms. Default 50 and 5,000. */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
}

/**
 * Keeps read models up to date from `$all`: each batch of events and the new checkpoints are
 * applied in one statement (or one transaction), so every event is applied exactly once, also
 * across crashes and dropped connections. One checkpoint per projection; `rebuild(name)` builds
 * fresh tables from position 0 beside the live ones and swaps the readers' views over in one
 * transaction.
 *
 * The parts live in ./runner/: the tables and checkpoints (readModelTables), the live loop
 * (liveLoop), rebuilds (rebuild), status (projectionStatus) and read-your-writes waiters
 * (positionWaiters); this class owns their shared state and the start/stop lifecycle.
 *
 * @example
 * const runner = new ProjectionRunner({ store, sql, schema: 'cadre', projections: defaultProjections() });
 * await runner.start();
 * const { position } = await store.append('agent-a', [event], { expectedRevision: 'no_stream' });
 * await runner.waitFor(position);
 * await runner.stop();
 */
export class ProjectionRunner {
  readonly schema: string;
  private readonly rt: RunnerContext;
  private loop: Promise<void> | undefined;
  private started = false;

  constructor(options: ProjectionRunnerOptions) {
    const schema = assertIdentifier(options.schema ?? 'cadre');
    const batchSize = options.batchSize ?? 500;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidInput('batchSize', 'must be a positive integer');
    const lingerMs = options.lingerMs ?? 5;
    if (!Number.isFinite(lingerMs) || lingerMs < 0) throw new InvalidInput('lingerMs', 'must be a number of ms, 0 or more');
    const minIntervalMs = options.minIntervalMs ?? 50;
    if (!Number.isFinite(minIntervalMs) || minIntervalMs < 0) throw new InvalidInput('minIntervalMs', 'must be a number of ms, 0 or more');
    const entries = new Map<string, Entry>();
    for (const p of options.projections) {
      assertIdentifier(p.name, 'projection name');
      if (entries.has(p.name)) throw new InvalidInput('projections', `duplicate projection ${p.name}`);
      for (const t of p.tables) assertIdentifier(t, `table of projection ${p.name}`);
      entries.set(p.name, { projection: p, position: 0n, suffix: '', tables: {}, state: 'live', rebuild: null });
    }
    this.schema = schema;
    const rt: RunnerContext = {
      schema,
      store: options.store,
      sql: options.sql,
      batchSize,
      lingerMs,
      minIntervalMs,
      lastBatchAt: -Infinity,
      log: options.logger ?? silentLogger,
      clock: options.clock ?? systemClock,
      retry: { initialMs: options.retry?.initialMs ?? 50, maxMs: options.retry?.maxMs ?? 5000 },
      entries,
      owner: processOwnerName(),
      lock: new Mutex(),
      liveSetChanged: new Signal(),
      stopSignal: new Signal(),
      skippedTypes: new Set(),
      waiters: new PositionWaiters((position) => reached(rt, position)),
      liveCursor: 0n,
      subscription: undefined,
      stopping: false,
      lastError: null,
      failures: 0,
    };
    this.rt = rt;
  }

  /** The projections this runner maintains, by name. */
  get projectionNames(): string[] {
    return [...this.rt.entries.keys()];
  }

  /**
   * Creates missing tables and checkpoints, then follows `$all` in the background. Resolves
   * once set up (not once caught up: use `waitFor`). Projections whose version changed are
   * rebuilt in the background while their old tables keep serving.
   */
  async start(): Promise<void> {
    if (this.started) return;
    const rt = this.rt;
    this.started = true;
    rt.stopping = false;
    await migrate(rt.sql, rt.schema, 'projections', runnerMigrations(rt.schema));
    const stale: Entry[] = [];
    for (const entry of rt.entries.values()) if ((await setUp(rt, entry)) === 'stale') stale.push(entry);
    rt.liveCursor = minLivePosition(rt) ?? 0n;
    this.loop = runLoop(rt);
    for (const entry of stale) void this.rebuild(entry.projection.name).catch((err: unknown) => {
      rt.log.error({ projection: entry.projection.name, err: errorText(err) }, 'projection rebuild failed');
    });
  }

  /** Whether it follows `$all` (started, not stopped). */
  get running(): boolean {
    return this.started;
  }

  /** Stops following `$all` after the batch in flight; a later `start()` resumes from the checkpoints. */
  async stop(): Promise<void> {
    if (!this.started) return;
    const rt = this.rt;
    rt.stopping = true;
    rt.stopSignal.fire();
    rt.liveSetChanged.fire();
    await rt.subscription?.close();
    await this.loop;
    await Promise.all([...rt.entries.values()].map((e) => e.rebuild?.done.catch(() => undefined)));
    this.loop = undefined;
    this.started = false;
  }

  /**
   * Resolves once every projection has applied all events up to `position` (read your writes).
   * Rejects with `TimedOut` after `timeoutMs`.
   */
  waitFor(at: bigint | number, timeoutMs = 10_000): Promise<void> {
    return this.rt.waiters.waitFor(revisionArg(at, 'position'), timeoutMs);
  }

  /** Position, lag in events and in ms, and state of every projection. */
  async status(): Promise<ProjectionStatus[]> {
    // Not running here (a reader beside the process that holds an embedded store): the positions
    // are the checkpoints the running process keeps, not the 0 this runner started with.
    if (!this.started) await reloadCheckpoints(this.rt).catch(() => undefined);
    return projectionStatus(this.rt);
  }

  /**
   * Replays `$all` from position 0 into a fresh generation of the projection's tables while the
   * live ones keep serving, then, in one transaction, catches up to the live loop, points the
   * readers' views at the new tables, moves the checkpoint and drops the old tables.
   */
  rebuild(name: string): Promise<void> {
    const entry = this.rt.entries.get(name);
    if (!entry) throw new NotFound('projection', name);
    if (!this.started) throw new InvalidInput('runner', 'start the runner before rebuilding');
    if (entry.rebuild) return entry.rebuild.done;
    // What status shows while it waits for its claim; the claim picks the generation (rebuildClaim.ts).
    const generation = Math.max(generationOf(entry.suffix), 0) + 1;
    const rebuild = { suffix: suffixFor(entry.projection.version, generation), position: 0n, done: Promise.resolve() };
    if (entry.state === 'live') entry.state = 'rebuilding';
    entry.rebuild = rebuild;
    rebuild.done = runRebuild(this.rt, entry, rebuild).finally(() => {
      entry.rebuild = null;
      if (entry.state === 'rebuilding') entry.state = 'live';
    });
    return rebuild.done;
  }
}
