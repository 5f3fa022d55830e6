/**
 * The one interface cadre's SQL code talks to, implemented for a Postgres server (`pg`) and for
 * PGlite (Postgres in WASM, in-process). The same SQL runs on both. BIGINT (int8) comes back
 * as a JS `bigint` from both adapters.
 */
export interface SqlResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

export interface QueryOptions {
  /**
   * Prepare the statement once per connection under this name and reuse it (Postgres server;
   * PGlite ignores it). Only for hot statements whose result shape never changes while the
   * process runs: a prepared SELECT on a view that a rebuild swaps would fail.
   */
  readonly prepareAs?: string;
}

export interface SqlQueryable {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<SqlResult<Row>>;
}

export interface SqlClient extends SqlQueryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /** Runs several statements separated by `;` (migrations). */
  exec(sql: string): Promise<void>;
  /** LISTEN on a channel; resolves to an unlisten function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** SQL identifiers we interpolate (schema names) must be plain lowercase words. */
export function assertIdentifier(name: string, field = 'schema'): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`invalid ${field} ${JSON.stringify(name)}: use lowercase letters, digits and _`);
  }
  return name;
}
