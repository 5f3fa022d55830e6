import pino from 'pino';
import type { Logger } from '../actors/ports/runtimePorts.js';

/** Paths pino blanks out wherever they appear in a log object. */
export const REDACT_PATHS = [
  'apiKey', '*.apiKey', '*.*.apiKey', 'api_key', '*.api_key',
  'authorization', '*.authorization', '*.*.authorization', 'headers.authorization', '*.headers.authorization',
  'x-api-key', '*["x-api-key"]', '*.headers["x-api-key"]',
  'password', '*.password', 'connectionString', '*.connectionString', '*.*.connectionString', 'token', '*.token',
];

/**
 * pino JSON logs with secrets redacted. Connection strings are also scrubbed of passwords in
 * messages by `redactUrl` before they are logged or shown.
 */
export function createLogger(level: string = 'info', destination?: pino.DestinationStream): Logger {
  const opts = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { app: 'cadre' } };
  return (destination ? pino(opts, destination) : pino(opts, pino.destination(2))) as unknown as Logger;
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)([^@]+)@/, '$1***@');
}
