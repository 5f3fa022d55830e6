import type { PGlite } from '@electric-sql/pglite';
import { openPglite } from './openPglite.js';
import type { SqlClient, SqlResult } from './sqlClient.js';
import { acquireStoreFolder, type StoreFolderLock } from './storeFolderLock.js';

/** How long a brief holder, done with its own command, keeps serving connected readers. */
const BRIEF_DRAIN_MS = 10_000;

export interface PgliteClientOptions {
  /** A directory for a persistent database; absent: in memory. */
  readonly dataDir?: string;
  /** Only reading, briefly: a writer that finds the folder held by this process waits instead of being refused. */
  readonly brief?: boolean;
}

/**
 * Postgres in-process (PGlite, WASM): the zero-setup default. One connection, so transactions
 * are serialised; everything else behaves like the server.
 *
 * A folder is one process's database: it is locked before PGlite opens it (a second process gets
 * `StoreLocked`, see storeFolderLock.ts), and while it is open this process answers other
 * processes' read-only queries on it (forwardingClient.ts).
 *
 * @example
 * const sql = await createPgliteClient({ dataDir: '.cadre/db' });
 */
export async function createPgliteClient(options: PgliteClientOptions = {}): Promise<SqlClient> {
  const lock: StoreFolderLock | null = options.dataDir ? await acquireStoreFolder(options.dataDir, { brief: options.brief === true }) : null;
  let db: PGlite;
  try {
    db = await openPglite(options.dataDir);
  } catch (err) {
    await lock?.release();
    throw err;
  }
  const toResult = <Row>(r: { rows: unknown[]; affectedRows?: number }): SqlResult<Row> => ({
    rows: r.rows as Row[],
    rowCount: r.affectedRows ?? r.rows.length,
  });
  // Another process's query runs in a READ ONLY transaction: Postgres itself refuses any write
  // in it (INSERT, UPDATE, DDL, nextval, NOTIFY, SELECT FOR UPDATE), whatever the text says.
  await lock?.serveReads(async (req) => {
    const { op, text, params } = (req ?? {}) as { op?: unknown; text?: unknown; params?: unknown };
    if (op !== 'query' || typeof text !== 'string' || !Array.isArray(params)) throw new Error('expected { op: "query", text, params }');
    return db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION READ ONLY');
      return toResult(await tx.query(text, params as unknown[]));
    });
  });
  return {
    kind: 'pglite',
    async query<Row>(text: string, params?: readonly unknown[]) {
      const r = toResult<Row>(await db.query(text, params as unknown[] | undefined));
      await turnOfTheLoop();
      return r;
    },
    async transaction(fn) {
      const r = await db.transaction((tx) =>
        fn({ query: async <Row>(text: string, params?: readonly unknown[]) => toResult<Row>(await tx.query(text, params as unknown[] | undefined)) }),
      );
      await turnOfTheLoop();
      return r;
    },
    async exec(sql) {
      await db.exec(sql);
      await turnOfTheLoop();
    },
    async listen(channel, cb) {
      const unlisten = await db.listen(channel, cb);
      return unlisten;
    },
    async close() {
      // Readers first: a forwarded query cut off here is retried by its reader elsewhere
      // (embeddedReader.ts), where one answered by a closing PGlite would fail as SQL. A brief
      // holder (a read command) first serves the readers already connected until they are done:
      // each would otherwise open PGlite in turn to take over (see embeddedReader.ts).
      await lock?.stopReads(options.brief ? { drainMs: BRIEF_DRAIN_MS } : {});
      if (!db.closed) await db.close();
      // Only once PGlite has written everything may another process open the folder.
      await lock?.release();
    },
  };
}

/**
 * A turn of the event loop for everything else. PGlite answers in this thread and resolves its
 * promises at once, so a run on the embedded store was one unbroken chain of promise callbacks:
 * no timer, signal, socket or HTTP request was served until it ended (0 ticks of a 10 ms interval
 * during a 1.3 s workflow; Ctrl-C was seen only after the run had finished, and progress lines
 * came out in one burst at its end: a new user's try). setImmediate runs after the loop's poll
 * phase, so each query lets those in.
 */
const turnOfTheLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
