import { Aborted, InvalidInput, NotFound, TimedOut } from '../errors.js';
import type { RecordedEvent } from '../events/envelope.js';
import type { EventStore, Subscription } from '../events/eventStore.js';
import { isEventType } from '../events/catalogue.js';
import { parseRecorded, type ParsedEvent } from '../events/upcast.js';
import { revisionArg, toSafeNumber } from '../events/safeNumber.js';
import { migrate } from '../infra/sql/migrate.js';
import { assertIdentifier, type SqlClient, type SqlQueryable } from '../infra/sql/sqlClient.js';
import { applyStatements, canBatch } from './applyStatements.js';
import { Mutex, Signal, afterMs, nextTurn } from './asyncTools.js';
import { physicalTable, tableNames, type Projection, type SqlStatement, type TableNames } from './projection.js';
import { runnerMigrations } from './runnerSchema.js';

/** The logging calls the runner makes (pino's shape). */
export interface ProjectionLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silent: ProjectionLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

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
  /** Milliseconds since the epoch; lag in ms is measured with it. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * How long a batch waits for more events after its first, in ms. Default 5: a 4-node workflow
   * applied a transaction per append (9 per agent step, each updating every projection's
   * checkpoint); read models lag by at most this much more. 0 takes only what is ready.
   */
  readonly lingerMs?: number;
  /** Backoff after a failure: first and longest wait, in ms. Default 50 and 5,000. */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
}

export type ProjectionState = 'live' | 'stale' | 'rebuilding';

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

interface Entry {
  readonly projection: Projection;
  position: bigint;
  suffix: string;
  tables: TableNames;
  state: ProjectionState;
  rebuild: { suffix: string; position: bigint; done: Promise<void> } | null;
}

interface CheckpointRow {
  name: string;
  version: number;
  position: bigint;
  active_suffix: string;
  building_suffix: string | null;
}

interface Waiter {
  readonly position: bigint;
  readonly resolve: () => void;
}

const LAG_EVENTS_CAP = 1000;

const suffixFor = (version: number, generation: number): string => `v${version}_r${generation}`;
const generationOf = (suffix: string | null): number => Number(/_r(\d+)$/.exec(suffix ?? '')?.[1] ?? -1);

