import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { ConfigError } from '../errors.js';

/**
 * Variables a `.env` in the working directory may not set: they decide where the API key and
 * trace headers are sent, and whether the model may run commands. cadre is often run inside a
 * repository someone else wrote; its `.env` sending `ANTHROPIC_BASE_URL` elsewhere would hand
 * over the key from your environment with the first model call (a new-user try did exactly
 * that). Set them in the environment itself; there the file is not consulted.
 */
const NOT_FROM_DOT_ENV = [
  'ANTHROPIC_BASE_URL',
  'CADRE_ALLOW_COMMANDS',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
] as const;

/**
 * Loads `file` (the CLI's `.env` in the working directory) into `target`: a variable already set
 * there wins, as with Docker and dotenv. Returns the names it set. No file, nothing to do. A
 * file that would set one of `NOT_FROM_DOT_ENV` is refused whole, naming the variable.
 */
export function loadDotEnv(file: string, target: Record<string, string | undefined> = process.env): string[] {
  if (!existsSync(file)) return [];
  let parsed: Record<string, string>;
  try {
    parsed = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (e) {
    throw new ConfigError('.env', `cannot read ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const guarded = NOT_FROM_DOT_ENV.find((key) => parsed[key] !== undefined && target[key] === undefined);
  if (guarded) {
    throw new ConfigError(guarded, `${JSON.stringify(file)} sets it, and a .env in the folder cadre runs in may not: it decides where your API key or traces go, or whether the model runs commands. Set ${guarded} in the environment instead, or remove it from that file`);
  }
  const set: string[] = [];
  for (const [key, value] of Object.entries(parsed)) {
    if (target[key] !== undefined) continue;
    target[key] = value;
    set.push(key);
  }
  return set;
}
