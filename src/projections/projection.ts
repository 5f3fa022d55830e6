import type { ParsedEvent } from '../events/upcast.js';

/**
 * One SQL statement a projection wants applied. Convention: every parameter carries an explicit
 * cast (`$1::text`, `$2::bigint`, `$3::jsonb`); the runner relies on it to ship a whole batch to
 * the server in one round trip (see runner.ts, `projection_apply`).
 */
export interface SqlStatement {
  readonly text: string;
  readonly params: readonly unknown[];
}

/** A view over a projection's public views; `name` is unqualified. */
export interface DerivedView {
  readonly name: string;
  readonly sql: string;
}

/** Base table name → the schema-qualified physical table the statement must write. */
export type TableNames = Readonly<Record<string, string>>;

/**
 * A read model: a pure reducer from one event to SQL statements, plus the DDL of its tables.
 *
 * Tables are physical (`<schema>.<table>_<suffix>`, e.g. `agents_v1_r0`); readers use the view
 * `<schema>.<table>` the runner keeps pointed at the active suffix, so a rebuild can fill fresh
 * tables and swap them in atomically.
 *
 * @example
 * const counter: Projection = {
 *   name: 'counter', version: 1, tables: ['counter'],
 *   migrations: (schema, suffix) => [`CREATE TABLE ${physicalTable(schema, 'counter', suffix)} (type text PRIMARY KEY, n bigint NOT NULL)`],
 *   handle: (e, t) => [{ text: `INSERT INTO ${t.counter} VALUES ($1::text, 1) ON CONFLICT (type) DO UPDATE SET n = ${t.counter}.n + 1`, params: [e.type] }],
 * };
 */
export interface Projection {
  /** Unique, a plain lowercase identifier; also the checkpoint's key. */
  readonly name: string;
  /** Bump when the tables or the reducer change meaning: the runner then rebuilds from 0. */
  readonly version: number;
  /** Base names of the tables it owns; each is exposed to readers as a view of that name. */
  readonly tables: readonly string[];
  /** CREATE TABLE / CREATE INDEX statements for one generation of tables. */
  migrations(schema: string, suffix: string): string[];
  /**
   * DROP statements for what a generation owns besides its tables (say a trigger function,
   * which dropping a table leaves behind); run whenever the generation's tables are dropped.
   */
  teardown?(schema: string, suffix: string): string[];
  /**
   * Derived views over the projection's own public table views (e.g. balances), recreated
   * after every swap. `sql` must be a `CREATE OR REPLACE VIEW <schema>.<name> ...`.
   */
  views?(schema: string): DerivedView[];
  /** Pure: no I/O, no clock. Applying every event in position order yields the read model. */
  handle(event: ParsedEvent, tables: TableNames): SqlStatement[];
  /**
   * Pure, optional: the statements of a whole batch, in place of `handle` per event; they must
   * leave the tables exactly as `handle` applied to each event in order would (so a row written
   * by many events of a batch can be written once).
   */
  handleBatch?(events: readonly ParsedEvent[], tables: TableNames): SqlStatement[];
  /**
   * Pure, optional: statements applied once after a batch's per-event statements, in the same
   * commit, given the events of the batch (for what a row-per-event write would touch many times,
   * such as per-tree totals). The live loop and a rebuild cut batches differently, so what it
   * writes must follow from the tables and the events, not from where a batch ends.
   */
  afterBatch?(events: readonly ParsedEvent[], tables: TableNames): SqlStatement[];
}

/**
 * Everything a projection writes for one batch: its `handleBatch`, or each event's statements
 * in order, then its `afterBatch`. The live loop and a rebuild both apply batches through it.
 *
 * @example
 * await applyStatements(tx, schema, batchStatements(agentsProjection, events, tables));
 */
export function batchStatements(projection: Projection, events: readonly ParsedEvent[], tables: TableNames): SqlStatement[] {
  const out = projection.handleBatch ? projection.handleBatch(events, tables) : events.flatMap((e) => projection.handle(e, tables));
  if (projection.afterBatch && events.length > 0) out.push(...projection.afterBatch(events, tables));
  return out;
}

/** `<schema>.<table>_<suffix>`: a table generation. */
export const physicalTable = (schema: string, table: string, suffix: string): string => `${schema}.${table}_${suffix}`;

/** The physical names of a projection's tables for one suffix. */
export function tableNames(projection: Projection, schema: string, suffix: string): TableNames {
  return Object.fromEntries(projection.tables.map((t) => [t, physicalTable(schema, t, suffix)]));
}

/** Index names live in the schema's namespace, so they carry the suffix as well. */
export const indexName = (table: string, suffix: string, what: string): string => `${table}_${suffix}_${what}`;

/** `agent-<id>` → `<id>`; other streams → null. */
export const agentIdOf = (streamId: string): string | null => (streamId.startsWith('agent-') ? streamId.slice(6) : null);

/** Keeps large texts out of read models: the event stream has the full value. */
export function excerpt(text: string | null | undefined, max = 2000): string | null {
  if (text == null) return null;
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  // Never end on half a surrogate pair: Postgres refuses lone surrogates in JSON.
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…`;
}

export const stmt = (text: string, ...params: unknown[]): SqlStatement => ({ text, params });
