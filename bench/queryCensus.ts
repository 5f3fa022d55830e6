import pg from 'pg';

/**
 * Transactions by statement on chosen databases, counted in this process: which statements
 * make a side's commits (pg_stat_database only gives their number). It wraps `pg.Client#query`,
 * which every pool's connection goes through. A statement outside BEGIN…COMMIT is one
 * transaction; a transaction is named by its first statement.
 */
export interface QueryCensus {
  /** Counting only while on: the benchmark turns it on around the measured runs. */
  on: boolean;
  /** Transactions per label, for one database. */
  counts(dbName: string): ReadonlyMap<string, number>;
  /** Connections whose statements are not counted (the benchmark's own). */
  ignore(client: pg.ClientBase): void;
  /** Restores `pg.Client#query`. */
  stop(): void;
}

/** A statement's shape: whitespace collapsed, literals and numbers out, first 120 characters. */
const label = (text: string): string =>
  text.replace(/\s+/g, ' ').replace(/'[^']*'/g, "'?'").replace(/\b\d+\b/g, 'N').trim().slice(0, 120);

export function startCensus(dbNames: readonly string[]): QueryCensus {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const byDb = new Map(dbNames.map((d) => [d, new Map<string, number>()]));
  const ignored = new WeakSet<object>();
  // A connection's open transaction: null until its first statement names it.
  const open = new WeakMap<object, string | null>();
  const census: QueryCensus = {
    on: false,
    counts: (dbName) => byDb.get(dbName) ?? new Map(),
    ignore: (client) => void ignored.add(client),
    stop: () => void (proto.query = original),
  };
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    const counts = byDb.get(this.database ?? '');
    if (census.on && counts && !ignored.has(this)) {
      const first = args[0];
      const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '');
      const s = label(text);
      const verb = s.split(' ')[0]!.toUpperCase();
      const add = (k: string): void => void counts.set(k, (counts.get(k) ?? 0) + 1);
      if (verb === 'BEGIN') open.set(this, null);
      else if ((verb === 'COMMIT' || verb === 'ROLLBACK') && open.has(this)) {
        add(`${verb === 'COMMIT' ? 'BEGIN' : 'rolled back'}: ${open.get(this) ?? '(empty)'}`);
        open.delete(this);
      } else if (open.has(this)) {
        if (open.get(this) === null) open.set(this, s);
      } else add(s);
    }
    return original.apply(this, args);
  };
  return census;
}
