import type { SqlStatement } from './projection.js';

/** Adds a parameter and returns its placeholder with the explicit cast the runner needs. */
export type Param = (value: unknown, type: string) => string;

/**
 * Builds one statement with numbered, explicitly cast parameters.
 *
 * @example
 * build((p) => `UPDATE t SET n = n + ${p(1, 'int')} WHERE id = ${p('a', 'text')}`);
 * // { text: 'UPDATE t SET n = n + $1::int WHERE id = $2::text', params: [1, 'a'] }
 */
export function build(fn: (p: Param) => string): SqlStatement {
  const params: unknown[] = [];
  const p: Param = (value, type) => {
    params.push(value === undefined ? null : value);
    return `$${params.length}::${type}`;
  };
  return { text: fn(p), params };
}

/**
 * `column = the fold's value where it set one, else the row's`, for each column: the SET list
 * of a batch UPDATE whose rows (`x`, from jsonb_to_recordset) carry a jsonb object `sets` of the
 * columns their batch set outright (last value wins; a key with null sets NULL).
 *
 * @example
 * setFromFold('r', [['status', 'text'], ['ended_at', 'timestamptz']])
 * // "status = CASE WHEN x.sets ? 'status' THEN (x.sets ->> 'status')::text ELSE r.status END, …"
 */
export const setFromFold = (alias: string, columns: ReadonlyArray<readonly [string, string]>): string =>
  columns.map(([c, type]) => `${c} = CASE WHEN x.sets ? '${c}' THEN ${type === 'jsonb' ? `x.sets -> '${c}'` : `(x.sets ->> '${c}')::${type}`} ELSE ${alias}.${c} END`).join(', ');
