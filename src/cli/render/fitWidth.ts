import { OWN_ESC } from './ownEscape.js';

const SGR_PART = new RegExp(`(${OWN_ESC}\\[[0-9;]*m)`);

/**
 * A line cut to `columns` visible characters (… marks the cut), colour codes kept whole and
 * not counted: what a terminal shows on one row without wrapping.
 *
 * @example
 * fitWidth(`${ownSgr('2')}abcdef${ownSgr('0')}`, 4) // the same colour around 'abc…'
 */
export function fitWidth(line: string, columns: number): string {
  let visible = 0;
  let out = '';
  // Colour codes take no width on screen.
  for (const part of line.split(SGR_PART)) {
    if (part.startsWith(OWN_ESC)) {
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
