import { accessSync, constants, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { whyNotCreatable } from '../infra/sql/whyNotCreatable.js';
import { basename, dirname, join, resolve } from 'node:path';
import type { z } from 'zod';
import type { EventStore } from '../events/eventStore.js';
import { createEventStore } from '../events/stores/createEventStore.js';
import { openPostgresEventStore, type PostgresEventStore } from '../events/stores/postgres/postgresEventStore.js';
import type { SqlClient } from '../infra/sql/sqlClient.js';
import type { EventLogTable } from '../projections/activityFeed.js';
import { createPgClient } from '../infra/sql/pgClient.js';
import { EVENTSTOREDB_URL, type Env } from '../infra/config.js';
import { ConfigError, StoreLocked, StoreNotFound } from '../errors.js';
import { holderOf } from '../infra/sql/storeFolderLock.js';
import { NotAStoreFolder } from '../infra/sql/notAStoreFolder.js';
import { folderFault } from '../infra/sql/folderFault.js';
import { openEmbeddedReader } from '../infra/sql/embeddedReader.js';
import { untilMigrated } from '../infra/sql/migrate.js';
import { eventStoreMigrations } from '../events/stores/postgres/schema.js';
import { runtimeMigrations } from '../infra/postgres/runtimeTables.js';
import type { StoreOption, SystemOptionsSchema } from './systemOptions.js';

/** The event store and the SQL client of the runtime tables and read models, as a system opened them. */
export interface SystemStore {
  readonly store: EventStore;
  readonly sql: SqlClient;
  /** Another process holds the embedded store: this one only reads, through it. */
  readonly readThroughHolder: boolean;
  /** The SQL client is the system's own (closed by it), not the store's. */
  readonly ownsSql: boolean;
  /**
   * The events' own table (the store's client and schema, which may be another database than
   * the read models'), read by the activity feed; null for EventStoreDB, which keeps none.
   */
  readonly eventLog: EventLogTable | null;
}

/**
 * Opens the store `storeOpt` names and the SQL client beside it: EventStoreDB with Postgres for
 * the tables (DESIGN.md), Postgres, or the embedded PGlite store (through its holder when
 * another process has it and this one only reads).
 *
 * @example
 * const { store, sql, ownsSql } = await openSystemStore(defaultStore(env), options, env, 'cadre');
 */
export async function openSystemStore(
  storeOpt: z.infer<typeof StoreOption>,
  o: Pick<z.infer<typeof SystemOptionsSchema>, 'store' | 'projections' | 'readOnly'>,
  env: Env,
  schema: string,
): Promise<SystemStore> {
  if (storeOpt.kind === 'eventstoredb') {
    // Events in EventStoreDB; runtime tables and projections in Postgres (DESIGN.md).
    const projectionsUrl = o.projections?.connectionString ?? env.DATABASE_URL;
    if (!projectionsUrl) throw new ConfigError('projections.connectionString', 'an EventStoreDB store needs Postgres for projections: set DATABASE_URL');
    const store = await createEventStore({ kind: 'eventstoredb', connectionString: storeOpt.connectionString });
    const sql = createPgClient({ connectionString: projectionsUrl, source: o.projections ? 'projections.connectionString' : 'DATABASE_URL' });
    return { store, sql, readThroughHolder: false, ownsSql: true, eventLog: null };
  }
  const store: PostgresEventStore = storeOpt.kind === 'postgres'
    ? await createEventStore({ kind: 'postgres', connectionString: storeOpt.connectionString, schema, source: o.store ? 'store.connectionString' : 'DATABASE_URL', ...(o.readOnly === true ? { readOnly: true } : {}) })
    : await openEmbedded(storeOpt.dataDir ? resolve(storeOpt.dataDir) : undefined, schema, o.readOnly === true, o.store ? 'store.dataDir' : 'CADRE_DATA_DIR');
  const sql = o.projections ? createPgClient({ connectionString: o.projections.connectionString, source: 'projections.connectionString' }) : store.sql;
  return { store, sql, readThroughHolder: isForwarded(store), ownsSql: store.sql !== sql, eventLog: { sql: store.sql, schema: store.schema } };
}

/** The store the environment names: EVENT_STORE (EventStoreDB), DATABASE_URL, else the embedded one in CADRE_DATA_DIR. */
export function defaultStore(env: Env): z.infer<typeof StoreOption> {
  if (env.EVENT_STORE && EVENTSTOREDB_URL.test(env.EVENT_STORE)) return { kind: 'eventstoredb', connectionString: env.EVENT_STORE };
  if (env.DATABASE_URL) return { kind: 'postgres', connectionString: env.DATABASE_URL };
  return { kind: 'pglite', dataDir: env.CADRE_DATA_DIR ?? '.cadre/db' };
}

const forwarded = new WeakSet<PostgresEventStore>();
const isForwarded = (s: PostgresEventStore): boolean => forwarded.has(s);

/**
 * The embedded store in `dataDir`, locked to this process (storeFolderLock.ts). When another
 * process holds it, a reader goes through that process (and follows the store to its next
 * holder when that one exits, embeddedReader.ts); anyone else gets `StoreLocked`, which names
 * the folder, the holder and what to do.
 */
/** How long a reader waits for the process holding the folder to finish creating the store (a few seconds on 2 cores). */
const HOLDER_SETUP_WAIT_MS = 20_000;

async function openEmbedded(dataDir: string | undefined, schema: string, readOnly: boolean, source: string): Promise<PostgresEventStore> {
  // A folder that cannot be one (a file, /dev/null, /proc/self) failed with a bare EEXIST or an
  // "[object Object]" from PGlite, naming neither the folder nor the setting.
  const unusable = (err: unknown): ConfigError => new ConfigError(source, `cannot keep the embedded store in ${JSON.stringify(dataDir)}: ${folderFault(err)}; it must be a folder cadre can create and write (default .cadre/db)`);
  // The kernel's own folders: PGlite spun on /proc/self/db, printing nothing (a new-user try).
  if (dataDir && /^\/(proc|sys)(\/|$)/.test(dataDir)) throw unusable(new Error('that is a folder of the kernel, not of files'));
  if (dataDir) {
    // A folder this user may not enter said "no store there yet" (a store of another user's).
    if (existsSync(dataDir)) {
      try {
        accessSync(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
      } catch (err) {
        throw unusable(err);
      }
    }
    // Looking never creates a store (a new PGlite store takes seconds and leaves a .cadre/ in the
    // user's repository): a folder that holds none, and that nobody is creating, has nothing to read
    // (and says a write creates it: where none could, it says why now).
    if (readOnly && !existsSync(join(dataDir, 'PG_VERSION')) && !(await holderOf(dataDir))) {
      const why = existsSync(dataDir) ? null : whyNotCreatable(dataDir);
      throw why ? unusable(new Error(why)) : new StoreNotFound(dataDir);
    }
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (err) {
      throw unusable(err);
    }
    ignoredByGit(dataDir);
  }
  try {
    return await createEventStore({ kind: 'pglite', schema, ...(dataDir ? { dataDir } : {}), ...(readOnly ? { brief: true } : {}) });
  } catch (err) {
    // PGlite's file-system failures are plain objects (its ErrnoError), not Errors: those are the
    // folder's fault. An Error (a corrupt store, a failed migration) is not, and passes as it is.
    if (dataDir && (!(err instanceof Error) || err instanceof NotAStoreFolder)) throw unusable(err);
    // PGlite's one line for any store it could not start on named no folder, setting or cause.
    if (dataDir && err instanceof Error && err.message === 'PGlite failed to initialize properly') {
      throw unusable(new Error('PGlite could not start on it: a folder or files this user cannot write, a store of another PostgreSQL, or a damaged one'));
    }
    if (!(err instanceof StoreLocked) || !readOnly || !dataDir) throw err;
    const sql = await openEmbeddedReader(dataDir);
    // The holder may be creating the store right now (a first `spawn`): read once it has.
    await untilMigrated(sql, schema, [
      { component: 'eventstore', steps: eventStoreMigrations(schema).length },
      { component: 'runtime', steps: runtimeMigrations(schema).length },
    ], HOLDER_SETUP_WAIT_MS);
    const store = await openPostgresEventStore({ sql, ownsClient: true, schema, migrate: false });
    forwarded.add(store);
    return store;
  }
}

/**
 * A store in a folder named `.cadre` (the default, `.cadre/db`, in the user's repository) gets a
 * `.cadre/.gitignore` of `*`: a new user's `git status` listed `.cadre/`, a 40 MB database one
 * `git add .` from being committed. One the user wrote is left as it is.
 */
function ignoredByGit(dataDir: string): void {
  const parent = dirname(resolve(dataDir));
  if (basename(parent) !== '.cadre') return;
  try {
    writeFileSync(join(parent, '.gitignore'), '# cadre\'s embedded store: not for the repository\n*\n', { flag: 'wx' });
  } catch {
    // Already there (EEXIST), or a folder it cannot write: the store works without it.
  }
}
