import { OWN_ESC } from './ownEscape.js';

/**
 * Text made safe to write to a terminal: every control character in it — ESC (whatever it
 * starts), BEL, CR, the C1 range — is shown as its Unicode control picture (␛, ␇, ␍) or
 * U+FFFD. A model's reply printed by `status` or `spawn --run` carried OSC sequences that set
 * the window title, drew fake hyperlinks, cleared the screen, or (OSC 52) wrote the clipboard
 * (found by attacking). Bidirectional controls (U+202A–202E, U+2066–2069, U+200E/200F, U+061C)
 * are shown as `<U+202E>`: a model's tool input carrying one reordered what an approver read on
 * screen (found by attacking approvals). So are the invisible separators and spaces a terminal
 * draws as nothing or breaks a line on (U+2028, U+2029, U+200B, U+2060, U+FEFF): they hid or
 * spaced out text in `status` (an attacker's try); joiners (U+200C/200D), which emoji and
 * scripts need, stay. Newlines and tabs stay. cadre's own sequences (colours,
 * the live tree's redraw) are written with a stand-in for ESC that only this process knows
 * (ownEscape.ts), turned into ESC here after the rest was made harmless.
 *
 * @example
 * terminalSafe('DONE \u001b]0;PWNED\u0007'); // 'DONE ␛]0;PWNED␇'
 */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, (m) => picture(m.charCodeAt(0))).replace(OWN_SEQUENCE, (m) => `\x1b${m.slice(OWN_ESC.length)}`);
}

/** What terminalSafe replaces above the C0 range, as a character class's body (`--json` escapes the same: output.ts). */
export const UNSAFE_ABOVE_C0 = '\\x7f-\\x9f\\u061c\\u200b\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2060\\u2066-\\u2069\\ufeff';
const CONTROL = new RegExp(`[\\x00-\\x08\\x0b-\\x1f${UNSAFE_ABOVE_C0}]`, 'g');
/** cadre's own sequences (ownEscape.ts): colours, and the live tree's "cursor up n lines, clear below". */
const OWN_SEQUENCE = new RegExp(`${OWN_ESC}\\[(?:[0-9;]*m|[0-9]+A|0J)`, 'g');

const picture = (code: number): string =>
  code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? '\u2421' : code <= 0x9f ? '\ufffd' : `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
