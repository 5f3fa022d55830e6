import pino from 'pino';
import type { Logger } from '../actors/ports/runtimePorts.js';
import { patternRedactor, type Redactor } from './redact.js';
import { humanLogLine } from './humanLogLine.js';

/** Paths pino blanks out wherever they appear in a log object. */
export const REDACT_PATHS = [
  'apiKey', '*.apiKey', '*.*.apiKey', 'api_key', '*.api_key',
  'authorization', '*.authorization', '*.*.authorization', 'headers.authorization', '*.headers.authorization',
  'x-api-key', '*["x-api-key"]', '*.headers["x-api-key"]',
  'password', '*.password', 'connectionString', '*.connectionString', '*.*.connectionString', 'token', '*.token',
];

/**
 * pino JSON logs with secrets redacted twice: by key (pino `redact`), and every finished line
 * passed through `redactor` before it is written (key-shaped strings, bearer tokens, URL
 * passwords, and the configured secrets' values when the redactor knows them), so a secret
 * inside a message, an error's text or its stack never reaches the log. `human` writes each line
 * as one readable line instead of JSON (the CLI's default).
 */
export function createLogger(level: string = 'info', destination?: pino.DestinationStream, redactor: Redactor = patternRedactor, format: 'json' | 'human' = 'json'): Logger {
  const opts = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { app: 'cadre' } };
  const inner = destination ?? pino.destination(2);
  const shape = format === 'human' ? humanLogLine : (line: string): string => line;
  const out: pino.DestinationStream = { write: (line: string) => inner.write(redactor.text(shape(line))) };
  return pino(opts, out) as unknown as Logger;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * A logger (any, the caller's own included) whose objects and messages pass through `redactor`
 * first: the system wraps every logger it is given, so the configured secrets' exact values are
 * removed even from a logger cadre did not create.
 */
export function redactingLogger(inner: Logger, redactor: Redactor): Logger {
  const enabled = (level: Level): boolean => {
    const check = (inner as { isLevelEnabled?: (l: string) => boolean }).isLevelEnabled;
    return typeof check === 'function' ? check.call(inner, level) : true;
  };
  const at = (level: Level) => (obj: object, msg?: string): void => {
    if (!enabled(level)) return;
    const clean = redactor.value(obj) as object;
    if (msg === undefined) inner[level](clean);
    else inner[level](clean, redactor.text(msg));
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (bindings) => redactingLogger(inner.child(redactor.value(bindings) as Record<string, unknown>), redactor),
  };
}
