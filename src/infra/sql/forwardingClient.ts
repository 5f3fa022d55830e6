import { StoreUnavailable } from '../../errors.js';
import type { SqlClient, SqlResult } from './sqlClient.js';
import { RemoteError, RpcConnection } from './socketRpc.js';
import { holderReadsAddress } from './storeFolderLock.js';

/** Why a reader's write is refused: only the holder writes to its folder. */
const READ_ONLY = 'read-only: this process reads the embedded store through the process that holds it; writes go through that process';

/**
 * A SqlClient for a process that only reads an embedded store another process holds: each query
 * is sent to the holder, which runs it in a READ ONLY transaction (Postgres refuses any write
 * there) and sends the rows back. Transactions and `exec` are refused; `listen` hears nothing
 * (readers of cadre's tables poll when they wait). See docs/operations.md.
 *
 * @example
 * const sql = await connectToHolder('.cadre/db');
 * const { rows } = await sql.query('SELECT count(*) AS n FROM cadre.events');
 */
export async function connectToHolder(folder: string): Promise<SqlClient> {
  const conn = await RpcConnection.connect(await holderReadsAddress(folder));
  return forwardingClient(conn);
}

export function forwardingClient(conn: RpcConnection): SqlClient {
  let closed = false;
  return queryOnlyClient(
    async <Row>(text: string, params?: readonly unknown[]): Promise<SqlResult<Row>> => {
      try {
        return (await conn.call({ op: 'query', text, params: params ?? [] })) as SqlResult<Row>;
      } catch (err) {
        // A statement's own error (SQLSTATE) passes through as it would from PGlite.
        if (err instanceof RemoteError) throw Object.assign(new Error(err.message), err.code ? { code: err.code } : {});
        throw new StoreUnavailable(`the process holding the embedded store went away: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    },
    async () => {
      if (closed) return;
      closed = true;
      conn.close();
    },
  );
}

/**
 * A SqlClient that only queries: transactions and `exec` are refused (only the holder writes to
 * its folder), `listen` hears nothing (readers of cadre's tables poll when they wait).
 */
export function queryOnlyClient(query: SqlClient['query'], close: () => Promise<void>): SqlClient {
  return {
    kind: 'pglite',
    query,
    transaction() {
      return Promise.reject(new Error(READ_ONLY));
    },
    exec() {
      return Promise.reject(new Error(READ_ONLY));
    },
    async listen() {
      return async () => {};
    },
    close,
  };
}
