import { stringifyJson } from '../infra/stringifyJson.js';
import { replaceInvisible } from '../infra/invisibleText.js';
import { terminalSafe } from './render/terminalSafe.js';

/** Where commands write: injectable so unit tests can capture it. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  readonly isTTY: boolean;
  readonly columns: number;
  /** The terminal's height, when it has one. */
  readonly rows?: number;
}

/** What a person's terminal (or a pipe into one) gets: model and user text cannot drive it (terminalSafe). */
export const processOutput: Output = {
  out: (text) => void process.stdout.write(line(terminalSafe(text))),
  err: (text) => void process.stderr.write(line(terminalSafe(text))),
  get isTTY() {
    return Boolean(process.stdout.isTTY);
  },
  get columns() {
    return process.stdout.columns ?? 100;
  },
  get rows() {
    return process.stdout.rows;
  },
};

const line = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);

/** JSON with bigints as strings (positions and revisions), pretty for people, one value per call. */
export function toJson(value: unknown): string {
  // DEL, the C1 controls, the bidirectional controls and invisible separators as \u escapes
  // (JSON.stringify leaves them raw): the same value once parsed, and nothing for terminalSafe to
  // replace, so --json stays exact.
  return replaceInvisible(stringifyJson(value, 2).replace(/[\x7f-\x9f]/g, (c) => unicodeEscape(c.charCodeAt(0))), (code) => String.fromCodePoint(code).split('').map((u) => unicodeEscape(u.charCodeAt(0))).join(''));
}

const unicodeEscape = (unit: number): string => `\\u${unit.toString(16).padStart(4, '0')}`;
