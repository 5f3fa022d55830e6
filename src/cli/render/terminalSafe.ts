/**
 * Text made safe to write to a terminal: cadre's own escape sequences (colours, and the live
 * tree's "cursor up n lines, clear below") pass; every other control character — ESC starting
 * anything else, BEL, CR, the C1 range — is shown as its Unicode control picture (␛, ␇, ␍) or
 * U+FFFD. A model's reply printed by `status` or `spawn --run` carried OSC sequences that set
 * the window title, drew fake hyperlinks, cleared the screen, or (OSC 52) wrote the clipboard
 * (found by attacking). Bidirectional controls (U+202A–202E, U+2066–2069, U+200E/200F, U+061C)
 * are shown as `<U+202E>`: a model's tool input carrying one reordered what an approver read on
 * screen (found by attacking approvals). Newlines and tabs stay.
 *
 * @example
 * terminalSafe('DONE \u001b]0;PWNED\u0007'); // 'DONE ␛]0;PWNED␇'
 */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, (m) => (m.length > 1 ? m : picture(m.charCodeAt(0))));
}

// Checked left to right: cadre's sequences first (kept whole), then any single control character.
// eslint-disable-next-line no-control-regex
const CONTROL = /\x1b\[[0-9;]*m|\x1b\[[0-9]+A|\x1b\[0J|[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const picture = (code: number): string =>
  code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? '\u2421' : code <= 0x9f ? '\ufffd' : `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
