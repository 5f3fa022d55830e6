import { randomBytes } from 'node:crypto';

/**
 * What stands for ESC in cadre's own escape sequences (colours, the live tree's redraw) until
 * the output writes them: four private-use characters picked at random per process. The output
 * (terminalSafe) first shows every real control character in the text as a picture, then turns
 * these back into ESC, so an agent's role, a task or a reply cannot carry a sequence that passes:
 * it would have to guess them. An allow-list of "harmless" sequences let `ESC[1A` (cursor up)
 * and `ESC[8m` (hidden text) through in a role, which can overwrite or hide earlier lines
 * (found by attacking `cadre trace`).
 */
export const OWN_ESC = [...randomBytes(4)].map((b) => String.fromCharCode(0xe000 + b)).join('');

/** A colour (SGR) sequence of cadre's own. */
export const ownSgr = (code: string): string => `${OWN_ESC}[${code}m`;

/** Matches one of cadre's colour sequences, to keep it whole and count it as no width. */
export const OWN_SGR = new RegExp(`${OWN_ESC}\\[[0-9;]*m`, 'g');
