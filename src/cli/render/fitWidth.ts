/**
 * A line cut to `columns` visible characters (… marks the cut), colour codes kept whole and
 * not counted: what a terminal shows on one row without wrapping.
 *
 * @example
 * fitWidth('\x1b[2mabcdef\x1b[0m', 4) // '\x1b[2mabc…\x1b[0m'
 */
export function fitWidth(line: string, columns: number): string {
  let visible = 0;
  let out = '';
  // eslint-disable-next-line no-control-regex -- colour codes take no width on screen
  for (const part of line.split(/(\x1b\[[0-9;]*m)/)) {
    if (part.startsWith('\x1b[')) {
      out += part;
      continue;
    }
    const chars = [...part];
    if (visible + chars.length <= columns) {
      out += part;
      visible += chars.length;
      continue;
    }
    if (visible < columns) out += `${chars.slice(0, Math.max(0, columns - visible - 1)).join('')}…`;
    visible = columns;
  }
  return out;
}
