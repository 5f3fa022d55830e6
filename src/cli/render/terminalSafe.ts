import { OWN_ESC } from './ownEscape.js';

/**
 * Text made safe to write to a terminal: every control character in it — ESC (whatever it
 * starts), BEL, CR, the C1 range — is shown as its Unicode control picture (␛, ␇, ␍) or
 * U+FFFD. A model's reply printed by `status` or `spawn --run` carried OSC sequences that set
 * the window title, drew fake hyperlinks, cleared the screen, or (OSC 52) wrote the clipboard
 * (found by attacking). Bidirectional controls (U+202A–202E, U+2066–2069, U+200E/200F, U+061C)
 * are shown as `<U+202E>`: a model's tool input carrying one reordered what an approver read on
 * screen (found by attacking approvals). So is every other invisible format character (Unicode's
 * Cf: U+200B, U+2060, U+FEFF, the soft hyphen, the tag characters U+E0000–E007F that carry hidden
 * ASCII, …), the separators a terminal may break a line on (U+2028, U+2029) and the combining
 * grapheme joiner: they hid or spaced out text in `status` (two attackers' tries); the joiners
 * U+200C/200D, which emoji and scripts need, stay. Newlines and tabs stay. cadre's own sequences (colours,
 * the live tree's redraw) are written with a stand-in for ESC that only this process knows
 * (ownEscape.ts), turned into ESC here after the rest was made harmless.
 *
 * @example
 * terminalSafe('DONE \u001b]0;PWNED\u0007'); // 'DONE ␛]0;PWNED␇'
 */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, (m) => picture(m.codePointAt(0)!)).replace(OWN_SEQUENCE, (m) => `\x1b${m.slice(OWN_ESC.length)}`);
}

/**
 * What terminalSafe replaces above the C0 range: DEL and C1, every format character but the two
 * joiners, the line and paragraph separators, the combining grapheme joiner (`--json` escapes the
 * same: output.ts).
 */
export const UNSAFE_ABOVE_C0 = /(?![\u200c\u200d])[\x7f-\x9f\p{Cf}\u2028\u2029]|\u034f/gu;
// eslint-disable-next-line no-control-regex
const CONTROL = new RegExp(`[\\x00-\\x08\\x0b-\\x1f]|${UNSAFE_ABOVE_C0.source}`, 'gu');
/** cadre's own sequences (ownEscape.ts): colours, and the live tree's "cursor up n lines, clear below". */
const OWN_SEQUENCE = new RegExp(`${OWN_ESC}\\[(?:[0-9;]*m|[0-9]+A|0J)`, 'g');

// C1 by name too: as U+FFFD it looked like a replacement character the model sent (a trial's).
const picture = (code: number): string =>
  code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? '\u2421' : `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