/** SQLSTATE raised by the checkpoint compare-and-set (runnerSchema.ts) when another runner moved it. */
const CHECKPOINT_MOVED = 'CD101';
const movedByAnotherRunner = (err: unknown): boolean => typeof err === 'object' && err !== null && (err as { code?: unknown }).code === CHECKPOINT_MOVED;
const errorText = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/**
 * Keeps read models up to date from `$all`: each batch of events and the new checkpoints are
 * applied in one statement (or one transaction), so every event is applied exactly once, also
 * across crashes and dropped connections. One checkpoint per projection; `rebuild(name)` builds
 * fresh tables from position 0 beside the live ones and swaps the readers' views over in one
 * transaction.
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
  private readonly store: EventStore;
  private readonly sql: SqlClient;
  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly log: ProjectionLogger;
  private readonly now: () => number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly entries = new Map<string, Entry>();
  private readonly lock = new Mutex();
  private readonly liveSetChanged = new Signal();
  private readonly stopSignal = new Signal();
  private readonly skippedTypes = new Set<string>();
  private waiters: Waiter[] = [];
  /** The position up to which the live loop has committed its batches. */
  private liveCursor = 0n;
  private subscription: Subscription | undefined;
  private loop: Promise<void> | undefined;
  private started = false;
  private stopping = false;
  private lastError: string | null = null;
  private failures = 0;

  constructor(options: ProjectionRunnerOptions) {
    this.schema = assertIdentifier(options.schema ?? 'cadre');
    this.store = options.store;
    this.sql = options.sql;
    this.batchSize = options.batchSize ?? 500;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new InvalidInput('batchSize', 'must be a positive integer');
    this.lingerMs = options.lingerMs ?? 5;
    if (!Number.isFinite(this.lingerMs) || this.lingerMs < 0) throw new InvalidInput('lingerMs', 'must be a number of ms, 0 or more');
    this.log = options.logger ?? silent;
    this.now = options.now ?? Date.now;
    this.retryInitialMs = options.retry?.initialMs ?? 50;
    this.retryMaxMs = options.retry?.maxMs ?? 5000;
    for (const p of options.projections) {
      assertIdentifier(p.name, 'projection name');
      if (this.entries.has(p.name)) throw new InvalidInput('projections', `duplicate projection ${p.name}`);
      for (const t of p.tables) assertIdentifier(t, `table of projection ${p.name}`);
      this.entries.set(p.name, { projection: p, position: 0n, suffix: '', tables: {}, state: 'live', rebuild: null });
    }
  }

  /** The projections this runner maintains, by name. */
  get projectionNames(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Creates missing tables and checkpoints, then follows `$all` in the background. Resolves
   * once set up (not once caught up: use `waitFor`). Projections whose version changed are
   * rebuilt in the background while their old tables keep serving.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    await migrate(this.sql, this.schema, 'projections', runnerMigrations(this.schema));
    const stale: Entry[] = [];
    for (const entry of this.entries.values()) if ((await this.setUp(entry)) === 'stale') stale.push(entry);
    this.liveCursor = this.minLivePosition() ?? 0n;
    this.loop = this.runLoop();
    for (const entry of stale) void this.rebuild(entry.projection.name).catch((err: unknown) => {
      this.log.error({ projection: entry.projection.name, err: errorText(err) }, 'projection rebuild failed');
    });
  }

  /** Stops following `$all` after the batch in flight; a later `start()` resumes from the checkpoints. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.stopSignal.fire();
    this.liveSetChanged.fire();
    await this.subscription?.close();
    await this.loop;
    await Promise.all([...this.entries.values()].map((e) => e.rebuild?.done.catch(() => undefined)));
    this.loop = undefined;
    this.started = false;
  }

  /**
   * Resolves once every projection has applied all events up to `position` (read your writes).
   * Rejects with `TimedOut` after `timeoutMs`.
   */
  waitFor(at: bigint | number, timeoutMs = 10_000): Promise<void> {
    const position = revisionArg(at, 'position');
    if (this.reached(position)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new TimedOut(`projections reaching position ${position}`, timeoutMs));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Position, lag in events and in ms, and state of every projection. */
  async status(): Promise<ProjectionStatus[]> {
    // Not running here (a reader beside the process that holds an embedded store): the positions
    // are the checkpoints the running process keeps, not the 0 this runner started with.
    if (!this.started) await this.reloadCheckpoints().catch(() => undefined);
    const head = await this.store.headPosition();
    const out: ProjectionStatus[] = [];
    const lagCache = new Map<bigint, { events: number; ms: number }>();
    for (const e of this.entries.values()) {
      let lag = lagCache.get(e.position);
      if (!lag) {
        lag = { events: 0, ms: 0 };
        if (e.position < head) {
          const behind = await this.store.readAll({ fromPosition: e.position, limit: LAG_EVENTS_CAP + 1 });
          const first = behind[0];
          lag = { events: behind.length, ms: first ? Math.max(0, this.now() - Date.parse(first.metadata.at)) : 0 };
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
        lastError: this.lastError,
      });
    }
    return out;
  }

  /**
   * Replays `$all` from position 0 into a fresh generation of the projection's tables while the
   * live ones keep serving, then, in one transaction, catches up to the live loop, points the
   * readers' views at the new tables, moves the checkpoint and drops the old tables.
   */
  rebuild(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) throw new NotFound('projection', name);
    if (!this.started) throw new InvalidInput('runner', 'start the runner before rebuilding');
    if (entry.rebuild) return entry.rebuild.done;
    const generation = Math.max(generationOf(entry.suffix), 0) + 1;
    const rebuild = { suffix: suffixFor(entry.projection.version, generation), position: 0n, done: Promise.resolve() };
    if (entry.state === 'live') entry.state = 'rebuilding';
    entry.rebuild = rebuild;
    rebuild.done = this.runRebuild(entry, rebuild).finally(() => {
      entry.rebuild = null;
      if (entry.state === 'rebuilding') entry.state = 'live';
    });
    return rebuild.done;
  }

  // ---- set-up -------------------------------------------------------------------------------

  private checkpointTable(): string {
    return `${this.schema}.projection_checkpoints`;
  }

  private async setUp(entry: Entry): Promise<'live' | 'stale'> {
    const p = entry.projection;
    const found = await this.sql.query<CheckpointRow>(
      `SELECT name, version, position, active_suffix, building_suffix FROM ${this.checkpointTable()} WHERE name = $1`,
      [p.name],
    );
    const row = found.rows[0];
    if (!row) {
      const suffix = suffixFor(p.version, 0);
      await this.sql.transaction(async (tx) => {
        await this.createTables(tx, p, suffix);
        await this.pointViews(tx, p, suffix, true);
        await tx.query(
          `INSERT INTO ${this.checkpointTable()} (name, version, position, active_suffix) VALUES ($1, $2, 0, $3)`,
          [p.name, p.version, suffix],
        );
      });
      Object.assign(entry, { position: 0n, suffix, tables: tableNames(p, this.schema, suffix), state: 'live' });
      return 'live';
    }
    if (row.building_suffix) {
      // A rebuild died with its runner: its half-built tables are useless.
      await this.sql.transaction(async (tx) => {
        await this.dropTables(tx, p, row.building_suffix!);
        await tx.query(`UPDATE ${this.checkpointTable()} SET building_suffix = NULL WHERE name = $1`, [p.name]);
      });
    }
    const state = Number(row.version) === p.version ? 'live' : 'stale';
    Object.assign(entry, { position: BigInt(row.position), suffix: row.active_suffix, tables: tableNames(p, this.schema, row.active_suffix), state });
    return state;
  }

  private async createTables(tx: SqlQueryable, p: Projection, suffix: string): Promise<void> {
    await this.dropTables(tx, p, suffix);
    for (const statement of p.migrations(this.schema, suffix)) await tx.query(statement);
  }

  private async dropTables(tx: SqlQueryable, p: Projection, suffix: string): Promise<void> {
    for (const t of p.tables) await tx.query(`DROP TABLE IF EXISTS ${physicalTable(this.schema, t, suffix)}`);
    for (const statement of p.teardown?.(this.schema, suffix) ?? []) await tx.query(statement);
  }

  /** Readers' views `<schema>.<table>` → the generation `suffix`; derived views recreated. */
  private async pointViews(tx: SqlQueryable, p: Projection, suffix: string, replaceShape: boolean): Promise<void> {
    for (const t of p.tables) {
      // Same shape: CREATE OR REPLACE keeps the view's identity, so readers never miss it.
      // A new version may change columns: drop (with its derived views) and create.
      if (replaceShape) await tx.query(`DROP VIEW IF EXISTS ${this.schema}.${t} CASCADE`);
      await tx.query(`CREATE OR REPLACE VIEW ${this.schema}.${t} AS SELECT * FROM ${physicalTable(this.schema, t, suffix)}`);
    }
    for (const view of p.views?.(this.schema) ?? []) await tx.query(view.sql);
  }

  private minLivePosition(): bigint | undefined {
    let min: bigint | undefined;
    for (const e of this.entries.values()) if (e.state !== 'stale' && (min === undefined || e.position < min)) min = e.position;
    return min;
  }

  private async reloadCheckpoints(): Promise<void> {
    const r = await this.sql.query<CheckpointRow>(
      `SELECT name, version, position, active_suffix, building_suffix FROM ${this.checkpointTable()}`,
    );
    for (const row of r.rows) {
      const entry = this.entries.get(row.name);
      if (!entry || entry.state === 'stale') continue;
      entry.position = BigInt(row.position);
      if (row.active_suffix !== entry.suffix) {
        entry.suffix = row.active_suffix;
        entry.tables = tableNames(entry.projection, this.schema, row.active_suffix);
      }
    }
  }

  // ---- the live loop ------------------------------------------------------------------------

  private async runLoop(): Promise<void> {
    this.failures = 0;
    while (!this.stopping) {
      try {
        if (this.failures > 0) {
          await this.lock.run(() => this.reloadCheckpoints());
          this.wakeWaiters();
        }
        const from = this.minLivePosition();
        if (from === undefined) {
          await this.liveSetChanged.wait(1000);
          continue;
        }
        await this.follow(from);
      } catch (err) {
        if (this.stopping) break;
        if (movedByAnotherRunner(err)) {
          // Another process applied this batch first (the checkpoint compare-and-set did its job):
          // nothing failed; pick up from the checkpoints it wrote, at once.
          this.log.debug({ err: errorText(err) }, 'another runner applied the batch; resuming from its checkpoints');
          await this.lock.run(() => this.reloadCheckpoints());
          this.wakeWaiters();
          continue;
        }
        this.failures++;
        this.lastError = errorText(err);
        const delay = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** Math.min(this.failures - 1, 16));
        this.log.warn({ err: this.lastError, failures: this.failures, retryInMs: delay }, 'projection runner failed; resuming from the checkpoints');
        await this.stopSignal.wait(delay);
      }
    }
  }

  /** Subscribes from `from` and applies batches until stopped or the subscription fails. */
  private async follow(from: bigint): Promise<void> {
    const sub = this.store.subscribeToAll({ fromPosition: from });
    this.subscription = sub;
    const it = sub[Symbol.asyncIterator]();
    let pending: Promise<IteratorResult<RecordedEvent>> | undefined;
    try {
      if (this.stopping) return;
      while (!this.stopping) {
        const first = await (pending ?? it.next());
        pending = undefined;
        if (first.done) return;
        const batch: RecordedEvent[] = [first.value];
        // Take what the subscription has ready, and what arrives within `lingerMs` of the first
        // event: one transaction per few ms rather than one per append (see lingerMs).
        const until = this.lingerMs > 0 ? afterMs(this.lingerMs) : nextTurn();
        while (batch.length < this.batchSize) {
          pending = it.next();
          const next = await Promise.race([pending, until]);
          if (next === 'idle') break;
          pending = undefined;
          if (next.done) break;
          batch.push(next.value);
        }
        await this.applyLive(batch);
        this.lastError = null;
        this.failures = 0;
      }
    } finally {
      pending?.catch(() => undefined);
      this.subscription = undefined;
      await sub.close();
    }
  }

  private parse(batch: readonly RecordedEvent[]): ParsedEvent[] {
    const out: ParsedEvent[] = [];
    for (const e of batch) {
      if (!isEventType(e.type)) {
        if (!this.skippedTypes.has(e.type)) {
          this.skippedTypes.add(e.type);
          this.log.info({ type: e.type, position: e.position.toString() }, 'projections skip an event type they do not know');
        }
        continue;
      }
      try {
        out.push(parseRecorded(e));
      } catch (err) {
        // A malformed event must not stop every read model forever; it is logged and skipped.
        this.log.error({ err: errorText(err), stream: e.streamId, revision: e.revision.toString() }, 'projections skip an unreadable event');
      }
    }
    return out;
  }

  private async applyLive(batch: readonly RecordedEvent[]): Promise<void> {
    const last = batch[batch.length - 1]!.position;
    const events = this.parse(batch);
    await this.lock.run(async () => {
      const targets = [...this.entries.values()].filter((e) => e.state !== 'stale' && e.position < last);
      if (targets.length > 0) {
        // Runners in several processes apply the same events. Taking one lock per schema first
        // makes them queue instead of deadlocking on read-model rows locked in different orders,
        // and moving the checkpoints next lets a runner that queued behind another fail at once
        // (CD101, then it reloads) rather than after redoing the other's work.
        const statements: SqlStatement[] = [this.appliersLock()];
        for (const t of targets) {
          statements.push({
            text: `SELECT ${this.schema}.projection_advance($1::text, $2::bigint, $3::bigint, $4::text)`,
            params: [t.projection.name, t.position, last, t.suffix],
          });
        }
        for (const t of targets) {
          for (const e of events) if (e.position > t.position) statements.push(...t.projection.handle(e, t.tables));
        }
        await this.commit(statements);
        for (const t of targets) t.position = last;
      }
      if (last > this.liveCursor) this.liveCursor = last;
    });
    this.wakeWaiters();
  }

  /** Held to the end of the transaction by whoever writes this schema's live read models. */
  private appliersLock(): SqlStatement {
    return { text: 'SELECT pg_advisory_xact_lock(hashtext($1::text))', params: [`cadre.projections:${this.schema}`] };
  }

  /** One statement when possible (atomic by itself, one round trip), else one transaction. */
  private async commit(statements: readonly SqlStatement[], extra?: (tx: SqlQueryable) => Promise<void>): Promise<void> {
    if (!extra && canBatch(statements)) {
      await applyStatements(this.sql, this.schema, statements);
      return;
    }
    await this.sql.transaction(async (tx) => {
      await applyStatements(tx, this.schema, statements);
      await extra?.(tx);
    });
  }

  private reached(position: bigint): boolean {
    for (const e of this.entries.values()) if (e.state === 'stale' || e.position < position) return false;
    return true;
  }

  private wakeWaiters(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (this.reached(w.position)) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  // ---- rebuild ------------------------------------------------------------------------------

  private async runRebuild(entry: Entry, rebuild: { suffix: string; position: bigint }): Promise<void> {
    const p = entry.projection;
    const tables = tableNames(p, this.schema, rebuild.suffix);
    this.log.info({ projection: p.name, suffix: rebuild.suffix }, 'projection rebuild started');
    await this.sql.transaction(async (tx) => {
      await this.createTables(tx, p, rebuild.suffix);
      await tx.query(`UPDATE ${this.checkpointTable()} SET building_suffix = $2 WHERE name = $1`, [p.name, rebuild.suffix]);
    });
    const statementsFor = (events: readonly RecordedEvent[]): SqlStatement[] =>
      this.parse(events).flatMap((e) => p.handle(e, tables));
    // Catch up without holding the lock: the live tables keep serving and updating.
    for (;;) {
      if (this.stopping) throw new Aborted(`the runner stopped while rebuilding ${p.name}`);
      const events = await this.store.readAll({ fromPosition: rebuild.position, limit: this.batchSize });
      if (events.length === 0) break;
      await this.commit(statementsFor(events));
      rebuild.position = events[events.length - 1]!.position;
      if (events.length < this.batchSize && rebuild.position >= this.liveCursor) break;
    }
    // The last stretch and the swap happen with the live loop paused, so the new checkpoint
    // is at least where the live loop is: nothing is skipped, nothing applied twice.
    await this.lock.run(async () => {
      if (this.stopping) throw new Aborted(`the runner stopped while rebuilding ${p.name}`);
      const tail: RecordedEvent[] = [];
      let at = rebuild.position;
      while (at < this.liveCursor) {
        const events = await this.store.readAll({ fromPosition: at, limit: this.batchSize });
        if (events.length === 0) break;
        tail.push(...events);
        at = events[events.length - 1]!.position;
      }
      const old = entry.suffix;
      const versionChanged = entry.state === 'stale';
      // Behind the same lock as live applies (in any process) to the tables it drops.
      await this.commit([this.appliersLock(), ...statementsFor(tail)], async (tx) => {
        // Lock in the order readers do (derived views, then table views, each down to its
        // tables), so a reader and the swap queue up instead of deadlocking.
        const views = [...(p.views?.(this.schema) ?? []).map((v) => v.name), ...p.tables];
        const existing = await tx.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relkind = 'v' AND c.relname = ANY (string_to_array($2, ','))`,
          [this.schema, views.join(',')],
        );
        const present = new Set(existing.rows.map((r) => r.name));
        const toLock = views.filter((v) => present.has(v)).map((v) => `${this.schema}.${v}`);
        if (toLock.length > 0) await tx.query(`LOCK TABLE ${toLock.join(', ')} IN ACCESS EXCLUSIVE MODE`);
        await this.pointViews(tx, p, rebuild.suffix, versionChanged);
        const moved = await tx.query(
          `UPDATE ${this.checkpointTable()} SET version = $2, position = $3, active_suffix = $4, building_suffix = NULL, updated_at = now()
            WHERE name = $1`,
          [p.name, p.version, at.toString(), rebuild.suffix],
        );
        if (moved.rowCount !== 1) throw new NotFound('projection checkpoint', p.name);
        if (old !== rebuild.suffix) await this.dropTables(tx, p, old);
      });
      rebuild.position = at;
      Object.assign(entry, { position: at, suffix: rebuild.suffix, tables, state: 'live' as const });
      this.log.info({ projection: p.name, suffix: rebuild.suffix, position: at.toString() }, 'projection rebuilt and swapped in');
    });
    this.liveSetChanged.fire();
    this.wakeWaiters();
  }
}
