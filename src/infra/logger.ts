import { createRequire } from 'node:module';
import type pino from 'pino';
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
 *
 * pino itself loads at the first line written at an enabled level: a CLI read at the default
 * `warn` usually writes none, and loading pino's ten modules was ~25 ms of its start.
 */
export function createLogger(level: string = 'info', destination?: pino.DestinationStream, redactor: Redactor = patternRedactor, format: 'json' | 'human' = 'json'): Logger {
  let root: pino.Logger | undefined;
  const build = (): pino.Logger => {
    if (root) return root;
    const opts = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { app: 'cadre' } };
    const pinoFn = loadPino();
    const inner = destination ?? pinoFn.destination(2);
    const shape = format === 'human' ? humanLogLine : (line: string): string => line;
    const out: pino.DestinationStream = { write: (line: string) => inner.write(redactor.text(shape(line))) };
    return (root = pinoFn(opts, out));
  };
  return lazyLogger(build, levelValue(level));
}

/** pino's numeric levels: a call below the logger's level costs nothing, pino or not. */
const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

function levelValue(level: string): number {
  return LEVEL_VALUES[level] ?? LEVEL_VALUES.info!;
}

/** pino is CommonJS: required synchronously, where the first enabled line needs it. */
function loadPino(): typeof pino {
  return createRequire(import.meta.url)('pino') as typeof pino;
}

/** A logger that builds its pino logger (and a child's) only when a line at an enabled level is written. */
function lazyLogger(build: () => pino.Logger, threshold: number): Logger & { isLevelEnabled(level: string): boolean } {
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (obj: object, msg?: string): void => {
    if (LEVEL_VALUES[level]! < threshold) return;
    if (msg === undefined) build()[level](obj);
    else build()[level](obj, msg);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (bindings) => {
      let child: pino.Logger | undefined;
      return lazyLogger(() => (child ??= build().child(bindings)), threshold);
    },
    isLevelEnabled: (level: string) => levelValue(level) >= threshold,
  };
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
