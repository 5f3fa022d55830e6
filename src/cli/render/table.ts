import { oneLine } from './oneLine.js';
import { OWN_SGR } from './ownEscape.js';

/** A column of a table: a header, how to read the cell, and its alignment. */
export interface Column<Row> {
  readonly header: string;
  readonly value: (row: Row) => string | number | bigint | null | undefined;
  readonly align?: 'left' | 'right';
}

// Colour codes take no width on screen.
const visibleLength = (s: string): number => s.replace(OWN_SGR, '').length;

function pad(s: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - visibleLength(s)));
  return align === 'right' ? fill + s : s + fill;
}

/**
 * A plain text table: headers, a rule, aligned columns (numbers right-aligned by default).
 *
 * @example
 * renderTable([{ id: 'a', n: 3 }], [{ header: 'ID', value: (r) => r.id }, { header: 'N', value: (r) => r.n }]);
 * // ID  N
 * // ──  ─
 * // a   3
 */
export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const cells = rows.map((r) => columns.map((c) => {
    const v = c.value(r);
    // One row per line: a task or output with newlines (or tabs) in it would break the columns.
    return v === null || v === undefined ? '-' : oneLine(String(v));
  }));
  const aligns = columns.map((c, i) => c.align ?? (rows.length > 0 && rows.every((r) => typeof c.value(r) === 'number' || typeof c.value(r) === 'bigint') && i > 0 ? 'right' : 'left'));
  const widths = columns.map((c, i) => Math.max(visibleLength(c.header), ...cells.map((row) => visibleLength(row[i]!))));
  const line = (parts: readonly string[]): string => parts.map((p, i) => pad(p, widths[i]!, aligns[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '─'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Key/value lines, keys padded to one width. */
export function renderFields(fields: ReadonlyArray<readonly [string, string | number | bigint | null | undefined]>): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${k.padEnd(width)}  ${v === null || v === undefined ? '-' : String(v)}`).join('\n');
}
