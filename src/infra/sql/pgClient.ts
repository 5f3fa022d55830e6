import type PgModule from 'pg';
import type { Client as PgConnection, Pool as PgPool, PoolClient as PgPoolClient } from 'pg';
import { StoreUnavailable } from '../../errors.js';
import type { QueryOptions, SqlClient, SqlQueryable, SqlResult } from './sqlClient.js';
import { backoffMs } from '../backoff.js';

/**
 * pg, imported with a `navigator` in place while its modules evaluate. Without one (Node 20 has
 * no global navigator; Node 21+ has one), pg tells a Cloudflare Worker apart by building a
 * `Response`, which loads Node's whole fetch implementation (undici): measured on Node 20.20,
 * importing pg took ~110-160 ms with the probe and ~55-105 ms without (7 runs each, loaded
 * machine). The stand-in says it is not Cloudflare, exists only for the import, and is left
 * alone when the runtime has its own.
 */
async function importPg(): Promise<typeof PgModule> {
  if (typeof (globalThis as { navigator?: unknown }).navigator !== 'undefined') return (await import('pg')).default;
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'Node.js' }, configurable: true, writable: true });
  try {
    return (await import('pg')).default;
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}
const pg = await importPg();

const INT8_OID = 20;

// Per-client type parsers rather than pg's global registry, so embedding cadre never changes
// how the host application's own `pg` pools parse BIGINT.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (v: string) => BigInt(v);
    return pg.types.getTypeParser(oid, format);
  },
};

const CONNECTION_RETRIES = 6;

/** Errors that mean "this connection is gone", not "this statement is wrong". */
export function isConnectionLost(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  if (/^(57P0[123]|08\d{3}|53300)$/.test(code) || ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
  const message = err instanceof Error ? err.message : String(err);
  return /Connection terminated|connection.*(closed|ended)|Client has encountered a connection error/i.test(message);
}

export interface PgClientOptions {
  readonly connectionString: string;
  readonly max?: number;
  readonly applicationName?: string;
  /** Where the connection string came from (`DATABASE_URL`), named when connecting fails. */
  readonly source?: string;
}

/** Why connecting failed, by the code Node or Postgres gave; absent: not a failure to connect. */
const CONNECT_FAILURES: Partial<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOENT: 'no Postgres socket there',
  ECONNRESET: 'connection reset',
};

/** `host:port` (or the socket folder) of a connection string, never its user or password. */
function target(connectionString: string): string {
  if (connectionString.startsWith('/')) return connectionString;
  try {
    const u = new URL(connectionString);
    const host = u.searchParams.get('host') ?? (u.hostname || 'localhost');
    return host.startsWith('/') ? host : `${host}:${u.port || '5432'}`;
  } catch {
    return 'the configured address';
  }
}

/**
 * A failure to connect, as our error: where, from which setting, why, and what to check (pg's
 * own `connect ECONNREFUSED 127.0.0.1:5499` named neither the setting nor what to do). Other
 * errors come back as they are.
 */
export function connectFailure(err: unknown, connectionString: string, source = 'the connection string'): unknown {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  const at = target(connectionString);
  const why = CONNECT_FAILURES[code];
  if (why) return new StoreUnavailable(`cannot connect to Postgres at ${at} (${source}): ${why}`, { cause: err, hint: `is Postgres running at ${at}? check ${source}` });
  const message = err instanceof Error ? err.message : String(err);
  // 28P01/28000: refused login; 3D000: no such database. The server's message names the user or
  // database, never the password.
  if (code === '28P01' || code === '28000') return new StoreUnavailable(`cannot connect to Postgres at ${at} (${source}): ${message}`, { cause: err, hint: `check the user and password in ${source}` });
  if (code === '3D000') return new StoreUnavailable(`cannot connect to Postgres at ${at} (${source}): ${message}`, { cause: err, hint: `create it (createdb <name>) or fix the database name in ${source}` });
  // TLS refused or failed: pg's words ("The server does not support SSL connections") named no setting.
  if (!code && /\bSSL\b|certificate|TLS/i.test(message)) return new StoreUnavailable(`cannot connect to Postgres at ${at} (${source}): ${message}`, { cause: err, hint: `check sslmode (and the certificates) in ${source}` });
  return err;
}

