import { replaceInvisible } from '../../infra/invisibleText.js';
import { OWN_ESC } from './ownEscape.js';

/**
 * Text made safe to write to a terminal: every control character in it — ESC (whatever it
 * starts), BEL, CR, the C1 range — is shown as its Unicode control picture (␛, ␇, ␍) or
 * U+FFFD. A model's reply printed by `status` or `spawn --run` carried OSC sequences that set
 * the window title, drew fake hyperlinks, cleared the screen, or (OSC 52) wrote the clipboard
 * (found by attacking). Bidirectional controls (U+202A–202E, U+2066–2069, U+200E/200F, U+061C)
 * are shown as `<U+202E>`: a model's tool input carrying one reordered what an approver read on
 * screen (found by attacking approvals). So is every other invisible character
 * (src/infra/invisibleText.ts: zero-width spaces, variation selectors, tag characters, Hangul
 * fillers, …), but the one or two joiners or selectors emoji need. Newlines and tabs stay. cadre's own sequences (colours,
 * the live tree's redraw) are written with a stand-in for ESC that only this process knows
 * (ownEscape.ts), turned into ESC here after the rest was made harmless.
 *
 * @example
 * terminalSafe('DONE \u001b]0;PWNED\u0007'); // 'DONE ␛]0;PWNED␇'
 */
export function terminalSafe(text: string): string {
  return replaceInvisible(text.replace(CONTROL, (m) => picture(m.charCodeAt(0))), picture).replace(OWN_SEQUENCE, (m) => `\x1b${m.slice(OWN_ESC.length)}`);
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
/** cadre's own sequences (ownEscape.ts): colours, and the live tree's "cursor up n lines, clear below". */
const OWN_SEQUENCE = new RegExp(`${OWN_ESC}\\[(?:[0-9;]*m|[0-9]+A|0J)`, 'g');

// C1 by name too: as U+FFFD it looked like a replacement character the model sent (a trial's).
const picture = (code: number): string =>
  code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? '\u2421' : `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
