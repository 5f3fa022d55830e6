import { stringifyJson } from '../infra/stringifyJson.js';

/** Where commands write: injectable so unit tests can capture it. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  readonly isTTY: boolean;
  readonly columns: number;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  get isTTY() {
    return Boolean(process.stdout.isTTY);
  },
  get columns() {
    return process.stdout.columns ?? 100;
  },
};

/** JSON with bigints as strings (positions and revisions), pretty for people, one value per call. */
export function toJson(value: unknown): string {
  return stringifyJson(value, 2);
}