/**
 * A pool-backed SqlClient on a Postgres server. LISTEN uses a dedicated connection that
 * reconnects after a drop (notifications are a latency hint only; readers also poll).
 *
 * @example
 * const sql = createPgClient({ connectionString: 'postgres://localhost/cadre' });
 */
export function createPgClient(options: PgClientOptions): SqlClient {
  const { connectionString, source } = options;
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    // pg lets an application_name in the connection string (to tell processes apart in
    // pg_stat_activity) win over this one.
    application_name: options.applicationName ?? 'cadre',
    types,
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener
  // Node would crash the process. The next query simply gets a fresh connection.
  pool.on('error', () => {});

  const listeners = new Set<{ channel: string; cb: (p: string) => void }>();
  let listenClient: PgConnection | undefined;
  let connecting: Promise<PgConnection> | undefined;
  let closed = false;

  async function ensureListener(): Promise<PgConnection> {
    if (listenClient) return listenClient;
    connecting ??= (async () => {
      const client = new pg.Client({ connectionString: options.connectionString, types });
      client.on('error', () => {
        listenClient = undefined;
        connecting = undefined;
        if (!closed && listeners.size > 0) setTimeout(() => void ensureListener().catch(() => {}), 200);
      });
      client.on('notification', (n) => {
        for (const l of listeners) if (l.channel === n.channel) l.cb(n.payload ?? '');
      });
      await client.connect();
      for (const ch of new Set([...listeners].map((l) => l.channel))) await client.query(`LISTEN "${ch}"`);
      listenClient = client;
      return client;
    })();
    try {
      return await connecting;
    } finally {
      connecting = undefined;
    }
  }

  const run = async <Row>(q: PgPool | PgPoolClient, text: string, params?: readonly unknown[], options?: QueryOptions): Promise<SqlResult<Row>> => {
    const values = params as unknown[] | undefined;
    const r = options?.prepareAs ? await q.query({ name: options.prepareAs, text, values }) : await q.query(text, values);
    return { rows: r.rows as Row[], rowCount: r.rowCount ?? 0 };
  };

  /**
   * A single autocommit statement whose connection died is tried again on a fresh one. cadre's
   * statements are idempotent (appends by event id, upserts, guarded updates), so a statement
   * that committed just before its connection dropped is harmless to repeat.
   */
  const runPooled = async <Row>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<SqlResult<Row>> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run<Row>(pool, text, params, options);
      } catch (err) {
        if (closed || attempt >= CONNECTION_RETRIES || !isConnectionLost(err)) throw connectFailure(err, connectionString, source);
        await new Promise((r) => setTimeout(r, backoffMs(attempt, { baseMs: 25 })));
      }
    }
  };

  return {
    kind: 'postgres',
    query: (text, params, options) => runPooled(text, params, options),
    async transaction(fn) {
      const conn = await pool.connect().catch((err: unknown) => Promise.reject(connectFailure(err, connectionString, source)));
      // A connection dropped mid-transaction emits 'error'; without a listener Node crashes the
      // process. The failed query rejects anyway, and the broken client is discarded below.
      const onError = (): void => {};
      conn.on('error', onError);
      const tx: SqlQueryable = { query: (text, params, options) => run(conn, text, params, options) };
      try {
        await conn.query('BEGIN');
        const out = await fn(tx);
        await conn.query('COMMIT');
        conn.off('error', onError);
        conn.release();
        return out;
      } catch (err) {
        // A broken connection must not go back to the pool.
        try {
          await conn.query('ROLLBACK');
          conn.off('error', onError);
          conn.release();
        } catch {
          conn.off('error', onError);
          conn.release(true);
        }
        throw err;
      }
    },
    async exec(sql) {
      await pool.query(sql).catch((err: unknown) => Promise.reject(connectFailure(err, connectionString, source)));
    },
    async listen(channel, cb) {
      const entry = { channel, cb };
      listeners.add(entry);
      const client = await ensureListener();
      await client.query(`LISTEN "${channel}"`);
      return async () => {
        listeners.delete(entry);
        if (![...listeners].some((l) => l.channel === channel)) await listenClient?.query(`UNLISTEN "${channel}"`).catch(() => {});
      };
    },
    async close() {
      closed = true;
      listeners.clear();
      await listenClient?.end().catch(() => {});
      await pool.end();
    },
  };
}
