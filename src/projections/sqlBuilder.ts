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
