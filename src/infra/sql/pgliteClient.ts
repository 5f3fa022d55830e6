import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlResult } from './sqlClient.js';

const INT8_OID = 20;

export interface PgliteClientOptions {
  /** A directory for a persistent database; absent: in memory. */
  readonly dataDir?: string;
}

/**
 * Postgres in-process (PGlite, WASM): the zero-setup default. One connection, so transactions
 * are serialised; everything else behaves like the server.
 *
 * @example
 * const sql = await createPgliteClient({ dataDir: '.cadre/db' });
 */
export async function createPgliteClient(options: PgliteClientOptions = {}): Promise<SqlClient> {
  const db = await PGlite.create(options.dataDir ?? 'memory://', {
    parsers: { [INT8_OID]: (v: string) => BigInt(v) },
  });
  const toResult = <Row>(r: { rows: unknown[]; affectedRows?: number }): SqlResult<Row> => ({
    rows: r.rows as Row[],
    rowCount: r.affectedRows ?? r.rows.length,
  });
  return {
    kind: 'pglite',
    async query<Row>(text: string, params?: readonly unknown[]) {
      return toResult<Row>(await db.query(text, params as unknown[] | undefined));
    },
    transaction(fn) {
      return db.transaction((tx) =>
        fn({ query: async <Row>(text: string, params?: readonly unknown[]) => toResult<Row>(await tx.query(text, params as unknown[] | undefined)) }),
      );
    },
    async exec(sql) {
      await db.exec(sql);
    },
    async listen(channel, cb) {
      const unlisten = await db.listen(channel, cb);
      return unlisten;
    },
    async close() {
      if (!db.closed) await db.close();
    },
  };
}
